#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <iostream>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
using namespace std;

int main()
{
    // 1. 创建套接字
    int sockfd = socket(AF_INET,SOCK_STREAM,IPPROTO_TCP);
    if(sockfd < 0)
    {
        perror("socket");
        return -1;
    }

    // 2. 发起连接
    struct sockaddr_in addr;
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = inet_addr("192.168.153.128");
    addr.sin_port = htons(19999);
    int ret = connect(sockfd,(struct sockaddr*)&addr,sizeof(addr));
    if(ret < 0)
    {
        perror("connect");
        return -1;
    }

    while(1)
    {
        // 3. 发送数据
        string s;
        cout<<"You want to say:";
        fflush(stdout);
        getline(cin,s);
        ret = send(sockfd, s.c_str(),s.size(),0);
        if(ret < 0)
        {
            perror("send");
            continue;
        }

        // 4. 接受数据
        char buf[1024] = {0};
        ret = recv(sockfd, buf,strlen(buf)-1,0);
        if(ret < 0)
        {
            perror("recv");
            continue;
        }
        else if(ret == 0)
        {
            printf(" server shutdown!\n");
            break;
        }
        cout << "server say:" << buf << endl;
    }


    // 5. 关闭套接字
    close(sockfd);

    return 0;
}
