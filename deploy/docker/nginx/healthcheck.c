/* Container health check for the shell-less nginx image: GET http://127.0.0.1:8080/health must answer 200
 * within 3 seconds. Exit 0 = healthy. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(void) {
    struct timeval timeout = {3, 0};
    struct sockaddr_in addr;
    char reply[64] = {0};
    const char request[] = "GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n";
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(8080);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return 1;
    if (write(fd, request, sizeof request - 1) != (ssize_t)(sizeof request - 1)) return 1;
    if (read(fd, reply, sizeof reply - 1) < 12) return 1;
    close(fd);
    if (strncmp(reply, "HTTP/1.1 200", 12) != 0 && strncmp(reply, "HTTP/1.0 200", 12) != 0) {
        fprintf(stderr, "unhealthy: %.12s\n", reply);
        return 1;
    }
    return 0;
}
