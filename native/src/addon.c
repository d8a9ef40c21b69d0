/*
 * The module: open, send, flush, close, queued, stats, local, addrName,
 * liveSockets, and the shared-buffer layout constants. The JS side
 * (src/server/udp/native.ts) is the only user.
 */
#include "sky_udp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(call)                                        \
  do {                                                     \
    if ((call) != napi_ok) return fail_pending(env);       \
  } while (0)

/* A napi call failed: make sure some exception is pending, return NULL. */
static napi_value fail_pending(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) {
    const napi_extended_error_info *info = NULL;
    napi_get_last_error_info(env, &info);
    napi_throw_error(env, "ERR_SKY_NATIVE", info && info->error_message ? info->error_message : "Node-API call failed");
  }
  return NULL;
}

napi_value sky_throw_errno(napi_env env, int err, const char *syscall) {
  const char *code = uv_err_name(-err);
  char msg[160];
  snprintf(msg, sizeof msg, "%s %s (%s)", syscall, code, strerror(err));
  napi_value m, c, e, n, sc;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
      napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) != napi_ok ||
      napi_create_error(env, c, m, &e) != napi_ok) return fail_pending(env);
  if (napi_create_int32(env, -err, &n) == napi_ok) napi_set_named_property(env, e, "errno", n);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc) == napi_ok) napi_set_named_property(env, e, "syscall", sc);
  napi_throw(env, e);
  return NULL;
}

static sky_sock *unwrap(napi_env env, napi_value obj) {
  void *p = NULL;
  if (napi_unwrap(env, obj, &p) != napi_ok || p == NULL) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_type_error(env, "ERR_SKY_NATIVE", "not a native UDP socket");
    return NULL;
  }
  return p;
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

/* obj[key] = v (a number); 0 or -1. */
static int put(napi_env env, napi_value obj, const char *key, double v);

/*
 * open(family 4|6, host, port, reusePort, rcvbuf, sndbuf, onBatch(count)[, batch, slot])
 *   -> handle with .shared (ArrayBuffer) and its layout: .batch, .slot, .addrsOff, .lensOff.
 * batch (1..BATCH) and slot (512..SLOT bytes) default to BATCH and SLOT.
 */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) {
    napi_throw_type_error(env, "ERR_SKY_NATIVE", "open(family, host, port, reusePort, rcvbuf, sndbuf, onBatch[, batch, slot])");
    return NULL;
  }
  int32_t batch = SKY_BATCH, slot = SKY_SLOT;
  napi_valuetype t;
  if ((argc > 7 && (napi_typeof(env, argv[7], &t) != napi_ok || (t != napi_undefined && get_int(env, argv[7], &batch)))) ||
      (argc > 8 && (napi_typeof(env, argv[8], &t) != napi_ok || (t != napi_undefined && get_int(env, argv[8], &slot)))) ||
      batch < 1 || batch > SKY_BATCH || slot < SKY_SLOT_MIN || slot > SKY_SLOT) {
    napi_throw_range_error(env, "ERR_SKY_NATIVE", "open: batch must be 1..64 and slot 512..65536");
    return NULL;
  }
  int32_t family, port, rcvbuf, sndbuf;
  bool reuse;
  char host[128];
  size_t hostlen;
  napi_valuetype fnType;
  if (get_int(env, argv[0], &family) || get_int(env, argv[2], &port) || get_int(env, argv[4], &rcvbuf) || get_int(env, argv[5], &sndbuf) ||
      napi_get_value_bool(env, argv[3], &reuse) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], host, sizeof host, &hostlen) != napi_ok ||
      napi_typeof(env, argv[6], &fnType) != napi_ok || fnType != napi_function) {
    napi_throw_type_error(env, "ERR_SKY_NATIVE", "open: bad arguments");
    return NULL;
  }
  struct sockaddr_storage addr;
  socklen_t alen;
  int rc = sky_addr_parse(host, port, family, &addr, &alen);
  if (rc != 0) return sky_throw_errno(env, -rc, "getaddrinfo");
  int fd = -1;
  const char *what = "socket";
  rc = sky_socket_open(&addr, alen, reuse, rcvbuf, sndbuf, &fd, &what);
  if (rc != 0) return sky_throw_errno(env, -rc, what);

  sky_sock *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return sky_throw_errno(env, ENOMEM, "calloc");
  }
  sky_live_add(1);
  sky_open_add(1);
  s->env = env;
  s->fd = fd;
  s->family = family == 6 ? 6 : 4;
  s->batch = batch;
  s->slot = (size_t)slot;
  s->addrs_off = SKY_ADDRS_OFF_FOR(batch, slot);
  s->lens_off = SKY_LENS_OFF_FOR(batch, slot);
  s->state = SKY_OPEN;
  s->poll.data = s;
  napi_value obj, shared, name;
  void *data = NULL;
  uv_loop_t *loop = NULL;
  const char *failed = NULL;
  int err = 0;
  if (sky_queue_init(s) != 0) failed = "calloc", err = ENOMEM;
  else if (napi_create_object(env, &obj) != napi_ok || napi_create_reference(env, obj, 1, &s->self) != napi_ok ||
           napi_create_arraybuffer(env, SKY_SHARED_BYTES_FOR(batch, slot), &data, &shared) != napi_ok ||
           napi_create_reference(env, shared, 1, &s->shared_ref) != napi_ok ||
           napi_set_named_property(env, obj, "shared", shared) != napi_ok ||
           put(env, obj, "batch", batch) || put(env, obj, "slot", slot) ||
           put(env, obj, "addrsOff", (double)s->addrs_off) || put(env, obj, "lensOff", (double)s->lens_off) ||
           napi_create_reference(env, argv[6], 1, &s->on_batch) != napi_ok ||
           napi_create_string_utf8(env, "SkyUdpBatch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
           napi_async_init(env, obj, name, &s->actx) != napi_ok || napi_get_uv_event_loop(env, &loop) != napi_ok)
    failed = "napi";
  else if ((err = -uv_poll_init(loop, &s->poll, fd)) != 0) failed = "uv_poll_init";
  else {
    s->poll_ready = 1;
    s->shared = data;
    if ((err = -uv_poll_start(&s->poll, UV_READABLE, sky_on_poll)) != 0) failed = "uv_poll_start";
    else if (napi_add_async_cleanup_hook(env, sky_on_env_teardown, s, &s->cleanup) != napi_ok) failed = "napi";
    else if (napi_wrap(env, obj, s, sky_finalize, NULL, NULL) != napi_ok) failed = "napi";
  }
  if (failed) {
    /* Not wrapped: nothing else will free it. Closing releases the fd and the references, then frees. */
    s->js_gone = 1;
    if (!s->poll_ready) s->fd = fd;
    sky_begin_close(s);
    if (err) return sky_throw_errno(env, err, failed);
    return fail_pending(env);
  }
  s->polling = UV_READABLE;
  return obj;
}

/*
 * send(handle, buf, addrBuf, addrOff) -> true when queued; false when closed or the queue is full (counted as dropped).
 * addrBuf null: to the peer of a connected socket.
 */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sky_sock *s = argc == 4 ? unwrap(env, argv[0]) : NULL;
  if (!s) return argc == 4 ? NULL : fail_pending(env);
  void *buf, *abuf = NULL;
  size_t len, alen = 0;
  int32_t off = 0;
  napi_valuetype at;
  if (napi_get_buffer_info(env, argv[1], &buf, &len) != napi_ok || napi_typeof(env, argv[2], &at) != napi_ok ||
      (at != napi_null && (napi_get_buffer_info(env, argv[2], &abuf, &alen) != napi_ok || get_int(env, argv[3], &off) || off < 0 ||
                           (size_t)off + sizeof(struct sockaddr_in6) > alen))) {
    napi_throw_type_error(env, "ERR_SKY_NATIVE", "send(handle, Buffer, addressBuffer | null, offset): bad arguments");
    return NULL;
  }
  bool ok = false;
  if (s->state != SKY_OPEN) s->st.dropped++;
  else {
    int rc = sky_queue_push(s, buf, len, abuf ? (const uint8_t *)abuf + off : NULL);
    if (rc == -EINVAL) {
      napi_throw_type_error(env, "ERR_SKY_NATIVE", abuf ? "send: not an IPv4/IPv6 address, or over 65535 bytes" : "send: no address and the socket is not connected, or over 65535 bytes");
      return NULL;
    }
    ok = rc == 0;
  }
  CHECK(napi_get_boolean(env, ok, &out));
  return out;
}

static napi_value one_handle(napi_env env, napi_callback_info info, sky_sock **s) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return fail_pending(env);
  *s = argc == 1 ? unwrap(env, argv[0]) : NULL;
  if (!*s && argc != 1) napi_throw_type_error(env, "ERR_SKY_NATIVE", "expected a handle");
  return NULL;
}

/*
 * flush(handle) -> 0, or on a connected socket the errno of the first send it
 * refused since the last report (e.g. ECONNREFUSED: an ICMP error from the
 * peer); sends what is queued now (outside a batch: async replies, queries).
 */
static napi_value js_flush(napi_env env, napi_callback_info info) {
  sky_sock *s;
  napi_value out;
  one_handle(env, info, &s);
  if (!s) return NULL;
  int err = 0;
  if (s->state == SKY_OPEN) {
    sky_queue_flush(s);
    sky_update_poll(s);
    err = s->pending_err;
    s->pending_err = 0;
  }
  CHECK(napi_create_int32(env, err, &out));
  return out;
}

/* connect(handle, host, port): the socket sends to and hears only from host:port (connect(2) on a UDP socket). */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sky_sock *s = argc == 3 ? unwrap(env, argv[0]) : NULL;
  if (!s) {
    if (argc != 3) napi_throw_type_error(env, "ERR_SKY_NATIVE", "connect(handle, host, port)");
    return NULL;
  }
  char host[128];
  size_t hostlen;
  int32_t port;
  if (napi_get_value_string_utf8(env, argv[1], host, sizeof host, &hostlen) != napi_ok || get_int(env, argv[2], &port)) {
    napi_throw_type_error(env, "ERR_SKY_NATIVE", "connect: bad arguments");
    return NULL;
  }
  if (s->state != SKY_OPEN) return sky_throw_errno(env, EBADF, "connect");
  struct sockaddr_storage addr;
  socklen_t alen;
  int rc = sky_addr_parse(host, port, s->family, &addr, &alen);
  if (rc != 0) return sky_throw_errno(env, -rc, "getaddrinfo");
  if (connect(s->fd, (struct sockaddr *)&addr, alen) != 0) return sky_throw_errno(env, errno, "connect");
  s->connected = 1;
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  sky_sock *s;
  one_handle(env, info, &s);
  if (s) sky_begin_close(s);
  return NULL;
}

static napi_value js_queued(napi_env env, napi_callback_info info) {
  sky_sock *s;
  napi_value out;
  one_handle(env, info, &s);
  if (!s) return NULL;
  CHECK(napi_create_uint32(env, s->qcount, &out));
  return out;
}

static int put(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  return napi_create_double(env, v, &n) == napi_ok && napi_set_named_property(env, obj, key, n) == napi_ok ? 0 : -1;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  sky_sock *s;
  napi_value o;
  one_handle(env, info, &s);
  if (!s) return NULL;
  CHECK(napi_create_object(env, &o));
  const sky_stats *t = &s->st;
  if (put(env, o, "received", t->received) || put(env, o, "batches", t->batches) || put(env, o, "sent", t->sent) ||
      put(env, o, "dropped", t->dropped) || put(env, o, "sendErrors", t->send_errors) || put(env, o, "recvErrors", t->recv_errors) ||
      put(env, o, "truncated", t->truncated) || put(env, o, "wouldBlock", t->would_block) || put(env, o, "lastErrno", t->last_errno) ||
      put(env, o, "queued", s->qcount))
    return fail_pending(env);
  return o;
}

static napi_value addr_pair(napi_env env, const struct sockaddr *sa) {
  char text[INET6_ADDRSTRLEN + 20];
  int port = 0;
  napi_value arr, a, p;
  if (sky_addr_format(sa, text, sizeof text, &port) != 0) {
    napi_throw_error(env, "ERR_SKY_NATIVE", "not an IPv4/IPv6 address");
    return NULL;
  }
  CHECK(napi_create_array_with_length(env, 2, &arr));
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &a));
  CHECK(napi_create_int32(env, port, &p));
  CHECK(napi_set_element(env, arr, 0, a));
  CHECK(napi_set_element(env, arr, 1, p));
  return arr;
}

/* local(handle) -> [address, port] of the bound socket. */
static napi_value js_local(napi_env env, napi_callback_info info) {
  sky_sock *s;
  one_handle(env, info, &s);
  if (!s) return NULL;
  if (s->state != SKY_OPEN) return sky_throw_errno(env, EBADF, "getsockname");
  struct sockaddr_storage ss;
  socklen_t len;
  int rc = sky_socket_local(s->fd, &ss, &len);
  if (rc != 0) return sky_throw_errno(env, -rc, "getsockname");
  return addr_pair(env, (struct sockaddr *)&ss);
}

/* addrName(buf, off) -> [address, port] for the sockaddr at buf[off] (a source-address slot). */
static napi_value js_addr_name(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *buf;
  size_t len;
  int32_t off;
  if (argc != 2 || napi_get_buffer_info(env, argv[0], &buf, &len) != napi_ok || get_int(env, argv[1], &off) || off < 0 ||
      (size_t)off + sizeof(struct sockaddr_in6) > len) {
    napi_throw_type_error(env, "ERR_SKY_NATIVE", "addrName(Buffer, offset): bad arguments");
    return NULL;
  }
  struct sockaddr_in6 sa; /* a copy: the slot need not be aligned */
  memcpy(&sa, (uint8_t *)buf + off, sizeof sa);
  return addr_pair(env, (struct sockaddr *)&sa);
}

static napi_value js_live(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_int32(env, sky_live_sockets(), &out));
  return out;
}

static napi_value js_open_count(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_int32(env, sky_open_sockets(), &out));
  return out;
}

static int set_const(napi_env env, napi_value exports, const char *key, double v) {
  return put(env, exports, key, v);
}


static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
    {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL},
    {"flush", NULL, js_flush, NULL, NULL, NULL, napi_enumerable, NULL},
    {"connect", NULL, js_connect, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"queued", NULL, js_queued, NULL, NULL, NULL, napi_enumerable, NULL},
    {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL},
    {"local", NULL, js_local, NULL, NULL, NULL, napi_enumerable, NULL},
    {"addrName", NULL, js_addr_name, NULL, NULL, NULL, napi_enumerable, NULL},
    {"liveSockets", NULL, js_live, NULL, NULL, NULL, napi_enumerable, NULL},
    {"openSockets", NULL, js_open_count, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok ||
      set_const(env, exports, "BATCH", SKY_BATCH) || set_const(env, exports, "SLOT", SKY_SLOT) ||
      set_const(env, exports, "ADDR", SKY_ADDR) || set_const(env, exports, "ADDRS_OFF", (double)SKY_ADDRS_OFF) ||
      set_const(env, exports, "LENS_OFF", (double)SKY_LENS_OFF) || set_const(env, exports, "QUEUE_MAX", SKY_QUEUE_MAX))
    return fail_pending(env);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
