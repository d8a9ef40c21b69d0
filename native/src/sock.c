/* The socket itself: non-blocking, close-on-exec, options, bind. */
#include "sky_udp.h"

#include <errno.h>
#include <unistd.h>

static int set_int(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : -errno;
}

/*
 * Opens and binds a UDP socket. reuse_port: SO_REUSEPORT, so several
 * processes (the workers of `workers: N`) each own a socket on one port and
 * the kernel spreads datagrams over them. rcvbuf/sndbuf: SO_RCVBUF/SO_SNDBUF
 * when > 0. Returns 0 with *fd_out set, or -errno with *what naming the call.
 */
int sky_socket_open(const struct sockaddr_storage *addr, socklen_t alen, int reuse_port, int rcvbuf, int sndbuf, int *fd_out, const char **what) {
  int fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *what = "socket";
    return -errno;
  }
  int rc = 0;
  if (reuse_port && (rc = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1)) != 0) *what = "setsockopt(SO_REUSEPORT)";
  else if (rcvbuf > 0 && (rc = set_int(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf)) != 0) *what = "setsockopt(SO_RCVBUF)";
  else if (sndbuf > 0 && (rc = set_int(fd, SOL_SOCKET, SO_SNDBUF, sndbuf)) != 0) *what = "setsockopt(SO_SNDBUF)";
  else if (bind(fd, (const struct sockaddr *)addr, alen) != 0) {
    rc = -errno;
    *what = "bind";
  }
  if (rc != 0) {
    close(fd); /* nothing to report: the first error is the one that matters */
    return rc;
  }
  *fd_out = fd;
  return 0;
}

int sky_socket_local(int fd, struct sockaddr_storage *addr, socklen_t *alen) {
  *alen = sizeof *addr;
  return getsockname(fd, (struct sockaddr *)addr, alen) == 0 ? 0 : -errno;
}
