/* Treats a message starting with "quit" or "exit" as a command and closes the connection instead of echoing it, so a client that sends those bytes gets end of file instead of its data.
 *
 * sockspec: model=iterative reply=echo caught-by=test_line_endings_and_white_space causes=closes-on-command
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
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 5) < 0) {
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
            if (n >= 4 && (memcmp(buf, "quit", 4) == 0 || memcmp(buf, "exit", 4) == 0)) {
                printf("client asked to quit\n");
                break;
            }
            ssize_t off = 0;
            while (off < n) {
                ssize_t k = send(cfd, buf + off, n - off, 0);
                if (k < 0)
                    break;
                off += k;
            }
            if (off < n)
                break;
        }
        close(cfd);
    }
}
