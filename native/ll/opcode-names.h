// The kernel's FUSE opcodes by name, for the request counts both cores log when a mount
// stops (requestCounts()). Shared by native/src (high-level API) and native/ll (low-level).
#ifndef HACKTREE_OPCODE_NAMES_H
#define HACKTREE_OPCODE_NAMES_H

#include <linux/fuse.h>

#define FUSE_OPCODE_SLOTS 64  /* every opcode below CUSE_INIT fits */

static const char *const FUSE_OPCODE_NAMES[FUSE_OPCODE_SLOTS] = {
  [FUSE_LOOKUP] = "lookup", [FUSE_FORGET] = "forget", [FUSE_GETATTR] = "getattr",
  [FUSE_SETATTR] = "setattr", [FUSE_READLINK] = "readlink", [FUSE_SYMLINK] = "symlink",
  [FUSE_MKNOD] = "mknod", [FUSE_MKDIR] = "mkdir", [FUSE_UNLINK] = "unlink",
  [FUSE_RMDIR] = "rmdir", [FUSE_RENAME] = "rename", [FUSE_LINK] = "link",
  [FUSE_OPEN] = "open", [FUSE_READ] = "read", [FUSE_WRITE] = "write",
  [FUSE_STATFS] = "statfs", [FUSE_RELEASE] = "release", [FUSE_FSYNC] = "fsync",
  [FUSE_SETXATTR] = "setxattr", [FUSE_GETXATTR] = "getxattr", [FUSE_LISTXATTR] = "listxattr",
  [FUSE_REMOVEXATTR] = "removexattr", [FUSE_FLUSH] = "flush", [FUSE_INIT] = "init",
  [FUSE_OPENDIR] = "opendir", [FUSE_READDIR] = "readdir", [FUSE_RELEASEDIR] = "releasedir",
  [FUSE_FSYNCDIR] = "fsyncdir", [FUSE_GETLK] = "getlk", [FUSE_SETLK] = "setlk",
  [FUSE_SETLKW] = "setlkw", [FUSE_ACCESS] = "access", [FUSE_CREATE] = "create",
  [FUSE_INTERRUPT] = "interrupt", [FUSE_BMAP] = "bmap", [FUSE_DESTROY] = "destroy",
  [FUSE_IOCTL] = "ioctl", [FUSE_POLL] = "poll", [FUSE_NOTIFY_REPLY] = "notify_reply",
  [FUSE_BATCH_FORGET] = "batch_forget", [FUSE_FALLOCATE] = "fallocate",
  [FUSE_READDIRPLUS] = "readdirplus", [FUSE_RENAME2] = "rename2", [FUSE_LSEEK] = "lseek",
  [FUSE_COPY_FILE_RANGE] = "copy_file_range",
};

#endif
