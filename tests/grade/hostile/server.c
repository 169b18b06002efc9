/* A correct threaded echo server that first makes one attack on the grader (inserted below).
 *
 * The test composes each hostile submission from this file and one attack: the attack runs at
 * every start of the server, before it listens, and says on stderr what it did ("ATTACK name:
 * ..."), which the grader keeps in the attacker's own server.txt.  Placeholders in @...@ are the
 * test's paths.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* One line on stderr: what the attack did. */
static void say(const char *attack, const char *format, ...)
{
    char line[512];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    fprintf(stderr, "ATTACK %s: %s\n", attack, line);
    fflush(stderr);
}

/* True the first time in this working folder: an attack that is costly runs once per copy. */
__attribute__((unused)) static int first_time(void)
{
    int fd = open(".sockspec-attacked", O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* Print the first bytes of a file on one line, as an attack that read it would show it to its student. */
__attribute__((unused)) static void show(const char *attack, const char *path)
{
    char text[200] = {0};
    FILE *f = fopen(path, "r");
    if (!f) {
        say(attack, "cannot read %s: %s", path, strerror(errno));
        return;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (text[i] == '\n')
            text[i] = ' ';
    say(attack, "read %s: %s", path, text);
}

/* @ATTACK@ */

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[8192];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        ssize_t sent = 0;
        while (sent < n) {
            ssize_t k = send(fd, buf + sent, n - sent, 0);
            if (k < 0)
                break;
            sent += k;
        }
        if (sent < n)
            break;
    }
    close(fd);
    return NULL;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    attack();
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) {
        perror("bind/listen");
        return 1;
    }
    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0)
            continue;
        pthread_t tid;
        if (pthread_create(&tid, &detached, serve, (void *)(intptr_t)cfd) != 0)
            close(cfd);
    }
}
