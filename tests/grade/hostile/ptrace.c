/* Attaches with ptrace() to its parent and to the spec's harness (pytest), to take them over. */
static void try_attach(const char *who, pid_t pid)
{
    if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0) {
        say("ptrace", "attached to %s (pid %d)", who, (int)pid);
        waitpid(pid, NULL, __WALL);
        ptrace(PTRACE_DETACH, pid, NULL, NULL);
    } else {
        say("ptrace", "cannot attach to %s (pid %d): %s", who, (int)pid, strerror(errno));
    }
}

static void attack(void)
{
    try_attach("its parent", getppid());
    DIR *all = opendir("/proc");
    for (struct dirent *entry; all && (entry = readdir(all));) {
        char path[64], command[256] = {0};
        snprintf(path, sizeof path, "/proc/%s/cmdline", entry->d_name);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(command, 1, sizeof command - 1, f) : 0;
        if (f)
            fclose(f);
        for (size_t i = 0; i < n; i++)
            if (!command[i])
                command[i] = ' ';
        if (strstr(command, "-m pytest"))
            try_attach("the harness", atoi(entry->d_name));
    }
    if (all)
        closedir(all);
}
