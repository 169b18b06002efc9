/* Answers with a single send() and ignores a short count, as the seed does: if send() sends only part of the reply, the rest is lost.
 *
 * On Linux a blocking send() sends everything unless a signal interrupts it
 * part-way, and nothing here installs a signal handler: the bug is real by
 * the API's contract but cannot show against this server from outside.
 *
 * sockspec: model=iterative reply=echo expect=gap causes=partial-send-ignored
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
        char buf[65536];
        ssize_t n;
        while ((n = recv(cfd, buf, sizeof buf, 0)) > 0) {
            if (send(cfd, buf, n, 0) < 0) /* BUG: send() may send fewer than n bytes; loop until all are sent */
                break;
        }
        close(cfd);
    }
}
