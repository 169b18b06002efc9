/* The C baseline of `sockspec bench`: a small echo server for each of the
 * course's three models, written the plain way the lecture notes teach
 * (blocking sockets, one client at a time / one child / one thread per
 * client) with the notes' bugs removed.  It is the yardstick a server under
 * test is compared with in the same run, so it must be correct and must not
 * be clever: no epoll, no thread pool, no tuning a student would not write.
 *
 * usage: echo_server iterative|forking|threaded HOST PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUFFER_SIZE (64 * 1024) /* the same as the Python reference servers */

/* Echo until the client closes (recv() == 0) or the connection breaks. */
static void serve_client(int fd) {
    char buffer[BUFFER_SIZE]; /* on this thread's own stack: nothing shared between clients */
    /* Every reply leaves at once, as in the reference servers (see reference/handler.py):
     * with Nagle's algorithm, the tail of a large reply waits for the client's delayed ACK. */
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    for (;;) {
        ssize_t got = recv(fd, buffer, sizeof buffer, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        for (ssize_t sent = 0; sent < got;) {
            ssize_t n = send(fd, buffer + sent, (size_t)(got - sent), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                goto done;
            sent += n;
        }
    }
done:
    close(fd);
}

static void *client_thread(void *arg) {
    serve_client((int)(intptr_t)arg);
    return NULL;
}

static void reap_children(int signum) {
    (void)signum;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

static int listening_socket(const char *host, int port) {
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        fprintf(stderr, "echo_server: %s is not an IPv4 address\n", host);
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(fd, SOMAXCONN) < 0) {
        perror("echo_server: cannot listen");
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: echo_server iterative|forking|threaded HOST PORT\n");
        return 2;
    }
    const char *model = argv[1];
    int forking = strcmp(model, "forking") == 0, threaded = strcmp(model, "threaded") == 0;
    if (!forking && !threaded && strcmp(model, "iterative") != 0) {
        fprintf(stderr, "echo_server: unknown model %s\n", model);
        return 2;
    }
    int listener = listening_socket(argv[2], atoi(argv[3]));
    if (forking) {
        struct sigaction action = {.sa_handler = reap_children, .sa_flags = SA_RESTART};
        sigaction(SIGCHLD, &action, NULL);
    }
    printf("listening on %s:%s (%s echo)\n", argv[2], argv[3], model);
    fflush(stdout);
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("echo_server: accept");
            sleep(1); /* out of descriptors, say: do not spin */
            continue;
        }
        if (threaded) {
            pthread_t thread;
            if (pthread_create(&thread, NULL, client_thread, (void *)(intptr_t)fd) != 0) {
                close(fd);
                continue;
            }
            pthread_detach(thread);
        } else if (forking) {
            pid_t pid = fork();
            if (pid == 0) {
                close(listener);
                serve_client(fd);
                _exit(0);
            }
            close(fd); /* the child has its own copy; without this the client never sees end of file */
        } else {
            serve_client(fd);
        }
    }
}
