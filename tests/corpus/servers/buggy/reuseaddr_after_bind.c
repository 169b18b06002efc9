/* Sets SO_REUSEADDR after bind() instead of before, where it has no effect: the server cannot be restarted on its port while old connections linger in TIME_WAIT.
 *
 * sockspec: model=iterative reply=echo caught-by=test_restart_on_same_port causes=no-reuseaddr
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("bind"); return 1; }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listen(lfd, SOMAXCONN) < 0) { perror("listen"); return 1; }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) { perror("accept"); continue; }
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
    }
}
