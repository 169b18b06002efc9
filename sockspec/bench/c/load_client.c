/* The yardstick for `sockspec bench`'s Python load client: the same three
 * loads, in C.  If the Python client gets close to this one against the same
 * C server, the Python client is not what limits a measurement.
 *
 * usage: load_client HOST PORT roundtrip|connect|bulk CLIENTS BYTES WARMUP SECONDS
 *
 *   roundtrip  CLIENTS connections, each sends BYTES and waits for all of them
 *              back before sending again (blocking calls for one client, one
 *              epoll loop for several);
 *   connect    connect, send BYTES, read them back, close; again;
 *   bulk       one connection, BYTES per message, a sender thread and a
 *              receiver, so neither side of the echo waits for the other.
 *
 * Runs WARMUP seconds unmeasured, then SECONDS measured, and prints one line:
 * "COUNT ELAPSED SERVED CPU" (operations done while measured, the seconds
 * they took, how many connections completed at least one, the CPU seconds
 * this client used meanwhile).  Every wait is bounded:
 * on a server that does not answer it prints one line on stderr, exits 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT 5     /* seconds: a server silent for this long is not answering */
#define SETUP_TIMEOUT 30 /* seconds to connect all the clients of a figure, each answered once */

static struct sockaddr_in server;
static char *message, *reply;
static size_t size;
static double warm_end, measure_end, warmup, seconds;

static double clock_seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now(void) {
    return clock_seconds(CLOCK_MONOTONIC);
}

/* Start the warm-up: called once the connections a figure keeps open are made. */
static void start_clock(void) {
    warm_end = now() + warmup;
    measure_end = warm_end + seconds;
}

static void fail(const char *what) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT)
        fprintf(stderr, "%s: no answer within %d s\n", what, IO_TIMEOUT);
    else if (errno == 0)
        fprintf(stderr, "%s: the server closed the connection\n", what);
    else
        fprintf(stderr, "%s: %s\n", what, strerror(errno));
    exit(1);
}

static int connected_socket(const char *what) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval timeout = {.tv_sec = IO_TIMEOUT};
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    if (fd < 0 || connect(fd, (struct sockaddr *)&server, sizeof server) < 0)
        fail(what);
    return fd;
}

static void send_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
        if (n <= 0)
            fail("send");
        data += n;
        length -= (size_t)n;
    }
}

static void receive_all(int fd, size_t length, const char *what) {
    while (length > 0) {
        errno = 0;
        ssize_t n = recv(fd, reply, length, 0);
        if (n <= 0)
            fail(what);
        length -= (size_t)n;
    }
}

/* Count operations after the warm-up; `done` says whether the time is up. */
static long counted, served;
/* Our own CPU time is read only when the clock starts and stops: reading it is a system call. */
static double started, ended, cpu_started, cpu_ended;
static int tick(void) {
    double t = now();
    if (t < warm_end)
        return 0;
    if (counted++ == 0) {
        started = t;
        cpu_started = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    }
    ended = t;
    if (t < measure_end)
        return 0;
    cpu_ended = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    return 1;
}

static void one_client_roundtrips(void) {
    int fd = connected_socket("connect");
    start_clock();
    do {
        send_all(fd, message, size);
        receive_all(fd, size, "recv");
    } while (!tick());
    close(fd);
}

static void connects(void) {
    do {
        int fd = connected_socket("connect");
        send_all(fd, message, size);
        receive_all(fd, size, "recv");
        close(fd);
    } while (!tick());
}

static sem_t may_send;
static volatile int finished;
static int bulk_fd;

static void *sender(void *unused) {
    (void)unused;
    for (;;) {
        sem_wait(&may_send);
        if (finished)
            return NULL;
        send_all(bulk_fd, message, size);
    }
}

static void bulk(void) {
    pthread_t thread;
    bulk_fd = connected_socket("connect");
    start_clock();
    sem_init(&may_send, 0, 0);
    pthread_create(&thread, NULL, sender, NULL);
    do {
        sem_post(&may_send);
        receive_all(bulk_fd, size, "recv");
    } while (!tick());
    finished = 1;
    sem_post(&may_send);
    pthread_join(thread, NULL);
    close(bulk_fd);
}

static void many_clients_roundtrips(int clients) {
    int epoll = epoll_create1(0);
    int *fds = calloc((size_t)clients, sizeof *fds);
    size_t *received = calloc((size_t)clients, sizeof *received);
    long *done = calloc((size_t)clients, sizeof *done), *done_at_start = calloc((size_t)clients, sizeof *done);
    struct epoll_event event, *events = calloc((size_t)clients, sizeof *events);
    double setup_end = now() + SETUP_TIMEOUT;
    for (int i = 0; i < clients; i++) {
        char what[64];
        if (now() > setup_end) {
            fprintf(stderr, "only %d of %d clients were connected and answered within %d s\n", i, clients,
                    SETUP_TIMEOUT);
            exit(1);
        }
        snprintf(what, sizeof what, "client %d of %d was not served", i + 1, clients);
        /* Echoed once before the next connects: see _many_clients in load.py. */
        fds[i] = connected_socket(what);
        send_all(fds[i], message, size);
        receive_all(fds[i], size, what);
    }
    start_clock();
    for (int i = 0; i < clients; i++) {
        event.events = EPOLLIN;
        event.data.u32 = (uint32_t)i;
        epoll_ctl(epoll, EPOLL_CTL_ADD, fds[i], &event);
        send_all(fds[i], message, size);
    }
    /* When time is up, no new messages go out, but the replies still on their
     * way are read (for IO_TIMEOUT at most) before closing: closing a socket
     * with unread data resets the connection, and the server would see an error. */
    int measuring = 0, in_flight = clients;
    double drain_end = 0;
    while (in_flight > 0) {
        int wait = drain_end ? (int)((drain_end - now()) * 1000) : IO_TIMEOUT * 1000;
        if (wait <= 0)
            break;
        int ready = epoll_wait(epoll, events, clients, wait);
        if (ready == 0 && drain_end)
            break;
        if (ready <= 0) {
            errno = ready == 0 ? ETIMEDOUT : errno;
            fail("epoll_wait");
        }
        for (int k = 0; k < ready; k++) {
            int i = (int)events[k].data.u32;
            errno = 0;
            ssize_t n = recv(fds[i], reply, size, 0);
            if (n <= 0)
                fail("recv");
            received[i] += (size_t)n;
            if (received[i] < size)
                continue;
            received[i] = 0;
            done[i]++;
            if (drain_end) {
                in_flight--;
            } else if (tick()) {
                in_flight--;
                drain_end = now() + IO_TIMEOUT;
                for (int j = 0; j < clients; j++)
                    served += done[j] > done_at_start[j];
            } else {
                send_all(fds[i], message, size);
                if (!measuring && counted > 0) {
                    measuring = 1;
                    memcpy(done_at_start, done, (size_t)clients * sizeof *done);
                }
            }
        }
    }
    for (int i = 0; i < clients; i++)
        close(fds[i]);
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: load_client HOST PORT roundtrip|connect|bulk CLIENTS BYTES WARMUP SECONDS\n");
        return 2;
    }
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &server.sin_addr) != 1) {
        fprintf(stderr, "load_client: %s is not an IPv4 address\n", argv[1]);
        return 2;
    }
    int clients = atoi(argv[4]);
    size = (size_t)atol(argv[5]);
    message = malloc(size);
    reply = malloc(size);
    memset(message, 'x', size);
    warmup = atof(argv[6]);
    seconds = atof(argv[7]);
    start_clock();
    served = 1;
    if (strcmp(argv[3], "connect") == 0)
        connects();
    else if (strcmp(argv[3], "bulk") == 0)
        bulk();
    else if (clients > 1) {
        served = 0;
        many_clients_roundtrips(clients);
    } else
        one_client_roundtrips();
    /* The first counted operation only starts the clock. */
    printf("%ld %.6f %ld %.6f\n", counted - 1, ended - started, served, cpu_ended - cpu_started);
    return 0;
}
