/* Strips the newline of the operator's line with strtok(line, "\n"), which returns NULL for an empty line: when the operator just presses Enter, strlen(NULL) crashes the child and its client's connection is gone.
 *
 * sockspec: model=forking reply=stdin caught-by=test_empty_operator_line_sends_nothing_and_the_chat_goes_on causes=empty-operator-line
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_sigchld(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

/* One line from stdin, read a byte at a time so no child takes another's line. */
static int read_line(char *line, size_t size)
{
    size_t len = 0;
    char c;
    ssize_t r;
    while ((r = read(0, &c, 1)) == 1) {
        if (len < size - 1)
            line[len++] = c;
        if (c == '\n')
            break;
    }
    line[len] = '\0';
    return r == 1 ? 0 : -1;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);

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
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            char buf[1024], line[1024];
            ssize_t n;
            while ((n = recv(cfd, buf, sizeof buf - 1, 0)) > 0) {
                buf[n] = '\0';
                printf("client say: %s\nyou want to say: ", buf);
                fflush(stdout);
                if (read_line(line, sizeof line) < 0)
                    break;
                char *reply = strtok(line, "\n");
                if (send(cfd, reply, strlen(reply), 0) < 0) {
                    perror("send");
                    break;
                }
            }
            close(cfd);
            _exit(0);
        }
        if (pid < 0)
            perror("fork");
        close(cfd);
    }
}
