/* A poll() echo server that, when the listening socket is readable, calls accept() in a loop until it fails, but never made the listening socket non-blocking, so after taking the waiting clients the loop blocks the whole server inside accept() until another client connects.
 *
 * Everything else is right: non-blocking client sockets, EINTR retried, a
 * partial send() kept and finished on POLLOUT, a closed or reset client closed
 * and its slot freed.  An accept loop that runs until EAGAIN needs
 * fcntl(lfd, F_SETFL, O_NONBLOCK) on the listener too (or one accept() per
 * readiness).
 *
 * sockspec: model=evented auto=none reply=echo caught-by=test_one_message,test_serves_client_after_client,test_idle_client_does_not_block_others,test_evented_threads_wait_for_any_socket_not_one causes=blocking-accept-in-loop
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSZ 65536

struct conn {
    char *buf;    /* what recv() returned and send() has not taken yet */
    size_t len, off;
};

static struct pollfd *pfds;
static struct conn *conns;
static size_t nfds, cap;

static void on_usr1(int sig) { (void)sig; }

static void set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void add_conn(int fd)
{
    if (nfds == cap) {
        cap = cap ? cap * 2 : 64;
        pfds = realloc(pfds, cap * sizeof *pfds);
        conns = realloc(conns, cap * sizeof *conns);
        if (!pfds || !conns) { perror("realloc"); exit(1); }
    }
    pfds[nfds].fd = fd;
    pfds[nfds].events = POLLIN;
    pfds[nfds].revents = 0;
    conns[nfds].buf = NULL;
    conns[nfds].len = conns[nfds].off = 0;
    nfds++;
}

static void drop_conn(size_t i)
{
    close(pfds[i].fd);
    free(conns[i].buf);
    nfds--;
    if (i != nfds) {
        pfds[i] = pfds[nfds];
        conns[i] = conns[nfds];
    }
}

/* Send what is pending; 1 if all of it went, 0 if the socket is full, -1 on error. */
static int flush(size_t i)
{
    struct conn *c = &conns[i];
    while (c->off < c->len) {
        ssize_t n = send(pfds[i].fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (n > 0) { c->off += n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return -1;
    }
    c->off = c->len = 0;
    return 1;
}

/* Serve connection i; returns 0 if it must be dropped. */
static int serve(size_t i)
{
    struct conn *c = &conns[i];
    short re = pfds[i].revents;
    if (c->len > c->off) {
        if (!(re & (POLLOUT | POLLERR | POLLHUP))) return 1;
        int r = flush(i);
        if (r < 0) return 0;
        if (r == 0) return 1;
        pfds[i].events = POLLIN;
        return 1;          /* read again on the next round */
    }
    if (!(re & (POLLIN | POLLERR | POLLHUP))) return 1;
    if (!c->buf && !(c->buf = malloc(BUFSZ))) return 0;
    ssize_t n;
    do n = recv(pfds[i].fd, c->buf, BUFSZ, 0); while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
    if (n <= 0) return 0;  /* end of file, reset or error: this client is done */
    c->len = n;
    c->off = 0;
    int r = flush(i);
    if (r < 0) return 0;
    if (r == 0) pfds[i].events = POLLOUT;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: %s port\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;    /* no SA_RESTART: poll(), accept(), recv() may fail with EINTR */
    sigaction(SIGUSR1, &sa, NULL);

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
    /* BUG: the listening socket stays blocking, yet accept() is called until it fails. */
    add_conn(lfd);   /* slot 0 is the listener */

    for (;;) {
        int k = poll(pfds, nfds, -1);
        if (k < 0) {
            if (errno == EINTR) continue;
            perror("poll");
            return 1;
        }
        size_t n0 = nfds;
        /* Clients, from the end, so that drop_conn() only moves slots already served. */
        for (size_t i = n0; i-- > 1;) {
            if (pfds[i].revents && !serve(i)) drop_conn(i);
        }
        if (pfds[0].revents & POLLIN) {
            for (;;) {
                int cfd = accept(lfd, NULL, NULL);
                if (cfd < 0) {
                    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
                    if (errno != EAGAIN && errno != EWOULDBLOCK) perror("accept");
                    break;
                }
                set_nonblocking(cfd);
                add_conn(cfd);
            }
        }
    }
}
