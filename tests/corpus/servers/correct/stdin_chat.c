/* The seed's chat done right, threaded: each message is answered with one line from stdin, read byte by byte under a mutex and sent without its newline.
 *
 * sockspec: model=threaded reply=stdin
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

static pthread_mutex_t operator_lock = PTHREAD_MUTEX_INITIALIZER;

/* One line typed on stdin, without its newline; -1 at end of input.  read()
 * one byte at a time, so no thread takes more than its own line. */
static int read_line(char *line, size_t size)
{
    size_t len = 0;
    char c;
    ssize_t r;
    pthread_mutex_lock(&operator_lock);
    while ((r = read(0, &c, 1)) == 1 && c != '\n')
        if (len < size - 1)
            line[len++] = c;
    pthread_mutex_unlock(&operator_lock);
    line[len] = '\0';
    return r == 1 ? (int)len : -1;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t k = send(fd, buf, len, 0);
        if (k < 0)
            return -1;
        buf += k;
        len -= k;
    }
    return 0;
}

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[1024], line[1024];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        printf("client say: %.*s\n", (int)n, buf);
        fflush(stdout);
        int len = read_line(line, sizeof line);
        if (len < 0 || send_all(fd, line, len) < 0)
            break;
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
