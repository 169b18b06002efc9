/* Prints two gigabytes on its standard output, from a process beside the server. */
static void attack(void)
{
    if (!first_time())
        return;
    say("output_flood", "printing 2 GiB");
    if (fork() == 0) {
        static char block[1 << 20];
        memset(block, 'y', sizeof block);
        for (int i = 0; i < 2048; i++)
            if (write(1, block, sizeof block) < 0)
                break;
        _exit(0);
    }
}
