/* Addresses: the text JS gives for bind, and the text JS shows for a source address. */
#include "sky_udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

/* Parses a numeric IPv4/IPv6 address (IPv6 may carry %scope) into *out. 0 or -errno. */
int sky_addr_parse(const char *host, int port, int family, struct sockaddr_storage *out, socklen_t *alen) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family == 6 ? AF_INET6 : AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  if (port < 0 || port > 65535) return -EINVAL;
  int rc = getaddrinfo(host, NULL, &hints, &res);
  if (rc != 0 || res == NULL) {
    if (res) freeaddrinfo(res);
    return -EINVAL;
  }
  if (res->ai_addrlen > sizeof *out) {
    freeaddrinfo(res);
    return -EINVAL;
  }
  memset(out, 0, sizeof *out);
  memcpy(out, res->ai_addr, res->ai_addrlen);
  *alen = (socklen_t)res->ai_addrlen;
  freeaddrinfo(res);
  if (out->ss_family == AF_INET) ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
  else ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)port);
  return 0;
}

/* Writes the address as text ("1.2.3.4", "::1", "fe80::1%eth0") and its port. 0 or -EINVAL. */
int sky_addr_format(const struct sockaddr *sa, char *out, size_t outlen, int *port) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    if (!inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)outlen)) return -EINVAL;
    *port = ntohs(a->sin_port);
    return 0;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    if (!inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)outlen)) return -EINVAL;
    *port = ntohs(a->sin6_port);
    if (a->sin6_scope_id != 0) {
      size_t n = strlen(out);
      char ifname[IF_NAMESIZE];
      const char *scope = if_indextoname(a->sin6_scope_id, ifname);
      int w = scope ? snprintf(out + n, outlen - n, "%%%s", scope) : snprintf(out + n, outlen - n, "%%%u", (unsigned)a->sin6_scope_id);
      if (w < 0 || (size_t)w >= outlen - n) return -EINVAL;
    }
    return 0;
  }
  return -EINVAL;
}
