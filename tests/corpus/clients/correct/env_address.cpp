/* A C++ client in the seed's style, fixed with select(): it reads HOST and PORT from its environment, not its arguments.
 *
 * Lines are read from a raw read() buffer (std::getline on std::cin would hide
 * typed lines in its own buffer, where select() cannot see them), replies are
 * printed with std::cout.write() and std::flush.
 *
 * sockspec: reply=echo binary=yes
 */
#include <arpa/inet.h>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <netinet/in.h>
#include <string>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
using namespace std;

int main()
{
    const char *host = getenv("HOST");
    const char *port = getenv("PORT");
    if (host == nullptr || port == nullptr) {
        cerr << "set HOST and PORT" << endl;
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int sockfd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr(host);
    addr.sin_port = htons(atoi(port));
    if (connect(sockfd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror("connect");
        return 1;
    }
    bool input_open = true;
    string typed;
    while (true) {
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(sockfd, &readable);
        if (input_open)
            FD_SET(0, &readable);
        if (select(sockfd + 1, &readable, nullptr, nullptr, nullptr) < 0) {
            perror("select");
            return 1;
        }
        if (FD_ISSET(sockfd, &readable)) {
            char buf[1024];
            ssize_t ret = recv(sockfd, buf, sizeof(buf), 0);
            if (ret == 0) {
                cout << endl << " server shutdown!" << endl;
                return 0;
            }
            if (ret < 0) {
                perror("recv");
                return 1;
            }
            cout.write(buf, ret) << flush;
        }
        if (input_open && FD_ISSET(0, &readable)) {
            char buf[1024];
            ssize_t ret = read(0, buf, sizeof(buf));
            if (ret <= 0) {
                input_open = false;
                shutdown(sockfd, SHUT_WR);
                continue;
            }
            typed.append(buf, ret);
            size_t end;
            while ((end = typed.find('\n')) != string::npos) {
                string line = typed.substr(0, end + 1);
                typed.erase(0, end + 1);
                if (send(sockfd, line.data(), line.size(), 0) < 0) {
                    perror("send");
                    return 1;
                }
            }
        }
    }
}
