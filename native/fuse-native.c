// libfuse 3 (3.14: pkg-config fuse3), high-level path API.
#define FUSE_USE_VERSION 314

#include <uv.h>
#include <node_api.h>
#include <napi-macros.h>

#include <string.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <assert.h>

#include <fuse.h>
#include <fuse_opt.h>
#include <fuse_common.h>
#include <fuse_lowlevel.h>
// The kernel protocol (requests and replies on /dev/fuse), for the session's
// custom I/O below: request counts and directories read without OPENDIR.
#include <linux/fuse.h>

#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <pthread.h>

static int IS_ARRAY_BUFFER_DETACH_SUPPORTED = 0;

napi_status napi_detach_arraybuffer(napi_env env, napi_value buf);

#define FUSE_NATIVE_CALLBACK(fn, blk)\
  napi_env env = ft->env;\
  napi_handle_scope scope;\
  napi_open_handle_scope(env, &scope);\
  napi_value ctx;\
  napi_get_reference_value(env, ft->ctx, &ctx);\
  napi_value callback;\
  napi_get_reference_value(env, fn, &callback);\
  blk\
  napi_close_handle_scope(env, scope);

// libfuse passes a NULL path for an open file whose name is gone (hard_remove):
// hand JS null instead of an uninitialised value, so ops fall back to the handle.
#define FUSE_NATIVE_PATH_ARG(env, path, out)\
  if ((path) == NULL) napi_get_null(env, &(out));\
  else napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &(out));

#define FUSE_NATIVE_HANDLER(name, blk)\
  fuse_thread_locals_t *l = get_thread_locals();\
  set_caller_context(l);\
  l->op = op_##name;\
  l->op_fn = fuse_native_dispatch_##name;\
  blk\
  uv_async_send(&(l->async));\
  uv_sem_wait(&(l->sem));\
  return l->res;

#define FUSE_METHOD(name, callbackArgs, signalArgs, signature, callBlk, callbackBlk, signalBlk)\
  static void fuse_native_dispatch_##name (uv_async_t* handle, fuse_thread_locals_t* l, fuse_thread_t* ft) {\
    uint32_t op = op_##name;\
    FUSE_NATIVE_CALLBACK(ft->handlers[op], {\
      napi_value argv[callbackArgs + 2];\
      napi_get_reference_value(env, l->self, &(argv[0]));\
      napi_create_uint32(env, l->op, &(argv[1]));\
      callbackBlk\
      NAPI_MAKE_CALLBACK(env, NULL, ctx, callback, callbackArgs + 2, argv, NULL)\
    })\
  }\
  NAPI_METHOD(fuse_native_signal_##name) {\
    NAPI_ARGV(signalArgs + 2)\
    NAPI_ARGV_BUFFER_CAST(fuse_thread_locals_t *, l, 0);\
    NAPI_ARGV_INT32(res, 1);\
    signalBlk\
    l->res = res;\
    uv_sem_post(&(l->sem));\
    return NULL;\
  }\
  static int fuse_native_##name signature {\
    FUSE_NATIVE_HANDLER(name, callBlk)\
  }

#define FUSE_METHOD_VOID(name, callbackArgs, signalArgs, signature, callBlk, callbackBlk)\
  FUSE_METHOD(name, callbackArgs, signalArgs, signature, callBlk, callbackBlk, {})

#define FUSE_UINT64_TO_INTS_ARGV(n, pos)\
  uint32_t low##pos = n % 4294967296;\
  uint32_t high##pos = (n - low##pos) / 4294967296;\
  napi_create_uint32(env, low##pos, &(argv[pos]));\
  napi_create_uint32(env, high##pos, &(argv[pos + 1]));


// Opcodes

static const uint32_t op_init = 0;
static const uint32_t op_error = 1;
static const uint32_t op_access = 2;
static const uint32_t op_statfs = 3;
static const uint32_t op_fgetattr = 4;
static const uint32_t op_getattr = 5;
static const uint32_t op_flush = 6;
static const uint32_t op_fsync = 7;
static const uint32_t op_fsyncdir = 8;
static const uint32_t op_readdir = 9;
static const uint32_t op_truncate = 10;
static const uint32_t op_ftruncate = 11;
static const uint32_t op_utimens = 12;
static const uint32_t op_readlink = 13;
static const uint32_t op_chown = 14;
static const uint32_t op_chmod = 15;
static const uint32_t op_mknod = 16;
static const uint32_t op_setxattr = 17;
static const uint32_t op_getxattr = 18;
static const uint32_t op_listxattr = 19;
static const uint32_t op_removexattr = 20;
static const uint32_t op_open = 21;
static const uint32_t op_opendir = 22;
static const uint32_t op_read = 23;
static const uint32_t op_write = 24;
static const uint32_t op_release = 25;
static const uint32_t op_releasedir = 26;
static const uint32_t op_create = 27;
static const uint32_t op_unlink = 28;
static const uint32_t op_rename = 29;
static const uint32_t op_link = 30;
static const uint32_t op_symlink = 31;
static const uint32_t op_mkdir = 32;
static const uint32_t op_rmdir = 33;

// Data structures

// Native attribute cache (opt-in, opts.attrCache = max entries). Every op that
// goes to JS pays a thread hop (uv_async_send -> JS -> uv_sem_post) of ~100 us
// for ~5 us of JS work, and a read-only commit view's answers never change.
// So the stats JS returns from readdir (and symlink targets it publishes with
// cacheLink / attributes with cachePut) are kept here, and getattr, fgetattr
// and readlink of those paths are answered on the libfuse thread without
// entering JS. Directory listings JS returned from readdir are kept too (a
// second table, keyed by the directory's path), so a directory listed once is
// listed again on the libfuse thread: libfuse caches no listing itself (the
// kernel keeps them only on a frozen mount).
// A mutable mount (a writable layer) keeps it coherent from JS: every change
// is followed by cacheForget() of what it touched, before the change is
// answered. Answers JS gives to getattr, fgetattr, readdir and getxattr are
// kept only when no forget happened while JS was computing them (a global
// generation count), so an answer computed before a change never outlives it.
// st_dev of a regular file whose content never changes (see "Direct handles").
#define STABLE_CONTENT 0xffffffffu

typedef struct {
  uint32_t n;          // entries, in JS's order (".", ".." included if JS gave them)
  int has_stats;       // 0: JS gave names only, filled without attributes
  struct stat *stats;  // n stats (malloc'd) or NULL
  uint32_t *name_off;  // n offsets into names (malloc'd)
  char *names;         // NUL-terminated names back to back (malloc'd)
} dir_listing_t;

typedef struct {
  uint64_t hash;
  size_t len;
  int has_stat;
  int no_caps;             // JS said: no security.capability xattr (asked before each write)
  struct stat st;
  char *link;              // symlink target (malloc'd) or NULL
  char *content;           // regular file: a real file holding its bytes, checked by JS (malloc'd) or NULL
  dir_listing_t *listing;  // directory listing (malloc'd) or NULL
  char path[];             // the key, NUL terminated
} attr_cache_entry_t;

// One open-addressing hash table (linear probing, load <= 1/2).
typedef struct {
  uint32_t count;
  uint32_t mask;               // slot count - 1 (a power of two); 0 without slots
  attr_cache_entry_t **slots;
} attr_cache_table_t;

typedef struct {
  // Readers: libfuse threads (getattr, readlink). Writers: the JS thread
  // (readdir replies, cachePut/cacheLink/clearCache, unmount) and the FUSE
  // thread once, when it exits. Nobody waits on JS while holding it.
  pthread_rwlock_t lock;
  // Set once on the JS thread before the FUSE thread starts, never changed:
  // 0 means the cache is off and the lock was never initialised.
  uint32_t max;
  int open;     // cleared (under the lock) at unmount: entries are freed
  // Mutable mounts: a file with several names is never kept (libfuse's path
  // API gives each name its own node, so a change through one name cannot be seen to
  // change the link count of another).
  int mutable;
  uint64_t gen;  // bumped (under the lock) by every forget and clear
  attr_cache_table_t attrs;  // path -> stat / symlink target; at most max entries
  attr_cache_table_t dirs;   // directory path -> listing
  uint64_t dir_entries;      // listings + their entries, kept <= max
} attr_cache_t;

// fuse_config fields libfuse 2 took as -o options and libfuse 3 no longer
// parses (fuse_new rejects them): parsed here, set in init.
typedef struct {
  int use_ino;
  int readdir_ino;
  int hard_remove;
  int direct_io;
  int intr;
  int intr_signal;
  int set_intr_signal;
} config_opts_t;

// Kernel requests are counted by opcode (every opcode below CUSE_INIT fits).
#define REQUEST_OPCODES 64

// A directory handle the binding opened itself (see dir_handle_supply), to be
// released once the request it served has been answered.
typedef struct dir_release {
  struct dir_release *next;
  uint64_t fh;
} dir_release_t;

typedef struct {
  napi_env env;
  pthread_t thread;
  pthread_attr_t attr;
  napi_ref ctx;
  napi_ref malloc;

  // Operation handlers
  napi_ref handlers[35];
  // Which of them JS implements (set before the FUSE thread starts)
  uint8_t implemented[35];

  struct fuse *fuse;
  struct fuse_session *se;
  config_opts_t config_opts;
  struct fuse_conn_info_opts *conn_opts;  // -o max_write= etc. (libfuse's), applied at init
  char mnt[1024];
  char mntopts[1024];
  int mounted;

  uv_async_t async;
  uv_mutex_t mut;
  uv_sem_t sem;

  attr_cache_t cache;

  // Mount flag MOUNT_DIRECT (see DIRECT_FH). Set before the FUSE thread starts.
  int direct;
  // With MOUNT_DIRECT: the directory mirroring the mount's layer files (see
  // layer_setattr), or empty. Set before the FUSE thread starts.
  char layer[PATH_MAX];

  // Mount flag MOUNT_FROZEN (set before the FUSE thread starts), and what the
  // kernel agreed to at init: opens of files and directories answered ENOSYS
  // (no_open / no_opendir), see fuse_native_init.
  int frozen;
  int no_open;
  int no_opendir;
  // Mount flag MOUNT_DIR_ATTRS (set before the FUSE thread starts): on a
  // mutable mount, directory attributes in replies are given DIR_ATTR_TTL.
  int dir_attrs;

  // Directory handles to release (dir_handle_supply), under pending_lock.
  pthread_mutex_t pending_lock;
  dir_release_t *pending;

  // Kernel requests received, by opcode (atomic; see io_read).
  uint64_t requests[REQUEST_OPCODES];
} fuse_thread_t;

typedef struct {
  // Caller of the current op (fuse_get_context()). Kept as the first fields so
  // index.js can read them at fixed offsets from the thread-locals buffer
  // (Fuse#context()); the caller's uid/gid are needed to own new files.
  uint32_t ctx_uid;
  uint32_t ctx_gid;
  uint32_t ctx_pid;
  uint32_t ctx_umask;

  napi_ref self;

  // Opcode
  uint32_t op;
  void *op_fn;

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
  uint32_t position;
  int flags;

  // Stat + Statfs
  struct stat *stat;
  struct statvfs *statvfs;

  // The attribute cache's generation when this op went to JS (see attr_cache_t)
  uint64_t cache_gen;

  // Readdir
  fuse_fill_dir_t readdir_filler;
  enum fuse_readdir_flags readdir_flags;
  uint32_t readdir_room;

  // Internal bookkeeping
  fuse_thread_t *fuse;
  uv_sem_t sem;
  uv_async_t async;

} fuse_thread_locals_t;

static pthread_key_t thread_locals_key;
static fuse_thread_locals_t* get_thread_locals();

static void set_caller_context (fuse_thread_locals_t *l) {
  struct fuse_context *fc = fuse_get_context();
  l->ctx_uid = fc->uid;
  l->ctx_gid = fc->gid;
  l->ctx_pid = (uint32_t) fc->pid;
  l->ctx_umask = fc->umask;
}

// Helpers
// TODO: Extract into a separate file.

static uint64_t uint32s_to_uint64 (uint32_t **ints) {
  uint64_t low = *((*ints)++);
  uint64_t high = *((*ints)++);
  return high * 4294967296 + low;
}

static void uint32s_to_timespec (struct timespec* ts, uint32_t** ints) {
  // The ms value is two's complement (index.js setDoubleInt), so times before
  // 1970 are negative: floor-divide instead of treating it as unsigned.
  int64_t ms = (int64_t) uint32s_to_uint64(ints);
  ts->tv_sec = ms / 1000;
  ts->tv_nsec = (ms % 1000) * 1000000;
  if (ts->tv_nsec < 0) {
    ts->tv_sec -= 1;
    ts->tv_nsec += 1000000000;
  }
}

static void populate_stat (uint32_t *ints, struct stat* stat) {
  stat->st_mode = *ints++;
  stat->st_uid = *ints++;
  stat->st_gid = *ints++;
  stat->st_size = uint32s_to_uint64(&ints);
  stat->st_dev = *ints++;
  stat->st_nlink = *ints++;
  stat->st_ino = *ints++;
  stat->st_rdev = *ints++;
  stat->st_blksize = *ints++;
  stat->st_blocks = uint32s_to_uint64(&ints);
#ifdef __APPLE__
  uint32s_to_timespec(&stat->st_atimespec, &ints);
  uint32s_to_timespec(&stat->st_mtimespec, &ints);
  uint32s_to_timespec(&stat->st_ctimespec, &ints);
#else
  uint32s_to_timespec(&stat->st_atim, &ints);
  uint32s_to_timespec(&stat->st_mtim, &ints);
  uint32s_to_timespec(&stat->st_ctim, &ints);
#endif
  // High 32 bits of st_ino, appended at ints[18] by index.js getStatArray
  // (inode numbers used to be truncated to 32 bits).
  stat->st_ino += ((uint64_t) *ints++) << 32;
}

static void populate_statvfs (uint32_t *ints, struct statvfs* statvfs) {
  statvfs->f_bsize = *ints++;
  statvfs->f_frsize = *ints++;
  statvfs->f_blocks = *ints++;
  statvfs->f_bfree = *ints++;
  statvfs->f_bavail = *ints++;
  statvfs->f_files = *ints++;
  statvfs->f_ffree = *ints++;
  statvfs->f_favail = *ints++;
  statvfs->f_fsid = *ints++;
  statvfs->f_flag = *ints++;
  statvfs->f_namemax = *ints++;
  // High 32 bits of the block/inode counts (fsblkcnt_t/fsfilcnt_t are 64-bit),
  // appended at ints[11..16] by index.js getStatfsArray.
  statvfs->f_blocks += ((uint64_t) *ints++) << 32;
  statvfs->f_bfree += ((uint64_t) *ints++) << 32;
  statvfs->f_bavail += ((uint64_t) *ints++) << 32;
  statvfs->f_files += ((uint64_t) *ints++) << 32;
  statvfs->f_ffree += ((uint64_t) *ints++) << 32;
  statvfs->f_favail += ((uint64_t) *ints++) << 32;
}


// Attribute cache (see attr_cache_t)

static uint64_t attr_cache_hash (const char *s, size_t len) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char) s[i];
    h *= 1099511628211ULL;
  }
  return h;
}

// Slot holding `path`, or the empty slot where it belongs. Needs t->slots;
// ends because the load factor stays at or below 1/2.
static uint32_t attr_cache_probe (attr_cache_table_t *t, const char *path, size_t len, uint64_t hash) {
  uint32_t i = (uint32_t) hash & t->mask;
  for (;;) {
    attr_cache_entry_t *e = t->slots[i];
    if (e == NULL || (e->hash == hash && e->len == len && memcmp(e->path, path, len) == 0)) return i;
    i = (i + 1) & t->mask;
  }
}

// The entry for `path`, or NULL.
static attr_cache_entry_t * attr_cache_find_locked (attr_cache_table_t *t, const char *path, size_t len) {
  if (t->slots == NULL) return NULL;
  return t->slots[attr_cache_probe(t, path, len, attr_cache_hash(path, len))];
}

static void dir_listing_free (dir_listing_t *d) {
  if (d == NULL) return;
  free(d->stats);
  free(d->name_off);
  free(d->names);
  free(d);
}

static void attr_cache_table_clear_locked (attr_cache_table_t *t) {
  if (t->slots != NULL) {
    for (uint64_t i = 0; i <= t->mask; i++) {
      attr_cache_entry_t *e = t->slots[i];
      if (e == NULL) continue;
      free(e->link);
      free(e->content);
      dir_listing_free(e->listing);
      free(e);
    }
    free(t->slots);
  }
  t->slots = NULL;
  t->mask = 0;
  t->count = 0;
}

static void attr_cache_clear_locked (attr_cache_t *c) {
  __atomic_store_n(&(c->gen), c->gen + 1, __ATOMIC_RELEASE);
  attr_cache_table_clear_locked(&(c->attrs));
  attr_cache_table_clear_locked(&(c->dirs));
  c->dir_entries = 0;
}

static int attr_cache_grow_locked (attr_cache_table_t *t) {
  uint64_t old_n = t->slots == NULL ? 0 : (uint64_t) t->mask + 1;
  uint64_t n = old_n == 0 ? 1024 : old_n * 2;
  if (n > ((uint64_t) 1 << 31)) return 0;
  attr_cache_entry_t **slots = calloc(n, sizeof(attr_cache_entry_t *));
  if (slots == NULL) return 0;
  attr_cache_entry_t **old = t->slots;
  t->slots = slots;
  t->mask = (uint32_t) (n - 1);
  for (uint64_t i = 0; i < old_n; i++) {
    attr_cache_entry_t *e = old[i];
    if (e != NULL) t->slots[attr_cache_probe(t, e->path, e->len, e->hash)] = e;
  }
  free(old);
  return 1;
}

// The entry for `path`, created empty when missing; NULL when out of memory.
// A table holding max entries is simply emptied: crude, but O(1) amortised,
// never stale, and JS republishes on the next readdir.
static attr_cache_entry_t * attr_cache_upsert_locked (attr_cache_table_t *t, uint32_t max, const char *path, size_t len) {
  uint64_t hash = attr_cache_hash(path, len);
  if (t->slots != NULL) {
    attr_cache_entry_t *e = t->slots[attr_cache_probe(t, path, len, hash)];
    if (e != NULL) return e;
  }
  if (t->count >= max) attr_cache_table_clear_locked(t);
  if (t->slots == NULL || ((uint64_t) t->count + 1) * 2 > (uint64_t) t->mask + 1) {
    if (!attr_cache_grow_locked(t)) return NULL;
  }
  attr_cache_entry_t *e = malloc(sizeof(attr_cache_entry_t) + len + 1);
  if (e == NULL) return NULL;
  e->hash = hash;
  e->len = len;
  e->has_stat = 0;
  e->no_caps = 0;
  e->link = NULL;
  e->content = NULL;
  e->listing = NULL;
  memcpy(e->path, path, len);
  e->path[len] = '\0';
  t->slots[attr_cache_probe(t, path, len, hash)] = e;
  t->count++;
  return e;
}

// The generation an op sees before it goes to JS; its answer is kept only if
// the generation is still the same when the answer comes back.
static uint64_t attr_cache_gen (attr_cache_t *c) {
  if (c->max == 0) return 0;
  return __atomic_load_n(&(c->gen), __ATOMIC_ACQUIRE);
}

// `gen` NULL: unconditional (JS publishing what it knows to be current).
static void attr_cache_put_stat (attr_cache_t *c, const char *path, size_t len, const struct stat *st, const uint64_t *gen) {
  if (c->max == 0) return;
  if (c->mutable && !S_ISDIR(st->st_mode) && st->st_nlink > 1) return;
  pthread_rwlock_wrlock(&(c->lock));
  if (c->open && (gen == NULL || *gen == c->gen)) {
    attr_cache_entry_t *e = attr_cache_upsert_locked(&(c->attrs), c->max, path, len);
    if (e != NULL) {
      e->st = *st;
      e->has_stat = 1;
    }
  }
  pthread_rwlock_unlock(&(c->lock));
}

// Sets the symlink target (content == 0) or the content file (content == 1) of `path`.
static void attr_cache_put_string (attr_cache_t *c, const char *path, size_t len, const char *value, size_t value_len, int content) {
  if (c->max == 0) return;
  char *copy = malloc(value_len + 1);
  if (copy == NULL) return;
  memcpy(copy, value, value_len);
  copy[value_len] = '\0';
  pthread_rwlock_wrlock(&(c->lock));
  if (c->open) {
    attr_cache_entry_t *e = attr_cache_upsert_locked(&(c->attrs), c->max, path, len);
    // On a mutable mount, content is kept only for a file whose cached
    // attributes say it is still the unchanging one (a copy-up forgets them,
    // then publishes the layer file's): a read that JS finished after a
    // change cannot publish what the change replaced.
    // The same for a symlink target: kept only for the commit's own symlink.
    if (e != NULL && c->mutable && !(e->has_stat && (content ? S_ISREG(e->st.st_mode) : S_ISLNK(e->st.st_mode)) && (uint32_t) e->st.st_dev == STABLE_CONTENT)) e = NULL;
    if (e != NULL) {
      char **slot = content ? &(e->content) : &(e->link);
      free(*slot);
      *slot = copy;
      copy = NULL;
    }
  }
  pthread_rwlock_unlock(&(c->lock));
  free(copy);
}

// Copies the cached stat of `path` to `st`; 0 on a miss.
static int attr_cache_get_stat (attr_cache_t *c, const char *path, struct stat *st) {
  if (c->max == 0 || path == NULL) return 0;
  int hit = 0;
  size_t len = strlen(path);
  pthread_rwlock_rdlock(&(c->lock));
  if (c->open) {
    attr_cache_entry_t *e = attr_cache_find_locked(&(c->attrs), path, len);
    if (e != NULL && e->has_stat) {
      *st = e->st;
      hit = 1;
    }
  }
  pthread_rwlock_unlock(&(c->lock));
  return hit;
}

// Copies the cached symlink target of `path` to buf (truncated to size - 1,
// NUL terminated, like readlink's contract with libfuse); 0 on a miss.
static int attr_cache_get_string (attr_cache_t *c, const char *path, char *buf, size_t size, int content) {
  if (c->max == 0 || path == NULL || size == 0) return 0;
  int hit = 0;
  size_t len = strlen(path);
  pthread_rwlock_rdlock(&(c->lock));
  if (c->open) {
    attr_cache_entry_t *e = attr_cache_find_locked(&(c->attrs), path, len);
    const char *value = e == NULL ? NULL : content ? e->content : e->link;
    if (value != NULL) {
      size_t n = strlen(value);
      if (n >= size) n = size - 1;
      memcpy(buf, value, n);
      buf[n] = '\0';
      hit = 1;
    }
  }
  pthread_rwlock_unlock(&(c->lock));
  return hit;
}

static void attr_cache_init (attr_cache_t *c, uint32_t max) {
  memset(c, 0, sizeof(attr_cache_t));
  if (max == 0) return;
  pthread_rwlock_init(&(c->lock), NULL);
  c->open = 1;
  c->max = max;
}

// Frees every entry (idempotent; called at unmount and when the FUSE thread
// exits). The lock itself stays valid, since JS may still call cachePut on a
// closed mount; it lives in the JS-owned fuse_thread_t buffer and owns no
// resources on Linux, so it is never destroyed.
static void attr_cache_close (attr_cache_t *c) {
  if (c->max == 0) return;
  pthread_rwlock_wrlock(&(c->lock));
  attr_cache_clear_locked(c);
  c->open = 0;
  pthread_rwlock_unlock(&(c->lock));
}

// readdir reply: the child "dir/name" has the attributes JS just gave.
static void attr_cache_put_child (attr_cache_t *c, const char *dir, const char *name, size_t name_len, const struct stat *st, uint64_t gen) {
  if (c->max == 0 || dir == NULL) return;
  // "." and ".." are not paths libfuse asks about; a longer name was cut by
  // the 1024-byte buffer (and cannot be looked up anyway).
  if (name_len == 0 || name_len > NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return;
  char path[PATH_MAX + NAME_MAX + 2];
  size_t dir_len = strlen(dir);
  if (dir_len == 1 && dir[0] == '/') dir_len = 0;  // root: "/name"
  if (dir_len + 1 + name_len >= sizeof(path)) return;
  memcpy(path, dir, dir_len);
  path[dir_len] = '/';
  memcpy(path + dir_len + 1, name, name_len);
  path[dir_len + 1 + name_len] = '\0';
  attr_cache_put_stat(c, path, dir_len + 1 + name_len, st, &gen);
}

static const char CAPS_XATTR[] = "security.capability";

// 1 when JS said `path` has no security.capability (the kernel asks before
// every write to a file, to drop privileges it may carry).
static int attr_cache_no_caps (attr_cache_t *c, const char *path, const char *name) {
  if (c->max == 0 || path == NULL || name == NULL || strcmp(name, CAPS_XATTR) != 0) return 0;
  int hit = 0;
  pthread_rwlock_rdlock(&(c->lock));
  if (c->open) {
    attr_cache_entry_t *e = attr_cache_find_locked(&(c->attrs), path, strlen(path));
    hit = e != NULL && e->no_caps;
  }
  pthread_rwlock_unlock(&(c->lock));
  return hit;
}

static void attr_cache_put_no_caps (attr_cache_t *c, const char *path, const char *name, uint64_t gen) {
  if (c->max == 0 || path == NULL || name == NULL || strcmp(name, CAPS_XATTR) != 0) return;
  pthread_rwlock_wrlock(&(c->lock));
  if (c->open && gen == c->gen) {
    attr_cache_entry_t *e = attr_cache_upsert_locked(&(c->attrs), c->max, path, strlen(path));
    if (e != NULL) e->no_caps = 1;
  }
  pthread_rwlock_unlock(&(c->lock));
}

// What cacheForget drops (index.js exports the same bits).
#define FORGET_STAT 1     // attributes (size, times, mode, owner, link count)
#define FORGET_NAME 2     // everything known of the path: attributes, symlink target, xattr answers
#define FORGET_LISTING 4  // the listing of the directory at the path
#define FORGET_BELOW 8    // everything known of every path below it (a directory renamed)

// Entries are emptied in place, not removed (linear probing has no cheap
// removal); an emptied entry is reused by the next answer for its path.
static void attr_cache_empty_locked (attr_cache_t *c, attr_cache_entry_t *e, uint32_t what) {
  if (what & (FORGET_STAT | FORGET_NAME)) {
    e->has_stat = 0;
    // Content is published for files that do not change: any change drops it.
    free(e->content);
    e->content = NULL;
  }
  if (what & FORGET_NAME) {
    e->no_caps = 0;
    free(e->link);
    e->link = NULL;
  }
  if ((what & FORGET_LISTING) && e->listing != NULL) {
    c->dir_entries -= (uint64_t) e->listing->n + 1;
    dir_listing_free(e->listing);
    e->listing = NULL;
  }
}

static void attr_cache_forget_below_locked (attr_cache_t *c, attr_cache_table_t *t, const char *path, size_t len) {
  if (t->slots == NULL) return;
  if (len == 1 && path[0] == '/') len = 0;  // below the root: every other path
  for (uint64_t i = 0; i <= t->mask; i++) {
    attr_cache_entry_t *e = t->slots[i];
    if (e != NULL && e->len > len && e->path[len] == '/' && memcmp(e->path, path, len) == 0) {
      attr_cache_empty_locked(c, e, FORGET_NAME | FORGET_LISTING);
    }
  }
}

static void attr_cache_forget (attr_cache_t *c, const char *path, size_t len, uint32_t what) {
  if (c->max == 0) return;
  pthread_rwlock_wrlock(&(c->lock));
  // Bumped even when nothing is cached: an answer in flight may be about it.
  __atomic_store_n(&(c->gen), c->gen + 1, __ATOMIC_RELEASE);
  if (c->open) {
    attr_cache_entry_t *e = attr_cache_find_locked(&(c->attrs), path, len);
    if (e != NULL) attr_cache_empty_locked(c, e, what & ~FORGET_LISTING);
    if (what & FORGET_LISTING) {
      e = attr_cache_find_locked(&(c->dirs), path, len);
      if (e != NULL) attr_cache_empty_locked(c, e, FORGET_LISTING);
    }
    if (what & FORGET_BELOW) {
      attr_cache_forget_below_locked(c, &(c->attrs), path, len);
      attr_cache_forget_below_locked(c, &(c->dirs), path, len);
    }
  }
  pthread_rwlock_unlock(&(c->lock));
}

// A listing being built from a readdir reply (on the JS thread, unlocked).
typedef struct {
  dir_listing_t *d;   // NULL once abandoned (out of memory, over the bound)
  uint32_t cap;
  size_t names_len;
  size_t names_cap;
} dir_listing_builder_t;

static void dir_listing_begin (attr_cache_t *c, dir_listing_builder_t *b, const char *dir, uint32_t n, int has_stats) {
  memset(b, 0, sizeof(*b));
  // Not worth keeping more than the whole bound in one listing.
  if (c->max == 0 || dir == NULL || (uint64_t) n + 1 > c->max) return;
  b->d = calloc(1, sizeof(dir_listing_t));
  if (b->d == NULL) return;
  b->d->has_stats = has_stats;
  b->cap = n == 0 ? 1 : n;
  b->names_cap = (size_t) b->cap * 16;
  b->d->name_off = malloc(b->cap * sizeof(uint32_t));
  b->d->names = malloc(b->names_cap);
  b->d->stats = has_stats ? malloc(b->cap * sizeof(struct stat)) : NULL;
  if (b->d->name_off == NULL || b->d->names == NULL || (has_stats && b->d->stats == NULL)) {
    dir_listing_free(b->d);
    b->d = NULL;
  }
}

static void dir_listing_add (dir_listing_builder_t *b, const char *name, size_t name_len, const struct stat *st) {
  dir_listing_t *d = b->d;
  if (d == NULL) return;
  // The names array said n; never trust it further than the buffers go.
  if (d->n >= b->cap || b->names_len + name_len + 1 > UINT32_MAX) goto fail;
  if (b->names_len + name_len + 1 > b->names_cap) {
    size_t cap = b->names_cap * 2;
    while (b->names_len + name_len + 1 > cap) cap *= 2;
    char *names = realloc(d->names, cap);
    if (names == NULL) goto fail;
    d->names = names;
    b->names_cap = cap;
  }
  d->name_off[d->n] = (uint32_t) b->names_len;
  memcpy(d->names + b->names_len, name, name_len);
  d->names[b->names_len + name_len] = '\0';
  b->names_len += name_len + 1;
  if (d->has_stats) d->stats[d->n] = *st;
  d->n++;
  return;
fail:
  dir_listing_free(d);
  b->d = NULL;
}

// Publishes the built listing of `dir` when `ok` (JS succeeded and every name
// reached the filler); frees it otherwise.
static void dir_listing_end (attr_cache_t *c, dir_listing_builder_t *b, const char *dir, int ok, uint64_t gen) {
  dir_listing_t *d = b->d;
  b->d = NULL;
  if (d == NULL) return;
  if (!ok) {
    dir_listing_free(d);
    return;
  }
  size_t len = strlen(dir);
  uint64_t cost = (uint64_t) d->n + 1;
  pthread_rwlock_wrlock(&(c->lock));
  if (c->open && gen == c->gen) {
    attr_cache_entry_t *old = attr_cache_find_locked(&(c->dirs), dir, len);
    if (old != NULL && old->listing != NULL) {
      c->dir_entries -= (uint64_t) old->listing->n + 1;
      dir_listing_free(old->listing);
      old->listing = NULL;
    }
    // Full: forget every listing (never serve stale ones), as the attrs do.
    // (After this, upsert never empties the table behind dir_entries' back.)
    if (c->dirs.count >= c->max || c->dir_entries + cost > c->max) {
      attr_cache_table_clear_locked(&(c->dirs));
      c->dir_entries = 0;
    }
    attr_cache_entry_t *e = attr_cache_upsert_locked(&(c->dirs), c->max, dir, len);
    if (e != NULL) {
      e->listing = d;
      d = NULL;
      c->dir_entries += cost;
    }
  }
  pthread_rwlock_unlock(&(c->lock));
  dir_listing_free(d);
}

// One readdir reply being filled. Two ways, as libfuse's high-level API has:
// - whole (stream 0): every entry with offset 0; libfuse keeps the listing for
//   the open directory and answers each READDIR of it from there, so a
//   listing is one snapshot per opendir (what libfuse 2 did; writable mounts).
// - by offsets (stream 1, frozen mounts): entry i has offset i + 1 and each
//   READDIR asks from the offset it gives. Only this way can libfuse 3 answer
//   READDIRPLUS with attributes (FUSE_FILL_DIR_PLUS): whole listings go to the
//   kernel without them. The listing of a frozen tree never changes between
//   two READDIRs, and each READDIR may come with a directory handle of its
//   own (no_opendir: see dir_handle_supply).
typedef struct {
  void *buf;
  fuse_fill_dir_t filler;
  int stream;
  off_t offset;   // stream: entries before this index are skipped
  int plus;       // stream: READDIRPLUS (libfuse's filler makes every entry a direntplus), entries with attributes carry them
  uint32_t room;  // stream: bytes left in the reply, 0 when unknown
  int full;
} readdir_fill_t;

static void readdir_fill_init (readdir_fill_t *rf, fuse_thread_t *ft, void *buf, fuse_fill_dir_t filler, off_t offset, enum fuse_readdir_flags flags, uint32_t room) {
  rf->buf = buf;
  rf->filler = filler;
  rf->stream = ft->frozen;
  rf->offset = offset;
  rf->plus = ft->frozen && (flags & FUSE_READDIR_PLUS) != 0;
  rf->room = room;
  rf->full = 0;
}

// Hands entry `i` (in listing order) to libfuse; 1 once the reply is full.
static int readdir_emit (readdir_fill_t *rf, uint32_t i, const char *name, size_t name_len, const struct stat *st) {
  if (rf->full) return 1;
  if (!rf->stream) {
    if (rf->filler(rf->buf, name, st, 0, 0) == 1) rf->full = 1;
    return rf->full;
  }
  if ((off_t) i < rf->offset) return 0;
  int plus = rf->plus && st != NULL;
  // libfuse looks an entry up (its node's lookup count goes up) before it
  // finds that the entry does not fit: stop before, as the reply size is known.
  if (rf->room != 0) {
    size_t size = rf->plus ? FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + name_len) : FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + name_len);
    if (size > rf->room) {
      rf->full = 1;
      return 1;
    }
    rf->room -= (uint32_t) size;
  }
  if (rf->filler(rf->buf, name, st, (off_t) i + 1, plus ? FUSE_FILL_DIR_PLUS : 0) == 1) rf->full = 1;
  return rf->full;
}

// Fills a readdir from the cached listing of `path`, exactly as the JS reply
// did; 0 on a miss. The read lock is held while filling: the filler only
// copies into libfuse's buffer (and, for READDIRPLUS, looks the name up in
// libfuse's node table, which never calls back into the binding).
static int dir_listing_fill (attr_cache_t *c, const char *path, readdir_fill_t *rf) {
  if (c->max == 0 || path == NULL) return 0;
  int hit = 0;
  size_t len = strlen(path);
  pthread_rwlock_rdlock(&(c->lock));
  if (c->open) {
    attr_cache_entry_t *e = attr_cache_find_locked(&(c->dirs), path, len);
    if (e != NULL && e->listing != NULL) {
      dir_listing_t *d = e->listing;
      for (uint32_t i = 0; i < d->n; i++) {
        struct stat st;
        if (d->has_stats) st = d->stats[i];
        const char *name = d->names + d->name_off[i];
        if (readdir_emit(rf, i, name, strlen(name), d->has_stats ? &st : NULL)) break;
      }
      hit = 1;
    }
  }
  pthread_rwlock_unlock(&(c->lock));
  return hit;
}

// Direct handles (mount flag MOUNT_DIRECT). A file handle JS returns with
// bit 52 set is DIRECT_FH + a file descriptor of the file itself: read,
// write and release on it are done here, on libfuse's thread, without a round
// trip into JS (which never hears of them; it must not close the fd itself).
// A handle of 0 needs nothing at release. And a regular file whose cached
// attributes carry st_dev == STABLE_CONTENT (JS sets it: FUSE never shows
// st_dev to the kernel) is opened read-only here with handle 0, its pages
// kept: its content never changes under that name (JS then reads by path).
// For a file a direct handle writes to, JS puts the low 32 bits of its
// inode number in st_dev, so the cached attributes can follow each write.
#define MOUNT_MUTABLE 1
#define MOUNT_DIRECT 2
// A read-only mount of a tree that never changes: the kernel may keep all it
// learns for the mount's life. Opens of files and directories are answered
// ENOSYS, so the kernel stops sending OPEN/RELEASE and OPENDIR/RELEASEDIR
// (no_open, which implies FOPEN_KEEP_CACHE; no_opendir, which implies
// FOPEN_CACHE_DIR: each listing is asked once); symlink targets are cached
// (FUSE_CAP_CACHE_SYMLINKS), and listings carry attributes (READDIRPLUS), so
// a walk needs no LOOKUP per entry.
#define MOUNT_FROZEN 4
// A mutable mount whose directories' attributes the kernel may keep a while (see DIR_ATTR_TTL).
#define MOUNT_DIR_ATTRS 8
#define DIRECT_FH ((uint64_t) 1 << 52)
#define LAYER_ONLY_DIR 0xfffffffeu

static int direct_fd (fuse_thread_t *ft, struct fuse_file_info *info) {
  if (!ft->direct || info == NULL || (info->fh & ~(DIRECT_FH - 1)) != DIRECT_FH) return -1;
  uint64_t fd = info->fh & (DIRECT_FH - 1);
  return fd > INT_MAX ? -1 : (int) fd;
}

// What a change made here did to a layer file, for the cached attributes.
#define FOLLOW_READ 0   // atime
#define FOLLOW_DATA 1   // and size, blocks, mtime, ctime (a write)
#define FOLLOW_META 2   // and mode, owner, mtime, ctime (chmod, chown, utimens)

// After a read, write or metadata change done here to the real file of `path`
// (`ok`: `now` holds its attributes): patch its cached attributes as JS's next
// answer would give them, if they are that file's, else forget them.
static void attr_cache_follow (attr_cache_t *c, const char *path, int ok, struct stat *now, int what) {
  if (c->max == 0 || path == NULL) return;
  // The answers JS gives are in whole milliseconds: so are these.
  now->st_atim.tv_nsec -= now->st_atim.tv_nsec % 1000000;
  now->st_mtim.tv_nsec -= now->st_mtim.tv_nsec % 1000000;
  now->st_ctim.tv_nsec -= now->st_ctim.tv_nsec % 1000000;
  pthread_rwlock_wrlock(&(c->lock));
  __atomic_store_n(&(c->gen), c->gen + 1, __ATOMIC_RELEASE);
  if (c->open) {
    attr_cache_entry_t *e = attr_cache_find_locked(&(c->attrs), path, strlen(path));
    if (e != NULL && e->has_stat) {
      uint32_t backing = (uint32_t) e->st.st_dev;
      if (ok && backing == (uint32_t) now->st_ino && backing != STABLE_CONTENT && backing != LAYER_ONLY_DIR) {
        e->st.st_atim = now->st_atim;
        if (what != FOLLOW_READ) {
          e->st.st_mtim = now->st_mtim;
          e->st.st_ctim = now->st_ctim;
        }
        if (what == FOLLOW_DATA) {
          e->st.st_size = now->st_size;
          e->st.st_blocks = now->st_blocks;
        }
        if (what == FOLLOW_META) {
          e->st.st_mode = now->st_mode;
          e->st.st_uid = now->st_uid;
          e->st.st_gid = now->st_gid;
        }
      } else {
        e->has_stat = 0;
      }
    }
  }
  pthread_rwlock_unlock(&(c->lock));
}

// The same after a change through the file descriptor `fd`.
static void attr_cache_follow_fd (attr_cache_t *c, const char *path, int fd, int what) {
  struct stat now;
  int ok = fstat(fd, &now) == 0;
  attr_cache_follow(c, path, ok, &now, what);
}

// chmod, chown and utimens of a file (not a directory) of the layer, applied
// here to its real file (the layer directory + path) without a round trip
// into JS. Only when the cached attributes say it is one (st_dev: the low 32
// bits of its inode number; JS publishes that only for files at writable
// paths) and the file at that path still is that inode; else NOT_HERE and JS
// does it. What JS would do is exactly this: a layer file's metadata is its
// real file's.
#define NOT_HERE 1
enum { SET_MODE, SET_OWNER, SET_TIMES };
static int layer_setattr (fuse_thread_t *ft, const char *path, int what, mode_t mode, uid_t uid, gid_t gid, const struct timespec *ts) {
  attr_cache_t *c = &(ft->cache);
  if (!ft->direct || ft->layer[0] == '\0' || path == NULL || path[0] != '/') return NOT_HERE;
  struct stat cached;
  if (!attr_cache_get_stat(c, path, &cached) || S_ISDIR(cached.st_mode)) return NOT_HERE;
  uint32_t backing = (uint32_t) cached.st_dev;
  if (backing == 0 || backing == STABLE_CONTENT) return NOT_HERE;
  char real[PATH_MAX];
  int n = snprintf(real, sizeof(real), "%s%s", ft->layer, path);
  if (n < 0 || (size_t) n >= sizeof(real)) return NOT_HERE;
  struct stat before;
  if (lstat(real, &before) != 0 || (uint32_t) before.st_ino != backing || S_ISDIR(before.st_mode)) return NOT_HERE;
  int res = 0;
  switch (what) {
    case SET_MODE:
      // A symlink has no mode of its own to change.
      if (!S_ISLNK(before.st_mode) && chmod(real, mode & 07777) != 0) res = -errno;
      break;
    case SET_OWNER:
      if (lchown(real, uid, gid) != 0) res = -errno;
      break;
    case SET_TIMES:
      if (utimensat(AT_FDCWD, real, ts, AT_SYMLINK_NOFOLLOW) != 0) res = -errno;
      break;
  }
  struct stat now;
  int ok = lstat(real, &now) == 0;
  attr_cache_follow(c, path, ok, &now, FOLLOW_META);
  return res;
}

// 1 when `path` is known not to exist: its directory is one only the layer has
// (cached st_dev LAYER_ONLY_DIR), so a name exists there exactly when the
// layer directory + path does, and that does not. libfuse's .fuse_hidden*
// names (an unlinked open file, kept elsewhere) are JS's to answer.
static int layer_absent (fuse_thread_t *ft, const char *path) {
  if (!ft->direct || ft->layer[0] == '\0' || path == NULL || path[0] != '/') return 0;
  const char *slash = strrchr(path, '/');
  if (slash == path || strncmp(slash + 1, ".fuse_hidden", 12) == 0) return 0;
  char parent[PATH_MAX];
  size_t parent_len = (size_t) (slash - path);
  if (parent_len >= sizeof(parent)) return 0;
  memcpy(parent, path, parent_len);
  parent[parent_len] = '\0';
  struct stat dir;
  if (!attr_cache_get_stat(&(ft->cache), parent, &dir) || !S_ISDIR(dir.st_mode) || (uint32_t) dir.st_dev != LAYER_ONLY_DIR) return 0;
  char real[PATH_MAX];
  int n = snprintf(real, sizeof(real), "%s%s", ft->layer, path);
  if (n < 0 || (size_t) n >= sizeof(real)) return 0;
  struct stat st;
  return lstat(real, &st) != 0 && errno == ENOENT;
}

// 1 when `path` is a regular file whose content never changes under its name.
static int attr_cache_stable_file (attr_cache_t *c, const char *path) {
  struct stat st;
  return attr_cache_get_stat(c, path, &st) && S_ISREG(st.st_mode) && (uint32_t) st.st_dev == STABLE_CONTENT;
}

// Per libfuse thread: the binding's own requests to libfuse (io_read).
static __thread int tl_own_request;      // libfuse is processing one of them
static __thread uint64_t tl_own_unique;  // its unique id
static __thread int tl_own_answered;
static __thread int32_t tl_own_error;
static __thread uint64_t tl_own_fh;      // an OPENDIR's answer
// The kernel request (READDIR...) given a directory handle of the binding's.
static __thread uint64_t tl_dir_unique;
static __thread uint64_t tl_dir_fh;      // 0: none
// The reply size asked by the READDIR(PLUS) being processed, 0 otherwise.
static __thread uint32_t tl_readdir_room;
// The kernel request this thread is processing (a libfuse thread answers the
// request it read before it reads the next).
static __thread uint64_t tl_req_unique;
static __thread uint32_t tl_req_opcode;

static fuse_thread_t * current_mount () {
  return (fuse_thread_t *) fuse_get_context()->private_data;
}

// Methods

FUSE_METHOD(statfs, 1, 1, (const char * path, struct statvfs *statvfs), {
  l->path = path;
  l->statvfs = statvfs;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
}, {
  NAPI_ARGV_BUFFER_CAST(uint32_t*, ints, 2)
  populate_statvfs(ints, l->statvfs);
})

FUSE_METHOD(getattr, 1, 1, (const char *path, struct stat *stat), {
  // Published by JS already: answer here, without the round trip.
  if (attr_cache_get_stat(&(l->fuse->cache), path, stat)) return 0;
  if (layer_absent(l->fuse, path)) return -ENOENT;
  l->cache_gen = attr_cache_gen(&(l->fuse->cache));
  l->path = path;
  l->stat = stat;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
}, {
  NAPI_ARGV_BUFFER_CAST(uint32_t*, ints, 2)
  populate_stat(ints, l->stat);
  if (res == 0) attr_cache_put_stat(&(l->fuse->cache), l->path, strlen(l->path), l->stat, &(l->cache_gen));
})

FUSE_METHOD(fgetattr, 2, 1, (const char *path, struct stat *stat, struct fuse_file_info *info), {
  // Only by path: a NULL path (unlinked open file) is JS's to answer by handle.
  if (attr_cache_get_stat(&(l->fuse->cache), path, stat)) return 0;
  l->cache_gen = attr_cache_gen(&(l->fuse->cache));
  l->path = path;
  l->stat = stat;
  l->info = info;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  if (l->info != NULL) {
    napi_create_int64(env, (int64_t) l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
}, {
  NAPI_ARGV_BUFFER_CAST(uint32_t*, ints, 2)
  populate_stat(ints, l->stat);
  if (res == 0 && l->path != NULL) attr_cache_put_stat(&(l->fuse->cache), l->path, strlen(l->path), l->stat, &(l->cache_gen));
})

FUSE_METHOD_VOID(access, 2, 0, (const char *path, int mode), {
  l->path = path;
  l->mode = mode;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_uint32(env, l->mode, &(argv[3]));
})

FUSE_METHOD(open, 2, 1, (const char *path, struct fuse_file_info *info), {
  // Frozen: the kernel answers every later open itself, pages kept (no_open).
  if (l->fuse->no_open) return -ENOSYS;
  if (l->fuse->direct && (info->flags & (O_ACCMODE | O_TRUNC)) == O_RDONLY && attr_cache_stable_file(&(l->fuse->cache), path)) {
    info->fh = 0;
    info->keep_cache = 1;
    return 0;
  }
  // What libfuse answers for a filesystem without open (handle 0).
  if (!l->fuse->implemented[op_open]) return 0;
  l->path = path;
  l->info = info;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  if (l->info != NULL) {
    napi_create_uint32(env, l->info->flags, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
}, {
  // File handles are 64-bit (uint64_t fh); they used to be cut to int32.
  int64_t fd = 0;
  napi_get_value_int64(env, argv[2], &fd);
  if (fd != 0) {
    l->info->fh = (uint64_t) fd;
  }
})

FUSE_METHOD(opendir, 3, 1, (const char *path, struct fuse_file_info *info), {
  // The binding's own open of a directory (dir_handle_supply): JS never hears of it.
  if (tl_own_request) {
    info->fh = 0;
    return 0;
  }
  // Frozen: the kernel answers every later opendir itself, listings cached (no_opendir).
  if (l->fuse->no_opendir) return -ENOSYS;
  if (!l->fuse->implemented[op_opendir]) return 0;
  l->path = path;
  l->info = info;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  if (l->info != NULL) {
    napi_create_int64(env, (int64_t) l->info->fh, &(argv[3]));
    napi_create_uint32(env, l->info->flags, &(argv[4]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
    napi_create_uint32(env, 0, &(argv[4]));
  }
}, {
  // File handles are 64-bit (uint64_t fh); they used to be cut to int32.
  int64_t fd = 0;
  napi_get_value_int64(env, argv[2], &fd);
  if (fd != 0) {
    l->info->fh = (uint64_t) fd;
  }
})

FUSE_METHOD(create, 2, 1, (const char *path, mode_t mode, struct fuse_file_info *info), {
  l->path = path;
  l->mode = mode;
  l->info = info;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_uint32(env, l->mode, &(argv[3]));
}, {
  // File handles are 64-bit (uint64_t fh); they used to be cut to int32.
  int64_t fd = 0;
  napi_get_value_int64(env, argv[2], &fd);
  if (fd != 0) {
    l->info->fh = (uint64_t) fd;
  }
})

// Pass (sec, nsec) for atime and mtime. Previously atime was sent twice (mtime
// lost) and UTIME_NOW/UTIME_OMIT (tv_nsec markers) were turned into ~1073 ms.
FUSE_METHOD_VOID(utimens, 5, 0, (const char *path, const struct timespec tv[2]), {
  int here = layer_setattr(l->fuse, path, SET_TIMES, 0, 0, 0, tv);
  if (here != NOT_HERE) return here;
  l->path = path;
  l->times[0] = tv[0];
  l->times[1] = tv[1];
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_int64(env, (int64_t) l->times[0].tv_sec, &(argv[3]));
  napi_create_uint32(env, (uint32_t) l->times[0].tv_nsec, &(argv[4]));
  napi_create_int64(env, (int64_t) l->times[1].tv_sec, &(argv[5]));
  napi_create_uint32(env, (uint32_t) l->times[1].tv_nsec, &(argv[6]));
})

FUSE_METHOD_VOID(release, 2, 0, (const char *path, struct fuse_file_info *info), {
  if (l->fuse->direct && info != NULL) {
    int fd = direct_fd(l->fuse, info);
    if (fd >= 0) return close(fd) == 0 ? 0 : -errno;
    if (info->fh == 0) return 0;
  }
  if (!l->fuse->implemented[op_release]) return 0;
  l->path = path;
  l->info = info;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  if (l->info != NULL) {
    napi_create_int64(env, (int64_t) l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
})

FUSE_METHOD_VOID(releasedir, 2, 0, (const char *path, struct fuse_file_info *info), {
  if (tl_own_request || !l->fuse->implemented[op_releasedir]) return 0;
  l->path = path;
  l->info = info;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  if (l->info != NULL) {
    napi_create_int64(env, (int64_t) l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
})

// Reads `len` bytes at `offset`, fewer only at end of file (what libfuse
// wants of a read); what was read before an error, or -errno without any.
static int pread_full (int fd, char *buf, size_t len, off_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, buf + done, len - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return done > 0 ? (int) done : -errno;
    if (n == 0) break;
    done += n;
  }
  return (int) done;
}

FUSE_METHOD(read, 6, 2, (const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info), {
  int fd = direct_fd(l->fuse, info);
  if (fd >= 0) {
    int done = pread_full(fd, buf, len, offset);
    if (done >= 0) attr_cache_follow_fd(&(l->fuse->cache), path, fd, FOLLOW_READ);
    return done;
  }
  // A file whose content JS has checked and published (cacheContent), opened
  // without a handle of JS's (the binding's default open, the kernel's own on a
  // frozen mount, or ours of a stable file): read it here. Opened per request: the inode is cached, so that costs a few
  // microseconds, and no descriptor outlives a forget.
  char content[PATH_MAX];
  if ((info == NULL || info->fh == 0) && attr_cache_get_string(&(l->fuse->cache), path, content, sizeof(content), 1)) {
    int cfd = open(content, O_RDONLY | O_CLOEXEC);
    if (cfd >= 0) {
      int done = pread_full(cfd, buf, len, offset);
      close(cfd);
      if (done >= 0) return done;
    }
    // Gone or unreadable: JS answers (and logs) as it would have.
  }
  l->path = path;
  l->buf = buf;
  l->len = len;
  l->offset = offset;
  l->info = info;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_int64(env, (int64_t) l->info->fh, &(argv[3]));
  napi_create_external_buffer(env, l->len, (char *) l->buf, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, l->len, &(argv[5]));
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 6)
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[3]) == napi_ok);
})

FUSE_METHOD(write, 6, 2, (const char *path, const char *buf, size_t len, off_t offset, struct fuse_file_info *info), {
  int fd = direct_fd(l->fuse, info);
  if (fd >= 0) {
    size_t done = 0;
    while (done < len) {
      ssize_t n = pwrite(fd, buf + done, len - done, offset + done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        if (done > 0) break;
        return -errno;
      }
      done += n;
    }
    attr_cache_follow_fd(&(l->fuse->cache), path, fd, FOLLOW_DATA);
    return (int) done;
  }
  l->path = path;
  l->buf = buf;
  l->len = len;
  l->offset = offset;
  l->info = info;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_int64(env, (int64_t) l->info->fh, &(argv[3]));
  napi_create_external_buffer(env, l->len, (char *) l->buf, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, l->len, &(argv[5]));
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 6)
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[3]) == napi_ok);
})

FUSE_METHOD(readdir, 1, 2, (const char *path, void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *info, enum fuse_readdir_flags flags), {
  uint32_t room = tl_readdir_room;
  tl_readdir_room = 0;
  // Listed by JS already: fill it here, without the round trip.
  readdir_fill_t rf;
  readdir_fill_init(&rf, l->fuse, buf, filler, offset, flags, room);
  if (dir_listing_fill(&(l->fuse->cache), path, &rf)) return 0;
  l->cache_gen = attr_cache_gen(&(l->fuse->cache));
  l->buf = buf;
  l->path = path;
  l->offset = offset;
  l->info = info;
  l->readdir_filler = filler;
  l->readdir_flags = flags;
  l->readdir_room = room;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
}, {
  uint32_t stats_length;
  uint32_t names_length;
  napi_get_array_length(env, argv[3], &stats_length);
  napi_get_array_length(env, argv[2], &names_length);

  napi_value raw_names = argv[2];
  napi_value raw_stats = argv[3];

  readdir_fill_t rf;
  readdir_fill_init(&rf, l->fuse, (void *) l->buf, l->readdir_filler, l->offset, l->readdir_flags, l->readdir_room);

  // JS's answer, kept (attrCache) so the next readdir of this path stays here.
  // Every name goes into it, also past the entries this reply has room for.
  dir_listing_builder_t listing;
  dir_listing_begin(&(l->fuse->cache), &listing, res == 0 ? l->path : NULL, names_length, names_length == stats_length);

  if (names_length != stats_length) {
    NAPI_FOR_EACH(raw_names, raw_name) {
      NAPI_UTF8(name, 1024, raw_name)
      dir_listing_add(&listing, name, name_len, NULL);
      readdir_emit(&rf, i, name, name_len, NULL);
    }
  } else {
    NAPI_FOR_EACH(raw_names, raw_name) {
      NAPI_UTF8(name, 1024, raw_name)
      napi_value raw_stat;
      napi_get_element(env, raw_stats, i, &raw_stat);

      NAPI_BUFFER_CAST(uint32_t*, stats_array, raw_stat);
      struct stat st;
      memset(&st, 0, sizeof(st));
      populate_stat(stats_array, &st);
      // JS resolved every child to answer this: keep the answers, so the
      // lookups that follow a listing (ls -l, find) never reach JS.
      if (res == 0) attr_cache_put_child(&(l->fuse->cache), l->path, name, name_len, &st, l->cache_gen);
      dir_listing_add(&listing, name, name_len, &st);
      // With READDIRPLUS (frozen mounts) the attributes reach the kernel too.
      readdir_emit(&rf, i, name, name_len, &st);
    }
  }
  dir_listing_end(&(l->fuse->cache), &listing, l->path, 1, l->cache_gen);
})

#ifdef __APPLE__

FUSE_METHOD(setxattr, 5, 1, (const char *path, const char *name, const char *value, size_t size, int flags, uint32_t position), {
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
  l->flags = flags;
  l->position = position;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, l->position, &(argv[5]));
  napi_create_uint32(env, l->flags, &(argv[6]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

FUSE_METHOD(getxattr, 4, 1, (const char *path, const char *name, char *value, size_t size, uint32_t position), {
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
  l->position = position;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, l->position, &(argv[5]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

#else

FUSE_METHOD(setxattr, 5, 1, (const char *path, const char *name, const char *value, size_t size, int flags), {
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
  l->flags = flags;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, 0, &(argv[5])); // normalize apis between mac and linux
  napi_create_uint32(env, l->flags, &(argv[6]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

FUSE_METHOD(getxattr, 4, 1, (const char *path, const char *name, char *value, size_t size), {
  if (attr_cache_no_caps(&(l->fuse->cache), path, name)) return -ENODATA;
  l->cache_gen = attr_cache_gen(&(l->fuse->cache));
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, 0, &(argv[5]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
  if (res == -ENODATA) attr_cache_put_no_caps(&(l->fuse->cache), l->path, l->name, l->cache_gen);
})

#endif

FUSE_METHOD(listxattr, 2, 1, (const char *path, char *list, size_t size), {
  l->path = path;
  l->list = list;
  l->size = size;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_external_buffer(env, l->size, l->list, NULL, NULL, &(argv[3]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[2]) == napi_ok);
})

FUSE_METHOD_VOID(removexattr, 2, 0, (const char *path, const char *name), {
  l->path = path;
  l->name = name;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(flush, 2, 0, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  if (l->info != NULL) {
    napi_create_int64(env, (int64_t) l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
})

FUSE_METHOD_VOID(fsync, 3, 0, (const char *path, int datasync, struct fuse_file_info *info), {
  l->path = path;
  l->mode = datasync;
  l->info = info;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_uint32(env, l->mode, &(argv[3]));
  if (l->info != NULL) {
    napi_create_int64(env, (int64_t) l->info->fh, &(argv[4]));
  } else {
    napi_create_uint32(env, 0, &(argv[4]));
  }
})

FUSE_METHOD_VOID(fsyncdir, 3, 0, (const char *path, int datasync, struct fuse_file_info *info), {
  l->path = path;
  l->mode = datasync;
  l->info = info;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_uint32(env, l->mode, &(argv[3]));
  if (l->info != NULL) {
    napi_create_int64(env, (int64_t) l->info->fh, &(argv[4]));
  } else {
    napi_create_uint32(env, 0, &(argv[4]));
  }
})


FUSE_METHOD_VOID(truncate, 3, 0, (const char *path, off_t size), {
  l->path = path;
  l->offset = size;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 3)
})

FUSE_METHOD_VOID(ftruncate, 4, 0, (const char *path, off_t size, struct fuse_file_info *info), {
  l->path = path;
  l->offset = size;
  l->info = info;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  if (l->info != NULL) {
    napi_create_int64(env, (int64_t) l->info->fh, &(argv[3]));
  } else {
    napi_create_uint32(env, 0, &(argv[3]));
  }
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 4)
})

FUSE_METHOD(readlink, 1, 1, (const char *path, char *linkname, size_t len), {
  if (attr_cache_get_string(&(l->fuse->cache), path, linkname, len, 0)) return 0;
  l->path = path;
  l->linkname = linkname;
  l->len = len;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
}, {
  NAPI_ARGV_UTF8(linkname, l->len, 2)
  strncpy(l->linkname, linkname, l->len);
})

FUSE_METHOD_VOID(chown, 3, 0, (const char *path, uid_t uid, gid_t gid), {
  int here = layer_setattr(l->fuse, path, SET_OWNER, 0, uid, gid, NULL);
  if (here != NOT_HERE) return here;
  l->path = path;
  l->uid = uid;
  l->gid = gid;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_uint32(env, l->uid, &(argv[3]));
  napi_create_uint32(env, l->gid, &(argv[4]));
})

FUSE_METHOD_VOID(chmod, 2, 0, (const char *path, mode_t mode), {
  int here = layer_setattr(l->fuse, path, SET_MODE, mode, 0, 0, NULL);
  if (here != NOT_HERE) return here;
  l->path = path;
  l->mode = mode;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_uint32(env, l->mode, &(argv[3]));
})

FUSE_METHOD_VOID(mknod, 3, 0, (const char *path, mode_t mode, dev_t dev), {
  l->path = path;
  l->mode = mode;
  l->dev = dev;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_uint32(env, l->mode, &(argv[3]));
  napi_create_uint32(env, l->dev, &(argv[4]));
})

FUSE_METHOD_VOID(unlink, 1, 0, (const char *path), {
  l->path = path;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
})

FUSE_METHOD_VOID(rename, 2, 0, (const char *path, const char *dest), {
  l->path = path;
  l->dest = dest;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(link, 2, 0, (const char *path, const char *dest), {
  l->path = path;
  l->dest = dest;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(symlink, 2, 0, (const char *path, const char *dest), {
  l->path = path;
  l->dest = dest;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(mkdir, 2, 0, (const char *path, mode_t mode), {
  l->path = path;
  l->mode = mode;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
  napi_create_uint32(env, l->mode, &(argv[3]));
})

FUSE_METHOD_VOID(rmdir, 1, 0, (const char *path), {
  l->path = path;
}, {
  FUSE_NATIVE_PATH_ARG(env, l->path, argv[2]);
})

// libfuse 3 signatures. getattr and truncate of an open file come with its
// file info (fgetattr and ftruncate are gone): JS keeps its own ops for those.
// chmod, chown and utimens get it too, which JS never took. rename gets flags.

static int fuse_native_getattr_v3 (const char *path, struct stat *stat, struct fuse_file_info *fi) {
  if (fi != NULL && current_mount()->implemented[op_fgetattr]) return fuse_native_fgetattr(path, stat, fi);
  // As libfuse 2 without fgetattr: by path, and nothing without one.
  if (path == NULL) return -ENOSYS;
  return fuse_native_getattr(path, stat);
}

static int fuse_native_truncate_v3 (const char *path, off_t size, struct fuse_file_info *fi) {
  fuse_thread_t *ft = current_mount();
  if (fi != NULL && ft->implemented[op_ftruncate]) return fuse_native_ftruncate(path, size, fi);
  if (path == NULL || !ft->implemented[op_truncate]) return -ENOSYS;
  return fuse_native_truncate(path, size);
}

static int fuse_native_chmod_v3 (const char *path, mode_t mode, struct fuse_file_info *fi) {
  return fuse_native_chmod(path, mode);
}

static int fuse_native_chown_v3 (const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
  return fuse_native_chown(path, uid, gid);
}

static int fuse_native_utimens_v3 (const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
  return fuse_native_utimens(path, tv);
}

// RENAME_NOREPLACE / RENAME_EXCHANGE (renameat2): JS's rename knows neither.
static int fuse_native_rename_v3 (const char *path, const char *dest, unsigned int flags) {
  if (flags != 0) return -EINVAL;
  return fuse_native_rename(path, dest);
}

static void fuse_native_dispatch_init (uv_async_t* handle, fuse_thread_locals_t* l, fuse_thread_t* ft) {
  FUSE_NATIVE_CALLBACK(ft->handlers[op_init], {
    napi_value argv[2];

    napi_get_reference_value(env, l->self, &(argv[0]));
    napi_create_uint32(env, l->op, &(argv[1]));

    NAPI_MAKE_CALLBACK(env, NULL, ctx, callback, 2, argv, NULL);
  })
}

NAPI_METHOD(fuse_native_signal_init) {
  NAPI_ARGV(2)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_locals_t *, l, 0);
  NAPI_ARGV_INT32(res, 1);
  l->res = res;
  uv_sem_post(&(l->sem));
  return NULL;
}

static void * fuse_native_init (struct fuse_conn_info *conn, struct fuse_config *cfg) {
  fuse_thread_t *ft = current_mount();

  // Options libfuse 2 parsed itself (config_opts_t).
  config_opts_t *o = &(ft->config_opts);
  cfg->use_ino = o->use_ino;
  cfg->readdir_ino = o->readdir_ino;
  cfg->hard_remove = o->hard_remove;
  cfg->direct_io = o->direct_io;
  cfg->intr = o->intr;
  if (o->set_intr_signal) cfg->intr_signal = o->intr_signal;
  // Paths for ops on open files, NULL only once the name is gone: libfuse
  // 2's flag_nullpath_ok. (libfuse 3's nullpath_ok would never compute them.)
  cfg->nullpath_ok = 0;

  // libfuse 3 asks the kernel for these by default; libfuse 2 did not, and
  // the binding keeps libfuse 2's behaviour: the kernel drops setuid bits and
  // asks for security.capability before writes (no HANDLE_KILLPRIV: the ops
  // do neither); flock() is the kernel's (there is no flock op); truncation on
  // open is a separate setattr (no ATOMIC_O_TRUNC); cached pages are dropped
  // only when the attributes time out (no AUTO_INVAL_DATA); no ioctl on
  // directories (there is no ioctl op); no READDIRPLUS but on frozen mounts.
  conn->want &= ~(FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_ATOMIC_O_TRUNC |
                  FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_IOCTL_DIR |
                  FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
  if (ft->frozen) {
    // READDIRPLUS for every READDIR (not only the first of a walk): what it
    // carries is already at hand, and it saves the kernel a LOOKUP per entry.
    if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
    __atomic_store_n(&(ft->no_open), (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0, __ATOMIC_RELEASE);
    __atomic_store_n(&(ft->no_opendir), (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0, __ATOMIC_RELEASE);
  }
  // -o max_write=, readdirplus=... as given, over the defaults above.
  if (ft->conn_opts != NULL) fuse_apply_conn_info_opts(ft->conn_opts, conn);

  fuse_thread_locals_t *l = get_thread_locals();
  set_caller_context(l);

  l->op = op_init;
  l->op_fn = fuse_native_dispatch_init;

  uv_async_send(&(l->async));
  uv_sem_wait(&(l->sem));

  return l->fuse;
}

// Top-level dispatcher

static void fuse_native_dispatch (uv_async_t* handle) {
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) handle->data;
  fuse_thread_t *ft = l->fuse;
  void (*fn)(uv_async_t *, fuse_thread_locals_t *, fuse_thread_t *) = l->op_fn;

  fn(handle, l, ft);
}

static void fuse_native_async_init (uv_async_t* handle) {
  fuse_thread_t *ft = (fuse_thread_t *) handle->data;
  fuse_thread_locals_t *l;

  FUSE_NATIVE_CALLBACK(ft->malloc, {
    napi_value argv[1];
    napi_create_uint32(ft->env, (uint32_t) sizeof(fuse_thread_locals_t), &(argv[0]));

    napi_value buf;
    NAPI_MAKE_CALLBACK(ft->env, NULL, ctx, callback, 1, argv, &buf);

    size_t l_len;

    napi_get_buffer_info(env, buf, (void **) &l, &l_len);
    napi_create_reference(env, buf, 1, &(l->self));
  })


  int err = uv_async_init(uv_default_loop(), &(l->async), (uv_async_cb) fuse_native_dispatch);
  assert(err >= 0);

  uv_unref((uv_handle_t *) &(l->async));

  uv_sem_init(&(l->sem), 0);
  l->async.data = l;
  ft->async.data = l;
  l->fuse = ft;

  uv_sem_post(&(ft->sem));
}

static fuse_thread_locals_t* get_thread_locals () {
  struct fuse_context *ctx = fuse_get_context();
  fuse_thread_t *ft = (fuse_thread_t *) ctx->private_data;

  void *data = pthread_getspecific(thread_locals_key);

  if (data != NULL) {
    return (fuse_thread_locals_t *) data;
  }

  // Need to lock the mutation of l->async.
  uv_mutex_lock(&(ft->mut));
  ft->async.data = ft;

  // Notify the main thread to uv_async_init l->async.
  uv_async_send(&(ft->async));
  uv_sem_wait(&(ft->sem));

  fuse_thread_locals_t *l = (fuse_thread_locals_t*) ft->async.data;

  pthread_setspecific(thread_locals_key, (void *) l);
  uv_mutex_unlock(&(ft->mut));

  return l;
}

// The session's I/O (fuse_session_custom_io): every request the kernel sends
// passes io_read, every reply io_writev. There the binding
// - counts the kernel's requests by opcode (requestCounts() in JS), whether
//   the binding, libfuse or JS answers them;
// - on a frozen mount with no_opendir, gives each directory request a handle.
//   The kernel then sends READDIR (and FSYNCDIR, directory IOCTL) with handle
//   0, and libfuse's high-level API cannot serve a directory it did not open:
//   its handle is libfuse's own state of the open directory. So before such a
//   request reaches libfuse, the binding opens the directory itself, through
//   libfuse, with an OPENDIR request of its own (answered in C, JS never hears
//   of it), puts the handle libfuse gave into the kernel's request, and once
//   the kernel's request has been answered, releases it with a RELEASEDIR of
//   its own. Its own requests carry OWN_REQUEST in their unique id (the
//   kernel's never do: they count up from 1 in steps of 2), and their answers
//   stop in io_writev, never reaching the kernel.

#define OWN_REQUEST ((uint64_t) 1 << 63)
static uint64_t own_request_seq = 0;

// io_read/io_writev are told libfuse's struct fuse (the session's userdata):
// which mount is it.
#define MAX_MOUNTS 256
static pthread_mutex_t mounts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { struct fuse *fuse; fuse_thread_t *ft; } mounts[MAX_MOUNTS];
static __thread struct fuse *tl_mount_fuse;  // a libfuse thread serves one mount
static __thread fuse_thread_t *tl_mount_ft;

static int mounts_register (struct fuse *fuse, fuse_thread_t *ft) {
  int ok = 0;
  pthread_mutex_lock(&mounts_lock);
  for (int i = 0; i < MAX_MOUNTS; i++) {
    if (mounts[i].fuse == NULL) {
      mounts[i].fuse = fuse;
      mounts[i].ft = ft;
      ok = 1;
      break;
    }
  }
  pthread_mutex_unlock(&mounts_lock);
  return ok;
}

static void mounts_unregister (struct fuse *fuse) {
  pthread_mutex_lock(&mounts_lock);
  for (int i = 0; i < MAX_MOUNTS; i++) {
    if (mounts[i].fuse == fuse) {
      mounts[i].fuse = NULL;
      mounts[i].ft = NULL;
    }
  }
  pthread_mutex_unlock(&mounts_lock);
}

static fuse_thread_t * mount_of (void *fuse) {
  if (fuse != NULL && tl_mount_fuse == fuse) return tl_mount_ft;
  fuse_thread_t *ft = NULL;
  pthread_mutex_lock(&mounts_lock);
  for (int i = 0; i < MAX_MOUNTS; i++) {
    if (mounts[i].fuse != NULL && mounts[i].fuse == fuse) {
      ft = mounts[i].ft;
      break;
    }
  }
  pthread_mutex_unlock(&mounts_lock);
  if (ft != NULL) {
    tl_mount_fuse = fuse;
    tl_mount_ft = ft;
  }
  return ft;
}

// Has libfuse process one of the binding's own requests (`req`, `len` bytes,
// a fuse_in_header and its argument); its answer's error, -EIO without one.
static int own_request (fuse_thread_t *ft, void *req, size_t len) {
  struct fuse_in_header *h = (struct fuse_in_header *) req;
  h->len = (uint32_t) len;
  h->unique = OWN_REQUEST | __atomic_add_fetch(&own_request_seq, 1, __ATOMIC_RELAXED);
  tl_own_unique = h->unique;
  tl_own_answered = 0;
  tl_own_error = 0;
  tl_own_fh = 0;
  tl_own_request = 1;
  struct fuse_buf buf = { .size = len, .flags = 0, .mem = req, .fd = -1, .pos = 0 };
  fuse_session_process_buf(ft->se, &buf);
  tl_own_request = 0;
  return tl_own_answered ? tl_own_error : -EIO;
}

// Releases the directory handles whose requests have been answered.
static void dir_handles_release (fuse_thread_t *ft) {
  if (__atomic_load_n(&(ft->pending), __ATOMIC_ACQUIRE) == NULL) return;
  pthread_mutex_lock(&(ft->pending_lock));
  dir_release_t *r = ft->pending;
  ft->pending = NULL;
  pthread_mutex_unlock(&(ft->pending_lock));
  while (r != NULL) {
    struct {
      struct fuse_in_header h;
      struct fuse_release_in arg;
    } req;
    memset(&req, 0, sizeof(req));
    req.h.opcode = FUSE_RELEASEDIR;
    // Not the directory's node id: the kernel may have forgotten that node by
    // now (it holds no open file), and libfuse aborts on a node it does not
    // know. Releasing needs only the handle; the root is never forgotten.
    req.h.nodeid = FUSE_ROOT_ID;
    req.arg.fh = r->fh;
    req.arg.flags = O_RDONLY | O_DIRECTORY;
    // libfuse waits, if need be, for the thread that answered to let go of it.
    own_request(ft, &req, sizeof(req));
    dir_release_t *next = r->next;
    free(r);
    r = next;
  }
}

static void dir_handles_drop (fuse_thread_t *ft) {
  pthread_mutex_lock(&(ft->pending_lock));
  dir_release_t *r = ft->pending;
  ft->pending = NULL;
  pthread_mutex_unlock(&(ft->pending_lock));
  while (r != NULL) {
    dir_release_t *next = r->next;
    free(r);
    r = next;
  }
}

static void reply_error (int fd, uint64_t unique, int error) {
  struct fuse_out_header out = { .len = sizeof(struct fuse_out_header), .error = error, .unique = unique };
  ssize_t n = write(fd, &out, sizeof(out));
  (void) n;  // the kernel forgot the request (interrupted) or the mount is gone
}

// A directory request with handle 0 (no_opendir): opens the directory for it
// (see above). 0: pass it on to libfuse; 1: answered here (with an error).
static int dir_handle_supply (fuse_thread_t *ft, int fd, struct fuse_in_header *in, size_t n) {
  uint64_t *fh = NULL;
  switch (in->opcode) {
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
      if (n >= sizeof(*in) + sizeof(struct fuse_read_in)) fh = &(((struct fuse_read_in *) (in + 1))->fh);
      break;
    case FUSE_FSYNCDIR:
      if (n >= sizeof(*in) + sizeof(struct fuse_fsync_in)) fh = &(((struct fuse_fsync_in *) (in + 1))->fh);
      break;
    case FUSE_IOCTL:
      if (n >= sizeof(*in) + sizeof(struct fuse_ioctl_in) && (((struct fuse_ioctl_in *) (in + 1))->flags & FUSE_IOCTL_DIR)) {
        fh = &(((struct fuse_ioctl_in *) (in + 1))->fh);
      }
      break;
  }
  if (fh == NULL || *fh != 0) return 0;
  struct {
    struct fuse_in_header h;
    struct fuse_open_in arg;
  } req;
  memset(&req, 0, sizeof(req));
  req.h.opcode = FUSE_OPENDIR;
  req.h.nodeid = in->nodeid;
  req.h.uid = in->uid;
  req.h.gid = in->gid;
  req.h.pid = in->pid;
  req.arg.flags = O_RDONLY | O_DIRECTORY;
  int err = own_request(ft, &req, sizeof(req));
  if (err == 0 && tl_own_fh == 0) err = -EIO;
  if (err != 0) {
    reply_error(fd, in->unique, err);
    return 1;
  }
  *fh = tl_own_fh;
  tl_dir_unique = in->unique;
  tl_dir_fh = tl_own_fh;
  return 0;
}

static ssize_t io_read (int fd, void *buf, size_t size, void *userdata) {
  fuse_thread_t *ft = mount_of(userdata);
  if (ft != NULL) dir_handles_release(ft);
  for (;;) {
    ssize_t n = read(fd, buf, size);
    tl_readdir_room = 0;
    if (ft == NULL || n < (ssize_t) sizeof(struct fuse_in_header)) return n;
    struct fuse_in_header *in = (struct fuse_in_header *) buf;
    if (in->opcode < REQUEST_OPCODES) __atomic_add_fetch(&(ft->requests[in->opcode]), 1, __ATOMIC_RELAXED);
    tl_req_unique = in->unique;
    tl_req_opcode = in->opcode;
    if ((in->opcode == FUSE_READDIR || in->opcode == FUSE_READDIRPLUS) && (size_t) n >= sizeof(*in) + sizeof(struct fuse_read_in)) {
      tl_readdir_room = ((struct fuse_read_in *) (in + 1))->size;
    }
    if (!ft->no_opendir || dir_handle_supply(ft, fd, in, (size_t) n) == 0) return n;
  }
}

// Mount flag MOUNT_DIR_ATTRS. libfuse's high-level API gives every reply the
// mount's one attr_timeout, and a mutable mount needs 0 for files (its path
// API gives each name of a hard link its own node: a link count changed
// through one name would stay stale under the other). Directories have one
// name, and the kernel drops a directory's cached attributes itself whenever
// it creates, removes or renames an entry in it (fuse_dir_changed) and takes
// them from the reply to a change of its own; so their attributes may be kept
// for a while, sparing the GETATTR of a permission check on every component
// of every path walked. What the kernel cannot see (a directory the layer
// copies up on the way to a deeper write gets the upper directory's inode
// number) shows late by at most DIR_ATTR_TTL, as a dentry may (entry_timeout).
#define DIR_ATTR_TTL 1

static void dir_attr_ttl (struct fuse_attr *attr, uint64_t *valid, uint32_t *valid_nsec) {
  if (!S_ISDIR(attr->mode) || *valid >= DIR_ATTR_TTL) return;
  *valid = DIR_ATTR_TTL;
  *valid_nsec = 0;
}

static void dir_attrs_reply (struct iovec *iov, int count, uint32_t opcode) {
  if (count < 2 || iov[1].iov_base == NULL) return;
  switch (opcode) {
    case FUSE_LOOKUP: case FUSE_MKDIR: case FUSE_MKNOD: case FUSE_SYMLINK: case FUSE_LINK: case FUSE_CREATE:
      if (iov[1].iov_len >= sizeof(struct fuse_entry_out)) {
        struct fuse_entry_out *e = (struct fuse_entry_out *) iov[1].iov_base;
        if (e->nodeid != 0) dir_attr_ttl(&(e->attr), &(e->attr_valid), &(e->attr_valid_nsec));
      }
      break;
    case FUSE_GETATTR: case FUSE_SETATTR:
      if (iov[1].iov_len >= sizeof(struct fuse_attr_out)) {
        struct fuse_attr_out *a = (struct fuse_attr_out *) iov[1].iov_base;
        dir_attr_ttl(&(a->attr), &(a->attr_valid), &(a->attr_valid_nsec));
      }
      break;
  }
}

static ssize_t io_writev (int fd, struct iovec *iov, int count, void *userdata) {
  struct fuse_out_header *out = (struct fuse_out_header *) iov[0].iov_base;
  if (out->error == 0 && out->unique == tl_req_unique && !(out->unique & OWN_REQUEST)) {
    fuse_thread_t *ft = mount_of(userdata);
    if (ft != NULL && ft->dir_attrs) dir_attrs_reply(iov, count, tl_req_opcode);
  }
  if (out->unique & OWN_REQUEST) {
    // The answer to one of the binding's own requests: taken, not sent.
    size_t len = 0;
    for (int i = 0; i < count; i++) len += iov[i].iov_len;
    if (out->unique == tl_own_unique) {
      tl_own_answered = 1;
      tl_own_error = out->error;
      if (out->error == 0 && count >= 2 && iov[1].iov_len >= sizeof(struct fuse_open_out)) {
        tl_own_fh = ((struct fuse_open_out *) iov[1].iov_base)->fh;
      }
    }
    return (ssize_t) len;
  }
  ssize_t res = writev(fd, iov, count);
  if (tl_dir_fh != 0 && out->unique == tl_dir_unique) {
    // Answered: the handle goes once libfuse lets go of it (next io_read).
    int saved = errno;
    fuse_thread_t *ft = mount_of(userdata);
    dir_release_t *r = malloc(sizeof(dir_release_t));
    if (ft != NULL && r != NULL) {
      r->fh = tl_dir_fh;
      pthread_mutex_lock(&(ft->pending_lock));
      r->next = ft->pending;
      ft->pending = r;
      pthread_mutex_unlock(&(ft->pending_lock));
    } else {
      free(r);
    }
    tl_dir_fh = 0;
    errno = saved;
  }
  return res;
}

static const struct fuse_custom_io custom_io = {
  .writev = io_writev,
  .read = io_read,
  .splice_receive = NULL,
  .splice_send = NULL,
};

static void* start_fuse_thread (void *data) {
  fuse_thread_t *ft = (fuse_thread_t *) data;
  struct fuse_loop_config *config = fuse_loop_cfg_create();
  if (config != NULL) {
    fuse_loop_mt(ft->fuse, config);
    fuse_loop_cfg_destroy(config);
  }

  fuse_unmount(ft->fuse);
  mounts_unregister(ft->fuse);
  // (libfuse's state of directories still open for the binding is not freed.)
  dir_handles_drop(ft);
  fuse_destroy(ft->fuse);
  free(ft->conn_opts);
  ft->conn_opts = NULL;
  attr_cache_close(&(ft->cache));

  return NULL;
}

// libfuse 2 options that libfuse 3 moved into struct fuse_config (set in init).
#define CONFIG_OPT(t, p, v) { t, offsetof(config_opts_t, p), v }
static const struct fuse_opt config_opt_spec[] = {
  CONFIG_OPT("use_ino", use_ino, 1),
  CONFIG_OPT("readdir_ino", readdir_ino, 1),
  CONFIG_OPT("hard_remove", hard_remove, 1),
  CONFIG_OPT("direct_io", direct_io, 1),
  CONFIG_OPT("intr", intr, 1),
  CONFIG_OPT("intr_signal=%d", intr_signal, 0),
  CONFIG_OPT("intr_signal=", set_intr_signal, 1),
  FUSE_OPT_END
};

NAPI_METHOD(fuse_native_mount) {
  NAPI_ARGV(11)

  NAPI_ARGV_UTF8(mnt, 1024, 0);
  NAPI_ARGV_UTF8(mntopts, 1024, 1);
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 2);
  napi_create_reference(env, argv[3], 1, &(ft->ctx));
  napi_create_reference(env, argv[4], 1, &(ft->malloc));
  napi_value handlers = argv[5];
  NAPI_ARGV_BUFFER_CAST(uint32_t *, implemented, 6)
  NAPI_ARGV_UINT32(utime_omit_ok, 7)
  NAPI_ARGV_UINT32(attr_cache_max, 8)
  NAPI_ARGV_UINT32(mount_flags, 9)
  NAPI_ARGV_UTF8(layer_dir, PATH_MAX, 10)

  for (int i = 0; i < 35; i++) {
    ft->handlers[i] = NULL;
  }

  NAPI_FOR_EACH(handlers, handler) {
    napi_create_reference(env, handler, 1, &ft->handlers[i]);
  }

  ft->env = env;
  for (int i = 0; i < 35; i++) ft->implemented[i] = implemented[i] ? 1 : 0;

  struct fuse_operations ops = { };
  if (implemented[op_access]) ops.access = fuse_native_access;
  if (implemented[op_truncate] || implemented[op_ftruncate]) ops.truncate = fuse_native_truncate_v3;
  if (implemented[op_getattr] || implemented[op_fgetattr]) ops.getattr = fuse_native_getattr_v3;
  if (implemented[op_flush]) ops.flush = fuse_native_flush;
  if (implemented[op_fsync]) ops.fsync = fuse_native_fsync;
  if (implemented[op_fsyncdir]) ops.fsyncdir = fuse_native_fsyncdir;
  if (implemented[op_readdir]) ops.readdir = fuse_native_readdir;
  if (implemented[op_readlink]) ops.readlink = fuse_native_readlink;
  if (implemented[op_chown]) ops.chown = fuse_native_chown_v3;
  if (implemented[op_chmod]) ops.chmod = fuse_native_chmod_v3;
  if (implemented[op_mknod]) ops.mknod = fuse_native_mknod;
  if (implemented[op_setxattr]) ops.setxattr = fuse_native_setxattr;
  if (implemented[op_getxattr]) ops.getxattr = fuse_native_getxattr;
  if (implemented[op_listxattr]) ops.listxattr = fuse_native_listxattr;
  if (implemented[op_removexattr]) ops.removexattr = fuse_native_removexattr;
  if (implemented[op_statfs]) ops.statfs = fuse_native_statfs;
  // Always: the binding answers some opens itself (frozen mounts, stable
  // content, direct handles), and answers as libfuse would when JS has none.
  ops.open = fuse_native_open;
  ops.opendir = fuse_native_opendir;
  if (implemented[op_read]) ops.read = fuse_native_read;
  if (implemented[op_write]) ops.write = fuse_native_write;
  ops.release = fuse_native_release;
  ops.releasedir = fuse_native_releasedir;
  if (implemented[op_create]) ops.create = fuse_native_create;
  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens_v3;
  if (implemented[op_unlink]) ops.unlink = fuse_native_unlink;
  if (implemented[op_rename]) ops.rename = fuse_native_rename_v3;
  if (implemented[op_link]) ops.link = fuse_native_link;
  if (implemented[op_symlink]) ops.symlink = fuse_native_symlink;
  if (implemented[op_mkdir]) ops.mkdir = fuse_native_mkdir;
  if (implemented[op_rmdir]) ops.rmdir = fuse_native_rmdir;
  // Always: it sets the connection up (and tells JS).
  ops.init = fuse_native_init;
  // (libfuse 3 always hands utimens UTIME_NOW / UTIME_OMIT, so utime_omit_ok
  // has nothing left to switch on, and nullpath_ok is set in init.)
  (void) utime_omit_ok;

  int _argc = (strcmp(mntopts, "-o") <= 0) ? 1 : 2;
  char *_argv[] = {
    (char *) "fuse_bindings_dummy",
    (char *) mntopts
  };
  struct fuse_args args = FUSE_ARGS_INIT(_argc, _argv);

  memset(&(ft->config_opts), 0, sizeof(config_opts_t));
  if (fuse_opt_parse(&args, &(ft->config_opts), config_opt_spec, NULL) == -1) {
    fuse_opt_free_args(&args);
    napi_throw_error(env, "fuse failed", "bad mount options");
    return NULL;
  }
  struct fuse_conn_info_opts *conn_opts = fuse_parse_conn_info_opts(&args);
  if (conn_opts == NULL) {
    fuse_opt_free_args(&args);
    napi_throw_error(env, "fuse failed", "bad mount options");
    return NULL;
  }

  // Parses the remaining options: an unknown one fails it, before anything is mounted.
  struct fuse *fuse = fuse_new(&args, &ops, sizeof(struct fuse_operations), ft);
  fuse_opt_free_args(&args);
  if (fuse == NULL) {
    free(conn_opts);
    napi_throw_error(env, "fuse failed", "fuse_new failed (bad mount option?)");
    return NULL;
  }

  if (fuse_mount(fuse, mnt) != 0) {
    fuse_destroy(fuse);
    free(conn_opts);
    napi_throw_error(env, "fuse failed", "fuse failed");
    return NULL;
  }

  struct fuse_session *se = fuse_get_session(fuse);
  if (!mounts_register(fuse, ft) || fuse_session_custom_io(se, &custom_io, fuse_session_fd(se)) != 0) {
    mounts_unregister(fuse);
    fuse_unmount(fuse);
    fuse_destroy(fuse);
    free(conn_opts);
    napi_throw_error(env, "fuse failed", "fuse failed (session I/O)");
    return NULL;
  }

  uv_mutex_init(&(ft->mut));
  uv_sem_init(&(ft->sem), 0);

  strncpy(ft->mnt, mnt, 1024);
  strncpy(ft->mntopts, mntopts, 1024);
  ft->fuse = fuse;
  ft->se = se;
  ft->conn_opts = conn_opts;
  ft->mounted++;

  int err = uv_async_init(uv_default_loop(), &(ft->async), (uv_async_cb) fuse_native_async_init);

  if (fuse == NULL || err < 0) {
    napi_throw_error(env, "fuse failed", "fuse failed");
    return NULL;
  }

  // Before the FUSE thread exists, so it sees cache.max without locking.
  attr_cache_init(&(ft->cache), attr_cache_max);
  ft->cache.mutable = (mount_flags & MOUNT_MUTABLE) != 0;
  ft->direct = (mount_flags & MOUNT_DIRECT) != 0;
  size_t layer_len = strlen(layer_dir);
  while (layer_len > 1 && layer_dir[layer_len - 1] == '/') layer_dir[--layer_len] = '\0';
  memcpy(ft->layer, layer_dir, layer_len + 1);
  ft->frozen = (mount_flags & MOUNT_FROZEN) != 0 && (mount_flags & MOUNT_MUTABLE) == 0;
  ft->dir_attrs = (mount_flags & MOUNT_DIR_ATTRS) != 0 && (mount_flags & MOUNT_MUTABLE) != 0;
  ft->no_open = 0;
  ft->no_opendir = 0;
  pthread_mutex_init(&(ft->pending_lock), NULL);
  ft->pending = NULL;

  pthread_attr_init(&(ft->attr));
  pthread_create(&(ft->thread), &(ft->attr), start_fuse_thread, ft);

  return NULL;
}

NAPI_METHOD(fuse_native_unmount) {
  NAPI_ARGV(2)
  NAPI_ARGV_UTF8(mnt, 1024, 0);
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 1);

  if (ft != NULL && ft->mounted) {
    // TODO: Investigate why the FUSE thread is not always killed after fusermount.
    // pthread_join(ft->thread, NULL);
  }

  // TODO: fix the async holding the loop
  uv_unref((uv_handle_t *) &(ft->async));
  ft->mounted--;
  // A lazy unmount may leave the FUSE thread serving a little longer: it
  // then misses and asks JS, as without the cache.
  attr_cache_close(&(ft->cache));

  return NULL;
}

// The JS string `v` as UTF-8 in buf, or 0 when it is not a string or does not
// fit (napi would cut it silently, and a cut path is a wrong key).
static int attr_cache_utf8 (napi_env env, napi_value v, char *buf, size_t size, size_t *len) {
  if (napi_get_value_string_utf8(env, v, NULL, 0, len) != napi_ok || *len >= size) return 0;
  return napi_get_value_string_utf8(env, v, buf, size, len) == napi_ok;
}

// (thread, paths[], stats[], noCaps): publish attributes (stats are
// getStatArray()s); noCaps 1: none of them has a security.capability xattr.
NAPI_METHOD(fuse_native_cache_put) {
  NAPI_ARGV(4)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0);
  if (ft_len < sizeof(fuse_thread_t) || ft->cache.max == 0) return NULL;
  uint32_t no_caps = 0;
  napi_get_value_uint32(env, argv[3], &no_caps);  // undefined: stays 0
  uint32_t n = 0, n_stats = 0;
  napi_get_array_length(env, argv[1], &n);
  napi_get_array_length(env, argv[2], &n_stats);
  if (n_stats < n) n = n_stats;
  char path[PATH_MAX];
  for (uint32_t i = 0; i < n; i++) {
    napi_value raw_path, raw_stat;
    size_t len;
    if (napi_get_element(env, argv[1], i, &raw_path) != napi_ok) break;
    if (napi_get_element(env, argv[2], i, &raw_stat) != napi_ok) break;
    if (!attr_cache_utf8(env, raw_path, path, sizeof(path), &len)) continue;
    uint32_t *ints;
    size_t ints_len;
    if (napi_get_buffer_info(env, raw_stat, (void **) &ints, &ints_len) != napi_ok || ints_len < 19 * sizeof(uint32_t)) continue;
    struct stat st;
    memset(&st, 0, sizeof(st));
    populate_stat(ints, &st);
    attr_cache_put_stat(&(ft->cache), path, len, &st, NULL);
    if (no_caps) attr_cache_put_no_caps(&(ft->cache), path, CAPS_XATTR, attr_cache_gen(&(ft->cache)));
  }
  return NULL;
}

// (thread, paths[], what): forget what is known of each path (FORGET_* bits).
NAPI_METHOD(fuse_native_cache_forget) {
  NAPI_ARGV(3)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0);
  NAPI_ARGV_UINT32(what, 2)
  if (ft_len < sizeof(fuse_thread_t) || ft->cache.max == 0) return NULL;
  uint32_t n = 0;
  napi_get_array_length(env, argv[1], &n);
  char path[PATH_MAX];
  for (uint32_t i = 0; i < n; i++) {
    napi_value raw_path;
    size_t len;
    if (napi_get_element(env, argv[1], i, &raw_path) != napi_ok) break;
    // A path too long to be a key was never cached: nothing to forget.
    if (!attr_cache_utf8(env, raw_path, path, sizeof(path), &len)) continue;
    attr_cache_forget(&(ft->cache), path, len, what);
  }
  return NULL;
}

// (thread, path, target): publish a symlink target for readlink.
NAPI_METHOD(fuse_native_cache_link) {
  NAPI_ARGV(3)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0);
  if (ft_len < sizeof(fuse_thread_t) || ft->cache.max == 0) return NULL;
  char path[PATH_MAX], target[PATH_MAX];
  size_t len, target_len;
  if (!attr_cache_utf8(env, argv[1], path, sizeof(path), &len)) return NULL;
  if (!attr_cache_utf8(env, argv[2], target, sizeof(target), &target_len)) return NULL;
  attr_cache_put_string(&(ft->cache), path, len, target, target_len, 0);
  return NULL;
}

// (thread, path, file): publish the real file holding a regular file's
// content, checked by JS; reads of `path` are then done here.
NAPI_METHOD(fuse_native_cache_content) {
  NAPI_ARGV(3)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0);
  if (ft_len < sizeof(fuse_thread_t) || ft->cache.max == 0) return NULL;
  char path[PATH_MAX], file[PATH_MAX];
  size_t len, file_len;
  if (!attr_cache_utf8(env, argv[1], path, sizeof(path), &len)) return NULL;
  if (!attr_cache_utf8(env, argv[2], file, sizeof(file), &file_len)) return NULL;
  attr_cache_put_string(&(ft->cache), path, len, file, file_len, 1);
  return NULL;
}

// (thread): forget everything published so far.
NAPI_METHOD(fuse_native_cache_clear) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0);
  if (ft_len < sizeof(fuse_thread_t) || ft->cache.max == 0) return NULL;
  pthread_rwlock_wrlock(&(ft->cache.lock));
  attr_cache_clear_locked(&(ft->cache));
  pthread_rwlock_unlock(&(ft->cache.lock));
  return NULL;
}

// Names of the kernel's opcodes, for requestCounts().
static const char *const OPCODE_NAMES[REQUEST_OPCODES] = {
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

// (thread): { opcode name: requests the kernel sent } for every opcode seen so far.
NAPI_METHOD(fuse_native_request_counts) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0);
  napi_value result;
  napi_create_object(env, &result);
  if (ft_len < sizeof(fuse_thread_t)) return result;
  for (uint32_t op = 0; op < REQUEST_OPCODES; op++) {
    uint64_t n = __atomic_load_n(&(ft->requests[op]), __ATOMIC_RELAXED);
    if (n == 0) continue;
    char other[32];
    const char *name = OPCODE_NAMES[op];
    if (name == NULL) {
      snprintf(other, sizeof(other), "opcode_%u", op);
      name = other;
    }
    napi_value v;
    napi_create_double(env, (double) n, &v);
    napi_set_named_property(env, result, name, v);
  }
  return result;
}

NAPI_INIT() {
  const napi_node_version* version;
  assert(napi_get_node_version(env, &version) == napi_ok);

  if (version->major > 12 || (version->major == 12 && version->minor >= 16)) {
    IS_ARRAY_BUFFER_DETACH_SUPPORTED = 1;
  }

  pthread_key_create(&(thread_locals_key), NULL); // TODO: add destructor

  NAPI_EXPORT_SIZEOF(fuse_thread_t)

  NAPI_EXPORT_FUNCTION(fuse_native_mount)
  NAPI_EXPORT_FUNCTION(fuse_native_unmount)
  NAPI_EXPORT_FUNCTION(fuse_native_cache_put)
  NAPI_EXPORT_FUNCTION(fuse_native_cache_link)
  NAPI_EXPORT_FUNCTION(fuse_native_cache_content)
  NAPI_EXPORT_FUNCTION(fuse_native_cache_clear)
  NAPI_EXPORT_FUNCTION(fuse_native_cache_forget)
  NAPI_EXPORT_FUNCTION(fuse_native_request_counts)

  NAPI_EXPORT_FUNCTION(fuse_native_signal_getattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_init)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_access)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_statfs)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_fgetattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_getattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_flush)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_fsync)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_fsyncdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_readdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_truncate)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_ftruncate)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_utimens)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_readlink)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_chown)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_chmod)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_mknod)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_setxattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_getxattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_listxattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_removexattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_open)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_opendir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_read)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_write)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_release)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_releasedir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_create)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_unlink)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_rename)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_link)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_symlink)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_mkdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_rmdir)

  NAPI_EXPORT_UINT32(op_getattr)
  NAPI_EXPORT_UINT32(op_init)
  NAPI_EXPORT_UINT32(op_error)
  NAPI_EXPORT_UINT32(op_access)
  NAPI_EXPORT_UINT32(op_statfs)
  NAPI_EXPORT_UINT32(op_fgetattr)
  NAPI_EXPORT_UINT32(op_getattr)
  NAPI_EXPORT_UINT32(op_flush)
  NAPI_EXPORT_UINT32(op_fsync)
  NAPI_EXPORT_UINT32(op_fsyncdir)
  NAPI_EXPORT_UINT32(op_readdir)
  NAPI_EXPORT_UINT32(op_truncate)
  NAPI_EXPORT_UINT32(op_ftruncate)
  NAPI_EXPORT_UINT32(op_utimens)
  NAPI_EXPORT_UINT32(op_readlink)
  NAPI_EXPORT_UINT32(op_chown)
  NAPI_EXPORT_UINT32(op_chmod)
  NAPI_EXPORT_UINT32(op_mknod)
  NAPI_EXPORT_UINT32(op_setxattr)
  NAPI_EXPORT_UINT32(op_getxattr)
  NAPI_EXPORT_UINT32(op_listxattr)
  NAPI_EXPORT_UINT32(op_removexattr)
  NAPI_EXPORT_UINT32(op_open)
  NAPI_EXPORT_UINT32(op_opendir)
  NAPI_EXPORT_UINT32(op_read)
  NAPI_EXPORT_UINT32(op_write)
  NAPI_EXPORT_UINT32(op_release)
  NAPI_EXPORT_UINT32(op_releasedir)
  NAPI_EXPORT_UINT32(op_create)
  NAPI_EXPORT_UINT32(op_unlink)
  NAPI_EXPORT_UINT32(op_rename)
  NAPI_EXPORT_UINT32(op_link)
  NAPI_EXPORT_UINT32(op_symlink)
  NAPI_EXPORT_UINT32(op_mkdir)
  NAPI_EXPORT_UINT32(op_rmdir)
}
