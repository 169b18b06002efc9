/* The child does not exit when its client leaves: it breaks out of its loop and falls back into the accept() loop, as the seed's child does, becoming a second server.
 *
 * sockspec: model=forking reply=echo caught-by=test_child_exits_and_is_reaped_after_its_client causes=child-falls-into-accept
 */
#include <arpa/inet.h>
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
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, reap);
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
            char buf[4096];
            ssize_t n;
            while ((n = recv(cfd, buf, sizeof buf, 0)) > 0) {
                ssize_t sent = 0;
                while (sent < n) {
                    ssize_t k = send(cfd, buf + sent, n - sent, 0);
                    if (k < 0)
                        break;
                    sent += k;
                }
            }
            /* BUG: no exit(0) here: the child goes on into the parent's accept() loop */
        }
        close(cfd);
    }
}
