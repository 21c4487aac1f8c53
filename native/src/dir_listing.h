// Directory listings: the ones the reply cache keeps (what JS answered to a
// readdir, kept by directory path in attr_cache_t.dirs and answered again on
// libfuse's thread), and the filling of one readdir reply, from JS's answer
// or from a kept listing.
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/stat.h>

#include "libfuse.h"
#include "attr_cache.h"

struct dir_listing {
  uint32_t n;          // entries, in JS's order (".", ".." included if JS gave them)
  int has_stats;       // 0: JS gave names only, filled without attributes
  struct stat *stats;  // n stats (malloc'd) or NULL
  uint32_t *name_off;  // n offsets into names (malloc'd)
  char *names;         // NUL-terminated names back to back (malloc'd)
};

void dir_listing_free (dir_listing_t *d);

// A listing being built from a readdir reply (on the JS thread, unlocked):
// begin, add each entry, end.
typedef struct {
  dir_listing_t *d;   // NULL once abandoned (out of memory, over the bound)
  uint32_t cap;
  size_t names_len;
  size_t names_cap;
} dir_listing_builder_t;

// `dir` NULL: nothing is built (JS failed, or no cache).
void dir_listing_begin (attr_cache_t *c, dir_listing_builder_t *b, const char *dir, uint32_t n, int has_stats);
// `st` is ignored for a listing without stats.
void dir_listing_add (dir_listing_builder_t *b, const char *name, size_t name_len, const struct stat *st);
// Publishes the built listing of `dir` when `ok` (JS succeeded and every name
// reached the filler) and no forget happened since `gen`; frees it otherwise.
void dir_listing_end (attr_cache_t *c, dir_listing_builder_t *b, const char *dir, int ok, uint64_t gen);

// One readdir reply being filled. Two ways, as libfuse's high-level API has:
// - whole (stream 0): every entry with offset 0; libfuse keeps the listing for
//   the open directory and answers each READDIR of it from there, so a
//   listing is one snapshot per opendir (what libfuse 2 did; writable mounts).
// - by offsets (stream 1, frozen mounts): entry i has offset i + 1 and each
//   READDIR asks from the offset it gives. Only this way can libfuse 3 answer
//   READDIRPLUS with attributes (FUSE_FILL_DIR_PLUS): whole listings go to the
//   kernel without them. The listing of a frozen tree never changes between
//   two READDIRs, and each READDIR may come with a directory handle of its
//   own (no_opendir: see requests.h).
typedef struct {
  void *buf;
  fuse_fill_dir_t filler;
  int stream;
  off_t offset;   // stream: entries before this index are skipped
  int plus;       // stream: READDIRPLUS (libfuse's filler makes every entry a direntplus), entries with attributes carry them
  uint32_t room;  // stream: bytes left in the reply, 0 when unknown
  int full;
} readdir_fill_t;

// `room`: the reply size the kernel asked for (requests.h), 0 when unknown.
void readdir_fill_init (readdir_fill_t *rf, int frozen, void *buf, fuse_fill_dir_t filler, off_t offset, enum fuse_readdir_flags flags, uint32_t room);
// Hands entry `i` (in listing order) to libfuse; 1 once the reply is full.
int readdir_emit (readdir_fill_t *rf, uint32_t i, const char *name, size_t name_len, const struct stat *st);
// Fills a readdir from the cached listing of `path`, exactly as the JS reply
// did; 0 on a miss.
int dir_listing_fill (attr_cache_t *c, const char *path, readdir_fill_t *rf);
