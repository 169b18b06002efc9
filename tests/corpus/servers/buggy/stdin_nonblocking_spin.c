/* Makes stdin non-blocking "so a thread waiting for the operator does not hold the operator lock", and retries read() on EAGAIN in a loop: while a message waits for the operator's answer, its thread spins at full CPU.
 *
 * sockspec: model=threaded reply=stdin caught-by=test_no_cpu_while_waiting_for_the_operator causes=busy-poll
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t operator_lock = PTHREAD_MUTEX_INITIALIZER;

/* One line from stdin without its newline; -1 at end of input. */
static int read_line(char *line, size_t size)
{
    for (;;) {
        pthread_mutex_lock(&operator_lock);
        size_t len = 0;
        char c;
        ssize_t r = read(0, &c, 1);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pthread_mutex_unlock(&operator_lock);
            sched_yield(); /* nothing typed yet: let the others run */
            continue;
        }
        while (r == 1 && c != '\n') {
            if (len < size - 1)
                line[len++] = c;
            do
                r = read(0, &c, 1); /* the rest of the line is on its way */
            while (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        }
        pthread_mutex_unlock(&operator_lock);
        line[len] = '\0';
        return r == 1 ? (int)len : -1;
    }
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
        if (len < 0)
            break;
        ssize_t off = 0;
        while (off < len) {
            ssize_t k = send(fd, line + off, len - off, 0);
            if (k < 0)
                break;
            off += k;
        }
        if (off < len)
            break;
    }
    close(fd);
    return NULL;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
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
