/* Leaves a daemon behind: fork, setsid(), fork again, and the grandchild sleeps for ever. */
static void attack(void)
{
    say("daemon", "leaving a daemon behind");
    if (fork() == 0) {
        setsid();
        if (fork() == 0) {
            for (;;)
                sleep(1);
        }
        _exit(0);
    }
    wait(NULL);
}
