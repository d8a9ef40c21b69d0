/*
 * The batched UDP socket: shared declarations.
 *
 * One struct per socket. Node's own event loop watches the fd with a uv_poll
 * handle (no thread); a readable fd is read with recvmmsg into a fixed arena
 * that JS sees as one ArrayBuffer, JS is called once per batch, and the
 * replies JS queued are sent with sendmmsg. See ../README.md for the design.
 */
#ifndef SKY_UDP_H
#define SKY_UDP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#endif

#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* Datagrams per recvmmsg/sendmmsg call (the most; open() may ask for fewer). */
#define SKY_BATCH 64
/* Bytes per received datagram slot: the largest UDP payload fits, so nothing is cut (as node:dgram). */
#define SKY_SLOT 65536
/* The smallest slot open() accepts (a DNS message over UDP without EDNS is at most 512). */
#define SKY_SLOT_MIN 512
/* Bytes per source-address slot (a sockaddr_in6 is 28). */
#define SKY_ADDR 32
/* recvmmsg calls per wake-up: at most 256 datagrams before the loop runs timers, TCP and HTTP. */
#define SKY_WAKE_BATCHES 4
/* Replies that may wait for the socket (entries and bytes); past either a reply is dropped and counted. */
#define SKY_QUEUE_MAX 4096
#define SKY_QUEUE_BYTES (8u << 20)

/*
 * Layout of the one shared ArrayBuffer JS reads a batch from, for a socket of
 * `batch` slots of `slot` bytes: payloads at 0, source addresses at
 * SKY_ADDRS_OFF, lengths (int32) at SKY_LENS_OFF. The defaults (SKY_BATCH,
 * SKY_SLOT) serve DNS; an upstream client socket asks for fewer slots.
 */
#define SKY_ARENA_OFF 0
#define SKY_ADDRS_OFF_FOR(batch, slot) ((size_t)(batch) * (slot))
#define SKY_LENS_OFF_FOR(batch, slot) (SKY_ADDRS_OFF_FOR(batch, slot) + (size_t)(batch) * SKY_ADDR)
#define SKY_SHARED_BYTES_FOR(batch, slot) (SKY_LENS_OFF_FOR(batch, slot) + (size_t)(batch) * sizeof(int32_t))
#define SKY_ADDRS_OFF SKY_ADDRS_OFF_FOR(SKY_BATCH, SKY_SLOT)
#define SKY_LENS_OFF SKY_LENS_OFF_FOR(SKY_BATCH, SKY_SLOT)

enum sky_state { SKY_OPEN, SKY_CLOSING, SKY_CLOSED };

typedef struct {
  uint8_t *data;
  uint32_t len;
  socklen_t alen;       /* 0: no address (a connected socket sends to its peer) */
  struct sockaddr_in6 addr; /* a sockaddr_in fits in its first 16 bytes */
} sky_out;

/* Counters, read by JS through stats(); never reset. */
typedef struct {
  double received;      /* datagrams handed to JS */
  double batches;       /* JS calls */
  double sent;          /* replies the kernel accepted */
  double dropped;       /* replies never sent: queue full, socket closed, send after close */
  double send_errors;   /* replies the kernel refused (counted in dropped too) */
  double recv_errors;   /* recvmmsg failures other than EAGAIN/EINTR */
  double truncated;     /* datagrams longer than a slot (cannot happen with 64 KiB slots; counted if it does) */
  double would_block;   /* sendmmsg calls that found the send buffer full */
  int last_errno;       /* the latest send/recv error (0: none) */
} sky_stats;

typedef struct sky_sock {
  napi_env env;
  int fd;
  int family;           /* 4 or 6 */
  int batch;            /* datagrams per recvmmsg (<= SKY_BATCH) */
  size_t slot;          /* bytes per received datagram */
  size_t addrs_off;     /* where the source addresses start in `shared` */
  size_t lens_off;      /* where the lengths start */
  int connected;        /* connect() was called: sends need no address, errors go to JS */
  int pending_err;      /* connected: the first send error since JS last heard of one */
  enum sky_state state;
  int poll_ready;       /* uv_poll_init succeeded: uv_close is owed */
  int polling;          /* events currently polled */
  int blocked;          /* the last sendmmsg hit EAGAIN: wait for UV_WRITABLE */
  int js_gone;          /* the wrapper object was finalized */
  int teardown;         /* closing because the environment is going away */
  uv_poll_t poll;
  napi_ref self;        /* the wrapper: strong while open, so an open socket is never collected */
  napi_ref on_batch;
  napi_ref shared_ref;  /* the shared ArrayBuffer (arena, addresses, lengths) */
  napi_async_context actx;
  napi_async_cleanup_hook_handle cleanup;
  uint8_t *shared;
  struct mmsghdr rmsg[SKY_BATCH];
  struct iovec riov[SKY_BATCH];
  sky_out *queue;       /* ring of SKY_QUEUE_MAX */
  uint32_t qhead;
  uint32_t qcount;
  size_t qbytes;
  struct mmsghdr smsg[SKY_BATCH];
  struct iovec siov[SKY_BATCH];
  sky_stats st;
} sky_sock;

/* sock.c: the fd. Returns 0 or -errno; *what names the failed syscall. */
int sky_socket_open(const struct sockaddr_storage *addr, socklen_t alen, int reuse_port, int rcvbuf, int sndbuf, int *fd_out, const char **what);
int sky_socket_local(int fd, struct sockaddr_storage *addr, socklen_t *alen);

/* addr.c: text <-> sockaddr. */
int sky_addr_parse(const char *host, int port, int family, struct sockaddr_storage *out, socklen_t *alen);
int sky_addr_format(const struct sockaddr *sa, char *out, size_t outlen, int *port);

/* queue.c: replies waiting for the socket. addr NULL: to the connected peer. */
int sky_queue_init(sky_sock *s);
int sky_queue_push(sky_sock *s, const uint8_t *data, size_t len, const uint8_t *addr);
void sky_queue_flush(sky_sock *s);
void sky_queue_clear(sky_sock *s);
void sky_queue_free(sky_sock *s);
uint32_t sky_queue_room(const sky_sock *s);

/* recv.c: the poll callback (reads batches, calls JS, flushes) and the poll mask. */
void sky_on_poll(uv_poll_t *h, int status, int events);
void sky_update_poll(sky_sock *s);
/* Calls JS's onBatch(count); a negative count is -errno (connected sockets: an ICMP error, a refused send). */
void sky_call_js(sky_sock *s, int count);

/* lifetime.c: close, finalizer, environment teardown. */
void sky_begin_close(sky_sock *s);
void sky_finalize(napi_env env, void *data, void *hint);
void sky_on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg);
void sky_free(sky_sock *s);
int32_t sky_live_sockets(void);
void sky_live_add(int32_t d);
int32_t sky_open_sockets(void);
void sky_open_add(int32_t d);

/* Throws a JS Error with code (e.g. "EADDRINUSE") and syscall; returns NULL for the caller to return. */
napi_value sky_throw_errno(napi_env env, int err, const char *syscall);

#endif
