/* Never detaches or joins its threads, so each finished thread keeps its stack (8 MiB of address space) until the server dies.
 *
 * The thread count goes back down (an unjoined thread that returned is no
 * longer listed in /proc/PID/task), but its stack mapping stays: after some
 * thousands of clients pthread_create() fails.  Measured: VmSize 2.3 MB at
 * start, 478 MB after 50 clients, 1 thread.  The spec counts the memory
 * mappings before and after its 200 clients (two per leaked stack).
 *
 * sockspec: model=threaded reply=echo caught-by=test_nothing_leaks_over_many_clients causes=thread-leak
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
    int fd = *(int *)arg;
    free(arg);
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
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) {
            perror("accept");
            continue;
        }
        int *arg = malloc(sizeof *arg);
        *arg = cfd;
        pthread_t tid;
        if (pthread_create(&tid, NULL, serve, arg) != 0) {
            perror("pthread_create");
            close(cfd);
        }
        /* BUG: neither pthread_detach(tid) nor pthread_join(): the finished thread is never freed */
    }
}
