/* Reads another student's source, from the class folder and from the grader's copy, and prints it. */
static int shown(const char *path, const struct stat *info, int type, struct FTW *where)
{
    (void)info;
    (void)where;
    if (type == FTW_F && strstr(path, "@VICTIM@"))
        show("read_source", path);
    return 0;
}

static void attack(void)
{
    show("read_source", "@CLASS@/@VICTIM@.c");
    nftw("..", shown, 16, FTW_PHYS);
    nftw("@SCRATCH@", shown, 16, FTW_PHYS);
}
