/* Every thread receives into one global buffer, so clients talking at the same moment get each other's data.
 *
 * A race, which test_distinct_payloads_at_the_same_moment provokes thousands
 * of times per run (twenty clients, 2 KiB pieces, each receive-then-send cycle
 * of every thread overlapping the others'), with or without the log line.
 *
 * sockspec: model=threaded reply=echo caught-by=test_distinct_payloads_at_the_same_moment causes=shared-buffer
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[65536]; /* BUG: shared by all threads; declare it inside serve() */

static void *serve(void *arg)
{
    int fd = *(int *)arg;
    free(arg);
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        printf("fd %d: %zd bytes\n", fd, n);
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
    setvbuf(stdout, NULL, _IOLBF, 0);
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
        int *arg = malloc(sizeof *arg);
        *arg = cfd;
        pthread_t tid;
        pthread_create(&tid, NULL, serve, arg);
        pthread_detach(tid);
    }
}
