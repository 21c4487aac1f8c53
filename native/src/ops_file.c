// Open files: open, create, read, write, release, flush, fsync (see ops.h).
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "ops.h"
#include "session.h"
#include "direct.h"
#include "convert.h"

int ops_open (const char *path, struct fuse_file_info *info) {
  fuse_thread_t *ft = current_mount();
  // Frozen: the kernel answers every later open itself, pages kept (no_open).
  if (ft->no_open) return -ENOSYS;
  if (ft->direct && (info->flags & (O_ACCMODE | O_TRUNC)) == O_RDONLY && attr_cache_stable_file(&(ft->cache), path)) {
    info->fh = 0;
    info->keep_cache = 1;
    return 0;
  }
  // What libfuse answers for a filesystem without open (handle 0).
  if (!ft->bridge.implemented[OP_OPEN]) return 0;
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->info = info;
  return bridge_call(l, OP_OPEN);
}

static void args_open (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  uint32_arg(env, l->info != NULL ? (uint32_t) l->info->flags : 0, &argv[1]);
}

const bridge_op_t bridge_open = { "open", 2, args_open, reply_handle };

int ops_create (const char *path, mode_t mode, struct fuse_file_info *info) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->mode = mode;
  l->info = info;
  return bridge_call(l, OP_CREATE);
}

static void args_create (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  uint32_arg(env, l->mode, &argv[1]);
}

const bridge_op_t bridge_create = { "create", 2, args_create, reply_handle };

// A file whose content JS has checked and published (cacheContent), opened
// without a handle of JS's (the binding's default open, the kernel's own on a
// frozen mount, or ours of a stable file): read it here. Opened per request:
// the inode is cached, so that costs a few microseconds, and no descriptor
// outlives a forget. 1 when answered (`*done`: the byte count).
static int read_published (fuse_thread_t *ft, const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info, int *done) {
  char content[PATH_MAX];
  if ((info != NULL && info->fh != 0) || !attr_cache_get_string(&(ft->cache), path, content, sizeof(content), 1)) return 0;
  int cfd = open(content, O_RDONLY | O_CLOEXEC);
  if (cfd < 0) return 0;
  *done = pread_full(cfd, buf, len, offset);
  close(cfd);
  // Gone or unreadable: JS answers (and logs) as it would have.
  return *done >= 0;
}

int ops_read (const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info) {
  fuse_thread_t *ft = current_mount();
  int fd = direct_fd(ft, info);
  if (fd >= 0) {
    int done = pread_full(fd, buf, len, offset);
    if (done >= 0) attr_cache_follow_fd(&(ft->cache), path, fd, FOLLOW_READ);
    return done;
  }
  int done;
  if (read_published(ft, path, buf, len, offset, info, &done)) return done;
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->buf = buf;
  l->len = len;
  l->offset = offset;
  l->info = info;
  return bridge_call(l, OP_READ);
}

int ops_write (const char *path, const char *buf, size_t len, off_t offset, struct fuse_file_info *info) {
  fuse_thread_t *ft = current_mount();
  int fd = direct_fd(ft, info);
  if (fd >= 0) {
    int done = pwrite_full(fd, buf, len, offset);
    if (done < 0) return done;
    attr_cache_follow_fd(&(ft->cache), path, fd, FOLLOW_DATA);
    return done;
  }
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->buf = buf;
  l->len = len;
  l->offset = offset;
  l->info = info;
  return bridge_call(l, OP_WRITE);
}

// (path, fh, buffer, length, offset): JS fills or reads libfuse's own buffer,
// detached once answered (reply_detach).
static void args_data (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  fh_arg(env, l->info, &argv[1]);
  napi_create_external_buffer(env, l->len, (char *) l->buf, NULL, NULL, &argv[2]);
  uint32_arg(env, (uint32_t) l->len, &argv[3]);
  int64_arg(env, (int64_t) l->offset, &argv[4]);
}

const bridge_op_t bridge_read = { "read", 5, args_data, reply_detach };
const bridge_op_t bridge_write = { "write", 5, args_data, reply_detach };

int ops_release (const char *path, struct fuse_file_info *info) {
  fuse_thread_t *ft = current_mount();
  if (ft->direct && info != NULL) {
    int fd = direct_fd(ft, info);
    if (fd >= 0) return close(fd) == 0 ? 0 : -errno;
    if (info->fh == 0) return 0;
  }
  if (!ft->bridge.implemented[OP_RELEASE]) return 0;
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->info = info;
  return bridge_call(l, OP_RELEASE);
}

const bridge_op_t bridge_release = { "release", 2, args_path_fh, NULL };

int ops_flush (const char *path, struct fuse_file_info *info) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->info = info;
  return bridge_call(l, OP_FLUSH);
}

const bridge_op_t bridge_flush = { "flush", 2, args_path_fh, NULL };

int ops_fsync (const char *path, int datasync, struct fuse_file_info *info) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->mode = datasync;
  l->info = info;
  return bridge_call(l, OP_FSYNC);
}

// (path, datasync, fh): fsync, fsyncdir.
void args_fsync (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  uint32_arg(env, l->mode, &argv[1]);
  fh_arg(env, l->info, &argv[2]);
}

const bridge_op_t bridge_fsync = { "fsync", 3, args_fsync, NULL };
