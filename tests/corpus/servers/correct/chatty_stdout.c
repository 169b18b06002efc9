/* A threaded server that prints a lot: 4 MiB of banner at start, then one line on stdout for every byte it receives.
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

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        pthread_mutex_lock(&print_lock);
        for (ssize_t i = 0; i < n; i++)
            printf("fd %d got byte %3u\n", fd, (unsigned char)buf[i]);
        fflush(stdout);
        pthread_mutex_unlock(&print_lock);
        ssize_t sent = 0;
        while (sent < n) {
            ssize_t k = send(fd, buf + sent, n - sent, MSG_NOSIGNAL);
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
    for (int i = 0; i < 4 * 1024 * 1024 / 64; i++)
        printf("%063d\n", i);
    fflush(stdout);

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
