/* Passes &cfd, the address of main's loop variable, to each thread: when two clients connect at once, the first thread may read the second client's descriptor, so two threads serve one client and the other is never served.
 *
 * A race, which test_connections_accepted_back_to_back provokes ten times in a
 * row (two clients connecting back to back), enough to catch it on every run.
 *
 * sockspec: model=threaded reply=echo caught-by=test_connections_accepted_back_to_back causes=shared-fd-variable
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *serve(void *arg)
{
    pthread_detach(pthread_self());
    printf("new client\n");
    int fd = *(int *)arg; /* BUG: main may already have overwritten cfd with the next client */
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        ssize_t sent = 0;
        while (sent < n) {
            ssize_t k = send(fd, buf + sent, n - sent, 0);
            if (k < 0)
                break;
            sent += k;
        }
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
    int cfd;
    for (;;) {
        cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) {
            perror("accept");
            continue;
        }
        pthread_t tid;
        pthread_create(&tid, NULL, serve, &cfd);
    }
}
