/* Keeps only isprint() characters of the operator's line (to drop a stray '\r'), which in the C locale throws away every byte of a non-ASCII reply such as "你好" or "café".
 *
 * sockspec: model=forking reply=stdin caught-by=test_operator_lines_are_sent_as_typed causes=operator-line-changed
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
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
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
    errno = saved;
}

/* One line from stdin, byte by byte so a child takes only its own line; -1 at end of input. */
static int read_reply(char *out, size_t size)
{
    size_t len = 0;
    char c;
    ssize_t r;
    while ((r = read(0, &c, 1)) == 1 && c != '\n')
        if (isprint((unsigned char)c) && len < size - 1)
            out[len++] = c;
    out[len] = '\0';
    return r == 1 ? (int)len : -1;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = reap;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) { perror("bind/listen"); return 1; }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) { if (errno != EINTR) perror("accept"); continue; }
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            char buf[1024], line[1024];
            ssize_t n;
            while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
                printf("client say: %.*s\n", (int)n, buf);
                fflush(stdout);
                int len = read_reply(line, sizeof line);
                if (len < 0) break;
                int sent = 0;
                while (sent < len) {
                    ssize_t k = send(fd, line + sent, len - sent, 0);
                    if (k < 0) break;
                    sent += k;
                }
                if (sent < len) break;
            }
            close(fd);
            _exit(0);
        }
        if (pid < 0) perror("fork");
        close(fd);
    }
}
