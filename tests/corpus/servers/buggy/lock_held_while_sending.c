/* Holds one global mutex while sending a reply (to keep sends "thread-safe"), so a client that does not read blocks every other client's reply.
 *
 * The flooding client keeps going until the server is blocked sending to it
 * (it has unread bytes from that client and all its threads sleep), so the
 * lock is held for good when the next client asks.
 *
 * sockspec: model=threaded reply=echo caught-by=test_flooding_client_does_not_block_others causes=blocking-send-under-lock
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;

static void *serve(void *arg)
{
    int fd = *(int *)arg;
    free(arg);
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        pthread_mutex_lock(&send_lock); /* BUG: send() may block for as long as the client does not read */
        ssize_t sent = 0;
        while (sent < n) {
            ssize_t k = send(fd, buf + sent, n - sent, 0);
            if (k < 0)
                break;
            sent += k;
        }
        pthread_mutex_unlock(&send_lock);
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
