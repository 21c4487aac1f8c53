// The session's I/O hook (see requests.h).
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <napi-macros.h>
// The kernel protocol (requests and replies on /dev/fuse).
#include <linux/fuse.h>

#include "requests.h"
#include "../common/opcode-names.h"
#include "session.h"

// Per libfuse thread: the binding's own requests to libfuse.
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
static __thread uint64_t tl_req_nodeid;

#define OWN_REQUEST ((uint64_t) 1 << 63)
static uint64_t own_request_seq = 0;

int requests_own (void) {
  return tl_own_request;
}

uint32_t requests_take_readdir_room (void) {
  uint32_t room = tl_readdir_room;
  tl_readdir_room = 0;
  return room;
}

void requests_init (requests_t *r) {
  pthread_mutex_init(&(r->pending_lock), NULL);
  r->pending = NULL;
}

// Which mount is libfuse's struct fuse (the session's userdata).
#define MAX_MOUNTS 256
static pthread_mutex_t mounts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { struct fuse *fuse; fuse_thread_t *ft; } mounts[MAX_MOUNTS];
static __thread struct fuse *tl_mount_fuse;  // a libfuse thread serves one mount
static __thread fuse_thread_t *tl_mount_ft;

int requests_register (struct fuse *fuse, fuse_thread_t *ft) {
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

void requests_unregister (struct fuse *fuse) {
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

static dir_release_t * take_pending (requests_t *r) {
  pthread_mutex_lock(&(r->pending_lock));
  dir_release_t *list = r->pending;
  r->pending = NULL;
  pthread_mutex_unlock(&(r->pending_lock));
  return list;
}

// Releases the directory handles whose requests have been answered.
static void dir_handles_release (fuse_thread_t *ft) {
  if (__atomic_load_n(&(ft->requests.pending), __ATOMIC_ACQUIRE) == NULL) return;
  dir_release_t *r = take_pending(&(ft->requests));
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

void requests_drop (fuse_thread_t *ft) {
  dir_release_t *r = take_pending(&(ft->requests));
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
// (see requests.h). 0: pass it on to libfuse; 1: answered here (with an error).
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
    if (in->opcode < REQUEST_OPCODES) __atomic_add_fetch(&(ft->requests.counts[in->opcode]), 1, __ATOMIC_RELAXED);
    tl_req_unique = in->unique;
    tl_req_opcode = in->opcode;
    tl_req_nodeid = in->nodeid;
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
// Mount flag MOUNT_BOOT: see boot_root_reply.
#define BOOT_TTL 86400

static __thread uint64_t tl_dir_ttl = DIR_ATTR_TTL;

static void dir_attr_ttl (struct fuse_attr *attr, uint64_t *valid, uint32_t *valid_nsec) {
  if (!S_ISDIR(attr->mode) || *valid >= tl_dir_ttl) return;
  *valid = tl_dir_ttl;
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

// Mount flag MOUNT_BOOT. systemd's shutdown stops every process (SIGSTOP), the
// daemon serving / too, while it looks through /proc for what to kill, and for a
// daemon it spares it stats /proc/1/root: a path walk through / that must not ask
// the stopped daemon anything, or PID 1 waits for it for ever. So the kernel keeps
// the root directory's entries (/proc, /sys, /dev, /run, ...: mountpoints, which
// the booted system does not rename) and every directory's attributes for BOOT_TTL
// instead of the mutable mount's second, and names it did not find (serve.ts
// negativeTimeout: systemd's in_initrd() asks for /etc/initrd-release in that
// window); what the kernel changes itself it knows of anyway.
static void boot_root_reply (struct iovec *iov, int count, uint32_t opcode, uint64_t nodeid) {
  if (count < 2 || iov[1].iov_base == NULL || nodeid != FUSE_ROOT_ID) return;
  if (opcode == FUSE_LOOKUP && iov[1].iov_len >= sizeof(struct fuse_entry_out)) {
    struct fuse_entry_out *e = (struct fuse_entry_out *) iov[1].iov_base;
    if (e->nodeid == 0) return;
    e->entry_valid = BOOT_TTL;
    e->entry_valid_nsec = 0;
    if (S_ISDIR(e->attr.mode)) { e->attr_valid = BOOT_TTL; e->attr_valid_nsec = 0; }
  } else if (opcode == FUSE_GETATTR && iov[1].iov_len >= sizeof(struct fuse_attr_out)) {
    struct fuse_attr_out *a = (struct fuse_attr_out *) iov[1].iov_base;
    a->attr_valid = BOOT_TTL;
    a->attr_valid_nsec = 0;
  }
}

// The answer to one of the binding's own requests: taken, not sent.
static ssize_t own_reply (struct fuse_out_header *out, struct iovec *iov, int count) {
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

// The kernel's request that got a directory handle of the binding's is
// answered: the handle goes once libfuse lets go of it (next io_read).
static void dir_handle_done (void *userdata) {
  int saved = errno;
  fuse_thread_t *ft = mount_of(userdata);
  dir_release_t *r = malloc(sizeof(dir_release_t));
  if (ft != NULL && r != NULL) {
    r->fh = tl_dir_fh;
    pthread_mutex_lock(&(ft->requests.pending_lock));
    r->next = ft->requests.pending;
    ft->requests.pending = r;
    pthread_mutex_unlock(&(ft->requests.pending_lock));
  } else {
    free(r);
  }
  tl_dir_fh = 0;
  errno = saved;
}

static ssize_t io_writev (int fd, struct iovec *iov, int count, void *userdata) {
  struct fuse_out_header *out = (struct fuse_out_header *) iov[0].iov_base;
  if (out->error == 0 && out->unique == tl_req_unique && !(out->unique & OWN_REQUEST)) {
    fuse_thread_t *ft = mount_of(userdata);
    // A boot mount keeps directories' attributes as long as its root's (boot_root_reply).
    tl_dir_ttl = ft != NULL && ft->boot_root ? BOOT_TTL : DIR_ATTR_TTL;
    if (ft != NULL && ft->dir_attrs) dir_attrs_reply(iov, count, tl_req_opcode);
    if (ft != NULL && ft->boot_root) boot_root_reply(iov, count, tl_req_opcode, tl_req_nodeid);
  }
  if (out->unique & OWN_REQUEST) return own_reply(out, iov, count);
  ssize_t res = writev(fd, iov, count);
  if (tl_dir_fh != 0 && out->unique == tl_dir_unique) dir_handle_done(userdata);
  return res;
}

const struct fuse_custom_io requests_io = {
  .writev = io_writev,
  .read = io_read,
  .splice_receive = NULL,
  .splice_send = NULL,
};


napi_value fuse_native_request_counts (napi_env env, napi_callback_info info) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  napi_value result;
  napi_create_object(env, &result);
  if (ft_len < sizeof(fuse_thread_t)) return result;
  for (uint32_t op = 0; op < REQUEST_OPCODES; op++) {
    uint64_t n = __atomic_load_n(&(ft->requests.counts[op]), __ATOMIC_RELAXED);
    if (n == 0) continue;
    char other[32];
    const char *name = FUSE_OPCODE_NAMES[op];
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
