// JS's answers to a root's requests (rw_ops.c). An entry or attributes come as 19 doubles
// (binding.ts ENTRY_FIELDS): node id, entry and attribute timeouts, then the stat, each time
// as whole seconds and nanoseconds (a double of ms since 1970 is 0.24 µs coarse: the kernel,
// which sees the layer's own times too, would see them move). Every
// answer is sent from the event loop under reply_lock, so none reaches a stopped session.
#include "ll.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// E_STABLE: 1 for a regular file still the commit's (facts.c). E_ATIME..E_CTIME are seconds,
// E_ATIME_NS..E_CTIME_NS their nanoseconds.
enum { E_NODE, E_ENTRY_TO, E_ATTR_TO, E_INO, E_MODE, E_NLINK, E_UID, E_GID, E_RDEV, E_SIZE, E_BLOCKS, E_BLKSIZE, E_ATIME, E_MTIME, E_CTIME, E_STABLE,
       E_ATIME_NS, E_MTIME_NS, E_CTIME_NS, E_FIELDS };

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

static void time_of(double sec, double nsec, struct timespec *ts) {
  ts->tv_sec = (time_t) sec;
  ts->tv_nsec = nsec < 0 ? 0 : nsec > 999999999 ? 999999999 : (long) nsec;
}

// setTimes(path, aSec, aNsec, mSec, mNsec, nofollow) → 0 or an errno: utimensat to the
// nanosecond (nsec -1: UTIME_OMIT, -2: UTIME_NOW; file-times.ts). node:fs cannot do this: it
// has no OMIT, and libuv cuts what it sets to microseconds, so a time put back moved.
static napi_value js_set_times(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[PATH_MAX];
  size_t len;
  double v[4];
  bool nofollow = false;
  CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len));
  for (int i = 0; i < 4; i++) CHECK(napi_get_value_double(env, argv[1 + i], &v[i]));
  CHECK(napi_get_value_bool(env, argv[5], &nofollow));
  struct timespec ts[2];
  for (int i = 0; i < 2; i++) {
    double sec = v[2 * i], nsec = v[2 * i + 1];
    if (nsec == -1) ts[i] = (struct timespec) { 0, UTIME_OMIT };
    else if (nsec == -2) ts[i] = (struct timespec) { 0, UTIME_NOW };
    else time_of(sec, nsec, &ts[i]);
  }
  int err = len >= sizeof path - 1 ? ENAMETOOLONG : utimensat(AT_FDCWD, path, ts, nofollow ? AT_SYMLINK_NOFOLLOW : 0) == 0 ? 0 : errno;
  CHECK(napi_create_int32(env, err, &result));
  return result;
}

static void entry_of(const double *v, struct fuse_entry_param *e, uint64_t generation) {
  memset(e, 0, sizeof *e);
  e->ino = (fuse_ino_t) v[E_NODE];
  e->entry_timeout = v[E_ENTRY_TO];
  e->attr_timeout = v[E_ATTR_TO];
  struct stat *st = &e->attr;
  st->st_ino = (ino_t) v[E_INO];
  st->st_mode = (mode_t) v[E_MODE];
  st->st_nlink = (nlink_t) v[E_NLINK];
  st->st_uid = (uid_t) v[E_UID];
  st->st_gid = (gid_t) v[E_GID];
  st->st_rdev = (dev_t) v[E_RDEV];
  st->st_size = (off_t) v[E_SIZE];
  st->st_blocks = (blkcnt_t) v[E_BLOCKS];
  st->st_blksize = (blksize_t) v[E_BLKSIZE];
  time_of(v[E_ATIME], v[E_ATIME_NS], &st->st_atim);
  time_of(v[E_MTIME], v[E_MTIME_NS], &st->st_mtim);
  time_of(v[E_CTIME], v[E_CTIME_NS], &st->st_ctim);
  if (v[E_STABLE] == 1 && v[E_NODE] != 0) ll_fact_add((uint64_t) v[E_NODE], FACT_STABLE, st, generation);
}

// The doubles of a Float64Array argument, or NULL when it is not one (or is too short).
static const double *doubles_of(napi_env env, napi_value v, size_t want, size_t *count) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return NULL;
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok || type != napi_float64_array || len < want) return NULL;
  if (count != NULL) *count = len;
  return data;
}

static int32_t int_of(napi_env env, napi_value v, int32_t dflt) {
  int32_t n = dflt;
  napi_get_value_int32(env, v, &n);
  return n;
}

// replyEntry(id, errno, entry | null): lookup (a node id of 0 is a negative entry), mknod,
// mkdir, symlink, link.
static napi_value js_reply_entry(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct ll_call *c = ll_reply_begin_args(env, info, 3, argv);
  if (c == NULL) return NULL;
  int err = int_of(env, argv[1], EIO);
  const double *v = doubles_of(env, argv[2], E_FIELDS, NULL);
  if (ll_reply_begin(c)) {
    if (err != 0 || v == NULL) fuse_reply_err(c->req, err > 0 ? err : EIO);
    else {
      struct fuse_entry_param e;
      entry_of(v, &e, c->generation);
      // A name just made has no security.capability: a chown of a symlink asks (ATTR_KILL_PRIV).
      if (c->kind == CALL_SYMLINK || c->kind == CALL_MKNOD || c->kind == CALL_MKDIR) ll_fact_add(e.ino, FACT_NO_CAPS, NULL, c->generation);
      fuse_reply_entry(c->req, &e);
    }
    pthread_mutex_unlock(&c->fs->reply_lock);
  }
  ll_free_call(c);
  return NULL;
}

// replyAttr(id, errno, entry | null): getattr, setattr (the entry's node and entry timeout unused).
static napi_value js_reply_attr(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct ll_call *c = ll_reply_begin_args(env, info, 3, argv);
  if (c == NULL) return NULL;
  int err = int_of(env, argv[1], EIO);
  const double *v = doubles_of(env, argv[2], E_FIELDS, NULL);
  if (ll_reply_begin(c)) {
    if (err != 0 || v == NULL) fuse_reply_err(c->req, err > 0 ? err : EIO);
    else {
      struct fuse_entry_param e;
      entry_of(v, &e, c->generation);
      fuse_reply_attr(c->req, &e.attr, e.attr_timeout);
    }
    pthread_mutex_unlock(&c->fs->reply_lock);
  }
  ll_free_call(c);
  return NULL;
}

enum { OPEN_KEEP_CACHE = 1, OPEN_CACHE_DIR = 2, OPEN_CONTENT = 4, OPEN_META = 8 };

static void fill_open(struct fuse_file_info *fi, int kind, double fh, int flags) {
  memset(fi, 0, sizeof *fi);
  // A file's handle is a descriptor C owns (fd + 1, rw_ops.c) or 0; a directory's is JS's.
  fi->fh = kind == CALL_OPENDIR ? (uint64_t) fh : fh >= 0 ? (uint64_t) fh + 1 : 0;
  if (kind != CALL_OPENDIR && fi->fh != 0 && (flags & OPEN_CONTENT)) fi->fh |= LL_FH_CONTENT;
  fi->keep_cache = (flags & OPEN_KEEP_CACHE) != 0;
  fi->cache_readdir = (flags & OPEN_CACHE_DIR) != 0;
  // FLUSH does nothing here (locks are the kernel's, writes reach the file as they come): the
  // kernel need not send one at every close.
  fi->noflush = kind != CALL_OPENDIR;
}

// replyOpen(id, errno, fh, flags, ino): open (fh a descriptor for C, or -1; with OPEN_META, C
// changes the file's metadata itself and shows it as inode `ino`) and opendir (JS's handle).
static napi_value js_reply_open(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  struct ll_call *c = ll_reply_begin_args(env, info, 5, argv);
  if (c == NULL) return NULL;
  int err = int_of(env, argv[1], EIO);
  double fh = -1, ino = 0;
  napi_get_value_double(env, argv[2], &fh);
  napi_get_value_double(env, argv[4], &ino);
  int flags = int_of(env, argv[3], 0);
  struct fuse_file_info fi;
  fill_open(&fi, c->kind, fh, flags);
  if (err == 0 && c->kind == CALL_OPEN && (flags & OPEN_META)) ll_meta_set(c->ino, (int) fh, (uint64_t) ino);
  if (ll_reply_begin(c)) {
    if (err != 0) fuse_reply_err(c->req, err > 0 ? err : EIO);
    else if (c->kind == CALL_OPENDIR) fuse_reply_open(c->req, &fi);
    else {
      int32_t backing = ll_pt_open(c->fs, c->ino, fi.fh != 0 && !(fi.fh & LL_FH_CONTENT) ? (int) fh : -1);
      // A request the kernel gave up on leaves the descriptor to close here.
      if (ll_pt_reply_open(c->req, &fi, backing) != 0) {
        ll_pt_release(c->fs, c->ino, backing > 0);
        if (fi.fh != 0) {
          ll_meta_clear(c->ino, (int) fh);
          close((int) (fi.fh & 0xffffffffu) - 1);
        }
      }
    }
    pthread_mutex_unlock(&c->fs->reply_lock);
  } else if (err == 0 && c->kind == CALL_OPEN && fi.fh != 0) {
    ll_meta_clear(c->ino, (int) fh);
    close((int) (fi.fh & 0xffffffffu) - 1);
  }
  ll_free_call(c);
  return NULL;
}

// replyCreate(id, errno, entry | null, fd, flags)
static napi_value js_reply_create(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  struct ll_call *c = ll_reply_begin_args(env, info, 5, argv);
  if (c == NULL) return NULL;
  int err = int_of(env, argv[1], EIO);
  const double *v = doubles_of(env, argv[2], E_FIELDS, NULL);
  double fd = -1;
  napi_get_value_double(env, argv[3], &fd);
  struct fuse_file_info fi;
  int flags = int_of(env, argv[4], 0);
  fill_open(&fi, CALL_CREATE, fd, flags);
  int sent = 0;
  if (ll_reply_begin(c)) {
    if (err != 0 || v == NULL) fuse_reply_err(c->req, err > 0 ? err : EIO);
    else {
      struct fuse_entry_param e;
      entry_of(v, &e, c->generation);
      // A file just made has no security.capability.
      ll_fact_add(e.ino, FACT_NO_CAPS, NULL, c->generation);
      if (flags & OPEN_META) ll_meta_set(e.ino, (int) fd, e.attr.st_ino);
      int32_t backing = ll_pt_open(c->fs, e.ino, fi.fh != 0 ? (int) fd : -1);
      sent = ll_pt_reply_create(c->req, &e, &fi, backing) == 0;
      if (!sent) ll_pt_release(c->fs, e.ino, backing > 0);
      if (!sent && fi.fh != 0) ll_meta_clear(e.ino, (int) fd);
    }
    pthread_mutex_unlock(&c->fs->reply_lock);
  }
  if (!sent && fi.fh != 0) close((int) (fi.fh & 0xffffffffu) - 1);
  ll_free_call(c);
  return NULL;
}

// replyErr(id, errno): what answers with success or an error only (0 is success).
static napi_value js_reply_err(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct ll_call *c = ll_reply_begin_args(env, info, 2, argv);
  if (c == NULL) return NULL;
  int err = int_of(env, argv[1], EIO);
  if (ll_reply_begin(c)) {
    fuse_reply_err(c->req, err >= 0 ? err : EIO);
    pthread_mutex_unlock(&c->fs->reply_lock);
  }
  ll_free_call(c);
  return NULL;
}

// replyBytes(id, errno, bytes | null): readlink's target, getxattr's value, listxattr's names
// (NUL-separated); the size the kernel asked for decides between the size and the bytes.
static napi_value js_reply_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct ll_call *c = ll_reply_begin_args(env, info, 3, argv);
  if (c == NULL) return NULL;
  int err = int_of(env, argv[1], EIO);
  void *buf = NULL;
  size_t len = 0;
  bool is_buf = false;
  napi_is_buffer(env, argv[2], &is_buf);
  if (is_buf) napi_get_buffer_info(env, argv[2], &buf, &len);
  char *target = NULL;
  if (err == 0 && is_buf && c->kind == CALL_READLINK && (target = malloc(len + 1)) != NULL) {
    memcpy(target, buf, len);
    target[len] = '\0';
  }
  if (c->kind == CALL_GETXATTR && err == ENODATA && ll_is_caps(c->s1)) ll_fact_add(c->ino, FACT_NO_CAPS, NULL, c->generation);
  if (ll_reply_begin(c)) {
    if (err != 0 || !is_buf) fuse_reply_err(c->req, err > 0 ? err : EIO);
    else if (c->kind == CALL_READLINK) {
      if (target == NULL) fuse_reply_err(c->req, ENOMEM);
      else fuse_reply_readlink(c->req, target);
    } else if (c->size == 0) fuse_reply_xattr(c->req, len);
    else if (c->size < len) fuse_reply_err(c->req, ERANGE);
    else fuse_reply_buf(c->req, buf, len);
    pthread_mutex_unlock(&c->fs->reply_lock);
  }
  free(target);
  ll_free_call(c);
  return NULL;
}

// replyDir(id, errno, names[], entries, first) → how many entries the kernel takes. Entry i
// (E_FIELDS doubles each) is the listing's entry first + i, numbered first + i + 1 for the
// next READDIR; with READDIRPLUS, each taken entry counts as a lookup of its node (JS counts).
static napi_value js_reply_dir(napi_env env, napi_callback_info info) {
  napi_value argv[5], result;
  struct ll_call *c = ll_reply_begin_args(env, info, 5, argv);
  if (c == NULL) return NULL;
  int err = int_of(env, argv[1], EIO);
  uint32_t count = 0;
  bool is_array = false;
  napi_is_array(env, argv[2], &is_array);
  if (is_array) napi_get_array_length(env, argv[2], &count);
  size_t nv = 0;
  const double *v = doubles_of(env, argv[3], (size_t) count * E_FIELDS, &nv);
  double first = 0;
  napi_get_value_double(env, argv[4], &first);
  int plus = c->num[NUM_FLAGS] == 1;
  size_t size = c->size;
  uint32_t taken = 0;
  char *buf = err == 0 && (count == 0 || v != NULL) ? malloc(size > 0 ? size : 1) : NULL;
  size_t rem = size;
  if (buf != NULL) {
    char *p = buf;
    char name[1024];
    for (uint32_t i = 0; i < count; i++) {
      napi_value nv_;
      size_t nl = 0;
      napi_get_element(env, argv[2], i, &nv_);
      if (napi_get_value_string_utf8(env, nv_, name, sizeof name, &nl) != napi_ok) break;
      struct fuse_entry_param e;
      entry_of(v + (size_t) i * E_FIELDS, &e, c->generation);
      off_t next = (off_t) first + i + 1;
      size_t len;
      if (plus) len = fuse_add_direntry_plus(c->req, p, rem, name, &e, next);
      else len = fuse_add_direntry(c->req, p, rem, name, &e.attr, next);
      if (len > rem) break;
      p += len;
      rem -= len;
      taken++;
    }
  }
  if (ll_reply_begin(c)) {
    if (buf == NULL) fuse_reply_err(c->req, err > 0 ? err : err == 0 ? ENOMEM : EIO);
    else if (fuse_reply_buf(c->req, buf, size - rem) != 0) taken = 0;
    pthread_mutex_unlock(&c->fs->reply_lock);
  } else taken = 0;
  free(buf);
  ll_free_call(c);
  napi_create_uint32(env, taken, &result);
  return result;
}

static uint64_t node_arg(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return (uint64_t) d;
}

// setContent(node, file): the checked object file of a node still the commit's.
static napi_value js_set_content(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char file[4096];
  size_t len = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_string_utf8(env, argv[1], file, sizeof file, &len));
  if (len < sizeof file - 1) ll_fact_set_content(node_arg(env, argv[0]), file);
  return NULL;
}

// dropFacts(node): the node may be another file now (rename, unlink, a copy-up JS saw, FORGET).
static napi_value js_drop_facts(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint64_t node = node_arg(env, argv[0]);
  ll_fact_drop(node);
  ll_dir_drop(node);
  return NULL;
}

// setDir(node, fd, ino, layerOnly): the layer's real directory of a node (an O_PATH fd, C's now).
static napi_value js_set_dir(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  bool only = false;
  napi_get_value_int32(env, argv[1], &fd);
  napi_get_value_bool(env, argv[3], &only);
  if (fd >= 0) ll_dir_set(node_arg(env, argv[0]), fd, node_arg(env, argv[2]), only);
  return NULL;
}

// passthrough(mount) → whether the kernel reads a root's files (and writes its layer's) itself
// (passthrough.c): known from INIT's request, before JS hears of INIT.
static napi_value js_passthrough(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  struct ll_fs *fs = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_external(env, argv[0], (void **) &fs));
  CHECK(napi_get_boolean(env, fs->rw && fs->pt_offered && !fs->pt_unwanted, &result));
  return result;
}

// setBootRoot(mount): the mount is a booted system's / (ll_fs.boot); called right after mount().
static napi_value js_set_boot_root(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct ll_fs *fs = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_external(env, argv[0], (void **) &fs));
  fs->boot = 1;
  return NULL;
}

napi_value ll_rw_exports(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
    { "replyEntry", NULL, js_reply_entry, NULL, NULL, NULL, napi_default, NULL },
    { "replyAttr", NULL, js_reply_attr, NULL, NULL, NULL, napi_default, NULL },
    { "replyOpen", NULL, js_reply_open, NULL, NULL, NULL, napi_default, NULL },
    { "replyCreate", NULL, js_reply_create, NULL, NULL, NULL, napi_default, NULL },
    { "replyErr", NULL, js_reply_err, NULL, NULL, NULL, napi_default, NULL },
    { "replyBytes", NULL, js_reply_bytes, NULL, NULL, NULL, napi_default, NULL },
    { "replyDir", NULL, js_reply_dir, NULL, NULL, NULL, napi_default, NULL },
    { "setContent", NULL, js_set_content, NULL, NULL, NULL, napi_default, NULL },
    { "dropFacts", NULL, js_drop_facts, NULL, NULL, NULL, napi_default, NULL },
    { "setDir", NULL, js_set_dir, NULL, NULL, NULL, napi_default, NULL },
    { "setBootRoot", NULL, js_set_boot_root, NULL, NULL, NULL, napi_default, NULL },
    { "passthrough", NULL, js_passthrough, NULL, NULL, NULL, napi_default, NULL },
    { "setTimes", NULL, js_set_times, NULL, NULL, NULL, napi_default, NULL },
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}
