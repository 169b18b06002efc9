/* Makes each accepted socket non-blocking (and waits with poll() before recv(), so it does not spin), but sends each reply with one send(): when the client reads slowly, send() takes part or fails with EAGAIN and the rest of the reply is dropped.
 *
 * sockspec: model=threaded reply=echo caught-by=test_client_that_reads_late_gets_everything causes=partial-send-ignored
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); /* a slow client must not block this thread */
    char buf[8192];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, -1) < 0) { if (errno == EINTR) continue; break; }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n <= 0) break;
        if (send(fd, buf, n, 0) < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            break; /* EAGAIN: the client is busy, never mind */
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
