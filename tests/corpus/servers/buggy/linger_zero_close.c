/* Sets SO_LINGER {on, 0 s} on every accepted socket "so closed connections do not sit in TIME_WAIT": close() then resets the connection, so a client gets ECONNRESET instead of end of file and loses any reply still in the server's send buffer.
 *
 * sockspec: model=forking reply=echo caught-by=test_half_close_gets_end_of_file,test_half_close_right_after_a_large_message causes=linger-reset
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

static void reap(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
    errno = saved;
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
        struct linger lg = {1, 0}; /* no TIME_WAIT: free the port at once */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            char buf[8192];
            ssize_t n;
            while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
                ssize_t sent = 0;
                while (sent < n) {
                    ssize_t k = send(fd, buf + sent, n - sent, 0);
                    if (k < 0) break;
                    sent += k;
                }
                if (sent < n) break;
            }
            close(fd);
            _exit(0);
        }
        close(fd); /* the parent's copy: the child still holds the connection, so this does not reset it */
    }
}
