/* Keeps stdin in its poll() set after end of file, so poll() returns at once forever: it spins and never closes the connection.
 *
 * sockspec: reply=echo caught-by=test_no_cpu_after_end_of_input,test_end_of_input_closes_the_connection,test_end_of_input_before_any_line causes=ignores-end-of-input
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_all(int fd, const char *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

static int send_all(int fd, const char *data, size_t size)
{
    while (size > 0) {
        ssize_t n = send(fd, data, size, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        size -= (size_t)n;
    }
    return 0;
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
    if (fd < 0 || inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "bad address %s\n", argv[1]);
        return 1;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("connect");
        return 1;
    }

    char line[4096];
    size_t used = 0; /* bytes of the line typed so far */
    struct pollfd fds[2] = {{0, POLLIN, 0}, {fd, POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            return 1;
        }
        if (fds[1].revents) {
            char buf[1024];
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n == 0) {
                printf("\n server shutdown!\n");
                return 0;
            }
            if (n < 0) {
                perror("recv");
                return 1;
            }
            write_all(1, "server say:", 11);
            write_all(1, buf, (size_t)n);
            write_all(1, "\n", 1);
        }
        if (fds[0].revents) {
            ssize_t n = read(0, line + used, sizeof line - used);
            if (n <= 0)
                continue; /* nothing typed: wait for more */
            used += (size_t)n;
            char *newline;
            while ((newline = memchr(line, '\n', used)) != NULL) {
                size_t length = (size_t)(newline - line);
                if (send_all(fd, line, length) < 0) {
                    perror("send");
                    return 1;
                }
                used -= length + 1;
                memmove(line, newline + 1, used);
            }
            if (used == sizeof line) { /* a very long line: send it in pieces */
                if (send_all(fd, line, used) < 0) {
                    perror("send");
                    return 1;
                }
                used = 0;
            }
        }
    }
}
