/* A threaded server whose main thread sets up the listening socket, starts an acceptor thread and then ends with pthread_exit(NULL), as pthread_exit(3) recommends "to allow other threads to continue execution"; the acceptor starts a detached thread per client.
 *
 * sockspec: model=threaded reply=echo
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16384];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        ssize_t off = 0;
        while (off < n) {
            ssize_t k = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (k < 0) {
                if (errno == EINTR)
                    continue;
                goto done;
            }
            off += k;
        }
    }
done:
    close(fd);
    return NULL;
}

static void *acceptor(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0) {
            if (errno != EINTR && errno != ECONNABORTED)
                perror("accept");
            continue;
        }
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(intptr_t)c) != 0) {
            perror("pthread_create");
            close(c);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    const char *host = getenv("HOST") ? getenv("HOST") : "127.0.0.1";
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    inet_pton(AF_INET, host, &a.sin_addr);
    a.sin_port = htons((unsigned short)atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, SOMAXCONN) < 0) {
        perror("bind/listen");
        return 1;
    }
    printf("listening on %s:%s\n", host, argv[argc - 1]);
    fflush(stdout);
    pthread_t t;
    if (pthread_create(&t, NULL, acceptor, (void *)(intptr_t)lfd) != 0) {
        perror("pthread_create");
        return 1;
    }
    pthread_detach(t);
    pthread_exit(NULL); /* the process lives on in its other threads */
}
