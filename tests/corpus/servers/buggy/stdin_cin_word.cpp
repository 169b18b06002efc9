/* Reads the operator's reply with `cin >> reply` instead of getline(cin, reply), so it takes one word: "Hi! ClientA! I'm Server!" is sent as "Hi!" and the other words answer the next messages.
 *
 * sockspec: model=threaded reply=stdin caught-by=test_operator_lines_are_sent_as_typed causes=operator-line-changed
 */
#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

static std::mutex operator_lock;

static bool send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t k = send(fd, p, len, 0);
        if (k < 0) return false;
        p += k;
        len -= k;
    }
    return true;
}

static void serve(int fd)
{
    char buf[1024];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        std::string reply;
        {
            std::lock_guard<std::mutex> hold(operator_lock);
            std::cout << "client say: " << std::string(buf, n) << "\nyou want to say: " << std::flush;
            if (!(std::cin >> reply)) break;
        }
        if (!send_all(fd, reply.data(), reply.size())) break;
    }
    close(fd);
}

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) { perror("bind/listen"); return 1; }
    for (;;) {
        int cfd = accept(lfd, nullptr, nullptr);
        if (cfd < 0) { perror("accept"); continue; }
        std::thread(serve, cfd).detach();
    }
}
