// The fuse_operations, one small function each (ops_*.c). Each answers what
// it can on libfuse's thread (the reply cache, direct handles, frozen mounts)
// and hands the rest to JS (bridge.h); for that each op also has a
// bridge_op_t: the arguments JS gets and how its answer is taken.
//
// libfuse 3 signatures, JS's ops as libfuse 2 had them: getattr and truncate
// of an open file reach JS's fgetattr/ftruncate; chmod, chown and utimens
// ignore the file info JS never took; rename refuses renameat2 flags.
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "libfuse.h"
#include "bridge.h"

// Fills `ops` with the ops to install: those JS implements (`implemented`, by
// opcode) and those the binding always answers (open, opendir, release,
// releasedir). init is the session's.
void ops_fill (struct fuse_operations *ops, const uint8_t *implemented);

// The JS side of opcode `op`, NULL for none.
const bridge_op_t * ops_bridge (uint32_t op);

// ops_attr.c: getattr, statfs, access, chmod, chown, utimens, truncate
int ops_getattr (const char *path, struct stat *stat, struct fuse_file_info *fi);
int ops_statfs (const char *path, struct statvfs *statvfs);
int ops_access (const char *path, int mode);
int ops_chmod (const char *path, mode_t mode, struct fuse_file_info *fi);
int ops_chown (const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);
int ops_utimens (const char *path, const struct timespec tv[2], struct fuse_file_info *fi);
int ops_truncate (const char *path, off_t size, struct fuse_file_info *fi);
extern const bridge_op_t bridge_getattr, bridge_fgetattr, bridge_statfs, bridge_access,
  bridge_chmod, bridge_chown, bridge_utimens, bridge_truncate, bridge_ftruncate;

// ops_file.c: open, create, read, write, release, flush, fsync
int ops_open (const char *path, struct fuse_file_info *info);
int ops_create (const char *path, mode_t mode, struct fuse_file_info *info);
int ops_read (const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info);
int ops_write (const char *path, const char *buf, size_t len, off_t offset, struct fuse_file_info *info);
int ops_release (const char *path, struct fuse_file_info *info);
int ops_flush (const char *path, struct fuse_file_info *info);
int ops_fsync (const char *path, int datasync, struct fuse_file_info *info);
extern const bridge_op_t bridge_open, bridge_create, bridge_read, bridge_write,
  bridge_release, bridge_flush, bridge_fsync;

// ops_dir.c: opendir, readdir, releasedir, fsyncdir, mkdir, rmdir
int ops_opendir (const char *path, struct fuse_file_info *info);
int ops_readdir (const char *path, void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *info, enum fuse_readdir_flags flags);
int ops_releasedir (const char *path, struct fuse_file_info *info);
int ops_fsyncdir (const char *path, int datasync, struct fuse_file_info *info);
int ops_mkdir (const char *path, mode_t mode);
int ops_rmdir (const char *path);
extern const bridge_op_t bridge_opendir, bridge_readdir, bridge_releasedir, bridge_fsyncdir,
  bridge_mkdir, bridge_rmdir;

// ops_name.c: readlink, mknod, unlink, rename, link, symlink
int ops_readlink (const char *path, char *linkname, size_t len);
int ops_mknod (const char *path, mode_t mode, dev_t dev);
int ops_unlink (const char *path);
int ops_rename (const char *path, const char *dest, unsigned int flags);
int ops_link (const char *path, const char *dest);
int ops_symlink (const char *target, const char *path);
extern const bridge_op_t bridge_readlink, bridge_mknod, bridge_unlink, bridge_rename,
  bridge_link, bridge_symlink;

// ops_xattr.c: setxattr, getxattr, listxattr, removexattr
int ops_setxattr (const char *path, const char *name, const char *value, size_t size, int flags);
int ops_getxattr (const char *path, const char *name, char *value, size_t size);
int ops_listxattr (const char *path, char *list, size_t size);
int ops_removexattr (const char *path, const char *name);
extern const bridge_op_t bridge_setxattr, bridge_getxattr, bridge_listxattr, bridge_removexattr;

// Shared by the ops_*.c files.
// JS's answer is a statArray / a file handle / a buffer it filled (detached
// once answered: its memory is libfuse's).
int buffer_value (napi_env env, napi_value v, void **data, size_t *len);
int reply_handle (napi_env env, fuse_thread_locals_t *l, int32_t res, napi_value *payload);
int reply_detach (napi_env env, fuse_thread_locals_t *l, int32_t res, napi_value *payload);
// Arguments: (path), (path, fh), (path, datasync, fh).
void args_path (napi_env env, fuse_thread_locals_t *l, napi_value *argv);
void args_path_fh (napi_env env, fuse_thread_locals_t *l, napi_value *argv);
void args_fsync (napi_env env, fuse_thread_locals_t *l, napi_value *argv);
