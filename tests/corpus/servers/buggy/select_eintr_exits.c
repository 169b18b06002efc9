/* Waits for connections with select() before accept() and exits when select() fails; SA_RESTART does not restart select(), so the first child to exit (SIGCHLD) ends the server with EINTR.
 *
 * sockspec: model=forking auto=none reply=echo caught-by=test_child_exits_while_parent_waits_in_accept causes=eintr-kills-accept
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
    errno = saved;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = reap;
    sa.sa_flags = SA_RESTART; /* so accept() is not interrupted */
    sigaction(SIGCHLD, &sa, NULL);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) { perror("bind/listen"); return 1; }
    for (;;) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(lfd, &rd);
        if (select(lfd + 1, &rd, NULL, NULL, NULL) < 0) {
            perror("select");
            return 1;
        }
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) { perror("accept"); continue; }
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
