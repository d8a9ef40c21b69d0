/*
 * Replies waiting for the socket: a bounded ring, sent with sendmmsg up to
 * SKY_BATCH at a time. A full send buffer (EAGAIN) keeps them queued and
 * asks the poll handle for UV_WRITABLE; a full ring drops the new reply and
 * counts it. Each entry owns a copy of its bytes (freed when it leaves).
 */
#include "sky_udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sky_queue_init(sky_sock *s) {
  s->queue = calloc(SKY_QUEUE_MAX, sizeof *s->queue);
  return s->queue ? 0 : -ENOMEM;
}

uint32_t sky_queue_room(const sky_sock *s) {
  return SKY_QUEUE_MAX - s->qcount;
}

/*
 * Queues a copy of data for the sockaddr at addr (AF_INET or AF_INET6), or,
 * with addr NULL on a connected socket, for its peer. 0, -ENOBUFS (full,
 * counted) or -EINVAL/-ENOMEM.
 */
int sky_queue_push(sky_sock *s, const uint8_t *data, size_t len, const uint8_t *addr) {
  socklen_t alen = 0;
  if (addr) {
    sa_family_t fam;
    memcpy(&fam, addr, sizeof fam);
    alen = fam == AF_INET ? sizeof(struct sockaddr_in) : fam == AF_INET6 ? sizeof(struct sockaddr_in6) : 0;
    if (alen == 0) return -EINVAL;
  } else if (!s->connected) {
    return -EINVAL;
  }
  if (len > 65535) return -EINVAL;
  if (s->qcount >= SKY_QUEUE_MAX || s->qbytes + len > SKY_QUEUE_BYTES) {
    s->st.dropped++;
    return -ENOBUFS;
  }
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) {
    s->st.dropped++;
    return -ENOMEM;
  }
  memcpy(copy, data, len);
  sky_out *o = &s->queue[(s->qhead + s->qcount) % SKY_QUEUE_MAX];
  o->data = copy;
  o->len = (uint32_t)len;
  o->alen = alen;
  memset(&o->addr, 0, sizeof o->addr);
  if (alen) memcpy(&o->addr, addr, alen);
  s->qcount++;
  s->qbytes += len;
  return 0;
}

static void pop(sky_sock *s, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    sky_out *o = &s->queue[s->qhead];
    s->qbytes -= o->len;
    free(o->data);
    o->data = NULL;
    s->qhead = (s->qhead + 1) % SKY_QUEUE_MAX;
    s->qcount--;
  }
}

/* Sends what is queued until it is empty or the kernel says EAGAIN (then s->blocked is set). */
void sky_queue_flush(sky_sock *s) {
  s->blocked = 0;
  while (s->qcount > 0 && s->state == SKY_OPEN) {
    uint32_t n = 0;
    while (n < SKY_BATCH && n < s->qcount) {
      sky_out *o = &s->queue[(s->qhead + n) % SKY_QUEUE_MAX];
      s->siov[n].iov_base = o->data;
      s->siov[n].iov_len = o->len;
      memset(&s->smsg[n], 0, sizeof s->smsg[n]);
      s->smsg[n].msg_hdr.msg_name = o->alen ? &o->addr : NULL;
      s->smsg[n].msg_hdr.msg_namelen = o->alen;
      s->smsg[n].msg_hdr.msg_iov = &s->siov[n];
      s->smsg[n].msg_hdr.msg_iovlen = 1;
      n++;
    }
    int r = sendmmsg(s->fd, s->smsg, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r > 0) {
      s->st.sent += r;
      pop(s, (uint32_t)r);
      continue; /* a short count: the next call reports why the next one stopped */
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      s->st.would_block++;
      s->blocked = 1;
      return;
    }
    /*
     * The first reply was refused (EMSGSIZE, ENETUNREACH, EPERM, ...): drop it
     * alone, count it, go on. On a connected socket this is also how a pending
     * ICMP error (ECONNREFUSED) surfaces: JS hears of the first one.
     */
    s->st.last_errno = r < 0 ? errno : EIO;
    if (s->connected && s->pending_err == 0) s->pending_err = s->st.last_errno;
    s->st.send_errors++;
    s->st.dropped++;
    pop(s, 1);
  }
}

/* Drops everything queued (close): each is counted as dropped. */
void sky_queue_clear(sky_sock *s) {
  if (!s->queue) return;
  s->st.dropped += s->qcount;
  pop(s, s->qcount);
  s->blocked = 0;
}

void sky_queue_free(sky_sock *s) {
  sky_queue_clear(s);
  free(s->queue);
  s->queue = NULL;
}
