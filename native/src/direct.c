// Direct handles and layer files (see direct.h).
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "direct.h"

int direct_fd (fuse_thread_t *ft, const struct fuse_file_info *info) {
  if (!ft->direct || info == NULL || (info->fh & ~(DIRECT_FH - 1)) != DIRECT_FH) return -1;
  uint64_t fd = info->fh & (DIRECT_FH - 1);
  return fd > INT_MAX ? -1 : (int) fd;
}

int pread_full (int fd, char *buf, size_t len, off_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, buf + done, len - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return done > 0 ? (int) done : -errno;
    if (n == 0) break;
    done += n;
  }
  return (int) done;
}

int pwrite_full (int fd, const char *buf, size_t len, off_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fd, buf + done, len - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return done > 0 ? (int) done : -errno;
    done += n;
  }
  return (int) done;
}

void attr_cache_follow_fd (attr_cache_t *c, const char *path, int fd, int what) {
  struct stat now;
  int ok = fstat(fd, &now) == 0;
  attr_cache_follow(c, path, ok, &now, what);
}

// The real file of `path` in the layer directory, in real[PATH_MAX]; 0 when
// there is none (no layer directory, or too long a path).
static int layer_path (fuse_thread_t *ft, const char *path, char *real) {
  if (!ft->direct || ft->layer[0] == '\0' || path == NULL || path[0] != '/') return 0;
  int n = snprintf(real, PATH_MAX, "%s%s", ft->layer, path);
  return n >= 0 && (size_t) n < PATH_MAX;
}

int layer_setattr (fuse_thread_t *ft, const char *path, int what, mode_t mode, uid_t uid, gid_t gid, const struct timespec *ts) {
  attr_cache_t *c = &(ft->cache);
  if (!ft->direct || ft->layer[0] == '\0' || path == NULL || path[0] != '/') return NOT_HERE;
  struct stat cached;
  if (!attr_cache_get_stat(c, path, &cached) || S_ISDIR(cached.st_mode)) return NOT_HERE;
  uint32_t backing = (uint32_t) cached.st_dev;
  if (backing == 0 || backing == STABLE_CONTENT) return NOT_HERE;
  char real[PATH_MAX];
  if (!layer_path(ft, path, real)) return NOT_HERE;
  struct stat before;
  if (lstat(real, &before) != 0 || (uint32_t) before.st_ino != backing || S_ISDIR(before.st_mode)) return NOT_HERE;
  int res = 0;
  switch (what) {
    case SET_MODE:
      // A symlink has no mode of its own to change.
      if (!S_ISLNK(before.st_mode) && chmod(real, mode & 07777) != 0) res = -errno;
      break;
    case SET_OWNER:
      if (lchown(real, uid, gid) != 0) res = -errno;
      break;
    case SET_TIMES:
      if (utimensat(AT_FDCWD, real, ts, AT_SYMLINK_NOFOLLOW) != 0) res = -errno;
      break;
  }
  struct stat now;
  int ok = lstat(real, &now) == 0;
  attr_cache_follow(c, path, ok, &now, FOLLOW_META);
  return res;
}

int layer_absent (fuse_thread_t *ft, const char *path) {
  if (!ft->direct || ft->layer[0] == '\0' || path == NULL || path[0] != '/') return 0;
  const char *slash = strrchr(path, '/');
  if (slash == path || strncmp(slash + 1, ".fuse_hidden", 12) == 0) return 0;
  char parent[PATH_MAX];
  size_t parent_len = (size_t) (slash - path);
  if (parent_len >= sizeof(parent)) return 0;
  memcpy(parent, path, parent_len);
  parent[parent_len] = '\0';
  struct stat dir;
  if (!attr_cache_get_stat(&(ft->cache), parent, &dir) || !S_ISDIR(dir.st_mode) || (uint32_t) dir.st_dev != LAYER_ONLY_DIR) return 0;
  char real[PATH_MAX];
  if (!layer_path(ft, path, real)) return 0;
  struct stat st;
  return lstat(real, &st) != 0 && errno == ENOENT;
}
