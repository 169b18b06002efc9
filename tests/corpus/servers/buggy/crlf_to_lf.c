/* Turns every "\r\n" into "\n" before echoing (to undo telnet line endings), so binary data holding the bytes 0x0d 0x0a comes back one byte short.
 *
 * sockspec: model=threaded reply=echo caught-by=test_line_endings_and_white_space causes=drops-bytes
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

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t k = send(fd, p, len, 0);
        if (k < 0) return -1;
        p += k; len -= k;
    }
    return 0;
}

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[8192], out[8192];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        size_t m = 0;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\r' && i + 1 < n && buf[i + 1] == '\n')
                continue; /* telnet sends \r\n: keep just \n */
            out[m++] = buf[i];
        }
        if (send_all(fd, out, m) < 0) break;
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
