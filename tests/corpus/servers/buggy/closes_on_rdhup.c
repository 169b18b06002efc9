/* An evented epoll server that closes a connection as soon as epoll reports EPOLLRDHUP (the client half-closed), dropping what it still owes that client.
 *
 * The client's end of file arrives with data still unread before it, and with
 * echoes still waiting for room in the socket; closing then throws both away
 * (and unread data makes close() send a reset).  A client that half-closes
 * while its echo fits in the kernel's buffers sees nothing wrong; one that
 * half-closes while every buffer is full loses the rest.
 *
 * sockspec: model=evented reply=echo caught-by=test_half_close_while_every_buffer_is_full causes=linger-reset
 */
#define _GNU_SOURCE /* accept4() */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
    int fd;
    size_t off, len; /* buf[off..len) is received but not yet sent back */
    char buf[65536];
};

static int ep;

static void watch(struct conn *c, int op, unsigned events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, op, c->fd, &ev) < 0)
        perror("epoll_ctl");
}

static void drop(struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); /* before close(): the fd number may be reused at once */
    close(c->fd);
    free(c);
}

/* Send what the socket takes now. Returns 0 when all is sent, 1 when the rest must wait, -1 on error. */
static int flush(struct conn *c)
{
    while (c->off < c->len) {
        ssize_t k = send(c->fd, c->buf + c->off, c->len - c->off, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
        c->off += (size_t)k;
    }
    c->off = c->len = 0;
    return 0;
}

static void on_writable(struct conn *c)
{
    int r = flush(c);
    if (r < 0)
        drop(c);
    else if (r == 0)
        watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP); /* all sent: read the next message */
}

static void on_readable(struct conn *c)
{
    ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) { /* 0: the client closed; < 0: reset. Nothing is unsent here: we read only when all was sent. */
        drop(c);
        return;
    }
    c->off = 0;
    c->len = (size_t)n;
    int r = flush(c);
    if (r < 0)
        drop(c);
    else if (r == 1)
        watch(c, EPOLL_CTL_MOD, EPOLLOUT | EPOLLRDHUP); /* no room: wait to send the rest, read nothing meanwhile */
}

static void accept_all(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                perror("accept4");
            return;
        }
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        watch(c, EPOLL_CTL_ADD, EPOLLIN | EPOLLRDHUP);
    }
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) {
        perror("bind/listen");
        return 1;
    }
    ep = epoll_create1(0);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
    struct epoll_event events[64];
    for (;;) {
        int n = epoll_wait(ep, events, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL)
                accept_all(lfd);
            else if (events[i].events & EPOLLRDHUP)
                drop(c); /* the bug: the client half-closed, so close now, owed echoes or not */
            else if (events[i].events & EPOLLOUT)
                on_writable(c);
            else
                on_readable(c); /* EPOLLIN, or EPOLLERR/EPOLLHUP: recv() says which */
        }
    }
}
