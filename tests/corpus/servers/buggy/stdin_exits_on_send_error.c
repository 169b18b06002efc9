/* Exits the whole server when send() fails, so a client that resets while the operator types its reply takes the server down.
 *
 * sockspec: model=threaded reply=stdin caught-by=test_reset_while_server_waits_for_operator causes=exits-on-client-error
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t operator_lock = PTHREAD_MUTEX_INITIALIZER;

/* One line from stdin without its newline, read byte by byte so no thread reads ahead. */
static int read_line(char *line, size_t size)
{
    size_t len = 0;
    char c;
    pthread_mutex_lock(&operator_lock);
    while (read(0, &c, 1) == 1 && c != '\n')
        if (len < size - 1)
            line[len++] = c;
    pthread_mutex_unlock(&operator_lock);
    line[len] = '\0';
    return (int)len;
}

static void *serve(void *arg)
{
    int fd = *(int *)arg;
    free(arg);
    char buf[4096], line[1024];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        int len = read_line(line, sizeof line);
        if (send(fd, line, len, 0) < 0) {
            perror("send");
            exit(1); /* BUG: only this client is gone; close its socket and end its thread */
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
        pthread_create(&tid, NULL, serve, arg);
        pthread_detach(tid);
    }
}
