// The hop to JavaScript. An op that JS must answer is handed from libfuse's
// thread to the JS thread: the libfuse thread fills its thread locals with the
// op's arguments, wakes the event loop (uv_async_send) and waits (uv_sem_wait);
// on the JS thread the op's arguments are given to JS's dispatch function
// (binding.ts), and JS answers, whenever it is done, through signal(), which
// takes the answer into C and wakes the libfuse thread (uv_sem_post).
#pragma once

#include <uv.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "libfuse.h"

struct fuse_thread;  // session.h

// Opcodes: how JS names the ops (exported as op_<name>; binding.ts).
enum {
  OP_INIT, OP_ERROR, OP_ACCESS, OP_STATFS, OP_FGETATTR, OP_GETATTR, OP_FLUSH, OP_FSYNC,
  OP_FSYNCDIR, OP_READDIR, OP_TRUNCATE, OP_FTRUNCATE, OP_UTIMENS, OP_READLINK, OP_CHOWN,
  OP_CHMOD, OP_MKNOD, OP_SETXATTR, OP_GETXATTR, OP_LISTXATTR, OP_REMOVEXATTR, OP_OPEN,
  OP_OPENDIR, OP_READ, OP_WRITE, OP_RELEASE, OP_RELEASEDIR, OP_CREATE, OP_UNLINK, OP_RENAME,
  OP_LINK, OP_SYMLINK, OP_MKDIR, OP_RMDIR,
  OP_COUNT
};

// The most arguments an op hands JS (read, write: path, fh, buffer, length, offset).
#define BRIDGE_MAX_ARGS 5

// A mount's way to JS (in fuse_thread_t).
typedef struct {
  napi_env env;
  napi_ref dispatch;  // JS: (locals, opcode, ...the op's arguments)
  napi_ref pin;       // the fuse_thread_t buffer: JS may drop it, the FUSE thread may not
  // Which ops JS implements, by opcode (set before the FUSE thread starts).
  uint8_t implemented[OP_COUNT];
  // Creating a libfuse thread's locals, on the JS thread (bridge_locals): one
  // thread at a time (mut) sends async and waits on sem for `created`.
  uv_async_t async;
  uv_mutex_t mut;
  uv_sem_t sem;
  void *created;
} bridge_t;

// Per libfuse thread: one op at a time on its way to JS and back.
typedef struct {
  // Caller of the current op (fuse_get_context()). Kept as the first fields so
  // JS can read them at fixed offsets from the thread-locals buffer
  // (binding.ts contextOf); the caller's uid/gid are needed to own new files.
  uint32_t ctx_uid;
  uint32_t ctx_gid;
  uint32_t ctx_pid;
  uint32_t ctx_umask;

  napi_ref self;  // this buffer, handed to JS with each op

  uint32_t op;

  // Payloads
  const char *path;
  const char *dest;
  char *linkname;
  struct fuse_file_info *info;
  const void *buf;
  off_t offset;
  size_t len;
  mode_t mode;
  dev_t dev;
  uid_t uid;
  gid_t gid;
  // utimens: full timespecs, so UTIME_NOW / UTIME_OMIT in tv_nsec survive.
  struct timespec times[2];
  int32_t res;

  // Extended attributes
  const char *name;
  const char *value;
  char *list;
  size_t size;
  int flags;

  // Stat + Statfs
  struct stat *stat;
  struct statvfs *statvfs;

  // The reply cache's generation when this op went to JS (see attr_cache.h)
  uint64_t cache_gen;

  // Readdir
  fuse_fill_dir_t readdir_filler;
  enum fuse_readdir_flags readdir_flags;
  uint32_t readdir_room;

  // Internal bookkeeping
  struct fuse_thread *fuse;
  uv_sem_t sem;
  uv_async_t async;
} fuse_thread_locals_t;

// One op's side of the hop (ops.h ops_bridge).
typedef struct {
  const char *name;  // JS's name for it
  // Fills argv[0 .. argc) with the op's arguments (JS gets them after the
  // locals and the opcode); NULL when it has none.
  uint32_t argc;
  void (*args) (napi_env env, fuse_thread_locals_t *l, napi_value *argv);
  // Takes JS's answer into C: `res` is the op's result, payload[0..1] what JS
  // gave with it. Nonzero: a JS exception is pending and the op is left
  // unanswered (as the old per-op signal methods did). NULL: nothing to take.
  int (*reply) (napi_env env, fuse_thread_locals_t *l, int32_t res, napi_value *payload);
} bridge_op_t;

// Once, at module load.
void bridge_init_process (void);
// At mount, on the JS thread: 0 on success.
int bridge_start (bridge_t *b, napi_env env, struct fuse_thread *ft, napi_value pin, napi_value dispatch);
// At unmount: the mount no longer keeps the event loop alive.
void bridge_stop (bridge_t *b);

// The calling libfuse thread's locals (created through the JS thread on first
// use), with the caller of the current op recorded. Never freed: a libfuse
// worker thread that ends leaves its locals (and their uv_async) behind.
fuse_thread_locals_t * bridge_locals (void);
// Hands op `op` (its arguments in `l`) to JS and waits for the answer: JS's result.
int bridge_call (fuse_thread_locals_t *l, uint32_t op);

// signal(locals, res, ...payload): JS's answer to the op in flight on `locals`.
napi_value fuse_native_signal (napi_env env, napi_callback_info info);
