/*
 * The read side: on a readable fd, up to SKY_WAKE_BATCHES recvmmsg calls of
 * up to SKY_BATCH datagrams each; after each one JS is called once with the
 * count (the payloads, source addresses and lengths are in the shared
 * buffer), then the replies it queued are flushed with sendmmsg.
 */
#include "sky_udp.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* Poll for reading while the reply ring has room for a whole batch; for writing while replies wait on EAGAIN. */
void sky_update_poll(sky_sock *s) {
  if (s->state != SKY_OPEN || !s->poll_ready) return;
  int want = 0;
  if (sky_queue_room(s) >= SKY_BATCH) want |= UV_READABLE;
  if (s->blocked && s->qcount > 0) want |= UV_WRITABLE;
  if (want == s->polling) return;
  int rc = want ? uv_poll_start(&s->poll, want, sky_on_poll) : uv_poll_stop(&s->poll);
  if (rc == 0) s->polling = want;
  else s->st.last_errno = -rc;
}

void sky_call_js(sky_sock *s, int count) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, self, argv[1], result;
  if (napi_get_reference_value(env, s->on_batch, &fn) == napi_ok && fn != NULL &&
      napi_get_reference_value(env, s->self, &self) == napi_ok && self != NULL &&
      napi_create_int32(env, count, &argv[0]) == napi_ok) {
    /*
     * A connected (client) socket's callback is a plain call: JS copies the
     * datagrams out and settles promises, and schedules one setImmediate per
     * loop turn, whose callback scope runs the promise jobs of every client
     * socket read in that turn at once (native.ts, NativeUdpClient). A
     * server socket's batch goes through napi_make_callback: its promise jobs
     * run when it returns.
     */
    napi_status st = s->connected ? napi_call_function(env, self, fn, 1, argv, &result) : napi_make_callback(env, s->actx, self, fn, 1, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      /* An exception from the batch callback is an uncaught exception, as it would be from a dgram 'message' listener. */
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

/* One recvmmsg. Returns the count (0: nothing waiting) or -1 on an error that ends this wake-up. */
static int read_batch(sky_sock *s) {
  for (int i = 0; i < s->batch; i++) {
    s->riov[i].iov_base = s->shared + SKY_ARENA_OFF + (size_t)i * s->slot;
    s->riov[i].iov_len = s->slot;
    memset(&s->rmsg[i], 0, sizeof s->rmsg[i]);
    s->rmsg[i].msg_hdr.msg_name = s->shared + s->addrs_off + (size_t)i * SKY_ADDR;
    s->rmsg[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in6);
    s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
    s->rmsg[i].msg_hdr.msg_iovlen = 1;
  }
  int n;
  do n = recvmmsg(s->fd, s->rmsg, (unsigned)s->batch, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    s->st.recv_errors++;
    s->st.last_errno = errno;
    return -1;
  }
  int32_t *lens = (int32_t *)(s->shared + s->lens_off);
  for (int i = 0; i < n; i++) {
    /* MSG_TRUNC: longer than a slot. With 64 KiB slots no UDP datagram is; -1 tells JS to skip it. */
    if (s->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) {
      s->st.truncated++;
      lens[i] = -1;
    } else {
      lens[i] = (int32_t)s->rmsg[i].msg_len;
    }
  }
  return n;
}

/* A connected socket's send error that JS has not heard of yet: tell it (it may close the socket). 1 when closed. */
static int report_send_error(sky_sock *s) {
  if (!s->connected || s->pending_err == 0 || s->state != SKY_OPEN) return s->state != SKY_OPEN;
  int err = s->pending_err;
  s->pending_err = 0;
  sky_call_js(s, -err);
  return s->state != SKY_OPEN;
}

void sky_on_poll(uv_poll_t *h, int status, int events) {
  sky_sock *s = h->data;
  if (s->state != SKY_OPEN) return;
  if (status < 0) {
    /*
     * libuv reports EPOLLERR as UV_EBADF and stops the handle. On a UDP socket
     * that is a pending socket error (a connected socket's ICMP error):
     * SO_ERROR says which, and clears it. Polling starts again.
     */
    int err = -status;
    if (status == UV_EBADF) {
      int soerr = 0;
      socklen_t len = sizeof soerr;
      if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0) err = soerr;
    }
    s->polling = 0;
    if (err != 0) {
      s->st.recv_errors++;
      s->st.last_errno = err;
      if (s->connected) {
        sky_call_js(s, -err);
        if (s->state != SKY_OPEN) return;
      }
    }
    sky_update_poll(s);
    return;
  }
  if (events & UV_WRITABLE) {
    sky_queue_flush(s);
    if (report_send_error(s)) return;
  }
  if (events & UV_READABLE) {
    for (int b = 0; b < SKY_WAKE_BATCHES && s->state == SKY_OPEN; b++) {
      if (sky_queue_room(s) < SKY_BATCH) break; /* backpressure: replies first */
      int n = read_batch(s);
      if (n < 0 && s->connected) {
        /* A connected socket's receive error is an ICMP error from its peer (ECONNREFUSED, EHOSTUNREACH): JS decides. */
        sky_call_js(s, -s->st.last_errno);
        if (s->state != SKY_OPEN) return;
      }
      if (n <= 0) break;
      s->st.received += n;
      s->st.batches++;
      sky_call_js(s, n);
      if (s->state != SKY_OPEN) return; /* closed from the callback: the handle is closing, nothing more to do */
      sky_queue_flush(s);
      if (report_send_error(s)) return;
      if (n < s->batch) break; /* drained */
    }
  }
  sky_update_poll(s);
}
