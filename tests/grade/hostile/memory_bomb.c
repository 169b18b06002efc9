/* Takes memory, and touches it, until it cannot, in a child beside the server. */
static void attack(void)
{
    if (!first_time() || fork() != 0)
        return;
    say("memory_bomb", "taking all the memory there is");
    /* Address space first, untouched: where RLIMIT_AS caps each process, mmap() is refused at the
     * cap at once.  Where it is not refused (a cgroup caps the job's memory instead), every page is
     * touched, and the child is killed at the job's cap.  (A fork() after mapping it all would be
     * refused: the kernel does not overcommit a copy of 256 GiB.) */
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
    } else {
        for (int i = 0; i < taken; i++) {
            memset(blocks[i], 1, BLOCK);
            if ((i + 1) % 4 == 0)
                say("memory_bomb", "touched %d MiB", (i + 1) * 64);
        }
        say("memory_bomb", "touched all %d MiB and was not stopped", taken * 64);
    }
    _exit(0);
}
