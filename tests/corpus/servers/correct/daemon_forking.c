/* A forking server that daemonizes at startup the classic way (fork, parent exits, setsid, fork again, chdir /, stdio to /dev/null) and only then binds and listens.
 *
 * Its last process is neither below the program the harness started nor in its session: the
 * harness finds it by the mark in its environment once it is re-parented to the harness.
 *
 * sockspec: model=forking reply=echo
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

static void serve(int fd)
{
    char buf[8192];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        ssize_t sent = 0;
        while (sent < n) {
            ssize_t k = send(fd, buf + sent, n - sent, 0);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return;
            sent += k;
        }
    }
}

static void daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0)
        exit(1);
    if (pid > 0)
        _exit(0); /* the parent returns to the shell at once */
    setsid();
    pid = fork();
    if (pid < 0)
        exit(1);
    if (pid > 0)
        _exit(0); /* the session leader exits: the daemon can never get a terminal */
    umask(0);
    if (chdir("/") < 0)
        exit(1);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2)
        close(null);
}

int main(int argc, char *argv[])
{
    int port = atoi(argv[argc - 1]);
    daemonize();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = reap;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    addr.sin_port = htons(port);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0)
        return 1;
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0)
            continue;
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            serve(cfd);
            close(cfd);
            _exit(0);
        }
        close(cfd);
    }
}
