/* Writes into root's home folder and lists it. */
static void attack(void)
{
    int fd = open("/root/sockspec-hostile-@TOKEN@", O_CREAT | O_WRONLY, 0644);
    say("root_home", fd >= 0 ? "created a file in /root" : "cannot create a file in /root: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    DIR *home = opendir("/root");
    int entries = 0;
    for (struct dirent *entry; home && (entry = readdir(home));)
        entries += entry->d_name[0] != '.';
    if (home) {
        say("root_home", "/root lists %d entries", entries);
        closedir(home);
    } else {
        say("root_home", "cannot list /root: %s", strerror(errno));
    }
}
