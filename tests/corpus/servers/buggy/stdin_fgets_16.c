/* Reads the operator's reply with fgets() into a 16-byte buffer, so a reply longer than 15 characters is cut: its first 15 characters answer this message and the rest answers the next one.
 *
 * sockspec: model=iterative reply=stdin caught-by=test_operator_lines_are_sent_as_typed causes=operator-line-changed
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
    setvbuf(stdin, NULL, _IONBF, 0);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) { perror("bind/listen"); return 1; }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) { perror("accept"); continue; }
        char buf[1024];
        char line[16];
        ssize_t n;
        while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
            printf("client say: %.*s\nyou want to say: ", (int)n, buf);
            fflush(stdout);
            if (fgets(line, sizeof line, stdin) == NULL)
                break;
            line[strcspn(line, "\n")] = '\0';
            size_t len = strlen(line), sent = 0;
            while (sent < len) {
                ssize_t k = send(fd, line + sent, len - sent, 0);
                if (k < 0) break;
                sent += k;
            }
            if (sent < len) break;
        }
        close(fd);
    }
}
