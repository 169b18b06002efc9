/* A threaded server that sends every reply in pieces of at most 16 bytes, one send() each.
 *
 * sockspec: model=threaded reply=echo
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIECE 16

static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        ssize_t i;
        for (i = 0; i < n; i += PIECE) {
            size_t piece = n - i < PIECE ? (size_t)(n - i) : PIECE;
            if (send(fd, buf + i, piece, 0) != (ssize_t)piece)
                break;
        }
        if (i < n)
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
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 128) < 0) {
        perror("bind/listen");
        return 1;
    }
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) {
            perror("accept");
            continue;
        }
        pthread_t tid;
        if (pthread_create(&tid, NULL, serve, (void *)(long)cfd) != 0) {
            close(cfd);
            continue;
        }
        pthread_detach(tid);
    }
}
