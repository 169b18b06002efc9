/* Logs each client with getpeername() right after accept() and, like the seed, returns from main when a call fails: a client that gave up (reset) while waiting in the listen queue makes getpeername() fail with ENOTCONN and ends the server.
 *
 * sockspec: model=iterative reply=echo caught-by=test_queued_client_that_resets_does_not_stop_the_server causes=exits-on-client-error
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) {
        perror("socket");
        return -1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("bind");
        return -1;
    }
    if (listen(lfd, 5) < 0) {
        perror("listen");
        return -1;
    }
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) {
            perror("accept");
            continue;
        }
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        if (getpeername(cfd, (struct sockaddr *)&peer, &len) < 0) {
            perror("getpeername");
            return -1;
        }
        printf("client %s:%d connected\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
        fflush(stdout);
        char buf[4096];
        ssize_t n;
        while ((n = recv(cfd, buf, sizeof buf, 0)) > 0) {
            ssize_t off = 0;
            while (off < n) {
                ssize_t k = send(cfd, buf + off, n - off, 0);
                if (k < 0)
                    break;
                off += k;
            }
            if (off < n)
                break;
        }
        close(cfd);
    }
}
