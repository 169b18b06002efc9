/* Makes the listening socket non-blocking and polls accept() in a loop without sleeping, burning a whole core while nobody connects.
 *
 * sockspec: model=iterative reply=echo caught-by=test_no_cpu_while_idle,test_no_cpu_after_clients_leave causes=busy-poll
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
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                continue; /* BUG: busy-waits; a blocking accept() would sleep until a client comes */
            perror("accept");
            continue;
        }
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
        close(cfd);
    }
}
