/* The child exits when recv() returns 0 but only breaks out of its loop when recv() fails (a client that resets): it then falls through into the accept() loop and, still holding the listening socket, lives on as a second server after its client is gone.
 *
 * sockspec: model=forking reply=echo caught-by=test_child_exits_after_its_client_resets causes=child-falls-into-accept
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

static void on_sigchld(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) {
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
        if (pid < 0) {
            perror("fork");
        } else if (pid == 0) {
            char buf[4096];
            for (;;) {
                ssize_t n = recv(cfd, buf, sizeof buf, 0);
                if (n == 0) {
                    printf("client shutdown!\n");
                    close(cfd);
                    exit(0);
                }
                if (n < 0) {
                    perror("recv");
                    break;
                }
                ssize_t off = 0;
                while (off < n) {
                    ssize_t k = send(cfd, buf + off, n - off, 0);
                    if (k < 0)
                        break;
                    off += k;
                }
                if (off < n) {
                    perror("send");
                    break;
                }
            }
        }
        close(cfd);
    }
}
