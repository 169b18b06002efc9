/* Does not ignore SIGPIPE and retries send() after an error, so a client that resets while the server writes kills the server with SIGPIPE.
 *
 * Its send loop "tries again" on any error.  The first send() after the
 * reset fails with ECONNRESET; the retry writes to a dead connection and
 * the kernel sends SIGPIPE, whose default action ends the process.
 *
 * sockspec: model=iterative reply=echo caught-by=test_reset_while_server_sends causes=sigpipe
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
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
        char buf[4096];
        ssize_t n;
        while ((n = recv(cfd, buf, sizeof buf, 0)) > 0) {
            ssize_t sent = 0;
            while (sent < n) {
                ssize_t k = send(cfd, buf + sent, n - sent, 0);
                if (k < 0) {
                    perror("send");
                    continue; /* BUG: retries on a dead connection; and SIGPIPE is not ignored */
                }
                sent += k;
            }
        }
        close(cfd);
    }
}
