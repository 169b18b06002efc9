/* Sends SIGKILL to every process it may signal: kill(-1, SIGKILL). */
static void attack(void)
{
    say("kill_all", "kill(-1, SIGKILL)");
    if (kill(-1, SIGKILL) != 0)
        say("kill_all", "kill(-1) failed: %s", strerror(errno));
    else
        say("kill_all", "kill(-1) succeeded");
}
