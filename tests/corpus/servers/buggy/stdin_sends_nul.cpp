/* Sends the operator's line with its terminating NUL byte (s.size() + 1), one byte more than the reply.
 *
 * sockspec: model=forking reply=stdin caught-by=test_many_messages_on_one_connection causes=adds-bytes
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <string>
using namespace std;

static void reap(int)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

static void serve(int fd)
{
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        cout << "client say:" << string(buf, n) << endl;
        cout << "you want to say:" << flush;
        string s;
        if (!getline(cin, s))
            return;
        if (send(fd, s.c_str(), s.size() + 1, 0) < 0) // BUG: + 1 sends the '\0' too
            return;
    }
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, reap);
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
        if (fork() == 0) {
            close(lfd);
            serve(cfd);
            close(cfd);
            _exit(0);
        }
        close(cfd);
    }
}
