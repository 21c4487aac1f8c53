// Extended attributes: setxattr, getxattr, listxattr, removexattr (see ops.h).
// JS fills or reads libfuse's own buffers, detached once answered; size
// probes (size 0) are JS's to answer (binding.ts).
#include <errno.h>

#include "ops.h"
#include "session.h"
#include "convert.h"

int ops_setxattr (const char *path, const char *name, const char *value, size_t size, int flags) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
  l->flags = flags;
  return bridge_call(l, OP_SETXATTR);
}

static void args_setxattr (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  string_arg(env, l->name, &argv[1]);
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &argv[2]);
  uint32_arg(env, (uint32_t) l->flags, &argv[3]);
}

const bridge_op_t bridge_setxattr = { "setxattr", 4, args_setxattr, reply_detach };

int ops_getxattr (const char *path, const char *name, char *value, size_t size) {
  fuse_thread_t *ft = current_mount();
  if (attr_cache_no_caps(&(ft->cache), path, name)) return -ENODATA;
  fuse_thread_locals_t *l = bridge_locals();
  l->cache_gen = attr_cache_gen(&(ft->cache));
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
  return bridge_call(l, OP_GETXATTR);
}

static void args_getxattr (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  string_arg(env, l->name, &argv[1]);
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &argv[2]);
}

static int reply_getxattr (napi_env env, fuse_thread_locals_t *l, int32_t res, napi_value *payload) {
  reply_detach(env, l, res, payload);
  if (res == -ENODATA) attr_cache_put_no_caps(&(l->fuse->cache), l->path, l->name, l->cache_gen);
  return 0;
}

const bridge_op_t bridge_getxattr = { "getxattr", 3, args_getxattr, reply_getxattr };

int ops_listxattr (const char *path, char *list, size_t size) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->list = list;
  l->size = size;
  return bridge_call(l, OP_LISTXATTR);
}

static void args_listxattr (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  napi_create_external_buffer(env, l->size, l->list, NULL, NULL, &argv[1]);
}

const bridge_op_t bridge_listxattr = { "listxattr", 2, args_listxattr, reply_detach };

int ops_removexattr (const char *path, const char *name) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->name = name;
  return bridge_call(l, OP_REMOVEXATTR);
}

static void args_removexattr (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  string_arg(env, l->name, &argv[1]);
}

const bridge_op_t bridge_removexattr = { "removexattr", 2, args_removexattr, NULL };
