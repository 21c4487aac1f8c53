// Names: readlink, mknod, unlink, rename, link, symlink (see ops.h).
#include <errno.h>

#include "ops.h"
#include "session.h"
#include "convert.h"

int ops_readlink (const char *path, char *linkname, size_t len) {
  fuse_thread_t *ft = current_mount();
  if (attr_cache_get_string(&(ft->cache), path, linkname, len, 0)) return 0;
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->linkname = linkname;
  l->len = len;
  return bridge_call(l, OP_READLINK);
}

// JS's target, cut to libfuse's buffer (NUL terminated).
static int reply_readlink (napi_env env, fuse_thread_locals_t *l, int32_t res, napi_value *payload) {
  size_t n;
  if (napi_get_value_string_utf8(env, payload[0], l->linkname, l->len, &n) != napi_ok) {
    napi_throw_error(env, "EINVAL", "Expected string");
    return -1;
  }
  return 0;
}

const bridge_op_t bridge_readlink = { "readlink", 1, args_path, reply_readlink };

int ops_mknod (const char *path, mode_t mode, dev_t dev) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->mode = mode;
  l->dev = dev;
  return bridge_call(l, OP_MKNOD);
}

static void args_mknod (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  uint32_arg(env, l->mode, &argv[1]);
  uint32_arg(env, (uint32_t) l->dev, &argv[2]);
}

const bridge_op_t bridge_mknod = { "mknod", 3, args_mknod, NULL };

int ops_unlink (const char *path) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  return bridge_call(l, OP_UNLINK);
}

const bridge_op_t bridge_unlink = { "unlink", 1, args_path, NULL };

// Ops of two names.
static int two_names (uint32_t op, const char *path, const char *dest) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->dest = dest;
  return bridge_call(l, op);
}

static void args_two_names (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  string_arg(env, l->dest, &argv[1]);
}

int ops_rename (const char *path, const char *dest, unsigned int flags) {
  // RENAME_NOREPLACE / RENAME_EXCHANGE (renameat2): JS's rename knows neither.
  if (flags != 0) return -EINVAL;
  return two_names(OP_RENAME, path, dest);
}

int ops_link (const char *path, const char *dest) {
  return two_names(OP_LINK, path, dest);
}

// `target` is the link's content, `path` the new link.
int ops_symlink (const char *target, const char *path) {
  return two_names(OP_SYMLINK, target, path);
}

const bridge_op_t bridge_rename = { "rename", 2, args_two_names, NULL };
const bridge_op_t bridge_link = { "link", 2, args_two_names, NULL };
const bridge_op_t bridge_symlink = { "symlink", 2, args_two_names, NULL };
