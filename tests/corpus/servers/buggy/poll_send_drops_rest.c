/* An evented server with poll() and non-blocking sockets that sends each reply with one send() and takes it as done: when the client's socket is full, send() takes part of the reply or fails with EAGAIN, and the rest is dropped.
 *
 * Everything else is right: the loop never blocks, a closed or reset client is
 * removed from the poll set and closed.  What is missing is a buffer per
 * connection for what send() did not take, and POLLOUT to send it later.
 *
 * sockspec: model=evented reply=echo caught-by=test_client_that_reads_late_gets_everything causes=partial-send-ignored
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    static struct pollfd fds[MAX_FDS];
    int count = 1;
    fds[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
    char buf[65536];
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
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n > 0 && (send(fd, buf, n, 0) >= 0 || errno == EAGAIN))
                continue; /* the bug: a short send, or EAGAIN, counts as done */
            close(fd);
            fds[i] = fds[--count];
        }
        if (fds[0].revents & POLLIN) {
            int cfd;
            while ((cfd = accept(lfd, NULL, NULL)) >= 0) {
                if (count == MAX_FDS) {
                    close(cfd);
                    continue;
                }
                fcntl(cfd, F_SETFL, O_NONBLOCK);
                fds[count++] = (struct pollfd){.fd = cfd, .events = POLLIN};
            }
        }
    }
}
