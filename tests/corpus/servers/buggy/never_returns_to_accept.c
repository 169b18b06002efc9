/* Calls accept() once, before its loop, so after the first client leaves it keeps calling recv() on the closed socket and never serves anyone else.
 *
 * sockspec: model=iterative auto=none reply=echo caught-by=test_second_client_served_after_first_leaves,test_no_cpu_after_clients_leave causes=exits-after-first-client,spin-on-eof
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
    int cfd = accept(lfd, NULL, NULL); /* BUG: accept() belongs inside the loop */
    if (cfd < 0) {
        perror("accept");
        return 1;
    }
    for (;;) {
        char buf[4096];
        ssize_t n = recv(cfd, buf, sizeof buf, 0);
        if (n < 0)
            continue;
        if (n == 0) {
            close(cfd);
            continue;
        }
        ssize_t sent = 0;
        while (sent < n) {
            ssize_t k = send(cfd, buf + sent, n - sent, 0);
            if (k < 0)
                break;
            sent += k;
        }
    }
}
