/*
 * Lifetime. A socket struct is freed only when both its uv_poll handle has
 * closed and its JS wrapper has been finalized, whichever comes last:
 *   - close() (or environment teardown) stops polling, drops queued replies
 *     (counted), and uv_close()s the handle; the fd is closed and the JS
 *     references released in the close callback, which libuv runs after the
 *     current callback returns, so closing inside a batch is safe;
 *   - while open, the wrapper is held by a strong reference, so an open
 *     socket is never collected (like a bound dgram socket); after close the
 *     reference is deleted and GC may finalize the wrapper;
 *   - environment teardown (process exit, worker thread end) runs an async
 *     cleanup hook that closes what is still open.
 */
#include "sky_udp.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_int live = 0;
/* Sockets whose fd is not closed yet (opened, and close not finished). */
static atomic_int open_fds = 0;

int32_t sky_live_sockets(void) {
  return atomic_load(&live);
}

int32_t sky_open_sockets(void) {
  return atomic_load(&open_fds);
}

void sky_open_add(int32_t d) {
  atomic_fetch_add(&open_fds, d);
}

void sky_live_add(int32_t d) {
  atomic_fetch_add(&live, d);
}

void sky_free(sky_sock *s) {
  sky_queue_free(s);
  free(s);
  sky_live_add(-1);
}

static void release_js(sky_sock *s) {
  napi_env env = s->env;
  if (s->on_batch) napi_delete_reference(env, s->on_batch);
  if (s->shared_ref) napi_delete_reference(env, s->shared_ref);
  if (s->self) napi_delete_reference(env, s->self);
  if (s->actx) napi_async_destroy(env, s->actx);
  s->on_batch = s->shared_ref = s->self = NULL;
  s->actx = NULL;
  s->shared = NULL;
}

static void on_closed(uv_handle_t *h) {
  sky_sock *s = h->data;
  s->state = SKY_CLOSED;
  if (s->fd >= 0) close(s->fd); /* close on a UDP fd reports nothing we could act on */
  s->fd = -1;
  sky_open_add(-1);
  /* In teardown the environment frees its own references; touching them could race its shutdown. */
  if (!s->teardown) release_js(s);
  if (s->cleanup) {
    napi_remove_async_cleanup_hook(s->cleanup);
    s->cleanup = NULL;
  }
  if (s->js_gone) sky_free(s);
}

/* Idempotent. After it, sends are refused (counted as dropped) and no batch is delivered. */
void sky_begin_close(sky_sock *s) {
  if (s->state != SKY_OPEN) return;
  s->state = SKY_CLOSING;
  sky_queue_clear(s);
  if (s->poll_ready) {
    uv_poll_stop(&s->poll); /* cannot fail for an initialized handle */
    uv_close((uv_handle_t *)&s->poll, on_closed);
  } else {
    on_closed((uv_handle_t *)&s->poll);
  }
}

void sky_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  sky_sock *s = data;
  s->js_gone = 1;
  if (s->state == SKY_CLOSED) sky_free(s);
  else {
    /* Only at teardown can an open socket be finalized (it is strongly held): close, free in on_closed. */
    s->teardown = 1;
    sky_begin_close(s);
  }
}

void sky_on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  sky_sock *s = arg;
  s->cleanup = handle;
  s->teardown = 1;
  if (s->state == SKY_OPEN) sky_begin_close(s);
}
