// Direct handles and layer files (mount flag MOUNT_DIRECT): what the binding
// does to real files itself, on libfuse's thread, without a round trip into JS.
//
// A file handle JS returns with bit 52 set is DIRECT_FH + a file descriptor of
// the file itself: read, write and release on it are done here (JS never
// hears of them; it must not close the fd itself). A handle of 0 needs nothing
// at release. And a regular file whose cached attributes carry st_dev ==
// STABLE_CONTENT (JS sets it: FUSE never shows st_dev to the kernel) is opened
// read-only here with handle 0, its pages kept: its content never changes
// under that name (JS then reads by path). For a file a direct handle writes
// to, JS puts the low 32 bits of its inode number in st_dev, so the cached
// attributes can follow each write.
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/stat.h>

#include "libfuse.h"
#include "session.h"

#define DIRECT_FH ((uint64_t) 1 << 52)

// The file descriptor of a direct handle, -1 for any other handle.
int direct_fd (fuse_thread_t *ft, const struct fuse_file_info *info);

// Reads `len` bytes at `offset`, fewer only at end of file (what libfuse
// wants of a read); what was read before an error, or -errno without any.
int pread_full (int fd, char *buf, size_t len, off_t offset);
// Writes `len` bytes at `offset`; what was written before an error, or
// -errno without any.
int pwrite_full (int fd, const char *buf, size_t len, off_t offset);

// attr_cache_follow after a change through the file descriptor `fd`.
void attr_cache_follow_fd (attr_cache_t *c, const char *path, int fd, int what);

// chmod, chown and utimens of a file (not a directory) of the layer, applied
// here to its real file (the layer directory + path) without a round trip
// into JS. Only when the cached attributes say it is one (st_dev: the low 32
// bits of its inode number; JS publishes that only for files at writable
// paths) and the file at that path still is that inode; else NOT_HERE and JS
// does it. What JS would do is exactly this: a layer file's metadata is its
// real file's.
#define NOT_HERE 1
enum { SET_MODE, SET_OWNER, SET_TIMES };
int layer_setattr (fuse_thread_t *ft, const char *path, int what, mode_t mode, uid_t uid, gid_t gid, const struct timespec *ts);

// 1 when `path` is known not to exist: its directory is one only the layer has
// (cached st_dev LAYER_ONLY_DIR), so a name exists there exactly when the
// layer directory + path does, and that does not. libfuse's .fuse_hidden*
// names (an unlinked open file, kept elsewhere) are JS's to answer.
int layer_absent (fuse_thread_t *ft, const char *path);
