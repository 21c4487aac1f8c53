// The native reply cache: attributes, symlink targets, content files and
// "no security.capability" answers by path (see attr_cache.h; listings are
// dir_listing.c's).
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#include "attr_cache.h"
#include "dir_listing.h"

const char CAPS_XATTR[] = "security.capability";

void attr_cache_init (attr_cache_t *c, uint32_t max) {
  memset(c, 0, sizeof(attr_cache_t));
  if (max == 0) return;
  pthread_rwlock_init(&(c->lock), NULL);
  c->open = 1;
  c->max = max;
}

static void attr_cache_clear_locked (attr_cache_t *c) {
  __atomic_store_n(&(c->gen), c->gen + 1, __ATOMIC_RELEASE);
  attr_cache_table_clear_locked(&(c->attrs));
  attr_cache_table_clear_locked(&(c->dirs));
  c->dir_entries = 0;
}

// The lock itself stays valid after this, since JS may still call cachePut on
// a closed mount; it lives in the JS-owned fuse_thread_t buffer and owns no
// resources on Linux, so it is never destroyed.
void attr_cache_close (attr_cache_t *c) {
  if (c->max == 0) return;
  pthread_rwlock_wrlock(&(c->lock));
  attr_cache_clear_locked(c);
  c->open = 0;
  pthread_rwlock_unlock(&(c->lock));
}

void attr_cache_clear (attr_cache_t *c) {
  if (c->max == 0) return;
  pthread_rwlock_wrlock(&(c->lock));
  attr_cache_clear_locked(c);
  pthread_rwlock_unlock(&(c->lock));
}

uint64_t attr_cache_gen (attr_cache_t *c) {
  if (c->max == 0) return 0;
  return __atomic_load_n(&(c->gen), __ATOMIC_ACQUIRE);
}

void attr_cache_put_stat (attr_cache_t *c, const char *path, size_t len, const struct stat *st, const uint64_t *gen) {
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

void attr_cache_put_child (attr_cache_t *c, const char *dir, const char *name, size_t name_len, const struct stat *st, uint64_t gen) {
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

void attr_cache_put_string (attr_cache_t *c, const char *path, size_t len, const char *value, size_t value_len, int content) {
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

void attr_cache_put_no_caps (attr_cache_t *c, const char *path, const char *name, uint64_t gen) {
  if (c->max == 0 || path == NULL || name == NULL || strcmp(name, CAPS_XATTR) != 0) return;
  pthread_rwlock_wrlock(&(c->lock));
  if (c->open && gen == c->gen) {
    attr_cache_entry_t *e = attr_cache_upsert_locked(&(c->attrs), c->max, path, strlen(path));
    if (e != NULL) e->no_caps = 1;
  }
  pthread_rwlock_unlock(&(c->lock));
}

int attr_cache_get_stat (attr_cache_t *c, const char *path, struct stat *st) {
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

int attr_cache_get_string (attr_cache_t *c, const char *path, char *buf, size_t size, int content) {
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

int attr_cache_no_caps (attr_cache_t *c, const char *path, const char *name) {
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

int attr_cache_stable_file (attr_cache_t *c, const char *path) {
  struct stat st;
  return attr_cache_get_stat(c, path, &st) && S_ISREG(st.st_mode) && (uint32_t) st.st_dev == STABLE_CONTENT;
}

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

typedef struct {
  attr_cache_t *c;
  const char *path;
  size_t len;
} below_t;

static void attr_cache_forget_if_below (attr_cache_entry_t *e, void *arg) {
  below_t *b = arg;
  if (e->len > b->len && e->path[b->len] == '/' && memcmp(e->path, b->path, b->len) == 0) {
    attr_cache_empty_locked(b->c, e, FORGET_NAME | FORGET_LISTING);
  }
}

static void attr_cache_forget_below_locked (attr_cache_t *c, attr_cache_table_t *t, const char *path, size_t len) {
  if (len == 1 && path[0] == '/') len = 0;  // below the root: every other path
  below_t b = { c, path, len };
  attr_cache_table_each_locked(t, attr_cache_forget_if_below, &b);
}

void attr_cache_forget (attr_cache_t *c, const char *path, size_t len, uint32_t what) {
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

void attr_cache_follow (attr_cache_t *c, const char *path, int ok, struct stat *now, int what) {
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
