// The layer's files that C changes itself: a file in the layer's writable set keeps its
// mode, owner, times and size on its real file, so setattr and getattr through a handle of
// it (tar's futimens, fchown, fchmod after each file; the GETATTR the kernel sends before a
// chown) need no decision from JS while it is open. JS says so at open and create
// (OPEN_META), with the inode number it shows for the file.
#include "ll.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUCKETS 1024

// An open layer file C may change, by node: the kernel sends chmod, chown and utimes by node,
// without the handle (only truncate carries it), so any open file of the node is as good. C
// uses its own duplicate of the handle's descriptor, closed by the last user once the handle
// is released: a chmod from another process racing the last close never reaches a reused fd.
// `writable`: opened for writing. A truncate by path (SETATTR without a handle) must go through
// such a one: ftruncate on a descriptor opened read-only is EINVAL, where truncate(2) works.
struct meta { struct meta *next; uint64_t node, ino; int fd, own, users, released, writable; };

static struct meta *buckets[BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int ll_meta_set(uint64_t node, int fd, uint64_t ino) {
  if (fd < 0 || ino == 0) return 0;
  struct meta *m = malloc(sizeof *m);
  if (m == NULL) return 0;
  int fl = fcntl(fd, F_GETFL);
  *m = (struct meta) { .node = node, .ino = ino, .fd = fd, .own = dup(fd), .writable = fl >= 0 && (fl & O_ACCMODE) != O_RDONLY };
  if (m->own < 0) { free(m); return 0; }
  pthread_mutex_lock(&lock);
  m->next = buckets[node % BUCKETS];
  buckets[node % BUCKETS] = m;
  pthread_mutex_unlock(&lock);
  return 1;
}

static void unuse(struct meta *m) {
  pthread_mutex_lock(&lock);
  int last = --m->users == 0 && m->released;
  pthread_mutex_unlock(&lock);
  if (last) { close(m->own); free(m); }
}

void ll_meta_clear(uint64_t node, int fd) {
  struct meta *gone = NULL;
  pthread_mutex_lock(&lock);
  for (struct meta **p = &buckets[node % BUCKETS]; *p != NULL; p = &(*p)->next) {
    if ((*p)->node == node && (*p)->fd == fd) {
      gone = *p;
      *p = gone->next;
      gone->released = 1;
      gone->users++; // dropped below: whoever is last closes
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  if (gone != NULL) unuse(gone);
}

// An open file of the node (one open for writing if `writing`), taken for use (unuse() when
// done), or NULL.
static struct meta *meta_of(uint64_t node, int writing) {
  struct meta *found = NULL;
  pthread_mutex_lock(&lock);
  for (struct meta *m = buckets[node % BUCKETS]; m != NULL; m = m->next) {
    if (m->node == node && (m->writable || !writing)) { found = m; m->users++; break; }
  }
  pthread_mutex_unlock(&lock);
  return found;
}

// Attributes of the file behind fd, as JS would give them (its inode number; its times to the
// nanosecond, as JS's answers carry them).
static void answer(fuse_req_t req, int fd, uint64_t ino, double timeout) {
  struct stat st;
  if (fstat(fd, &st) != 0) { fuse_reply_err(req, errno); return; }
  st.st_ino = ino;
  fuse_reply_attr(req, &st, timeout);
}

int ll_meta_getattr(fuse_req_t req, uint64_t node) {
  struct meta *m = meta_of(node, 0);
  if (m == NULL) return 0;
  answer(req, m->own, m->ino, LL_LAYER_TIMEOUT);
  unuse(m);
  return 1;
}

// In libfuse's order: mode, owner, size, times.
int ll_meta_setattr(fuse_req_t req, uint64_t node, const struct stat *attr, int to_set) {
  struct meta *m = meta_of(node, (to_set & FUSE_SET_ATTR_SIZE) != 0);
  if (m == NULL) return 0;
  int fd = m->own, rc = 0;
  if (to_set & FUSE_SET_ATTR_MODE) rc = fchmod(fd, attr->st_mode & 07777);
  if (rc == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
    rc = fchown(fd, to_set & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t) -1, to_set & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t) -1);
  }
  if (rc == 0 && (to_set & FUSE_SET_ATTR_SIZE)) rc = ftruncate(fd, attr->st_size);
  if (rc == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
    struct timespec tv[2] = { attr->st_atim, attr->st_mtim };
    if (!(to_set & FUSE_SET_ATTR_ATIME)) tv[0].tv_nsec = UTIME_OMIT;
    else if (to_set & FUSE_SET_ATTR_ATIME_NOW) tv[0].tv_nsec = UTIME_NOW;
    if (!(to_set & FUSE_SET_ATTR_MTIME)) tv[1].tv_nsec = UTIME_OMIT;
    else if (to_set & FUSE_SET_ATTR_MTIME_NOW) tv[1].tv_nsec = UTIME_NOW;
    rc = futimens(fd, tv);
  }
  if (rc != 0) fuse_reply_err(req, errno);
  else answer(req, fd, m->ino, LL_LAYER_TIMEOUT);
  unuse(m);
  return 1;
}

// Directories of the layer, by node: a directory the layer holds has its real directory's
// attributes, which change with every name made in it (the kernel then asks again before the
// next create), and in a directory only the layer has, a name exists exactly when its real
// directory has it: so tar's LOOKUP of each new name and GETATTR of its directory need no JS.
// C owns the O_PATH descriptor JS opened; JS drops the entry when the node may be another
// directory (rmdir, rename, reload) or is forgotten.
struct dir { struct dir *next; uint64_t node, ino; int fd, layer_only, users, dropped; };

static struct dir *dirs[BUCKETS];

static int boot_of(fuse_req_t req) { const struct ll_fs *fs = fuse_req_userdata(req); return fs != NULL && fs->boot; }

void ll_dir_set(uint64_t node, int fd, uint64_t ino, int layer_only) {
  struct dir *d = calloc(1, sizeof *d);
  if (d == NULL) { close(fd); return; }
  *d = (struct dir) { .node = node, .ino = ino, .fd = fd, .layer_only = layer_only };
  pthread_mutex_lock(&lock);
  d->next = dirs[node % BUCKETS];
  dirs[node % BUCKETS] = d;
  pthread_mutex_unlock(&lock);
}

static void dir_unuse(struct dir *d) {
  pthread_mutex_lock(&lock);
  int last = --d->users == 0 && d->dropped;
  pthread_mutex_unlock(&lock);
  if (last) { close(d->fd); free(d); }
}

void ll_dir_drop(uint64_t node) {
  pthread_mutex_lock(&lock);
  struct dir *gone = NULL;
  for (struct dir **p = &dirs[node % BUCKETS]; *p != NULL;) {
    struct dir *d = *p;
    if (d->node != node) { p = &d->next; continue; }
    *p = d->next;
    d->dropped = 1;
    d->users++;
    d->next = gone;
    gone = d;
  }
  pthread_mutex_unlock(&lock);
  while (gone != NULL) { struct dir *next = gone->next; dir_unuse(gone); gone = next; }
}

static struct dir *dir_of(uint64_t node) {
  struct dir *found = NULL;
  pthread_mutex_lock(&lock);
  for (struct dir *d = dirs[node % BUCKETS]; d != NULL; d = d->next) if (d->node == node) { found = d; d->users++; break; }
  pthread_mutex_unlock(&lock);
  return found;
}

int ll_dir_getattr(fuse_req_t req, uint64_t node) {
  struct dir *d = dir_of(node);
  if (d == NULL) return 0;
  answer(req, d->fd, d->ino, boot_of(req) ? LL_FOREVER : LL_LAYER_TIMEOUT);
  dir_unuse(d);
  return 1;
}

// "No such name" in a directory only the layer has, when its real directory has none.
int ll_dir_lookup_missing(fuse_req_t req, uint64_t node, const char *name) {
  struct dir *d = dir_of(node);
  if (d == NULL) return 0;
  struct stat st;
  int missing = d->layer_only && strncmp(name, ".fuse_hidden", 12) != 0 && fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT;
  dir_unuse(d);
  if (missing && boot_of(req)) {
    // A negative entry the kernel keeps (ll_fs.boot).
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.entry_timeout = LL_FOREVER;
    fuse_reply_entry(req, &e);
  } else if (missing) fuse_reply_err(req, ENOENT);
  return missing;
}
