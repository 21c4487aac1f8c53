// The hop to JavaScript (see bridge.h).
#include <assert.h>
#include <pthread.h>
#include <string.h>
#include <napi-macros.h>

#include "bridge.h"
#include "session.h"
#include "ops.h"

static pthread_key_t thread_locals_key;

void bridge_init_process (void) {
  pthread_key_create(&(thread_locals_key), NULL);
}

// On the JS thread: a libfuse thread asks JS for op l->op.
static void dispatch_op (uv_async_t *handle) {
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) handle->data;
  bridge_t *b = &(l->fuse->bridge);
  const bridge_op_t *op = ops_bridge(l->op);
  napi_env env = b->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);

  napi_value argv[2 + BRIDGE_MAX_ARGS];
  uint32_t argc = 2;
  napi_get_reference_value(env, l->self, &(argv[0]));
  napi_create_uint32(env, l->op, &(argv[1]));
  if (op != NULL && op->args != NULL) {
    op->args(env, l, argv + 2);
    argc += op->argc;
  }
  napi_value global, dispatch;
  napi_get_global(env, &global);
  napi_get_reference_value(env, b->dispatch, &dispatch);
  NAPI_MAKE_CALLBACK(env, NULL, global, dispatch, argc, argv, NULL)

  napi_close_handle_scope(env, scope);
}

// On the JS thread: a libfuse thread's first op needs its locals. They live in
// a Buffer (JS reads the caller context from it), which C keeps referenced.
static void create_locals (uv_async_t *handle) {
  fuse_thread_t *ft = (fuse_thread_t *) handle->data;
  bridge_t *b = &(ft->bridge);
  napi_env env = b->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);

  fuse_thread_locals_t *l;
  napi_value buf;
  napi_status status = napi_create_buffer(env, sizeof(fuse_thread_locals_t), (void **) &l, &buf);
  assert(status == napi_ok);
  memset(l, 0, sizeof(fuse_thread_locals_t));
  napi_create_reference(env, buf, 1, &(l->self));

  napi_close_handle_scope(env, scope);

  int err = uv_async_init(uv_default_loop(), &(l->async), dispatch_op);
  assert(err >= 0);
  // An op in flight does not keep the loop alive by itself (the mount does).
  uv_unref((uv_handle_t *) &(l->async));
  uv_sem_init(&(l->sem), 0);
  l->async.data = l;
  l->fuse = ft;

  b->created = l;
  uv_sem_post(&(b->sem));
}

int bridge_start (bridge_t *b, napi_env env, fuse_thread_t *ft, napi_value pin, napi_value dispatch) {
  b->env = env;
  napi_create_reference(env, pin, 1, &(b->pin));
  napi_create_reference(env, dispatch, 1, &(b->dispatch));
  uv_mutex_init(&(b->mut));
  uv_sem_init(&(b->sem), 0);
  b->created = NULL;
  int err = uv_async_init(uv_default_loop(), &(b->async), create_locals);
  b->async.data = ft;
  return err < 0 ? -1 : 0;
}

void bridge_stop (bridge_t *b) {
  uv_unref((uv_handle_t *) &(b->async));
}

static void set_caller_context (fuse_thread_locals_t *l) {
  struct fuse_context *fc = fuse_get_context();
  l->ctx_uid = fc->uid;
  l->ctx_gid = fc->gid;
  l->ctx_pid = (uint32_t) fc->pid;
  l->ctx_umask = fc->umask;
}

static fuse_thread_locals_t * get_thread_locals (void) {
  fuse_thread_locals_t *l = pthread_getspecific(thread_locals_key);
  if (l != NULL) return l;

  // One thread at a time through b->async and b->created.
  bridge_t *b = &(current_mount()->bridge);
  uv_mutex_lock(&(b->mut));
  uv_async_send(&(b->async));
  uv_sem_wait(&(b->sem));
  l = (fuse_thread_locals_t *) b->created;
  pthread_setspecific(thread_locals_key, (void *) l);
  uv_mutex_unlock(&(b->mut));
  return l;
}

fuse_thread_locals_t * bridge_locals (void) {
  fuse_thread_locals_t *l = get_thread_locals();
  set_caller_context(l);
  return l;
}

int bridge_call (fuse_thread_locals_t *l, uint32_t op) {
  l->op = op;
  uv_async_send(&(l->async));
  uv_sem_wait(&(l->sem));
  return l->res;
}

napi_value fuse_native_signal (napi_env env, napi_callback_info info) {
  NAPI_ARGV(4)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_locals_t *, l, 0)
  NAPI_ARGV_INT32(res, 1)
  if (l_len < sizeof(fuse_thread_locals_t)) {
    napi_throw_error(env, "EINVAL", "signal: not the locals of a FUSE thread");
    return NULL;
  }
  const bridge_op_t *op = ops_bridge(l->op);
  if (op != NULL && op->reply != NULL && op->reply(env, l, res, argv + 2) != 0) return NULL;
  l->res = res;
  uv_sem_post(&(l->sem));
  return NULL;
}
