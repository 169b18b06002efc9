/* A forking server that reaps children by polling: a 200 ms interval timer (SA_RESTART) calls waitpid(-1, WNOHANG) in a loop; there is no SIGCHLD handler.
 *
 * sockspec: model=forking reply=echo
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap_finished(int sig)
{
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

static void serve(int fd)
{
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        ssize_t sent = 0;
        while (sent < n) {
            ssize_t k = send(fd, buf + sent, n - sent, MSG_NOSIGNAL);
            if (k < 0)
                return;
            sent += k;
        }
    }
}

int main(int argc, char *argv[])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = reap_finished;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* the timer must not break accept() */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every = {{0, 200000}, {0, 200000}};
    setitimer(ITIMER_REAL, &every, NULL);

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
        pid_t pid = fork();
        if (pid == 0) {
            struct itimerval off = {{0, 0}, {0, 0}};
            setitimer(ITIMER_REAL, &off, NULL); /* the child has nothing to reap */
            close(lfd);
            serve(cfd);
            close(cfd);
            _exit(0);
        }
        if (pid < 0)
            perror("fork");
        close(cfd);
    }
}
