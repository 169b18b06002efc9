/* Two processes, no poll(): a child copies the socket to stdout while the parent copies stdin to the socket.
 *
 * The classic fork()-based client: each process blocks in one read() only.
 * When the server closes, the child says so and exits, and the parent,
 * woken by SIGCHLD, exits too; at end of input the parent half-closes the
 * connection and waits for the child.  Replies are written with write(),
 * byte for byte.
 *
 * sockspec: reply=echo binary=yes
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void child_ended(int signum)
{
    (void)signum;
    int status = 0;
    waitpid(-1, &status, WNOHANG);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

static void receive_forever(int fd)
{
    char buf[8192];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) {
            fprintf(stderr, "the server closed the connection\n");
            _exit(0);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("recv");
            _exit(1);
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(1, buf + done, (size_t)(n - done));
            if (w < 0)
                _exit(1);
            done += w;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &addr.sin_addr);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("connect");
        return 1;
    }
    struct sigaction on_child;
    memset(&on_child, 0, sizeof on_child);
    on_child.sa_handler = child_ended;
    sigaction(SIGCHLD, &on_child, NULL);

    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0)
        receive_forever(fd);

    char buf[4096];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t s = send(fd, buf + done, (size_t)(n - done), 0);
            if (s < 0) {
                perror("send");
                kill(child, SIGTERM);
                return 1;
            }
            done += s;
        }
    }
    shutdown(fd, SHUT_WR);
    for (;;)
        pause(); /* the child's end (SIGCHLD) ends us too */
}
