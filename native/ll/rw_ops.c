// A root's requests. What the layer decides (names, attributes, every change) is JS's: each
// such request is queued to the event loop and answered later by rw_replies.c, so no libfuse
// thread waits on JS. What needs no decision stays here: reads and writes on a file handle
// that is a file descriptor (the layer's own file, or a commit file's checked object), fsync,
// flush, release, fallocate, lseek, copy_file_range, and statfs's queueing.
//
// A commit node's id (a graft's subtree, grafts.c) takes the commit's ops (ops.c): nothing in
// it takes writes, so every change there is EROFS, answered here; rename and link go to JS,
// which knows whether the other side makes it EXDEV.
//
// A handle (fi->fh) is fd + 1 when C owns a descriptor (LL_FH_CONTENT set when it is a commit
// file's checked object, not the layer's file; LL_FH_PASSED when the kernel reads and writes
// the layer's file itself, passthrough.c), 0 when reads go to JS by node; a directory's handle
// is JS's.
#include "ll.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct ll_fs *fs_of(fuse_req_t req) { return fuse_req_userdata(req); }

static int fd_of(const struct fuse_file_info *fi) { return fi != NULL && fi->fh != 0 ? (int) ((fi->fh & 0xffffffffu) - 1) : -1; }

// The layer's file behind a handle, for JS (fstat, ftruncate): never a commit file's object.
static int layer_fd_of(const struct fuse_file_info *fi) { return fi != NULL && !(fi->fh & LL_FH_CONTENT) ? fd_of(fi) : -1; }

// A call for JS with the caller's identity; NULL (and ENOMEM answered) if there is no memory.
static struct ll_call *call_new(fuse_req_t req, int kind, fuse_ino_t ino) {
  struct ll_call *c = calloc(1, sizeof *c);
  if (c == NULL) { if (kind != CALL_FORGET && kind != CALL_RELEASE) fuse_reply_err(req, ENOMEM); return NULL; }
  c->fs = fs_of(req);
  c->kind = kind;
  c->req = req;
  c->ino = ino;
  c->generation = ll_fact_generation();
  for (int i = 0; i < RW_NUMS; i++) c->num[i] = -1;
  if (kind != CALL_FORGET && kind != CALL_RELEASE) {
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    c->num[NUM_UID] = ctx->uid;
    c->num[NUM_GID] = ctx->gid;
    c->num[NUM_PID] = ctx->pid;
    c->num[NUM_UMASK] = ctx->umask;
  }
  return c;
}

static void send(struct ll_call *c, const char *s1, const char *s2) {
  if ((s1 != NULL && (c->s1 = strdup(s1)) == NULL) || (s2 != NULL && (c->s2 = strdup(s2)) == NULL)) {
    fuse_reply_err(c->req, ENOMEM);
    ll_free_call(c);
    return;
  }
  ll_call_js_rw(c);
}

static void simple(fuse_req_t req, int kind, fuse_ino_t ino, const char *s1, const char *s2) {
  struct ll_call *c = call_new(req, kind, ino);
  if (c != NULL) send(c, s1, s2);
}

static void rw_init(void *userdata, struct fuse_conn_info *conn) {
  struct ll_fs *fs = userdata;
  // READDIRPLUS for every listing: JS has each entry's attributes at hand.
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  // Locks stay the kernel's (flock between processes on this machine is all a root needs).
  conn->want &= ~(FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_POSIX_LOCKS);
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
  conn->max_read = LL_MAX_REQUEST;
  conn->max_write = LL_MAX_REQUEST;
  conn->max_readahead = LL_MAX_REQUEST;
  ll_call_js(fs, CALL_INIT, NULL, NULL, 0, 0);
}

#define COMMIT_OP(op, ino, ...) do { if (ll_is_commit_id(ino)) { ll_ops.op(__VA_ARGS__); return; } } while (0)
#define COMMIT_EROFS(ino) do { if (ll_is_commit_id(ino)) { fuse_reply_err(req, EROFS); return; } } while (0)

static void rw_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  COMMIT_OP(lookup, parent, req, parent, name);
  if (ll_dir_lookup_missing(req, parent, name)) return;
  simple(req, CALL_LOOKUP, parent, name, NULL);
}

// The kernel forgets: JS frees a node once the kernel holds it no more (a root's tree changes).
static void rw_forget_one(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  if (ll_is_commit_id(ino)) { __atomic_sub_fetch(&ll_node_of(fs_of(req), ino)->nlookup, nlookup, __ATOMIC_RELAXED); return; }
  struct ll_call *c = call_new(req, CALL_FORGET, ino);
  if (c == NULL) return;
  c->num[NUM_SIZE] = (double) nlookup;
  ll_call_js_rw(c);
}

static void rw_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  rw_forget_one(req, ino, nlookup);
  fuse_reply_none(req);
}

static void rw_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  for (size_t i = 0; i < count; i++) rw_forget_one(req, forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

static void rw_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  COMMIT_OP(getattr, ino, req, ino, fi);
  struct stat st;
  if (ll_fact_stat(ino, &st)) { fuse_reply_attr(req, &st, LL_FOREVER); return; }
  if (ll_meta_getattr(req, ino) || ll_dir_getattr(req, ino)) return;
  struct ll_call *c = call_new(req, CALL_GETATTR, ino);
  if (c == NULL) return;
  c->num[NUM_FD] = layer_fd_of(fi);
  send(c, NULL, NULL);
}

static double ms_of(const struct timespec *ts) { return (double) ts->tv_sec * 1000.0 + (double) ts->tv_nsec / 1e6; }

static void rw_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
  COMMIT_EROFS(ino);
  // (No security.capability stays true: a chown even removes one.)
  ll_fact_drop_some(ino, FACT_STABLE);
  if (ll_meta_setattr(req, ino, attr, to_set)) return;
  struct ll_call *c = call_new(req, CALL_SETATTR, ino);
  if (c == NULL) return;
  c->num[NUM_FD] = layer_fd_of(fi);
  c->num[NUM_TO_SET] = to_set;
  c->num[NUM_SET_MODE] = attr->st_mode;
  c->num[NUM_SET_UID] = attr->st_uid;
  c->num[NUM_SET_GID] = attr->st_gid;
  c->num[NUM_SET_SIZE] = (double) attr->st_size;
  // -2: now, -3: left as it is (binding.ts turns these into UTIME_NOW / UTIME_OMIT).
  c->num[NUM_ATIME] = to_set & FUSE_SET_ATTR_ATIME_NOW ? -2 : to_set & FUSE_SET_ATTR_ATIME ? ms_of(&attr->st_atim) : -3;
  c->num[NUM_MTIME] = to_set & FUSE_SET_ATTR_MTIME_NOW ? -2 : to_set & FUSE_SET_ATTR_MTIME ? ms_of(&attr->st_mtim) : -3;
  send(c, NULL, NULL);
}

static void rw_readlink(fuse_req_t req, fuse_ino_t ino) {
  COMMIT_OP(readlink, ino, req, ino);
  simple(req, CALL_READLINK, ino, NULL, NULL);
}

static void rw_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
  COMMIT_EROFS(parent);
  struct ll_call *c = call_new(req, CALL_MKNOD, parent);
  if (c == NULL) return;
  c->num[NUM_MODE] = mode;
  c->num[NUM_RDEV] = (double) rdev;
  send(c, name, NULL);
}

static void rw_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  COMMIT_EROFS(parent);
  struct ll_call *c = call_new(req, CALL_MKDIR, parent);
  if (c == NULL) return;
  c->num[NUM_MODE] = mode;
  send(c, name, NULL);
}

static void rw_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) { COMMIT_EROFS(parent); simple(req, CALL_UNLINK, parent, name, NULL); }
static void rw_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) { COMMIT_EROFS(parent); simple(req, CALL_RMDIR, parent, name, NULL); }
static void rw_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name) { COMMIT_EROFS(parent); simple(req, CALL_SYMLINK, parent, name, target); }

static void rw_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname, unsigned int flags) {
  struct ll_call *c = call_new(req, CALL_RENAME, parent);
  if (c == NULL) return;
  c->ino2 = newparent;
  c->num[NUM_FLAGS] = flags;
  send(c, name, newname);
}

static void rw_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname) {
  ll_fact_drop_some(ino, FACT_STABLE);
  struct ll_call *c = call_new(req, CALL_LINK, ino);
  if (c == NULL) return;
  c->ino2 = newparent;
  send(c, newname, NULL);
}

static void rw_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  COMMIT_OP(open, ino, req, ino, fi);
  // Still the commit's file, opened to read: the kernel keeps its pages, reads are by node.
  if ((fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC) && ll_fact_has(ino, FACT_STABLE)) {
    fi->fh = 0;
    fi->keep_cache = 1;
    fi->noflush = 1; // rw_flush has nothing to do (fill_open in rw_replies.c)
    int32_t backing = ll_pt_open(fs_of(req), ino, -1);
    if (ll_pt_reply_open(req, fi, backing) != 0) ll_pt_release(fs_of(req), ino, backing > 0);
    return;
  }
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) ll_fact_drop_some(ino, FACT_STABLE);
  struct ll_call *c = call_new(req, CALL_OPEN, ino);
  if (c == NULL) return;
  c->num[NUM_FLAGS] = fi->flags;
  send(c, NULL, NULL);
}

static void rw_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
  COMMIT_EROFS(parent);
  struct ll_call *c = call_new(req, CALL_CREATE, parent);
  if (c == NULL) return;
  c->num[NUM_MODE] = mode;
  c->num[NUM_FLAGS] = fi->flags;
  send(c, name, NULL);
}

static void rw_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  COMMIT_OP(read, ino, req, ino, size, off, fi);
  int fd = fd_of(fi), own = -1;
  // A commit file's checked object, published by JS: opened per read (an fd per file of a big
  // tree would not fit).
  if (fd < 0) fd = own = ll_fact_open_content(ino);
  if (fd < 0) {
    struct ll_call *c = call_new(req, CALL_RWREAD, ino);
    if (c == NULL) return;
    c->size = size;
    c->off = off;
    ll_call_js_rw(c);
    return;
  }
  struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  buf.buf[0].fd = fd;
  buf.buf[0].pos = off;
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
  if (own >= 0) close(own);
}

// Straight into the layer's file: the kernel keeps size and times of its own writes.
static void rw_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off, struct fuse_file_info *fi) {
  int fd = layer_fd_of(fi);
  if (fd < 0) { fuse_reply_err(req, EBADF); return; }
  struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
  out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  out.buf[0].fd = fd;
  out.buf[0].pos = off;
  ssize_t n = fuse_buf_copy(&out, in, 0);
  if (n < 0) fuse_reply_err(req, (int) -n);
  else fuse_reply_write(req, (size_t) n);
}

static void rw_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) { fuse_reply_err(req, 0); }

// A layer file's descriptor is JS's to close: it stats the file through it while the file has
// no name (fstat after unlink). A checked object's is closed here.
static void rw_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  ll_pt_release(fs_of(req), ino, (fi->fh & LL_FH_PASSED) != 0);
  int fd = layer_fd_of(fi);
  if (fd >= 0) {
    ll_meta_clear(ino, fd);
    struct ll_call *c = call_new(req, CALL_RELEASE, ino);
    if (c == NULL) close(fd);
    else { c->num[NUM_FD] = fd; ll_call_js_rw(c); }
  } else if ((fd = fd_of(fi)) >= 0) close(fd);
  fuse_reply_err(req, 0);
}

static void rw_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  int fd = fd_of(fi);
  // A commit file read by JS has nothing to sync.
  int rc = fd < 0 ? 0 : datasync ? fdatasync(fd) : fsync(fd);
  fuse_reply_err(req, rc == 0 ? 0 : errno);
}

// Space, holes and copies of the layer's files are the descriptor's own business: the kernel
// keeps sizes and invalidates what fallocate and copy_file_range change.
static void rw_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len, struct fuse_file_info *fi) {
  int fd = layer_fd_of(fi);
  if (fd < 0) { fuse_reply_err(req, EBADF); return; }
  fuse_reply_err(req, fallocate(fd, mode, off, len) == 0 ? 0 : errno);
}

// SEEK_DATA and SEEK_HOLE: without an answer the kernel takes every file for one extent of data.
static void rw_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi) {
  int fd = fd_of(fi);
  if (fd < 0) { fuse_reply_err(req, ENOSYS); return; } // a commit file read by JS: the kernel's answer stands
  off_t at = lseek(fd, off, whence);
  if (at < 0) fuse_reply_err(req, errno); else fuse_reply_lseek(req, at);
}

static void rw_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, struct fuse_file_info *fi_in, fuse_ino_t ino_out,
                               off_t off_out, struct fuse_file_info *fi_out, size_t len, int flags) {
  int in = fd_of(fi_in), out = layer_fd_of(fi_out);
  if (in < 0 || out < 0) { fuse_reply_err(req, EOPNOTSUPP); return; } // the kernel falls back to reads and writes
  loff_t from = off_in, to = off_out;
  ssize_t n = copy_file_range(in, &from, out, &to, len, (unsigned int) flags);
  if (n < 0) fuse_reply_err(req, errno); else fuse_reply_write(req, (size_t) n);
}

static void rw_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  COMMIT_OP(opendir, ino, req, ino, fi);
  simple(req, CALL_OPENDIR, ino, NULL, NULL);
}

static void rw_readdir_any(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi, int plus) {
  struct ll_call *c = call_new(req, CALL_READDIR, ino);
  if (c == NULL) return;
  c->size = size;
  c->off = off;
  c->num[NUM_FD] = (double) fi->fh;
  c->num[NUM_FLAGS] = plus;
  ll_call_js_rw(c);
}

static void rw_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  COMMIT_OP(readdir, ino, req, ino, size, off, fi);
  rw_readdir_any(req, ino, size, off, fi, 0);
}

static void rw_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  COMMIT_OP(readdirplus, ino, req, ino, size, off, fi);
  rw_readdir_any(req, ino, size, off, fi, 1);
}

static void rw_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  if (ll_is_commit_id(ino)) { fuse_reply_err(req, 0); return; }
  struct ll_call *c = call_new(req, CALL_RELEASEDIR, ino);
  if (c == NULL) return;
  c->num[NUM_FD] = (double) fi->fh;
  ll_call_js_rw(c);
}

static void rw_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) { fuse_reply_err(req, 0); }

static void rw_statfs(fuse_req_t req, fuse_ino_t ino) { ll_call_js(fs_of(req), CALL_STATFS, req, NULL, 0, 0); }

static void rw_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags) {
  COMMIT_EROFS(ino);
  ll_fact_drop(ino);
  struct ll_call *c = call_new(req, CALL_SETXATTR, ino);
  if (c == NULL) return;
  c->data = malloc(size > 0 ? size : 1);
  if (c->data == NULL) { fuse_reply_err(req, ENOMEM); ll_free_call(c); return; }
  memcpy(c->data, value, size);
  c->data_len = size;
  c->num[NUM_FLAGS] = flags;
  send(c, name, NULL);
}

static void rw_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
  COMMIT_OP(getxattr, ino, req, ino, name, size);
  if (ll_is_caps(name) && ll_fact_has(ino, FACT_NO_CAPS)) { fuse_reply_err(req, ENODATA); return; }
  struct ll_call *c = call_new(req, CALL_GETXATTR, ino);
  if (c == NULL) return;
  c->size = size;
  send(c, name, NULL);
}

static void rw_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  COMMIT_OP(listxattr, ino, req, ino, size);
  struct ll_call *c = call_new(req, CALL_LISTXATTR, ino);
  if (c == NULL) return;
  c->size = size;
  send(c, NULL, NULL);
}

static void rw_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name) {
  COMMIT_EROFS(ino);
  ll_fact_drop(ino);
  simple(req, CALL_REMOVEXATTR, ino, name, NULL);
}

const struct fuse_lowlevel_ops ll_rw_ops = {
  .init = rw_init, .lookup = rw_lookup, .forget = rw_forget, .forget_multi = rw_forget_multi,
  .getattr = rw_getattr, .setattr = rw_setattr, .readlink = rw_readlink, .mknod = rw_mknod, .mkdir = rw_mkdir,
  .unlink = rw_unlink, .rmdir = rw_rmdir, .symlink = rw_symlink, .rename = rw_rename, .link = rw_link,
  .open = rw_open, .create = rw_create, .read = rw_read, .write_buf = rw_write_buf, .flush = rw_flush,
  .release = rw_release, .fsync = rw_fsync, .opendir = rw_opendir, .readdir = rw_readdir,
  .readdirplus = rw_readdirplus, .releasedir = rw_releasedir, .fsyncdir = rw_fsyncdir, .statfs = rw_statfs,
  .setxattr = rw_setxattr, .getxattr = rw_getxattr, .listxattr = rw_listxattr, .removexattr = rw_removexattr,
  .fallocate = rw_fallocate, .lseek = rw_lseek, .copy_file_range = rw_copy_file_range,
};

// (event loop) handler(kind, id, ino, ino2, s1, s2, nums, data)
void ll_rw_args(napi_env env, struct ll_call *c, napi_value argv[8]) {
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_create_int32(env, c->kind, &argv[0]);
  napi_create_double(env, (double) (uintptr_t) c, &argv[1]);
  napi_create_double(env, (double) c->ino, &argv[2]);
  napi_create_double(env, (double) c->ino2, &argv[3]);
  argv[4] = argv[5] = argv[7] = undefined;
  if (c->s1 != NULL) napi_create_string_utf8(env, c->s1, NAPI_AUTO_LENGTH, &argv[4]);
  if (c->s2 != NULL) napi_create_string_utf8(env, c->s2, NAPI_AUTO_LENGTH, &argv[5]);
  if (c->kind == CALL_RWREAD || c->kind == CALL_READDIR || c->kind == CALL_GETXATTR || c->kind == CALL_LISTXATTR) {
    c->num[NUM_SIZE] = (double) c->size;
    c->num[NUM_OFF] = (double) c->off;
  }
  napi_create_array_with_length(env, RW_NUMS, &argv[6]);
  for (uint32_t i = 0; i < RW_NUMS; i++) {
    napi_value v;
    napi_create_double(env, c->num[i], &v);
    napi_set_element(env, argv[6], i, v);
  }
  if (c->data != NULL) napi_create_buffer_copy(env, c->data_len, c->data, NULL, &argv[7]);
}
