/* Closes the listening socket after its first client (the seed's step 7 moved inside the loop): accept() then fails forever and nobody else is served.
 *
 * sockspec: model=iterative auto=none reply=echo caught-by=test_serves_client_after_client,test_second_client_served_after_first_leaves causes=exits-after-first-client
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
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) {
            perror("accept");
            sleep(1);
            continue;
        }
        char buf[4096];
        ssize_t n;
        while ((n = recv(cfd, buf, sizeof buf, 0)) > 0) {
            ssize_t sent = 0;
            while (sent < n) {
                ssize_t k = send(cfd, buf + sent, n - sent, 0);
                if (k < 0)
                    break;
                sent += k;
            }
        }
        close(cfd);
        close(lfd); /* BUG: the listening socket must stay open for the next client */
    }
}
