/* Sends strlen(buf) bytes back, so binary data is cut at the first NUL byte.
 *
 * The student terminates what recv() returned with buf[n] = '\0' (to print
 * it) and then sends strlen(buf) bytes: text works, binary data does not.
 *
 * sockspec: model=threaded reply=echo caught-by=test_binary_data_with_nul_bytes,test_message_sizes,test_stream_split_anywhere causes=strlen-on-binary
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *serve(void *arg)
{
    int fd = *(int *)arg;
    free(arg);
    char buf[1024 + 1];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf - 1, 0)) > 0) {
        buf[n] = '\0';
        printf("client says: %s\n", buf);
        size_t len = strlen(buf); /* BUG: stops at the first NUL byte, not at n */
        size_t sent = 0;
        while (sent < len) {
            ssize_t k = send(fd, buf + sent, len - sent, 0);
            if (k < 0)
                break;
            sent += k;
        }
    }
    close(fd);
    return NULL;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
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
