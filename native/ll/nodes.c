// The node table. A node is made when JS lists its directory, and listings are kept for the
// mount's life (a commit never changes), so a node outlives every FORGET: the kernel's
// nlookup is counted (ops.c) but never frees what a listing still points to, and a node id
// (the node's address) stays valid as long as the kernel may use it. Memory is what the walk
// listed: ~150 bytes an entry plus its name.
//
// A listing from JS (serve-frozen.ts writes it, little-endian): u32 count, then per entry
//   u32 name_len, link_len, xattrs_len, mode, nlink, uid, gid, rdev, blksize
//   f64 ino, size, blocks, atime_ms, mtime_ms, ctime_ms
//   name, symlink target, xattrs as (u32 name_len, u32 value_len, name, value)*
#include "ll.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RECORD_HEAD (9 * 4 + 6 * 8)

struct ll_node *ll_node_of(struct ll_fs *fs, fuse_ino_t ino) {
  return ino == FUSE_ROOT_ID ? &fs->root : (struct ll_node *) (uintptr_t) (ino & ~LL_COMMIT_TAG);
}

fuse_ino_t ll_id_of(struct ll_fs *fs, const struct ll_node *n) {
  return n == &fs->root ? FUSE_ROOT_ID : (fuse_ino_t) (uintptr_t) n | LL_COMMIT_TAG;
}

static uint32_t name_hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t) *s) * 16777619u;
  return h;
}

static uint32_t u32_at(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static double f64_at(const uint8_t *p) { double v; memcpy(&v, p, 8); return v; }

static char *dup_bytes(const uint8_t *p, size_t len) {
  char *s = malloc(len + 1);
  if (s != NULL) { memcpy(s, p, len); s[len] = '\0'; }
  return s;
}

// One record into n (attributes, symlink target, xattrs); its name is left at *name.
static int parse_record(const uint8_t **pp, const uint8_t *end, struct ll_node *n, const uint8_t **name, uint32_t *name_len) {
  const uint8_t *p = *pp;
  if ((size_t) (end - p) < RECORD_HEAD) return -1;
  uint32_t nl = u32_at(p), ll = u32_at(p + 4), xl = u32_at(p + 8);
  struct ll_attr *a = &n->attr;
  a->mode = u32_at(p + 12); a->nlink = u32_at(p + 16); a->uid = u32_at(p + 20);
  a->gid = u32_at(p + 24); a->rdev = u32_at(p + 28); a->blksize = u32_at(p + 32);
  const uint8_t *f = p + 36;
  a->ino = (uint64_t) f64_at(f); a->size = (uint64_t) f64_at(f + 8); a->blocks = (uint64_t) f64_at(f + 16);
  a->atime_ms = (int64_t) f64_at(f + 24); a->mtime_ms = (int64_t) f64_at(f + 32); a->ctime_ms = (int64_t) f64_at(f + 40);
  p += RECORD_HEAD;
  if ((size_t) (end - p) < (size_t) nl + ll + xl) return -1;
  *name = p; *name_len = nl;
  p += nl;
  n->symlink = S_ISLNK(a->mode) ? dup_bytes(p, ll) : NULL;
  p += ll;
  n->xattrs = xl > 0 ? dup_bytes(p, xl) : NULL;
  n->xattrs_len = n->xattrs != NULL ? xl : 0;
  *pp = p + xl;
  return 0;
}

int ll_parse_attrs(const uint8_t **p, const uint8_t *end, struct ll_node *n) {
  const uint8_t *name;
  uint32_t name_len;
  return parse_record(p, end, n, &name, &name_len);
}

// The node of a listed entry: a regular file with several names is one node for all of them
// (one inode with its real link count), found by st_ino. Other entries are one node per name:
// a directory has one name, and a 53-bit path hash that collided must not merge two files.
static struct ll_node *node_for(struct ll_fs *fs, struct ll_node *tmp) {
  int linked = S_ISREG(tmp->attr.mode) && tmp->attr.nlink > 1;
  struct ll_node **chain = &fs->links[tmp->attr.ino % 4096];
  if (linked) {
    for (struct ll_node *n = *chain; n != NULL; n = n->link_next) {
      if (n->attr.ino == tmp->attr.ino) { free(tmp->symlink); free(tmp->xattrs); return n; }
    }
  }
  struct ll_node *n = malloc(sizeof *n);
  if (n == NULL) { free(tmp->symlink); free(tmp->xattrs); return NULL; }
  *n = *tmp;
  if (linked) { n->link_next = *chain; *chain = n; }
  return n;
}

// (event loop, fs->lock held: the hard-link table) The listing of `dir` from JS's buffer, or NULL if it is malformed.
struct ll_dir *ll_parse_listing(struct ll_fs *fs, struct ll_node *dir, const uint8_t *buf, size_t len) {
  const uint8_t *p = buf, *end = buf + len;
  if (len < 4) return NULL;
  uint32_t count = u32_at(p);
  p += 4;
  // First pass: the size of the name block.
  size_t names_len = 0;
  for (uint32_t i = 0; i < count; i++) {
    if ((size_t) (end - p) < RECORD_HEAD) return NULL;
    size_t rest = (size_t) u32_at(p) + u32_at(p + 4) + u32_at(p + 8);
    if ((size_t) (end - p - RECORD_HEAD) < rest) return NULL;
    names_len += u32_at(p) + 1;
    p += RECORD_HEAD + rest;
  }
  uint32_t slots = 4;
  while (slots < 2 * count + 2) slots <<= 1;
  struct ll_dir *d = calloc(1, sizeof *d + count * sizeof(struct ll_entry));
  if (d != NULL) { d->names = malloc(names_len + 1); d->slots = calloc(slots, sizeof(uint32_t)); }
  if (d == NULL || d->names == NULL || d->slots == NULL) {
    if (d != NULL) { free(d->names); free(d->slots); free(d); }
    return NULL;
  }
  d->mask = slots - 1;
  char *nb = d->names;
  p = buf + 4;
  for (uint32_t i = 0; i < count; i++) {
    struct ll_node tmp = { .parent = dir, .gen = fs->gen };
    const uint8_t *name;
    uint32_t name_len;
    if (parse_record(&p, end, &tmp, &name, &name_len) != 0) break; // (checked above)
    memcpy(nb, name, name_len);
    nb[name_len] = '\0';
    tmp.name = nb;
    struct ll_node *n = node_for(fs, &tmp);
    if (n == NULL) continue; // out of memory: the entry is left out
    struct ll_entry *e = &d->entries[d->count];
    e->name = nb; e->node = n;
    for (uint32_t s = name_hash(nb) & d->mask;; s = (s + 1) & d->mask) {
      if (d->slots[s] == 0) { d->slots[s] = d->count + 1; break; }
    }
    d->count++;
    nb += name_len + 1;
  }
  return d;
}

const struct ll_entry *ll_dir_find(const struct ll_dir *d, const char *name) {
  for (uint32_t s = name_hash(name) & d->mask; d->slots[s] != 0; s = (s + 1) & d->mask) {
    const struct ll_entry *e = &d->entries[d->slots[s] - 1];
    if (strcmp(e->name, name) == 0) return e;
  }
  return NULL;
}

// The path JS knows the node by ("/" for the root). Parents and names never change.
char *ll_path_of(const struct ll_node *n) {
  size_t len = 0;
  for (const struct ll_node *m = n; m->parent != NULL; m = m->parent) len += strlen(m->name) + 1;
  char *path = malloc(len + 2), *q;
  if (path == NULL) return NULL;
  if (len == 0) { strcpy(path, "/"); return path; }
  q = path + len;
  *q = '\0';
  for (const struct ll_node *m = n; m->parent != NULL; m = m->parent) {
    size_t l = strlen(m->name);
    q -= l;
    memcpy(q, m->name, l);
    *--q = '/';
  }
  return path;
}

// (fs->lock held) The node at `path` through listings already made, or NULL.
struct ll_node *ll_node_at(struct ll_fs *fs, const char *path) {
  struct ll_node *n = &fs->root;
  char part[256];
  for (const char *p = path; *p != '\0';) {
    while (*p == '/') p++;
    if (*p == '\0') break;
    size_t l = strcspn(p, "/");
    if (l >= sizeof part || n->list_state != LIST_DONE) return NULL;
    memcpy(part, p, l);
    part[l] = '\0';
    const struct ll_entry *e = ll_dir_find(n->dir, part);
    if (e == NULL) return NULL;
    n = e->node;
    p += l;
  }
  return n;
}

void ll_stat_of(const struct ll_node *n, struct stat *st) {
  const struct ll_attr *a = &n->attr;
  memset(st, 0, sizeof *st);
  st->st_ino = a->ino;
  st->st_mode = a->mode;
  st->st_nlink = a->nlink;
  st->st_uid = a->uid;
  st->st_gid = a->gid;
  st->st_rdev = a->rdev;
  st->st_size = (off_t) a->size;
  st->st_blocks = (blkcnt_t) a->blocks;
  st->st_blksize = a->blksize;
  const int64_t ms[3] = { a->atime_ms, a->mtime_ms, a->ctime_ms };
  struct timespec *ts[3] = { &st->st_atim, &st->st_mtim, &st->st_ctim };
  for (int i = 0; i < 3; i++) {
    int64_t s = ms[i] / 1000, r = ms[i] % 1000;
    if (r < 0) { s--; r += 1000; } // times before 1970
    ts[i]->tv_sec = s;
    ts[i]->tv_nsec = r * 1000000;
  }
}
