// Clearing setuid and setgid the kernel leaves to us. Without FUSE_HANDLE_KILLPRIV_V2 the
// kernel never marks a FUSE inode S_NOSEC, so before every write(2) it asks for
// security.capability (a GETXATTR round trip per write); with it, it asks once per inode
// and leaves the clearing of setuid/setgid on write, truncate and chown to the file system.
// Bookworm's libfuse 3.14 knows neither the flag nor the kill bits the kernel then sends
// (FUSE_WRITE_KILL_SUIDGID, FATTR_KILL_SUIDGID, FUSE_OPEN_KILL_SUIDGID): both are read and
// written here on the raw requests and the INIT reply as they pass session.c's custom I/O.
// A request is processed on the thread that read it (fuse_loop_mt), so its kill bit is kept
// per thread until the next read.
#include "ll.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <linux/fuse.h>

static __thread int killing;

void ll_kill_note_request(struct ll_fs *fs, const void *buf, size_t n) {
  killing = 0;
  if (n < sizeof(struct fuse_in_header)) return;
  const struct fuse_in_header *h = buf;
  const void *arg = (const char *) buf + sizeof *h;
  size_t len = n - sizeof *h;
  switch (h->opcode) {
    case FUSE_INIT:
      if (len >= offsetof(struct fuse_init_in, flags2) && (((const struct fuse_init_in *) arg)->flags & FUSE_HANDLE_KILLPRIV_V2)) {
        __atomic_store_n(&fs->init_unique, h->unique, __ATOMIC_RELEASE);
      }
      break;
    case FUSE_WRITE:
      killing = len >= sizeof(struct fuse_write_in) && (((const struct fuse_write_in *) arg)->write_flags & FUSE_WRITE_KILL_SUIDGID);
      break;
    case FUSE_SETATTR:
      killing = len >= sizeof(struct fuse_setattr_in) && (((const struct fuse_setattr_in *) arg)->valid & FATTR_KILL_SUIDGID);
      break;
    case FUSE_OPEN:
      killing = len >= sizeof(struct fuse_open_in) && (((const struct fuse_open_in *) arg)->open_flags & FUSE_OPEN_KILL_SUIDGID);
      break;
    case FUSE_CREATE:
      killing = len >= sizeof(struct fuse_create_in) && (((const struct fuse_create_in *) arg)->open_flags & FUSE_OPEN_KILL_SUIDGID);
      break;
  }
}

// The INIT reply: a root's mount takes FUSE_HANDLE_KILLPRIV_V2 when the kernel offered it.
void ll_kill_patch_reply(struct ll_fs *fs, struct iovec *iov, int count) {
  uint64_t init = __atomic_load_n(&fs->init_unique, __ATOMIC_ACQUIRE);
  if (init == 0 || !fs->rw || count < 2 || iov[0].iov_len < sizeof(struct fuse_out_header)) return;
  const struct fuse_out_header *h = iov[0].iov_base;
  if (h->unique != init || h->error != 0 || iov[1].iov_len < offsetof(struct fuse_init_out, flags) + sizeof(uint32_t)) return;
  ((struct fuse_init_out *) iov[1].iov_base)->flags |= FUSE_HANDLE_KILLPRIV_V2;
  fs->killpriv = 1;
  __atomic_store_n(&fs->init_unique, 0, __ATOMIC_RELEASE);
}

int ll_kill_asked(void) { return killing; }

// Whether the caller of `req` is in group `gid` (its own or a supplementary one), or root (the
// VFS's in_group_or_capable: a chown's kill bit comes whoever the caller is).
static int in_group(fuse_req_t req, gid_t gid) {
  const struct fuse_ctx *ctx = fuse_req_ctx(req);
  if (ctx->gid == gid || ctx->uid == 0) return 1;
  gid_t groups[64];
  int n = fuse_req_getgroups(req, 64, groups);
  for (int i = 0; i < n && i < 64; i++) if (groups[i] == gid) return 1;
  return 0;
}

// The VFS's rule (setattr_should_drop_suidgid; chown's, which kills for any caller): setuid
// goes, setgid too if group-executable or if the caller is not in the file's group.
mode_t ll_kill_mode(fuse_req_t req, const struct stat *st) {
  mode_t m = st->st_mode & 07777;
  if (!S_ISREG(st->st_mode)) return m;
  m &= ~S_ISUID;
  if ((m & S_ISGID) && ((m & S_IXGRP) || !in_group(req, st->st_gid))) m &= ~S_ISGID;
  return m;
}

// Clears what the kill asks for on the layer's file behind fd; 0 or an errno.
int ll_kill_fd(fuse_req_t req, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  if (!(st.st_mode & (S_ISUID | S_ISGID))) return 0;
  mode_t m = ll_kill_mode(req, &st);
  if (m == (st.st_mode & 07777)) return 0;
  return fchmod(fd, m) == 0 ? 0 : errno;
}
