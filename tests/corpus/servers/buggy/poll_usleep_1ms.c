/* Polls a non-blocking listening socket and client socket in a loop with usleep(1000) between tries (to "not burn the CPU"): it wakes a thousand times a second forever, idle or not.
 *
 * sockspec: model=iterative reply=echo caught-by=test_no_cpu_while_idle,test_no_cpu_after_clients_leave,test_silent_client_uses_no_cpu_and_stays_connected causes=busy-poll
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) { perror("bind/listen"); return 1; }
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            usleep(1000); /* nobody yet */
            continue;
        }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        char buf[8192];
        for (;;) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                usleep(1000); /* nothing yet */
                continue;
            }
            if (n <= 0)
                break;
            ssize_t sent = 0;
            while (sent < n) {
                ssize_t k = send(fd, buf + sent, n - sent, 0);
                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { usleep(1000); continue; }
                if (k < 0) break;
                sent += k;
            }
            if (sent < n) break;
        }
        close(fd);
    }
}
