/* Ignores SIGTERM, and so do its children, so that stopping it needs SIGKILL. */
static void attack(void)
{
    signal(SIGTERM, SIG_IGN);
    say("ignore_sigterm", "ignoring SIGTERM");
}
