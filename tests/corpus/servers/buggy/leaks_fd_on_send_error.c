/* Closes the connection when recv() returns 0 or fails, but when send() fails (the client reset while its echo was being sent) the thread just returns: every client that resets while the server writes to it leaks a descriptor.
 *
 * sockspec: model=threaded reply=echo caught-by=test_reset_while_server_sends causes=fd-leak
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
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) {
            close(fd);
            return NULL;
        }
        if (n < 0) {
            perror("recv");
            close(fd);
            return NULL;
        }
        ssize_t off = 0;
        while (off < n) {
            ssize_t k = send(fd, buf + off, n - off, 0);
            if (k < 0) {
                perror("send");
                return NULL; /* the client is gone anyway */
            }
            off += k;
        }
    }
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
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) {
            perror("accept");
            continue;
        }
        pthread_t tid;
        if (pthread_create(&tid, NULL, serve, (void *)(intptr_t)cfd) != 0) {
            close(cfd);
            continue;
        }
        pthread_detach(tid);
    }
}
