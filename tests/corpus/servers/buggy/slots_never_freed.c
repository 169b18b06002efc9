/* Records each client in a table of 256 slots with clients[nclients++] but never frees a slot when a client leaves, so after 256 clients in all (not at once) it turns every new client away.
 *
 * sockspec: model=threaded reply=echo caught-by=test_nothing_leaks_over_many_clients causes=slots-never-freed
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

#define MAX_CLIENTS 256
static int clients[MAX_CLIENTS];
static int nclients;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[8192];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        ssize_t sent = 0;
        while (sent < n) {
            ssize_t k = send(fd, buf + sent, n - sent, 0);
            if (k < 0) break;
            sent += k;
        }
        if (sent < n) break;
    }
    close(fd);
    return NULL;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) { perror("bind/listen"); return 1; }
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) { perror("accept"); continue; }
        pthread_mutex_lock(&lock);
        if (nclients == MAX_CLIENTS) {
            pthread_mutex_unlock(&lock);
            fprintf(stderr, "server full\n");
            close(cfd);
            continue;
        }
        clients[nclients++] = cfd; /* (never removed when the client leaves) */
        pthread_mutex_unlock(&lock);
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(intptr_t)cfd) != 0) { close(cfd); continue; }
        pthread_detach(t);
    }
}
