/* An evented echo server in C with select(): a reply the socket cannot take is kept in the connection's own output buffer and sent when select() says the socket is writable, and the fd sets are sized at run time, so descriptors past FD_SETSIZE are watched too.
 *
 * Non-blocking sockets; the state of each connection is found by its
 * descriptor.  While a connection has unsent output it is put in the write set
 * only, so nothing more is read from a client that does not read (TCP pushes
 * back on it) and every other client goes on being served.  The fd sets are
 * arrays of fd_mask grown with the highest descriptor (select() itself takes
 * any nfds; only the fixed-size fd_set type and FD_SET() stop at FD_SETSIZE),
 * and bits are set by hand.  Clients who leave, reset or fail are closed; the
 * server never exits on a client's error.
 *
 * sockspec: model=evented reply=echo
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSZ 16384
#define WORD_BITS (8 * (int)sizeof(fd_mask))

struct conn {
    int open;
    char out[BUFSZ];   /* received, not yet sent back */
    size_t len, off;
};

static struct conn **conns;   /* by descriptor */
static int nconns;            /* size of conns */
static int maxfd;             /* highest descriptor in use */
static int lfd;               /* the listening socket */
static fd_mask *rset, *wset;
static size_t set_words;

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
}

static void bit_set(fd_mask *s, int fd) { s[fd / WORD_BITS] |= (fd_mask)1 << (fd % WORD_BITS); }
static int bit_isset(const fd_mask *s, int fd) { return (s[fd / WORD_BITS] >> (fd % WORD_BITS)) & 1; }

static void grow_sets(int fd)
{
    size_t words = (size_t)fd / WORD_BITS + 1;
    if (words <= set_words) return;
    rset = realloc(rset, words * sizeof *rset);
    wset = realloc(wset, words * sizeof *wset);
    if (!rset || !wset) { perror("realloc"); exit(1); }
    set_words = words;
}

static int add_conn(int fd)
{
    if (fd >= nconns) {
        int n = nconns ? nconns : 64;
        while (n <= fd) n *= 2;
        struct conn **c = realloc(conns, n * sizeof *conns);
        if (!c) return -1;
        memset(c + nconns, 0, (n - nconns) * sizeof *c);
        conns = c;
        nconns = n;
    }
    if (!conns[fd] && !(conns[fd] = malloc(sizeof **conns))) return -1;
    conns[fd]->open = 1;
    conns[fd]->len = conns[fd]->off = 0;
    if (fd > maxfd) maxfd = fd;
    grow_sets(fd);
    return 0;
}

static void drop_conn(int fd)
{
    close(fd);
    conns[fd]->open = 0;
    while (maxfd > lfd && !(maxfd < nconns && conns[maxfd] && conns[maxfd]->open)) maxfd--;
}

/* Send what is pending; 1 if all of it went, 0 if the socket is full, -1 on error. */
static int flush(int fd)
{
    struct conn *c = conns[fd];
    while (c->off < c->len) {
        ssize_t n = send(fd, c->out + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (n > 0) { c->off += n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return -1;
    }
    c->len = c->off = 0;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: %s port\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
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
    maxfd = lfd;
    grow_sets(lfd);

    for (;;) {
        memset(rset, 0, set_words * sizeof *rset);
        memset(wset, 0, set_words * sizeof *wset);
        bit_set(rset, lfd);
        for (int fd = 0; fd <= maxfd && fd < nconns; fd++) {
            struct conn *c = conns[fd];
            if (!c || !c->open) continue;
            if (c->off < c->len) bit_set(wset, fd);
            else bit_set(rset, fd);
        }
        int k = select(maxfd + 1, (fd_set *)rset, (fd_set *)wset, NULL, NULL);
        if (k < 0) {
            if (errno == EINTR) continue;
            perror("select");
            return 1;
        }
        int top = maxfd;
        for (int fd = 0; fd <= top && fd < nconns; fd++) {
            struct conn *c = conns[fd];
            if (!c || !c->open) continue;
            if (bit_isset(wset, fd)) {
                if (flush(fd) < 0) drop_conn(fd);
            } else if (bit_isset(rset, fd)) {
                ssize_t n = recv(fd, c->out, sizeof c->out, 0);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
                if (n <= 0) { drop_conn(fd); continue; }   /* end of file, reset or error */
                c->len = n;
                c->off = 0;
                if (flush(fd) < 0) drop_conn(fd);
            }
        }
        if (bit_isset(rset, lfd)) {
            for (;;) {
                int cfd = accept(lfd, NULL, NULL);
                if (cfd < 0) {
                    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
                    if (errno != EAGAIN && errno != EWOULDBLOCK) perror("accept");
                    break;
                }
                set_nonblocking(cfd);
                if (add_conn(cfd) < 0) close(cfd);
            }
        }
    }
}
