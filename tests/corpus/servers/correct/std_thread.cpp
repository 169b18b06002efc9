/* A threaded server in C++ with std::thread(...).detach(), logging each message through std::cout.
 *
 * sockspec: model=threaded reply=echo
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

static std::mutex log_lock;

static void serve(int fd)
{
    std::vector<char> buf(64 * 1024); // each thread its own buffer
    for (;;) {
        ssize_t n = recv(fd, buf.data(), buf.size(), 0);
        if (n <= 0)
            break;
        {
            std::lock_guard<std::mutex> hold(log_lock);
            std::cout << "fd " << fd << ": " << n << " bytes" << std::endl;
        }
        ssize_t sent = 0;
        while (sent < n) {
            ssize_t k = send(fd, buf.data() + sent, n - sent, MSG_NOSIGNAL);
            if (k < 0)
                break;
            sent += k;
        }
        if (sent < n)
            break;
    }
    close(fd);
}

int main(int argc, char *argv[])
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("127.0.0.1");
    addr.sin_port = htons(atoi(argv[argc - 1]));
    if (bind(lfd, (sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) {
        perror("bind/listen");
        return 1;
    }
    for (;;) {
        int cfd = accept(lfd, nullptr, nullptr);
        if (cfd < 0) {
            perror("accept");
            continue;
        }
        std::thread(serve, cfd).detach();
    }
}
