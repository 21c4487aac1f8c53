// The reply cache's tables: path -> entry, one open-addressing hash table
// (linear probing, load <= 1/2). No locking here: attr_cache.h holds the lock,
// and every function below is called with it (the _locked suffix).
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <sys/stat.h>

typedef struct dir_listing dir_listing_t;  // dir_listing.h

typedef struct {
  uint64_t hash;
  size_t len;
  int has_stat;
  int no_caps;             // JS said: no security.capability xattr (asked before each write)
  struct stat st;
  char *link;              // symlink target (malloc'd) or NULL
  char *content;           // regular file: a real file holding its bytes, checked by JS (malloc'd) or NULL
  dir_listing_t *listing;  // directory listing (malloc'd) or NULL
  char path[];             // the key, NUL terminated
} attr_cache_entry_t;

typedef struct {
  uint32_t count;
  uint32_t mask;               // slot count - 1 (a power of two); 0 without slots
  attr_cache_entry_t **slots;
} attr_cache_table_t;

// The entry for `path`, or NULL.
attr_cache_entry_t * attr_cache_find_locked (attr_cache_table_t *t, const char *path, size_t len);

// The entry for `path`, created empty when missing; NULL when out of memory.
// A table holding max entries is simply emptied first: crude, but O(1)
// amortised, never stale, and JS republishes on the next readdir.
attr_cache_entry_t * attr_cache_upsert_locked (attr_cache_table_t *t, uint32_t max, const char *path, size_t len);

// Frees every entry and the slots.
void attr_cache_table_clear_locked (attr_cache_table_t *t);

// Calls fn on every entry.
void attr_cache_table_each_locked (attr_cache_table_t *t, void (*fn) (attr_cache_entry_t *e, void *arg), void *arg);
