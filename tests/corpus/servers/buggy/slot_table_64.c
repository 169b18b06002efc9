/* Keeps its clients in a fixed table of 64 slots and turns away (closes) any client that arrives when the table is full.
 *
 * sockspec: model=threaded reply=echo caught-by=test_two_hundred_clients_at_once causes=concurrency-cap
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 64 /* BUG: a fixed limit; the server must serve as many clients as connect */

static int slots[MAX_CLIENTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

static void *serve(void *arg)
{
    int *slot = arg;
    int fd = *slot;
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
    pthread_mutex_lock(&slots_lock);
    *slot = 0;
    pthread_mutex_unlock(&slots_lock);
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
        int *slot = NULL;
        pthread_mutex_lock(&slots_lock);
        for (int i = 0; i < MAX_CLIENTS && !slot; i++)
            if (slots[i] == 0) {
                slots[i] = cfd;
                slot = &slots[i];
            }
        pthread_mutex_unlock(&slots_lock);
        if (!slot) {
            fprintf(stderr, "too many clients\n");
            close(cfd);
            continue;
        }
        pthread_t tid;
        pthread_create(&tid, NULL, serve, slot);
        pthread_detach(tid);
    }
}
