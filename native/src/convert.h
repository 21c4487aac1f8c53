// Values between JS and C: the integer arrays JS encodes attributes in
// (binding.ts statArray / statfsArray), the arguments ops hand JS, and JS
// strings read into fixed buffers.
#pragma once

#include <node_api.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include "libfuse.h"

// A statArray holds 19 uint32s, a statfsArray 17.
#define STAT_INTS 19
#define STATFS_INTS 17

void populate_stat (const uint32_t *ints, struct stat *stat);
void populate_statvfs (const uint32_t *ints, struct statvfs *statvfs);

// libfuse passes a NULL path for an open file whose name is gone (hard_remove):
// JS gets null instead of an uninitialised value, so ops fall back to the handle.
void path_arg (napi_env env, const char *path, napi_value *out);
// The file handle of `info` (64-bit: it used to be cut to int32), 0 without one.
void fh_arg (napi_env env, const struct fuse_file_info *info, napi_value *out);
void string_arg (napi_env env, const char *s, napi_value *out);
void uint32_arg (napi_env env, uint32_t n, napi_value *out);
void int64_arg (napi_env env, int64_t n, napi_value *out);

// The JS string `v` as UTF-8 in buf, or 0 when it is not a string or does not
// fit (napi would cut it silently, and a cut path is a wrong key).
int utf8_value (napi_env env, napi_value v, char *buf, size_t size, size_t *len);
