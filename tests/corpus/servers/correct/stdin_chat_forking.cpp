/* The seed's section 6.2 chat in C++ with its bugs fixed: real recv() length, child _exit()s, waitpid loop, SO_REUSEADDR, SIGPIPE ignored, stdin read with read() one byte at a time.
 *
 * sockspec: model=forking reply=stdin
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

static void signal_handler(int)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

// getline(cin, s) would let this child's stdio buffer read ahead; read() takes only our line.
static bool read_line(string &s)
{
    s.clear();
    char c;
    while (read(0, &c, 1) == 1) {
        if (c == '\n')
            return true;
        s += c;
    }
    return false;
}

static void serve(int fd)
{
    char buf[1024];
    for (;;) {
        ssize_t ret = recv(fd, buf, sizeof buf, 0);
        if (ret <= 0)
            return;
        cout << "client say:" << string(buf, ret) << endl;
        cout << "you want to say:" << flush;
        string s;
        if (!read_line(s))
            return;
        size_t sent = 0;
        while (sent < s.size()) {
            ssize_t k = send(fd, s.data() + sent, s.size() - sent, 0);
            if (k < 0)
                return;
            sent += k;
        }
    }
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, signal_handler);
    int listen_sockfd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    int one = 1;
    setsockopt(listen_sockfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(listen_sockfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listen_sockfd, 1) < 0) {
        perror("bind/listen");
        return 1;
    }
    for (;;) {
        int new_sockfd = accept(listen_sockfd, NULL, NULL);
        if (new_sockfd < 0) {
            perror("accept");
            continue;
        }
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
        } else if (pid == 0) {
            close(listen_sockfd);
            serve(new_sockfd);
            close(new_sockfd);
            _exit(0);
        }
        close(new_sockfd);
    }
}
