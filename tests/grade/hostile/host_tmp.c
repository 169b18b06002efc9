/* Writes to the machine's /tmp, and into the folders above its own (the grader's scratch space). */
static void attack(void)
{
    const char *targets[] = {"/tmp/sockspec-hostile-@TOKEN@", "../escaped-@TOKEN@", "../../escaped-@TOKEN@",
                             "@SCRATCH@/escaped-@TOKEN@"};
    for (int i = 0; i < 4; i++) {
        int fd = open(targets[i], O_CREAT | O_WRONLY, 0644);
        say("host_tmp", fd >= 0 ? "created %s" : "cannot create %s: %s", targets[i], strerror(errno));
        if (fd >= 0)
            close(fd);
    }
}
