// The native reply cache (opt-in, MountOptions.attrCache = max entries).
//
// Every op that goes to JS pays a thread hop (uv_async_send -> JS ->
// uv_sem_post) of ~100 us for ~5 us of JS work, and a read-only commit view's
// answers never change. So the stats JS returns from readdir (and symlink
// targets it publishes with cacheLink / attributes with cachePut) are kept
// here, and getattr, fgetattr and readlink of those paths are answered on the
// libfuse thread without entering JS. Directory listings JS returned from
// readdir are kept too (a second table, keyed by the directory's path: see
// dir_listing.h), so a directory listed once is listed again on the libfuse
// thread: libfuse caches no listing itself (the kernel keeps them only on a
// frozen mount).
//
// A mutable mount (a writable layer) keeps it coherent from JS: every change
// is followed by cacheForget() of what it touched, before the change is
// answered. Answers JS gives to getattr, fgetattr, readdir and getxattr are
// kept only when no forget happened while JS was computing them (a global
// generation count, attr_cache_gen), so an answer computed before a change
// never outlives it.
#pragma once

#include <pthread.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/stat.h>

#include "cache_table.h"

// st_dev of a regular file whose content never changes (see direct.h), and of
// a directory only the layer has (direct.h layer_absent). JS sets them: FUSE
// never shows st_dev to the kernel.
#define STABLE_CONTENT 0xffffffffu
#define LAYER_ONLY_DIR 0xfffffffeu

// What cacheForget drops (binding.ts / cache-coherence.ts use the same bits).
#define FORGET_STAT 1     // attributes (size, times, mode, owner, link count)
#define FORGET_NAME 2     // everything known of the path: attributes, symlink target, xattr answers
#define FORGET_LISTING 4  // the listing of the directory at the path
#define FORGET_BELOW 8    // everything known of every path below it (a directory renamed)

// What a change made by the binding did to a layer file (attr_cache_follow).
#define FOLLOW_READ 0   // atime
#define FOLLOW_DATA 1   // and size, blocks, mtime, ctime (a write)
#define FOLLOW_META 2   // and mode, owner, mtime, ctime (chmod, chown, utimens)

typedef struct {
  // Readers: libfuse threads (getattr, readlink). Writers: the JS thread
  // (readdir replies, cachePut/cacheLink/clearCache, unmount) and the FUSE
  // thread once, when it exits. Nobody waits on JS while holding it.
  pthread_rwlock_t lock;
  // Set once on the JS thread before the FUSE thread starts, never changed:
  // 0 means the cache is off and the lock was never initialised.
  uint32_t max;
  int open;     // cleared (under the lock) at unmount: entries are freed
  // Mutable mounts: a file with several names is never kept (libfuse's path
  // API gives each name its own node, so a change through one name cannot be seen to
  // change the link count of another).
  int mutable;
  uint64_t gen;  // bumped (under the lock) by every forget and clear
  attr_cache_table_t attrs;  // path -> stat / symlink target; at most max entries
  attr_cache_table_t dirs;   // directory path -> listing
  uint64_t dir_entries;      // listings + their entries, kept <= max
} attr_cache_t;

extern const char CAPS_XATTR[];  // "security.capability"

void attr_cache_init (attr_cache_t *c, uint32_t max);
// Frees every entry (idempotent; at unmount and when the FUSE thread exits).
void attr_cache_close (attr_cache_t *c);
// Forgets everything (clearCache()).
void attr_cache_clear (attr_cache_t *c);

// The generation an op sees before it goes to JS; its answer is kept only if
// the generation is still the same when the answer comes back.
uint64_t attr_cache_gen (attr_cache_t *c);

// `gen` NULL: unconditional (JS publishing what it knows to be current).
void attr_cache_put_stat (attr_cache_t *c, const char *path, size_t len, const struct stat *st, const uint64_t *gen);
// readdir reply: the child "dir/name" has the attributes JS just gave.
void attr_cache_put_child (attr_cache_t *c, const char *dir, const char *name, size_t name_len, const struct stat *st, uint64_t gen);
// Sets the symlink target (content == 0) or the content file (content == 1) of `path`.
void attr_cache_put_string (attr_cache_t *c, const char *path, size_t len, const char *value, size_t value_len, int content);
// JS said `path` has no security.capability (`name` is what was asked).
void attr_cache_put_no_caps (attr_cache_t *c, const char *path, const char *name, uint64_t gen);

// Copies the cached stat of `path` to `st`; 0 on a miss.
int attr_cache_get_stat (attr_cache_t *c, const char *path, struct stat *st);
// Copies the cached symlink target (content 0) or content file (content 1) of
// `path` to buf (truncated to size - 1, NUL terminated, like readlink's
// contract with libfuse); 0 on a miss.
int attr_cache_get_string (attr_cache_t *c, const char *path, char *buf, size_t size, int content);
// 1 when JS said `path` has no `name` and `name` is security.capability (the
// kernel asks before every write to a file, to drop privileges it may carry).
int attr_cache_no_caps (attr_cache_t *c, const char *path, const char *name);
// 1 when `path` is a regular file whose content never changes under its name.
int attr_cache_stable_file (attr_cache_t *c, const char *path);

// Forgets what `what` (FORGET_* bits) says of `path`.
void attr_cache_forget (attr_cache_t *c, const char *path, size_t len, uint32_t what);

// After a read, write or metadata change done by the binding to the real file
// of `path` (`ok`: `now` holds its attributes): patches its cached attributes
// as JS's next answer would give them (`what`: FOLLOW_*), if they are that
// file's, else forgets them.
void attr_cache_follow (attr_cache_t *c, const char *path, int ok, struct stat *now, int what);
