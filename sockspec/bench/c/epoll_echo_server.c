/* The C baseline of `sockspec bench` for evented servers: one thread, one
 * epoll set, level-triggered, every socket non-blocking, written the plain
 * way a course's I/O multiplexing chapter teaches.  Like echo_server.c it is
 * the yardstick a server under test is compared with, so it must be correct
 * and must not be clever: no edge triggering, no threads, no tuning.
 *
 * What an event loop owes its clients that blocking servers get for free:
 * a reply the client's socket has no room for is kept and sent when epoll
 * says the socket is writable, and until then nothing more is read from that
 * client (so a client that never reads cannot make the server hoard memory);
 * a client that closed is closed once its replies are out (its end of file
 * is read only then); a closed
 * connection leaves the epoll set before its descriptor is closed.
 *
 * usage: epoll_echo_server evented HOST PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_SIZE (64 * 1024) /* the same as the Python reference servers */
#define EVENTS 256

/* One client: what it sent that is not yet all echoed (nothing more is read from it until it is). */
struct connection {
    int fd;
    char *pending; /* BUFFER_SIZE bytes: pending[start..end) is owed */
    size_t start, end;
};

static int epoll_fd;

static void set_nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Watch for input while nothing is owed, for room to send while something is. */
static void watch(struct connection *c) {
    struct epoll_event event = {.events = c->start < c->end ? EPOLLOUT : EPOLLIN, .data.ptr = c};
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event);
}

static void drop(struct connection *c) {
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL); /* before close: the number may be reused at once */
    close(c->fd);
    free(c->pending);
    free(c);
}

/* Send what is owed; 0 once the connection is gone. */
static int flush(struct connection *c) {
    while (c->start < c->end) {
        ssize_t n = send(c->fd, c->pending + c->start, c->end - c->start, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1; /* no room: epoll says when there is (the rest is kept) */
        if (n < 0) {
            drop(c);
            return 0;
        }
        c->start += (size_t)n;
    }
    c->start = c->end = 0;
    return 1;
}

static void on_ready(struct connection *c, uint32_t events) {
    if (c->start < c->end || (events & EPOLLOUT)) {
        if (flush(c))
            watch(c);
        return;
    }
    ssize_t got = recv(c->fd, c->pending, BUFFER_SIZE, 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (got <= 0) { /* recv() == 0: the client closed; < 0: the connection broke */
        drop(c);
        return;
    }
    c->end = (size_t)got;
    if (flush(c))
        watch(c);
}

static void accept_all(int listener) {
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                perror("epoll_echo_server: accept");
            return; /* the queue is empty (the listener is non-blocking), or out of descriptors */
        }
        set_nonblocking(fd);
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); /* as echo_server.c does */
        struct connection *c = calloc(1, sizeof *c);
        char *pending = malloc(BUFFER_SIZE);
        if (!c || !pending) {
            free(c);
            free(pending);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->pending = pending;
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
    }
}

static int listening_socket(const char *host, int port) {
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        fprintf(stderr, "epoll_echo_server: %s is not an IPv4 address\n", host);
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(fd, SOMAXCONN) < 0) {
        perror("epoll_echo_server: cannot listen");
        exit(1);
    }
    set_nonblocking(fd);
    return fd;
}

int main(int argc, char **argv) {
    if (argc != 4 || strcmp(argv[1], "evented") != 0) {
        fprintf(stderr, "usage: epoll_echo_server evented HOST PORT\n");
        return 2;
    }
    int listener = listening_socket(argv[2], atoi(argv[3]));
    epoll_fd = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL: the listener */
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event);
    printf("listening on %s:%s (evented echo)\n", argv[2], argv[3]);
    fflush(stdout);
    struct epoll_event ready[EVENTS];
    for (;;) {
        int count = epoll_wait(epoll_fd, ready, EVENTS, -1);
        if (count < 0 && errno != EINTR) {
            perror("epoll_echo_server: epoll_wait");
            return 1;
        }
        for (int i = 0; i < count; i++) {
            if (ready[i].data.ptr == NULL)
                accept_all(listener);
            else
                on_ready(ready[i].data.ptr, ready[i].events);
        }
    }
}
