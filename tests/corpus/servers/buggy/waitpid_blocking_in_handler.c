/* Its SIGCHLD handler loops on waitpid(-1, NULL, 0) without WNOHANG, so when one child exits while another client is still connected, the parent blocks inside the handler until that client leaves and accepts nobody meanwhile.
 *
 * sockspec: model=forking reply=echo caught-by=test_reaping_never_waits_for_a_running_child causes=blocking-reap
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
    int saved = errno;
    while (waitpid(-1, NULL, 0) > 0) {} /* reap them all, not just one */
    errno = saved;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = reap;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) { perror("bind/listen"); return 1; }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) { if (errno != EINTR) perror("accept"); continue; }
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            char buf[8192];
            ssize_t n;
            while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
                ssize_t sent = 0;
                while (sent < n) {
                    ssize_t k = send(fd, buf + sent, n - sent, 0);
                    if (k < 0) break;
                    sent += k;
                }
                if (sent < n) break;
            }
            close(fd);
            _exit(0);
        }
        if (pid < 0) perror("fork");
        close(fd);
    }
}
