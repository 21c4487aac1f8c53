// getattr, statfs, access and the attribute changes: chmod, chown, utimens,
// truncate (see ops.h).
#include <errno.h>
#include <string.h>

#include "ops.h"
#include "session.h"
#include "direct.h"
#include "convert.h"

// getattr by path: JS's getattr.
static int getattr_path (const char *path, struct stat *stat) {
  fuse_thread_t *ft = current_mount();
  // Published by JS already: answer here, without the round trip.
  if (attr_cache_get_stat(&(ft->cache), path, stat)) return 0;
  if (layer_absent(ft, path)) return -ENOENT;
  fuse_thread_locals_t *l = bridge_locals();
  l->cache_gen = attr_cache_gen(&(ft->cache));
  l->path = path;
  l->stat = stat;
  return bridge_call(l, OP_GETATTR);
}

// getattr of an open file: JS's fgetattr.
static int getattr_fh (const char *path, struct stat *stat, struct fuse_file_info *info) {
  fuse_thread_t *ft = current_mount();
  // Only by path: a NULL path (unlinked open file) is JS's to answer by handle.
  if (attr_cache_get_stat(&(ft->cache), path, stat)) return 0;
  fuse_thread_locals_t *l = bridge_locals();
  l->cache_gen = attr_cache_gen(&(ft->cache));
  l->path = path;
  l->stat = stat;
  l->info = info;
  return bridge_call(l, OP_FGETATTR);
}

int ops_getattr (const char *path, struct stat *stat, struct fuse_file_info *fi) {
  if (fi != NULL && current_mount()->bridge.implemented[OP_FGETATTR]) return getattr_fh(path, stat, fi);
  // As libfuse 2 without fgetattr: by path, and nothing without one.
  if (path == NULL) return -ENOSYS;
  return getattr_path(path, stat);
}

// JS's statArray; kept (for the path) when it is an answer.
static int reply_stat (napi_env env, fuse_thread_locals_t *l, int32_t res, napi_value *payload) {
  uint32_t *ints;
  if (!buffer_value(env, payload[0], (void **) &ints, NULL)) return -1;
  populate_stat(ints, l->stat);
  if (res == 0 && l->path != NULL) attr_cache_put_stat(&(l->fuse->cache), l->path, strlen(l->path), l->stat, &(l->cache_gen));
  return 0;
}

const bridge_op_t bridge_getattr = { "getattr", 1, args_path, reply_stat };
const bridge_op_t bridge_fgetattr = { "fgetattr", 2, args_path_fh, reply_stat };

int ops_statfs (const char *path, struct statvfs *statvfs) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->statvfs = statvfs;
  return bridge_call(l, OP_STATFS);
}

static int reply_statfs (napi_env env, fuse_thread_locals_t *l, int32_t res, napi_value *payload) {
  uint32_t *ints;
  if (!buffer_value(env, payload[0], (void **) &ints, NULL)) return -1;
  populate_statvfs(ints, l->statvfs);
  return 0;
}

const bridge_op_t bridge_statfs = { "statfs", 1, args_path, reply_statfs };

int ops_access (const char *path, int mode) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->mode = mode;
  return bridge_call(l, OP_ACCESS);
}

// (path, mode): access, chmod.
static void args_path_mode (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  uint32_arg(env, l->mode, &argv[1]);
}

const bridge_op_t bridge_access = { "access", 2, args_path_mode, NULL };

int ops_chmod (const char *path, mode_t mode, struct fuse_file_info *fi) {
  int here = layer_setattr(current_mount(), path, SET_MODE, mode, 0, 0, NULL);
  if (here != NOT_HERE) return here;
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->mode = mode;
  return bridge_call(l, OP_CHMOD);
}

const bridge_op_t bridge_chmod = { "chmod", 2, args_path_mode, NULL };

int ops_chown (const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
  int here = layer_setattr(current_mount(), path, SET_OWNER, 0, uid, gid, NULL);
  if (here != NOT_HERE) return here;
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->uid = uid;
  l->gid = gid;
  return bridge_call(l, OP_CHOWN);
}

static void args_chown (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  uint32_arg(env, l->uid, &argv[1]);
  uint32_arg(env, l->gid, &argv[2]);
}

const bridge_op_t bridge_chown = { "chown", 3, args_chown, NULL };

int ops_utimens (const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
  int here = layer_setattr(current_mount(), path, SET_TIMES, 0, 0, 0, tv);
  if (here != NOT_HERE) return here;
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->times[0] = tv[0];
  l->times[1] = tv[1];
  return bridge_call(l, OP_UTIMENS);
}

// (sec, nsec) for atime and mtime. (fuse-native sent atime twice, mtime lost,
// and turned UTIME_NOW/UTIME_OMIT, tv_nsec markers, into ~1073 ms.)
static void args_utimens (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  int64_arg(env, (int64_t) l->times[0].tv_sec, &argv[1]);
  uint32_arg(env, (uint32_t) l->times[0].tv_nsec, &argv[2]);
  int64_arg(env, (int64_t) l->times[1].tv_sec, &argv[3]);
  uint32_arg(env, (uint32_t) l->times[1].tv_nsec, &argv[4]);
}

const bridge_op_t bridge_utimens = { "utimens", 5, args_utimens, NULL };

int ops_truncate (const char *path, off_t size, struct fuse_file_info *fi) {
  fuse_thread_t *ft = current_mount();
  fuse_thread_locals_t *l;
  if (fi != NULL && ft->bridge.implemented[OP_FTRUNCATE]) {
    l = bridge_locals();
    l->path = path;
    l->offset = size;
    l->info = fi;
    return bridge_call(l, OP_FTRUNCATE);
  }
  if (path == NULL || !ft->bridge.implemented[OP_TRUNCATE]) return -ENOSYS;
  l = bridge_locals();
  l->path = path;
  l->offset = size;
  return bridge_call(l, OP_TRUNCATE);
}

static void args_truncate (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  int64_arg(env, (int64_t) l->offset, &argv[1]);
}

static void args_ftruncate (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  fh_arg(env, l->info, &argv[1]);
  int64_arg(env, (int64_t) l->offset, &argv[2]);
}

const bridge_op_t bridge_truncate = { "truncate", 2, args_truncate, NULL };
const bridge_op_t bridge_ftruncate = { "ftruncate", 3, args_ftruncate, NULL };
