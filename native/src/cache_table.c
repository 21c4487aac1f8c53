// The reply cache's hash tables (see cache_table.h).
#include <stdlib.h>
#include <string.h>

#include "cache_table.h"
#include "dir_listing.h"

static uint64_t attr_cache_hash (const char *s, size_t len) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char) s[i];
    h *= 1099511628211ULL;
  }
  return h;
}

// Slot holding `path`, or the empty slot where it belongs. Needs t->slots;
// ends because the load factor stays at or below 1/2.
static uint32_t attr_cache_probe (attr_cache_table_t *t, const char *path, size_t len, uint64_t hash) {
  uint32_t i = (uint32_t) hash & t->mask;
  for (;;) {
    attr_cache_entry_t *e = t->slots[i];
    if (e == NULL || (e->hash == hash && e->len == len && memcmp(e->path, path, len) == 0)) return i;
    i = (i + 1) & t->mask;
  }
}

attr_cache_entry_t * attr_cache_find_locked (attr_cache_table_t *t, const char *path, size_t len) {
  if (t->slots == NULL) return NULL;
  return t->slots[attr_cache_probe(t, path, len, attr_cache_hash(path, len))];
}

void attr_cache_table_clear_locked (attr_cache_table_t *t) {
  if (t->slots != NULL) {
    for (uint64_t i = 0; i <= t->mask; i++) {
      attr_cache_entry_t *e = t->slots[i];
      if (e == NULL) continue;
      free(e->link);
      free(e->content);
      dir_listing_free(e->listing);
      free(e);
    }
    free(t->slots);
  }
  t->slots = NULL;
  t->mask = 0;
  t->count = 0;
}

void attr_cache_table_each_locked (attr_cache_table_t *t, void (*fn) (attr_cache_entry_t *e, void *arg), void *arg) {
  if (t->slots == NULL) return;
  for (uint64_t i = 0; i <= t->mask; i++) {
    if (t->slots[i] != NULL) fn(t->slots[i], arg);
  }
}

static int attr_cache_grow_locked (attr_cache_table_t *t) {
  uint64_t old_n = t->slots == NULL ? 0 : (uint64_t) t->mask + 1;
  uint64_t n = old_n == 0 ? 1024 : old_n * 2;
  if (n > ((uint64_t) 1 << 31)) return 0;
  attr_cache_entry_t **slots = calloc(n, sizeof(attr_cache_entry_t *));
  if (slots == NULL) return 0;
  attr_cache_entry_t **old = t->slots;
  t->slots = slots;
  t->mask = (uint32_t) (n - 1);
  for (uint64_t i = 0; i < old_n; i++) {
    attr_cache_entry_t *e = old[i];
    if (e != NULL) t->slots[attr_cache_probe(t, e->path, e->len, e->hash)] = e;
  }
  free(old);
  return 1;
}

attr_cache_entry_t * attr_cache_upsert_locked (attr_cache_table_t *t, uint32_t max, const char *path, size_t len) {
  uint64_t hash = attr_cache_hash(path, len);
  if (t->slots != NULL) {
    attr_cache_entry_t *e = t->slots[attr_cache_probe(t, path, len, hash)];
    if (e != NULL) return e;
  }
  if (t->count >= max) attr_cache_table_clear_locked(t);
  if (t->slots == NULL || ((uint64_t) t->count + 1) * 2 > (uint64_t) t->mask + 1) {
    if (!attr_cache_grow_locked(t)) return NULL;
  }
  attr_cache_entry_t *e = malloc(sizeof(attr_cache_entry_t) + len + 1);
  if (e == NULL) return NULL;
  e->hash = hash;
  e->len = len;
  e->has_stat = 0;
  e->no_caps = 0;
  e->link = NULL;
  e->content = NULL;
  e->listing = NULL;
  memcpy(e->path, path, len);
  e->path[len] = '\0';
  t->slots[attr_cache_probe(t, path, len, hash)] = e;
  t->count++;
  return e;
}
