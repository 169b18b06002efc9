/* Assumes a message ends when recv() returns less than a full buffer, so a message of exactly 1024 bytes (or a multiple) waits forever for its end.
 *
 * The student gathers "the whole message" before answering: keep reading
 * while recv() fills the 1024-byte buffer.  When the data ends exactly at a
 * buffer boundary, the next recv() blocks, and no reply is ever sent.
 *
 * sockspec: model=forking reply=echo caught-by=test_message_sizes causes=recv-is-not-a-message
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap(int sig)
{
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
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

static void serve(int fd)
{
    for (;;) {
        char *msg = NULL;
        size_t len = 0;
        char buf[1024];
        ssize_t n;
        do { /* BUG: a full buffer does not mean more data is coming */
            n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            msg = realloc(msg, len + n);
            memcpy(msg + len, buf, n);
            len += n;
        } while (n == sizeof buf);
        if (len > 0 && send_all(fd, msg, len) < 0)
            n = -1;
        free(msg);
        if (n <= 0)
            return;
    }
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, reap);
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
        if (fork() == 0) {
            close(lfd);
            serve(cfd);
            close(cfd);
            _exit(0);
        }
        close(cfd);
    }
}
