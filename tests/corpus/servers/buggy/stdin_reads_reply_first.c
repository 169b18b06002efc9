/* Asks the operator for the reply before receiving the client's message, so it is always one line behind: when a client leaves, the next client's line is used up for the one that left.
 *
 * sockspec: model=iterative auto=none reply=stdin caught-by=test_serves_client_after_client,test_client_closes_mid_message causes=operator-input-out-of-step
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
        char buf[4096], line[1024];
        for (;;) {
            printf("you want to say: ");
            fflush(stdout);
            if (!fgets(line, sizeof line, stdin)) /* BUG: the reply is read before the message arrives */
                break;
            line[strcspn(line, "\n")] = '\0';
            ssize_t n = recv(cfd, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            printf("client says: %.*s\n", (int)n, buf);
            if (send(cfd, line, strlen(line), 0) < 0)
                break;
        }
        close(cfd);
    }
}
