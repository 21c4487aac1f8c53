// The kernel's requests. All but three are answered here, on libfuse's thread: a request
// under a directory JS has not listed yet waits for that listing (asked once, whoever asks
// first; JS may have given it ahead, and is told when the kernel first asks for such a one,
// to list on ahead of the walk); a read of a file whose checked object file JS has not published goes to JS; so
// does statfs. Nothing here blocks on JS.
#include "ll.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct ll_fs *fs_of(fuse_req_t req) { return fuse_req_userdata(req); }

static void entry_of(struct ll_fs *fs, struct ll_node *n, struct fuse_entry_param *e) {
  memset(e, 0, sizeof *e);
  e->ino = ll_id_of(fs, n);
  ll_stat_of(n, &e->attr);
  e->attr_timeout = e->entry_timeout = LL_FOREVER;
}

static void answer_lookup(fuse_req_t req, const struct ll_dir *d, const char *name) {
  struct ll_fs *fs = fs_of(req);
  const struct ll_entry *found = ll_dir_find(d, name);
  struct fuse_entry_param e;
  if (found == NULL) {
    // A negative entry the kernel keeps: the name will never appear.
    memset(&e, 0, sizeof e);
    e.entry_timeout = LL_FOREVER;
    fuse_reply_entry(req, &e);
    return;
  }
  entry_of(fs, found->node, &e);
  __atomic_add_fetch(&found->node->nlookup, 1, __ATOMIC_RELAXED);
  if (fuse_reply_entry(req, &e) != 0) __atomic_sub_fetch(&found->node->nlookup, 1, __ATOMIC_RELAXED);
}

// Entry i of a listing as READDIR(PLUS) numbers them: ".", "..", then the listing's.
static void answer_readdir(fuse_req_t req, struct ll_node *dir, const struct ll_dir *d, size_t size, off_t off, int plus) {
  char *buf = malloc(size), *p = buf;
  size_t rem = size;
  if (buf == NULL) { fuse_reply_err(req, ENOMEM); return; }
  for (uint64_t i = off < 0 ? 0 : (uint64_t) off; i < (uint64_t) d->count + 2; i++) {
    struct ll_node *n = i == 0 ? dir : i == 1 ? (dir->parent != NULL ? dir->parent : dir) : d->entries[i - 2].node;
    const char *name = i == 0 ? "." : i == 1 ? ".." : d->entries[i - 2].name;
    size_t len;
    if (plus) {
      struct fuse_entry_param e;
      entry_of(fs_of(req), n, &e);
      // "." and ".." take no lookup: the kernel does not make dentries of them.
      if (i < 2) e.ino = 0;
      len = fuse_add_direntry_plus(req, p, rem, name, &e, (off_t) (i + 1));
      if (len <= rem && i >= 2) __atomic_add_fetch(&n->nlookup, 1, __ATOMIC_RELAXED);
    } else {
      struct stat st = { .st_ino = n->attr.ino, .st_mode = n->attr.mode };
      len = fuse_add_direntry(req, p, rem, name, &st, (off_t) (i + 1));
    }
    if (len > rem) break;
    p += len;
    rem -= len;
  }
  fuse_reply_buf(req, buf, size - rem);
  free(buf);
}

void ll_answer_waiter(struct ll_fs *fs, struct ll_node *dir, struct ll_waiter *w, int err) {
  (void) fs;
  if (err != 0) fuse_reply_err(w->req, err);
  else if (w->kind == WAIT_LOOKUP) answer_lookup(w->req, dir->dir, w->name);
  else answer_readdir(w->req, dir, dir->dir, w->size, w->off, w->kind == WAIT_READDIRPLUS);
}

// The listing of `dir` if JS has given it; else the request waits for it (and JS is asked
// unless someone already did). Returns NULL when the request now waits.
static const struct ll_dir *listing_or_wait(fuse_req_t req, struct ll_node *dir, int kind, const char *name, size_t size, off_t off) {
  struct ll_fs *fs = fs_of(req);
  pthread_mutex_lock(&fs->lock);
  if (dir->list_state == LIST_DONE) {
    const struct ll_dir *d = dir->dir;
    int visit = dir->ahead;
    dir->ahead = 0;
    pthread_mutex_unlock(&fs->lock);
    if (visit) ll_call_js(fs, CALL_VISIT, NULL, dir, 0, 0);
    return d;
  }
  size_t nl = name != NULL ? strlen(name) : 0;
  struct ll_waiter *w = malloc(sizeof *w + nl + 1);
  if (w == NULL) { pthread_mutex_unlock(&fs->lock); fuse_reply_err(req, ENOMEM); return NULL; }
  w->req = req; w->kind = kind; w->size = size; w->off = off;
  memcpy(w->name, name != NULL ? name : "", nl + 1);
  w->next = dir->waiters;
  dir->waiters = w;
  int ask = dir->list_state == LIST_NONE;
  dir->list_state = LIST_PENDING;
  pthread_mutex_unlock(&fs->lock);
  if (ask) ll_call_js(fs, CALL_LIST, NULL, dir, 0, 0);
  return NULL;
}

static void ll_init(void *userdata, struct fuse_conn_info *conn) {
  struct ll_fs *fs = userdata;
  // READDIRPLUS for every READDIR, not only the first of a walk: what it carries is at hand,
  // and it spares the kernel a LOOKUP per entry.
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  // Reads of object files go to the kernel through a pipe (ll_read), not copied through a buffer of ours.
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE | (conn->capable & FUSE_CAP_SPLICE_MOVE);
  // Nothing changes under the kernel: no invalidation on attribute changes, no ioctl.
  conn->want &= ~(FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_IOCTL_DIR | FUSE_CAP_HANDLE_KILLPRIV);
  fs->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
  fs->no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
  // libfuse 3.14 derives max_pages from max_write, and its buffer is sized for 1 MiB requests.
  conn->max_read = LL_MAX_REQUEST;
  conn->max_write = LL_MAX_REQUEST;
  if (conn->max_readahead > LL_MAX_REQUEST) conn->max_readahead = LL_MAX_REQUEST;
  ll_call_js(fs, CALL_INIT, NULL, NULL, 0, 0);
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct ll_node *dir = ll_node_of(fs_of(req), parent);
  if (!S_ISDIR(dir->attr.mode)) { fuse_reply_err(req, ENOTDIR); return; }
  // As ext4 (and a root's layer) answers a name no directory can hold.
  if (strlen(name) > 255) { fuse_reply_err(req, ENAMETOOLONG); return; }
  const struct ll_dir *d = listing_or_wait(req, dir, WAIT_LOOKUP, name, 0, 0);
  if (d != NULL) answer_lookup(req, d, name);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  if (ino != FUSE_ROOT_ID) __atomic_sub_fetch(&ll_node_of(fs_of(req), ino)->nlookup, nlookup, __ATOMIC_RELAXED);
  fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  struct ll_fs *fs = fs_of(req);
  for (size_t i = 0; i < count; i++) {
    if (forgets[i].ino != FUSE_ROOT_ID) __atomic_sub_fetch(&ll_node_of(fs, forgets[i].ino)->nlookup, forgets[i].nlookup, __ATOMIC_RELAXED);
  }
  fuse_reply_none(req);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void) fi;
  struct stat st;
  ll_stat_of(ll_node_of(fs_of(req), ino), &st);
  fuse_reply_attr(req, &st, LL_FOREVER);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino) {
  struct ll_node *n = ll_node_of(fs_of(req), ino);
  if (n->symlink == NULL) fuse_reply_err(req, EINVAL);
  else fuse_reply_readlink(req, n->symlink);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void) ino;
  // ENOSYS: from now on the kernel opens directories itself and keeps their listings.
  if (fs_of(req)->no_opendir) { fuse_reply_err(req, ENOSYS); return; }
  fi->keep_cache = 1;
  fi->cache_readdir = 1;
  fuse_reply_open(req, fi);
}

static void ll_readdir_any(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus) {
  struct ll_node *dir = ll_node_of(fs_of(req), ino);
  if (!S_ISDIR(dir->attr.mode)) { fuse_reply_err(req, ENOTDIR); return; }
  const struct ll_dir *d = listing_or_wait(req, dir, plus ? WAIT_READDIRPLUS : WAIT_READDIR, NULL, size, off);
  if (d != NULL) answer_readdir(req, dir, d, size, off, plus);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void) fi;
  ll_readdir_any(req, ino, size, off, 0);
}

static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void) fi;
  ll_readdir_any(req, ino, size, off, 1);
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  // (A root's mount is not mounted ro: the kernel leaves a write-open or truncation to us.)
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) { fuse_reply_err(req, EROFS); return; }
  // ENOSYS: from now on the kernel opens files itself (and keeps their pages).
  if (fs_of(req)->no_open) { fuse_reply_err(req, ENOSYS); return; }
  struct ll_fs *fs = fs_of(req);
  // A root's mount: read by the kernel itself from the object file (passthrough.c).
  if (fs->rw && fs->pt) { ll_pt_open_commit(req, fs, ino, ll_node_of(fs, ino)); return; }
  fi->keep_cache = 1;
  fi->noflush = 1; // nothing to do at close (a root's mount opens files: rw_ops.c)
  fuse_reply_open(req, fi);
}

int ll_open_content(struct ll_fs *fs, struct ll_node *n) {
  pthread_mutex_lock(&fs->lock);
  const char *content = n->content;
  pthread_mutex_unlock(&fs->lock);
  // The object file JS checked: opened per read (an fd per file of a big tree would not fit).
  return content != NULL ? open(content, O_RDONLY | O_CLOEXEC) : -1;
}

void ll_reply_content(fuse_req_t req, int fd, size_t size, off_t off) {
  struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  buf.buf[0].fd = fd;
  buf.buf[0].pos = off;
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void) fi;
  struct ll_fs *fs = fs_of(req);
  struct ll_node *n = ll_node_of(fs, ino);
  int fd = ll_open_content(fs, n);
  // Listed before a root reloaded, with no object file: its path is another commit's now (grafts.c).
  if (fd < 0 && n->gen != __atomic_load_n(&fs->gen, __ATOMIC_RELAXED)) { fuse_reply_err(req, ESTALE); return; }
  if (fd < 0) { ll_call_js(fs, CALL_READ, req, n, size, off); return; } // JS reads, or says why not
  ll_reply_content(req, fd, size, off);
  close(fd);
}

// xattrs: (u32 name length, u32 value length, name, value)*, as JS listed them.
static void ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
  struct ll_node *n = ll_node_of(fs_of(req), ino);
  size_t want = strlen(name);
  for (uint32_t at = 0; at + 8 <= n->xattrs_len;) {
    uint32_t nl, vl;
    memcpy(&nl, n->xattrs + at, 4);
    memcpy(&vl, n->xattrs + at + 4, 4);
    const char *k = n->xattrs + at + 8;
    if (nl == want && memcmp(k, name, nl) == 0) {
      if (size == 0) fuse_reply_xattr(req, vl);
      else if (size < vl) fuse_reply_err(req, ERANGE);
      else fuse_reply_buf(req, k + nl, vl);
      return;
    }
    at += 8 + nl + vl;
  }
  fuse_reply_err(req, ENODATA);
}

static void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  struct ll_node *n = ll_node_of(fs_of(req), ino);
  char *list = malloc(n->xattrs_len + 1), *q = list;
  if (list == NULL) { fuse_reply_err(req, ENOMEM); return; }
  for (uint32_t at = 0; at + 8 <= n->xattrs_len;) {
    uint32_t nl, vl;
    memcpy(&nl, n->xattrs + at, 4);
    memcpy(&vl, n->xattrs + at + 4, 4);
    memcpy(q, n->xattrs + at + 8, nl);
    q += nl;
    *q++ = '\0';
    at += 8 + nl + vl;
  }
  size_t len = (size_t) (q - list);
  if (size == 0) fuse_reply_xattr(req, len);
  else if (size < len) fuse_reply_err(req, ERANGE);
  else fuse_reply_buf(req, list, len);
  free(list);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino) {
  (void) ino;
  ll_call_js(fs_of(req), CALL_STATFS, req, NULL, 0, 0);
}

const struct fuse_lowlevel_ops ll_ops = {
  .init = ll_init, .lookup = ll_lookup, .forget = ll_forget, .forget_multi = ll_forget_multi,
  .getattr = ll_getattr, .readlink = ll_readlink, .opendir = ll_opendir, .readdir = ll_readdir,
  .readdirplus = ll_readdirplus, .open = ll_open, .read = ll_read, .getxattr = ll_getxattr,
  .listxattr = ll_listxattr, .statfs = ll_statfs,
};
