/* Reads the operator's line with fgets() and then calls getchar() "to eat the newline", as after scanf(): getchar() waits for a second line, so the reply is never sent.
 *
 * sockspec: model=iterative auto=none reply=stdin caught-by=test_one_message causes=operator-input-out-of-step
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
        ssize_t n;
        while ((n = recv(cfd, buf, sizeof buf, 0)) > 0) {
            printf("client says: %.*s\nyou want to say: ", (int)n, buf);
            fflush(stdout);
            if (!fgets(line, sizeof line, stdin))
                break;
            getchar(); /* BUG: fgets() already took the newline; this waits for the next line */
            line[strcspn(line, "\n")] = '\0';
            if (send(cfd, line, strlen(line), 0) < 0)
                break;
        }
        close(cfd);
    }
}
