/* An evented select() echo server that cannot watch descriptors from FD_SETSIZE (1024) on, so it closes the connection of every client beyond about a thousand at once.
 *
 * Everything else is right: non-blocking sockets, the unsent part of a reply kept
 * per descriptor and sent when select() says the socket is writable, nothing read
 * from a client meanwhile.  FD_SET() on a descriptor of 1024 or more would write
 * past the end of the fd_set, so the server turns such clients away; poll() or
 * epoll has no such limit.
 *
 * sockspec: model=evented reply=echo caught-by=test_more_clients_than_select_can_watch causes=fd-setsize
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 8192

static char pending[FD_SETSIZE][BUF];
static size_t off[FD_SETSIZE], len[FD_SETSIZE];

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) {
        perror("bind/listen");
        return 1;
    }
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    fd_set open_fds;
    FD_ZERO(&open_fds);
    int maxfd = lfd;
    for (;;) {
        fd_set readable, writable;
        FD_ZERO(&readable);
        FD_ZERO(&writable);
        FD_SET(lfd, &readable);
        for (int fd = 0; fd <= maxfd; fd++) {
            if (fd != lfd && FD_ISSET(fd, &open_fds))
                FD_SET(fd, len[fd] > off[fd] ? &writable : &readable);
        }
        if (select(maxfd + 1, &readable, &writable, NULL, NULL) < 0) {
            if (errno == EINTR)
                continue;
            perror("select");
            return 1;
        }
        if (FD_ISSET(lfd, &readable)) {
            int cfd;
            while ((cfd = accept(lfd, NULL, NULL)) >= 0) {
                if (cfd >= FD_SETSIZE) { /* the bug: select() cannot watch it, so the client is turned away */
                    close(cfd);
                    continue;
                }
                fcntl(cfd, F_SETFL, O_NONBLOCK);
                FD_SET(cfd, &open_fds);
                off[cfd] = len[cfd] = 0;
                if (cfd > maxfd)
                    maxfd = cfd;
            }
        }
        for (int fd = 0; fd <= maxfd; fd++) {
            if (fd == lfd || !FD_ISSET(fd, &open_fds))
                continue;
            int done = 0;
            if (FD_ISSET(fd, &readable)) {
                ssize_t n = recv(fd, pending[fd], BUF, 0);
                if (n > 0) {
                    off[fd] = 0;
                    len[fd] = (size_t)n;
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    done = 1;
                }
            }
            while (!done && off[fd] < len[fd]) {
                ssize_t k = send(fd, pending[fd] + off[fd], len[fd] - off[fd], 0);
                if (k < 0) {
                    done = errno != EAGAIN && errno != EINTR;
                    break;
                }
                off[fd] += (size_t)k;
            }
            if (done) {
                FD_CLR(fd, &open_fds);
                close(fd);
            }
        }
    }
}
