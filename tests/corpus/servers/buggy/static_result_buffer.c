/* Reads each message through a helper, read_message(fd, &len), that returns a pointer to its own static buffer (like inet_ntoa()), so threads receiving at the same time overwrite each other's message before sending it.
 *
 * sockspec: model=threaded reply=echo caught-by=test_distinct_payloads_at_the_same_moment causes=shared-buffer
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

/* Returns the next message and its length in *len; NULL when the client is done. */
static const char *read_message(int fd, ssize_t *len)
{
    static char buf[8192];
    *len = recv(fd, buf, sizeof buf, 0);
    return *len > 0 ? buf : NULL;
}

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    const char *msg;
    ssize_t n;
    while ((msg = read_message(fd, &n)) != NULL) {
        ssize_t sent = 0;
        while (sent < n) {
            ssize_t k = send(fd, msg + sent, n - sent, 0);
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
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(intptr_t)cfd) != 0) { close(cfd); continue; }
        pthread_detach(t);
    }
}
