/* An edge-triggered epoll (EPOLLET) echo server that calls recv() only once per readiness event instead of reading until EAGAIN, so data that arrived in a burst (and an end of file behind it) stays unread until the client sends again.
 *
 * Everything else is right: non-blocking sockets, the listener accepted until
 * EAGAIN, a reply the socket cannot take kept per connection and sent on
 * EPOLLOUT (nothing more is read meanwhile), a closed or reset client closed.
 * With EPOLLET, epoll_wait() reports a socket again only when new data
 * arrives: whatever one recv() left in the socket's receive queue is not
 * reported again, so the fix is `while ((n = recv(...)) > 0)` until EAGAIN.
 *
 * sockspec: model=evented reply=echo caught-by=test_half_close_right_after_a_large_message,test_half_close_while_every_buffer_is_full,test_client_that_reads_late_gets_everything,test_message_sizes causes=edge-triggered-not-drained
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSZ 4096

struct conn {
    int fd;
    char buf[BUFSZ];   /* received, not yet sent back */
    size_t len, off;
};

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
}

static void drop(struct conn *c)
{
    close(c->fd);      /* also takes it out of the epoll set */
    free(c);
}

/* Send what is pending; 1 if all of it went, 0 if the socket is full, -1 on error. */
static int flush(struct conn *c)
{
    while (c->off < c->len) {
        ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (n > 0) { c->off += n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return -1;
    }
    c->len = c->off = 0;
    return 1;
}

/* Returns 0 if the connection must be dropped. */
static int serve(struct conn *c)
{
    if (c->off < c->len) {
        int r = flush(c);
        if (r <= 0) return r == 0;
    }
    /* BUG: one recv() per event; with EPOLLET this must loop until EAGAIN. */
    ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 1;
    if (n <= 0) return 0;
    c->len = n;
    c->off = 0;
    return flush(c) >= 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: %s port\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) { perror("socket"); return 1; }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[argc - 1]));
    a.sin_addr.s_addr = inet_addr("127.0.0.1");
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
    if (listen(lfd, SOMAXCONN) < 0) { perror("listen"); return 1; }
    set_nonblocking(lfd);

    int ep = epoll_create1(0);
    if (ep < 0) { perror("epoll_create1"); return 1; }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

    struct epoll_event events[256];
    for (;;) {
        int k = epoll_wait(ep, events, 256, -1);
        if (k < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < k; i++) {
            struct conn *c = events[i].data.ptr;
            if (c) {
                if (!serve(c)) drop(c);
                continue;
            }
            for (;;) {
                int cfd = accept(lfd, NULL, NULL);
                if (cfd < 0) {
                    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
                    if (errno != EAGAIN && errno != EWOULDBLOCK) perror("accept");
                    break;
                }
                set_nonblocking(cfd);
                struct conn *nc = calloc(1, sizeof *nc);
                if (!nc) { close(cfd); continue; }
                nc->fd = cfd;
                struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = nc};
                if (epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev) < 0) { perror("epoll_ctl"); drop(nc); }
            }
        }
    }
}
