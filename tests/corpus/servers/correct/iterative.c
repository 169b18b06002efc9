/* The seed's single-process server done right in plain C: accept() in a loop, recv() with the buffer's real size, a send-all loop with MSG_NOSIGNAL.
 *
 * sockspec: model=iterative reply=echo
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t k = send(fd, buf, len, MSG_NOSIGNAL); /* no SIGPIPE if the client is gone */
        if (k < 0)
            return -1;
        buf += k;
        len -= k;
    }
    return 0;
}

int main(int argc, char *argv[])
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 1) < 0) {
        perror("bind/listen");
        return 1;
    }
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) {
            perror("accept");
            continue;
        }
        char buf[1024];
        for (;;) {
            ssize_t n = recv(cfd, buf, sizeof buf, 0);
            if (n <= 0) /* 0: the client closed; < 0: the connection broke */
                break;
            if (send_all(cfd, buf, n) < 0)
                break;
        }
        close(cfd);
    }
}
