/* Exits the whole server when recv() or send() fails, so a client that resets its connection (ECONNRESET) takes the server down.
 *
 * sockspec: model=iterative reply=echo caught-by=test_client_resets_mid_message,test_reset_after_chatting,test_reset_while_server_sends causes=exits-on-client-error
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
            continue;
        }
        char buf[4096];
        for (;;) {
            ssize_t n = recv(cfd, buf, sizeof buf, 0);
            if (n < 0) {
                perror("recv");
                exit(1); /* BUG: one broken connection is not a reason to stop serving */
            }
            if (n == 0)
                break;
            ssize_t sent = 0;
            while (sent < n) {
                ssize_t k = send(cfd, buf + sent, n - sent, 0);
                if (k < 0) {
                    perror("send");
                    exit(1); /* BUG: the same, for send() */
                }
                sent += k;
            }
        }
        close(cfd);
    }
}
