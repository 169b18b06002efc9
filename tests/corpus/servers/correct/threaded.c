/* The seed's multi-threaded server done right in plain C: one detached thread per client, the descriptor passed by value, SIGPIPE ignored.
 *
 * sockspec: model=threaded reply=echo
 */
#include <arpa/inet.h>
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
    char buf[8192];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        ssize_t sent = 0;
        while (sent < n) {
            ssize_t k = send(fd, buf + sent, n - sent, 0);
            if (k < 0)
                break;
            sent += k;
        }
        if (sent < n)
            break;
    }
    close(fd);
    return NULL;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) {
        perror("bind/listen");
        return 1;
    }
    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) {
            perror("accept");
            continue;
        }
        pthread_t tid;
        int err = pthread_create(&tid, &detached, serve, (void *)(intptr_t)cfd);
        if (err != 0) {
            fprintf(stderr, "pthread_create: %s\n", strerror(err));
            close(cfd);
        }
    }
}
