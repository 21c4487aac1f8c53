// The table of fuse_operations and of their JS sides, and what the ops share
// (see ops.h).
#include <assert.h>
#include <string.h>

#include "ops.h"
#include "convert.h"

void ops_fill (struct fuse_operations *ops, const uint8_t *implemented) {
  memset(ops, 0, sizeof(*ops));
  if (implemented[OP_ACCESS]) ops->access = ops_access;
  if (implemented[OP_TRUNCATE] || implemented[OP_FTRUNCATE]) ops->truncate = ops_truncate;
  if (implemented[OP_GETATTR] || implemented[OP_FGETATTR]) ops->getattr = ops_getattr;
  if (implemented[OP_FLUSH]) ops->flush = ops_flush;
  if (implemented[OP_FSYNC]) ops->fsync = ops_fsync;
  if (implemented[OP_FSYNCDIR]) ops->fsyncdir = ops_fsyncdir;
  if (implemented[OP_READDIR]) ops->readdir = ops_readdir;
  if (implemented[OP_READLINK]) ops->readlink = ops_readlink;
  if (implemented[OP_CHOWN]) ops->chown = ops_chown;
  if (implemented[OP_CHMOD]) ops->chmod = ops_chmod;
  if (implemented[OP_MKNOD]) ops->mknod = ops_mknod;
  if (implemented[OP_SETXATTR]) ops->setxattr = ops_setxattr;
  if (implemented[OP_GETXATTR]) ops->getxattr = ops_getxattr;
  if (implemented[OP_LISTXATTR]) ops->listxattr = ops_listxattr;
  if (implemented[OP_REMOVEXATTR]) ops->removexattr = ops_removexattr;
  if (implemented[OP_STATFS]) ops->statfs = ops_statfs;
  // Always: the binding answers some opens itself (frozen mounts, stable
  // content, direct handles), and answers as libfuse would when JS has none.
  ops->open = ops_open;
  ops->opendir = ops_opendir;
  if (implemented[OP_READ]) ops->read = ops_read;
  if (implemented[OP_WRITE]) ops->write = ops_write;
  ops->release = ops_release;
  ops->releasedir = ops_releasedir;
  if (implemented[OP_CREATE]) ops->create = ops_create;
  if (implemented[OP_UTIMENS]) ops->utimens = ops_utimens;
  if (implemented[OP_UNLINK]) ops->unlink = ops_unlink;
  if (implemented[OP_RENAME]) ops->rename = ops_rename;
  if (implemented[OP_LINK]) ops->link = ops_link;
  if (implemented[OP_SYMLINK]) ops->symlink = ops_symlink;
  if (implemented[OP_MKDIR]) ops->mkdir = ops_mkdir;
  if (implemented[OP_RMDIR]) ops->rmdir = ops_rmdir;
}

// init tells JS the mount is up (session_init); error is never sent (JS still has the opcode).
static const bridge_op_t bridge_init = { "init", 0, NULL, NULL };
static const bridge_op_t bridge_error = { "error", 0, NULL, NULL };

static const bridge_op_t *const BRIDGE_OPS[OP_COUNT] = {
  [OP_INIT] = &bridge_init, [OP_ERROR] = &bridge_error,
  [OP_ACCESS] = &bridge_access, [OP_STATFS] = &bridge_statfs,
  [OP_FGETATTR] = &bridge_fgetattr, [OP_GETATTR] = &bridge_getattr,
  [OP_FLUSH] = &bridge_flush, [OP_FSYNC] = &bridge_fsync, [OP_FSYNCDIR] = &bridge_fsyncdir,
  [OP_READDIR] = &bridge_readdir, [OP_TRUNCATE] = &bridge_truncate, [OP_FTRUNCATE] = &bridge_ftruncate,
  [OP_UTIMENS] = &bridge_utimens, [OP_READLINK] = &bridge_readlink, [OP_CHOWN] = &bridge_chown,
  [OP_CHMOD] = &bridge_chmod, [OP_MKNOD] = &bridge_mknod, [OP_SETXATTR] = &bridge_setxattr,
  [OP_GETXATTR] = &bridge_getxattr, [OP_LISTXATTR] = &bridge_listxattr,
  [OP_REMOVEXATTR] = &bridge_removexattr, [OP_OPEN] = &bridge_open, [OP_OPENDIR] = &bridge_opendir,
  [OP_READ] = &bridge_read, [OP_WRITE] = &bridge_write, [OP_RELEASE] = &bridge_release,
  [OP_RELEASEDIR] = &bridge_releasedir, [OP_CREATE] = &bridge_create, [OP_UNLINK] = &bridge_unlink,
  [OP_RENAME] = &bridge_rename, [OP_LINK] = &bridge_link, [OP_SYMLINK] = &bridge_symlink,
  [OP_MKDIR] = &bridge_mkdir, [OP_RMDIR] = &bridge_rmdir,
};

const bridge_op_t * ops_bridge (uint32_t op) {
  return op < OP_COUNT ? BRIDGE_OPS[op] : NULL;
}

int buffer_value (napi_env env, napi_value v, void **data, size_t *len) {
  size_t n;
  if (napi_get_buffer_info(env, v, data, len != NULL ? len : &n) == napi_ok) return 1;
  napi_throw_error(env, "EINVAL", "Expected a buffer");
  return 0;
}

// File handles are 64-bit (uint64_t fh); they used to be cut to int32.
int reply_handle (napi_env env, fuse_thread_locals_t *l, int32_t res, napi_value *payload) {
  int64_t fh = 0;
  napi_get_value_int64(env, payload[0], &fh);
  if (fh != 0) l->info->fh = (uint64_t) fh;
  return 0;
}

int reply_detach (napi_env env, fuse_thread_locals_t *l, int32_t res, napi_value *payload) {
  napi_status status = napi_detach_arraybuffer(env, payload[0]);
  assert(status == napi_ok);
  (void) status;
  return 0;
}

void args_path (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
}

void args_path_fh (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  fh_arg(env, l->info, &argv[1]);
}
