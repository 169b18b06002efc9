/* Sends sizeof(buf) bytes back instead of the count recv() returned, adding garbage to every reply.
 *
 * sockspec: model=iterative reply=echo caught-by=test_nothing_added_before_close,test_many_messages_on_one_connection,test_one_message,test_message_sizes causes=sends-whole-buffer
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
        char buf[1024];
        for (;;) {
            memset(buf, 0, sizeof buf);
            ssize_t n = recv(cfd, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            if (send(cfd, buf, sizeof buf, 0) < 0) /* BUG: sizeof buf, not n */
                break;
        }
        close(cfd);
    }
}
