/* Calls recv(fd, buf, strlen(buf) - 1, 0) on a zeroed buffer, as the seed does: the length is huge, so a long message overflows the buffer.
 *
 * strlen("") - 1 is SIZE_MAX: recv() may write as much as has arrived into a
 * 1024-byte stack buffer.  Short messages seem to work; a long one tramples
 * the stack.  (The huge length also makes recv() fail with EFAULT when the
 * stack happens to lie within 2 GiB of the top of user space, about one start
 * in nine: that server closes every connection at once.)
 *
 * Whether recv() fails (EFAULT) or overflows depends on address randomization, so its diagnosis
 * varies from run to run.
 *
 * sockspec: model=iterative auto=varies reply=echo caught-by=test_message_sizes causes=recv-length-overflow,strlen-on-binary diagnosed=varies
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
        for (;;) {
            char buf[1024] = {0};
            ssize_t n = recv(cfd, buf, strlen(buf) - 1, 0); /* BUG: strlen of an empty buffer, minus 1 */
            if (n <= 0)
                break;
            ssize_t sent = 0;
            while (sent < n) {
                ssize_t k = send(cfd, buf + sent, n - sent, 0);
                if (k < 0)
                    break;
                sent += k;
            }
        }
        close(cfd);
    }
}
