// ptfs: a read-only FUSE server of a real directory on libfuse 3's low-level API, with or
// without the kernel's FUSE passthrough (Linux 6.9+), for the benchmark only (never shipped).
//
// It answers what the benchmark asks: how fast would hacktree's reads of a bare-user
// repository's content objects (plain files) be if the kernel read them itself? Served here
// without passthrough, every READ crosses into this process; with `-o passthrough`, the OPEN
// reply names a backing file and the kernel reads it directly, sharing its page cache.
//
// bookworm's libfuse 3.14 predates passthrough (libfuse 3.17 has fuse_passthrough_open), so
// this speaks the protocol's new fields itself through the session's I/O hook: it adds
// FUSE_PASSTHROUGH (and max_stack_depth) to the INIT reply when the kernel offers it, and sets
// FOPEN_PASSTHROUGH + backing_id in an OPEN reply for a file registered with
// FUSE_DEV_IOC_BACKING_OPEN (which needs CAP_SYS_ADMIN). Layout of nodes after
// libfuse's example/passthrough_ll.c: one node per (st_dev, st_ino), an O_PATH fd each.
//
// usage: ptfs [-o passthrough] DIR MOUNTPOINT   (foreground; unmount with fusermount3 -u)
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

// The 7.40 fields bookworm's headers lack, as the addon writes them.
#include "../../native/ll/fuse-passthrough-proto.h"

#define MAX_REQUEST (1u << 20) // reads of up to 1 MiB; must match max_read= below
static const double TIMEOUT = 86400.0; // the tree does not change while mounted

struct node {
  struct node *next;  // hash chain
  dev_t dev;
  ino_t ino;
  int fd;             // O_PATH
  uint64_t nlookup;
};

static struct {
  struct node root;
  struct node *buckets[1 << 16];
  pthread_mutex_t lock;
  int passthrough;    // asked for with -o passthrough
  int kernel_offers;  // the kernel's INIT offered FUSE_PASSTHROUGH
  int dev_fd;
  uint64_t init_unique;
  uint64_t reads;     // READ requests that reached this process
} fs = { .lock = PTHREAD_MUTEX_INITIALIZER };

// The backing id of the OPEN reply this thread is about to send (see io_writev).
static __thread int32_t tl_backing_id;

static struct node *node_of(fuse_ino_t ino) {
  return ino == FUSE_ROOT_ID ? &fs.root : (struct node *) (uintptr_t) ino;
}

static size_t bucket(dev_t dev, ino_t ino) { return (size_t) ((ino * 0x9E3779B97F4A7C15ull) ^ dev) >> 48; }

// Finds or adds the node of (st_dev, st_ino), taking `fd` (closed if the node exists).
static struct node *node_ref(int fd, const struct stat *st) {
  pthread_mutex_lock(&fs.lock);
  struct node **b = &fs.buckets[bucket(st->st_dev, st->st_ino)], *n;
  for (n = *b; n != NULL; n = n->next) if (n->dev == st->st_dev && n->ino == st->st_ino) break;
  if (n != NULL) close(fd);
  else if ((n = calloc(1, sizeof *n)) != NULL) {
    n->dev = st->st_dev; n->ino = st->st_ino; n->fd = fd; n->next = *b; *b = n;
  }
  if (n != NULL) n->nlookup++;
  pthread_mutex_unlock(&fs.lock);
  return n;
}

static void node_unref(struct node *n, uint64_t count) {
  if (n == &fs.root) return;
  pthread_mutex_lock(&fs.lock);
  if ((n->nlookup -= count) == 0) {
    struct node **p = &fs.buckets[bucket(n->dev, n->ino)];
    while (*p != n) p = &(*p)->next;
    *p = n->next;
    close(n->fd);
    free(n);
  }
  pthread_mutex_unlock(&fs.lock);
}

static int do_lookup(fuse_ino_t parent, const char *name, struct fuse_entry_param *e) {
  memset(e, 0, sizeof *e);
  int fd = openat(node_of(parent)->fd, name, O_PATH | O_NOFOLLOW);
  if (fd < 0) return errno;
  if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) { int err = errno; close(fd); return err; }
  struct node *n = node_ref(fd, &e->attr);
  if (n == NULL) return ENOMEM;
  e->ino = (uintptr_t) n;
  e->attr_timeout = e->entry_timeout = TIMEOUT;
  return 0;
}

static void pt_init(void *userdata, struct fuse_conn_info *conn) {
  (void) userdata;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE; // the kernel refuses passthrough beside it
  conn->max_read = MAX_REQUEST; // (libfuse derives max_pages from max_write)
  conn->max_write = MAX_REQUEST;
  if (conn->max_readahead > MAX_REQUEST) conn->max_readahead = MAX_REQUEST;
}

static void pt_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct fuse_entry_param e;
  int err = do_lookup(parent, name, &e);
  if (err == ENOENT) { e.ino = 0; e.entry_timeout = TIMEOUT; fuse_reply_entry(req, &e); }
  else if (err) fuse_reply_err(req, err);
  else fuse_reply_entry(req, &e);
}

static void pt_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  node_unref(node_of(ino), nlookup);
  fuse_reply_none(req);
}

static void pt_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  for (size_t i = 0; i < count; i++) node_unref(node_of(forgets[i].ino), forgets[i].nlookup);
  fuse_reply_none(req);
}

static void pt_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void) fi;
  struct stat st;
  if (fstatat(node_of(ino)->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) fuse_reply_err(req, errno);
  else fuse_reply_attr(req, &st, TIMEOUT);
}

static void pt_readlink(fuse_req_t req, fuse_ino_t ino) {
  char buf[PATH_MAX + 1];
  ssize_t n = readlinkat(node_of(ino)->fd, "", buf, sizeof buf - 1);
  if (n < 0) { fuse_reply_err(req, errno); return; }
  buf[n] = '\0';
  fuse_reply_readlink(req, buf);
}

static int reopen(fuse_ino_t ino, int flags) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", node_of(ino)->fd);
  return open(proc, flags);
}

static void pt_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  int fd = reopen(ino, O_RDONLY | O_DIRECTORY);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (d == NULL) { int err = errno; if (fd >= 0) close(fd); fuse_reply_err(req, err); return; }
  fi->fh = (uintptr_t) d;
  fi->keep_cache = 1;
  fi->cache_readdir = 1;
  fuse_reply_open(req, fi);
}

static void pt_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void) ino;
  DIR *d = (DIR *) (uintptr_t) fi->fh;
  char *buf = malloc(size), *p = buf;
  size_t rem = size;
  if (buf == NULL) { fuse_reply_err(req, ENOMEM); return; }
  seekdir(d, off);
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    struct fuse_entry_param e = { .attr = { .st_ino = de->d_ino, .st_mode = (mode_t) de->d_type << 12 } };
    int dots = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
    // "." and ".." take no lookup (the kernel does not count them); the rest are real entries.
    if (!dots && do_lookup(ino, de->d_name, &e) != 0) continue;
    size_t len = fuse_add_direntry_plus(req, p, rem, de->d_name, &e, telldir(d));
    if (len > rem) {
      if (!dots) node_unref(node_of(e.ino), 1);
      break;
    }
    p += len; rem -= len;
  }
  fuse_reply_buf(req, buf, size - rem);
  free(buf);
}

static void pt_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void) ino;
  closedir((DIR *) (uintptr_t) fi->fh);
  fuse_reply_err(req, 0);
}

// A file handle: the open file, and its backing id when the kernel reads it itself.
struct handle { int fd; int32_t backing_id; };

static void pt_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY) { fuse_reply_err(req, EROFS); return; }
  struct handle *h = calloc(1, sizeof *h);
  if (h == NULL) { fuse_reply_err(req, ENOMEM); return; }
  if ((h->fd = reopen(ino, O_RDONLY)) < 0) { int err = errno; free(h); fuse_reply_err(req, err); return; }
  if (fs.passthrough && fs.kernel_offers) {
    struct pt_backing_map map = { .fd = h->fd };
    int id = ioctl(fs.dev_fd, PT_BACKING_OPEN, &map);
    if (id > 0) h->backing_id = id;
    else if (getenv("PTFS_DEBUG")) perror("FUSE_DEV_IOC_BACKING_OPEN");
  }
  fi->fh = (uintptr_t) h;
  // The kernel allows no other open flag beside passthrough (FOPEN_PASSTHROUGH_MASK); the
  // backing file's own page cache is what is kept then.
  fi->keep_cache = h->backing_id == 0;
  tl_backing_id = h->backing_id;
  fuse_reply_open(req, fi);
  tl_backing_id = 0;
}

static void pt_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void) ino;
  __atomic_add_fetch(&fs.reads, 1, __ATOMIC_RELAXED);
  struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  buf.buf[0].fd = ((struct handle *) (uintptr_t) fi->fh)->fd;
  buf.buf[0].pos = off;
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void pt_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void) ino;
  struct handle *h = (struct handle *) (uintptr_t) fi->fh;
  if (h->backing_id > 0) ioctl(fs.dev_fd, PT_BACKING_CLOSE, &h->backing_id);
  close(h->fd);
  free(h);
  fuse_reply_err(req, 0);
}

static void pt_statfs(fuse_req_t req, fuse_ino_t ino) {
  struct statvfs sv;
  if (fstatvfs(node_of(ino)->fd, &sv) < 0) fuse_reply_err(req, errno);
  else fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops ops = {
  .init = pt_init, .lookup = pt_lookup, .forget = pt_forget, .forget_multi = pt_forget_multi,
  .getattr = pt_getattr, .readlink = pt_readlink, .opendir = pt_opendir,
  .readdirplus = pt_readdirplus, .releasedir = pt_releasedir, .open = pt_open, .read = pt_read,
  .release = pt_release, .statfs = pt_statfs,
};

// The session's I/O: notes whether the kernel's INIT offers passthrough ...
static ssize_t io_read(int fd, void *buf, size_t size, void *userdata) {
  (void) userdata;
  ssize_t n = read(fd, buf, size);
  const struct fuse_in_header *in = buf;
  if (n >= (ssize_t) (sizeof *in + sizeof(struct fuse_init_in)) && in->opcode == FUSE_INIT) {
    const struct fuse_init_in *init = (const void *) (in + 1);
    fs.init_unique = in->unique;
    fs.kernel_offers = (init->flags & PT_FUSE_INIT_EXT) && (init->flags2 & PT_FUSE_PASSTHROUGH_FLAGS2);
  }
  return n;
}

// ... and adds the 7.40 fields libfuse 3.14 cannot set to the INIT and OPEN replies.
static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata) {
  (void) userdata;
  if (count >= 2 && iov[0].iov_len == sizeof(struct fuse_out_header)) {
    const struct fuse_out_header *out = iov[0].iov_base;
    if (out->error == 0 && fs.passthrough && fs.kernel_offers && out->unique == fs.init_unique
        && iov[1].iov_len >= sizeof(struct pt_init_out)) {
      struct pt_init_out *init = iov[1].iov_base;
      init->flags |= PT_FUSE_INIT_EXT;
      init->flags2 |= PT_FUSE_PASSTHROUGH_FLAGS2;
      init->max_stack_depth = 1; // backing files live on a plain (unstacked) file system
    } else if (out->error == 0 && tl_backing_id > 0 && iov[1].iov_len == sizeof(struct pt_open_out)) {
      struct pt_open_out *open = iov[1].iov_base;
      open->open_flags |= PT_FOPEN_PASSTHROUGH;
      open->backing_id = tl_backing_id;
    }
  }
  return writev(fd, iov, count);
}

static const struct fuse_custom_io custom_io = { .read = io_read, .writev = io_writev };

int main(int argc, char **argv) {
  int a = 1;
  if (argc - a >= 2 && strcmp(argv[a], "-o") == 0 && strcmp(argv[a + 1], "passthrough") == 0) { fs.passthrough = 1; a += 2; }
  if (argc - a != 2) { fprintf(stderr, "usage: ptfs [-o passthrough] DIR MOUNTPOINT\n"); return 2; }
  fs.root.fd = open(argv[a], O_PATH | O_DIRECTORY);
  if (fs.root.fd < 0) { perror(argv[a]); return 1; }
  fs.root.nlookup = 2;
  char *fargv[] = { argv[0], "-o", "ro,allow_other,default_permissions,fsname=ptfs,subtype=ptfs,max_read=1048576", NULL };
  struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
  struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
  if (se == NULL || fuse_session_mount(se, argv[a + 1]) != 0) return 1;
  fs.dev_fd = fuse_session_fd(se);
  if (fuse_session_custom_io(se, &custom_io, fs.dev_fd) != 0) return 1;
  fuse_set_signal_handlers(se);
  struct fuse_loop_config *cfg = fuse_loop_cfg_create();
  int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  fprintf(stderr, "ptfs: passthrough %s, %llu reads served\n", !fs.passthrough ? "off" : fs.kernel_offers ? "on" : "not offered by the kernel",
          (unsigned long long) fs.reads);
  return rc ? 1 : 0;
}
