/* Takes memory, and touches it, until it cannot. */
static void attack(void)
{
    if (!first_time())
        return;
    say("memory_bomb", "taking all the memory there is");
    /* Address space first, untouched: where RLIMIT_AS caps each process, mmap() is refused at the
     * cap at once, before the server listens.  Where it is not refused (a cgroup caps the job's
     * memory instead), a child touches every page while the server listens and serves, and is
     * killed at the job's cap: however slowly the kernel reclaims on the way there. */
    enum { BLOCK = 64 << 20, MOST = 4096 };
    static char *blocks[MOST];
    int taken = 0;
    while (taken < MOST) {
        char *block = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (block == MAP_FAILED)
            break;
        blocks[taken++] = block;
    }
    if (taken < MOST) {
        say("memory_bomb", "refused more after %d MiB: %s", taken * 64, strerror(errno));
    } else if (fork() == 0) {
        for (int i = 0; i < taken; i++)
            memset(blocks[i], 1, BLOCK);
        say("memory_bomb", "touched %d MiB and was not stopped", taken * 64);
        _exit(0);
    }
    while (taken > 0)
        munmap(blocks[--taken], BLOCK);
}
