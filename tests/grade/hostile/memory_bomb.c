/* Starts a process beside the server that takes memory, and touches it, until it cannot. */
static void attack(void)
{
    say("memory_bomb", "taking all the memory there is");
    if (fork() == 0) {
        for (;;) {
            char *block = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (block == MAP_FAILED)
                pause();
            memset(block, 1, 64 << 20);
        }
    }
}
