// Directory listings kept by the reply cache, and readdir replies (see dir_listing.h).
#include <stdlib.h>
#include <string.h>
// The kernel protocol, for the size of a dirent in a READDIR(PLUS) reply.
#include <linux/fuse.h>

#include "dir_listing.h"

void dir_listing_free (dir_listing_t *d) {
  if (d == NULL) return;
  free(d->stats);
  free(d->name_off);
  free(d->names);
  free(d);
}

void dir_listing_begin (attr_cache_t *c, dir_listing_builder_t *b, const char *dir, uint32_t n, int has_stats) {
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

void dir_listing_add (dir_listing_builder_t *b, const char *name, size_t name_len, const struct stat *st) {
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

void dir_listing_end (attr_cache_t *c, dir_listing_builder_t *b, const char *dir, int ok, uint64_t gen) {
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

void readdir_fill_init (readdir_fill_t *rf, int frozen, void *buf, fuse_fill_dir_t filler, off_t offset, enum fuse_readdir_flags flags, uint32_t room) {
  rf->buf = buf;
  rf->filler = filler;
  rf->stream = frozen;
  rf->offset = offset;
  rf->plus = frozen && (flags & FUSE_READDIR_PLUS) != 0;
  rf->room = room;
  rf->full = 0;
}

int readdir_emit (readdir_fill_t *rf, uint32_t i, const char *name, size_t name_len, const struct stat *st) {
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

// The read lock is held while filling: the filler only copies into libfuse's
// buffer (and, for READDIRPLUS, looks the name up in libfuse's node table,
// which never calls back into the binding).
int dir_listing_fill (attr_cache_t *c, const char *path, readdir_fill_t *rf) {
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
