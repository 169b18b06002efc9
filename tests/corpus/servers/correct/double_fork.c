/* A forking server that double-forks (the classic way to never have zombies): the child forks a grandchild to serve the client and exits at once; the parent reaps the child right away.
 *
 * The grandchild is orphaned and adopted by init (or a subreaper), so the
 * server never has a zombie and never needs a SIGCHLD handler.  The spec
 * counts such grandchildren as the server's own: they serve its clients.
 *
 * sockspec: model=forking reply=echo
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void serve(int fd)
{
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        ssize_t sent = 0;
        while (sent < n) {
            ssize_t k = send(fd, buf + sent, n - sent, 0);
            if (k < 0)
                return;
            sent += k;
        }
    }
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 128) < 0) {
        perror("bind/listen");
        return 1;
    }
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) {
            perror("accept");
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            if (fork() == 0) { /* the grandchild serves */
                serve(cfd);
                close(cfd);
                _exit(0);
            }
            _exit(0); /* the child exits at once */
        }
        close(cfd);
        if (pid > 0)
            waitpid(pid, NULL, 0); /* returns at once: the child has already exited */
    }
}
