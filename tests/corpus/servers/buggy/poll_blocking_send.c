/* An evented server with poll() whose replies go out with a blocking send() loop inside the event loop: a client that sends and never reads fills its socket, send() blocks, and every other client waits.
 *
 * The accepted sockets stay blocking, and recv() is only called when poll() says
 * a socket is readable, so an ordinary exchange works; the whole reply is then
 * sent at once, "to be sure it all goes out", which blocks the one thread for as
 * long as that client does not read.
 *
 * sockspec: model=evented reply=echo caught-by=test_flooding_client_does_not_block_others causes=blocking-send-in-loop
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 4096

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
    static struct pollfd fds[MAX_FDS];
    int count = 1;
    fds[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
    char buf[8192];
    for (;;) {
        if (poll(fds, count, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            return 1;
        }
        for (int i = count - 1; i >= 1; i--) {
            if (!fds[i].revents)
                continue;
            int fd = fds[i].fd;
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            ssize_t sent = 0;
            while (n > 0 && sent < n) { /* the bug: blocks here while this client does not read */
                ssize_t k = send(fd, buf + sent, n - sent, 0);
                if (k < 0)
                    break;
                sent += k;
            }
            if (n <= 0 || sent < n) {
                close(fd);
                fds[i] = fds[--count];
            }
        }
        if (fds[0].revents & POLLIN) {
            int cfd = accept(lfd, NULL, NULL);
            if (cfd >= 0 && count < MAX_FDS)
                fds[count++] = (struct pollfd){.fd = cfd, .events = POLLIN};
            else if (cfd >= 0)
                close(cfd);
        }
    }
}
