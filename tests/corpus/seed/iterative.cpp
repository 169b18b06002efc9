#include <stdio.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <string>
#include <iostream>
using namespace std;

int main()
{
    // 1. 创建套接字
    //创建一个使用流式套接字+IPv4的套接字
    int listen_sockfd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if(listen_sockfd < 0)
    {
        perror("socket");
        return -1;
    }

    // 2. 绑定地址信息
    char ip_str[] = "192.168.153.128";
    uint32_t ip = inet_addr(ip_str);
    uint16_t port = htons(19999);
    struct sockaddr_in addr;
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = ip;
    addr.sin_port = port;
    int ret = bind(listen_sockfd, (struct sockaddr*)&addr, sizeof(addr));
    if(ret < 0)
    {
        perror("bind");
        return -1;
    }

    // 3. 监听：告诉内核已经准备好可以接受连接啦
    ret = listen(listen_sockfd, 1);
    if(ret < 0)
    {
        perror("listen");
        return -1;
    }

    // 4.接受连接
    int new_sockfd = accept(listen_sockfd, NULL, NULL);
    if(new_sockfd < 0)
    {
        perror("accept");
        return -1;
    }

    while(1)
    {
        // 5. 接收数据
        char buf[1024] = { 0 };
        ret = recv(new_sockfd, buf, strlen(buf) - 1, 0);
        if(ret < 0)
        {
            perror("recv");
            continue;
        }
        else if(ret == 0)
        {
            // 若客户端已经关闭连接，则需要关闭用于数据收发的套接字
            printf(" client shutdown !\n");
            close(new_sockfd);
            break;
        }
        cout << "client say:" << buf << endl;

        // 6. 发送数据
        string s;
        cout << "you want to say:";
        getline(cin,s);
        ret = send(new_sockfd,s.c_str(),s.size(),0);
        if(ret < 0)
        {
            perror("send");
            continue;
        }
    }

    // 7. 关闭监听套接字
    close(listen_sockfd);

    return 0;
}
