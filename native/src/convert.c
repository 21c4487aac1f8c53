// Values between JS and C (see convert.h).
#include "convert.h"

static uint64_t uint32s_to_uint64 (const uint32_t **ints) {
  uint64_t low = *((*ints)++);
  uint64_t high = *((*ints)++);
  return high * 4294967296 + low;
}

static void uint32s_to_timespec (struct timespec *ts, const uint32_t **ints) {
  // The ms value is two's complement (binding.ts setDoubleInt), so times before
  // 1970 are negative: floor-divide instead of treating it as unsigned.
  int64_t ms = (int64_t) uint32s_to_uint64(ints);
  ts->tv_sec = ms / 1000;
  ts->tv_nsec = (ms % 1000) * 1000000;
  if (ts->tv_nsec < 0) {
    ts->tv_sec -= 1;
    ts->tv_nsec += 1000000000;
  }
}

void populate_stat (const uint32_t *ints, struct stat *stat) {
  stat->st_mode = *ints++;
  stat->st_uid = *ints++;
  stat->st_gid = *ints++;
  stat->st_size = uint32s_to_uint64(&ints);
  stat->st_dev = *ints++;
  stat->st_nlink = *ints++;
  stat->st_ino = *ints++;
  stat->st_rdev = *ints++;
  stat->st_blksize = *ints++;
  stat->st_blocks = uint32s_to_uint64(&ints);
  uint32s_to_timespec(&stat->st_atim, &ints);
  uint32s_to_timespec(&stat->st_mtim, &ints);
  uint32s_to_timespec(&stat->st_ctim, &ints);
  // High 32 bits of st_ino, appended at ints[18] by statArray (inode numbers
  // used to be truncated to 32 bits).
  stat->st_ino += ((uint64_t) *ints++) << 32;
}

void populate_statvfs (const uint32_t *ints, struct statvfs *statvfs) {
  statvfs->f_bsize = *ints++;
  statvfs->f_frsize = *ints++;
  statvfs->f_blocks = *ints++;
  statvfs->f_bfree = *ints++;
  statvfs->f_bavail = *ints++;
  statvfs->f_files = *ints++;
  statvfs->f_ffree = *ints++;
  statvfs->f_favail = *ints++;
  statvfs->f_fsid = *ints++;
  statvfs->f_flag = *ints++;
  statvfs->f_namemax = *ints++;
  // High 32 bits of the block/inode counts (fsblkcnt_t/fsfilcnt_t are 64-bit),
  // appended at ints[11..16] by statfsArray.
  statvfs->f_blocks += ((uint64_t) *ints++) << 32;
  statvfs->f_bfree += ((uint64_t) *ints++) << 32;
  statvfs->f_bavail += ((uint64_t) *ints++) << 32;
  statvfs->f_files += ((uint64_t) *ints++) << 32;
  statvfs->f_ffree += ((uint64_t) *ints++) << 32;
  statvfs->f_favail += ((uint64_t) *ints++) << 32;
}

void path_arg (napi_env env, const char *path, napi_value *out) {
  if (path == NULL) napi_get_null(env, out);
  else napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, out);
}

void fh_arg (napi_env env, const struct fuse_file_info *info, napi_value *out) {
  if (info != NULL) napi_create_int64(env, (int64_t) info->fh, out);
  else napi_create_uint32(env, 0, out);
}

void string_arg (napi_env env, const char *s, napi_value *out) {
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, out);
}

void uint32_arg (napi_env env, uint32_t n, napi_value *out) {
  napi_create_uint32(env, n, out);
}

void int64_arg (napi_env env, int64_t n, napi_value *out) {
  napi_create_int64(env, n, out);
}

int utf8_value (napi_env env, napi_value v, char *buf, size_t size, size_t *len) {
  if (napi_get_value_string_utf8(env, v, NULL, 0, len) != napi_ok || *len >= size) return 0;
  return napi_get_value_string_utf8(env, v, buf, size, len) == napi_ok;
}
