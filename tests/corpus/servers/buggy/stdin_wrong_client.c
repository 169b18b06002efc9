/* Sends the operator's reply to `current_fd`, a global the accept loop sets to the newest client, instead of the thread's own descriptor, so with several clients connected replies go to the last one who came.
 *
 * sockspec: model=threaded reply=stdin caught-by=test_fifty_clients_interleaved,test_connections_accepted_back_to_back causes=wrong-client-fd
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
static int current_fd = -1;

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

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[1024], line[1024];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        printf("client %d say: %.*s\n", fd, (int)n, buf);
        fflush(stdout);
        int len = read_line(line, sizeof line);
        if (len < 0) break;
        int sent = 0;
        while (sent < len) {
            ssize_t k = send(current_fd, line + sent, len - sent, 0);
            if (k < 0) break;
            sent += k;
        }
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
        current_fd = cfd;
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(intptr_t)cfd) != 0) { close(cfd); continue; }
        pthread_detach(t);
    }
}
