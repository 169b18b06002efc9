/* A forking server whose SIGCHLD handler is installed without SA_RESTART: it retries accept() itself when a signal interrupts it (EINTR).
 *
 * sockspec: model=forking reply=echo
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap(int sig)
{
    (void)sig;
    int saved = errno; /* waitpid() must not change the errno accept() left */
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t k = send(fd, buf, len, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        buf += k;
        len -= k;
    }
    return 0;
}

int main(int argc, char *argv[])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = reap;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGCHLD, &sa, NULL);

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
            if (errno != EINTR)
                perror("accept");
            continue; /* EINTR: a child exited while we waited; just wait again */
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            char buf[8192];
            ssize_t n;
            for (;;) {
                n = recv(cfd, buf, sizeof buf, 0);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0 || send_all(cfd, buf, n) < 0)
                    break;
            }
            close(cfd);
            _exit(0);
        }
        if (pid < 0)
            perror("fork");
        close(cfd);
    }
}
