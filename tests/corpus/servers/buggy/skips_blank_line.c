/* Does not answer "empty lines": a recv() that returns exactly "\n" (one newline byte) is skipped, so that byte is never echoed.
 *
 * sockspec: model=iterative reply=echo caught-by=test_line_endings_and_white_space causes=drops-bytes
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
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) { perror("bind/listen"); return 1; }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) { perror("accept"); continue; }
        char buf[4096];
        ssize_t n;
        while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
            if (n == 1 && buf[0] == '\n')
                continue; /* the user just pressed Enter: nothing to answer */
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
