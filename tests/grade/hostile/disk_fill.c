/* Fills its working folder and /tmp until they are full. */
static void fill(const char *path)
{
    static char block[1 << 20];
    memset(block, 'x', sizeof block);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    long written = 0;
    while (fd >= 0 && write(fd, block, sizeof block) == (ssize_t)sizeof block)
        written++;
    say("disk_fill", "wrote %ld MiB to %s before: %s", written, path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(path);
}

static void attack(void)
{
    if (!first_time())
        return;
    signal(SIGXFSZ, SIG_IGN); /* past RLIMIT_FSIZE, write() then fails with EFBIG */
    fill("filler");
    fill("/tmp/filler");
}
