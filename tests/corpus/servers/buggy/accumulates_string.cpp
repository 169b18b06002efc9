/* Appends each recv() to one std::string and sends it all, but never clears it: every reply repeats all earlier messages.
 *
 * The student collects the message in a std::string declared before the
 * loop (to cope with partial reads) and forgets msg.clear() after sending.
 *
 * sockspec: model=threaded reply=echo caught-by=test_many_messages_on_one_connection,test_serves_client_after_client causes=buffer-never-cleared
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    std::string msg; // BUG: lives across messages and is never cleared
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        msg.append(buf, n);
        size_t sent = 0;
        while (sent < msg.size()) {
            ssize_t k = send(fd, msg.data() + sent, msg.size() - sent, 0);
            if (k < 0)
                break;
            sent += k;
        }
    }
    close(fd);
    return NULL;
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {};
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
        pthread_t tid;
        pthread_create(&tid, NULL, serve, (void *)(long)cfd);
        pthread_detach(tid);
    }
}
