// What JS calls on the reply cache (see cache_methods.h).
#include <limits.h>
#include <string.h>
#include <napi-macros.h>

#include "cache_methods.h"
#include "session.h"
#include "convert.h"

// The mount's cache from argv[0], NULL when it is off (or argv[0] is no mount).
static attr_cache_t * cache_of (napi_env env, napi_value thread) {
  fuse_thread_t *ft;
  size_t len;
  if (napi_get_buffer_info(env, thread, (void **) &ft, &len) != napi_ok) {
    napi_throw_error(env, NULL, "Expected the mount's thread buffer");
    return NULL;
  }
  if (len < sizeof(fuse_thread_t) || ft->cache.max == 0) return NULL;
  return &(ft->cache);
}

napi_value fuse_native_cache_put (napi_env env, napi_callback_info info) {
  NAPI_ARGV(4)
  attr_cache_t *c = cache_of(env, argv[0]);
  if (c == NULL) return NULL;
  uint32_t no_caps = 0;
  napi_get_value_uint32(env, argv[3], &no_caps);  // undefined: stays 0
  uint32_t n = 0, n_stats = 0;
  napi_get_array_length(env, argv[1], &n);
  napi_get_array_length(env, argv[2], &n_stats);
  if (n_stats < n) n = n_stats;
  char path[PATH_MAX];
  for (uint32_t i = 0; i < n; i++) {
    napi_value raw_path, raw_stat;
    size_t len;
    if (napi_get_element(env, argv[1], i, &raw_path) != napi_ok) break;
    if (napi_get_element(env, argv[2], i, &raw_stat) != napi_ok) break;
    if (!utf8_value(env, raw_path, path, sizeof(path), &len)) continue;
    uint32_t *ints;
    size_t ints_len;
    if (napi_get_buffer_info(env, raw_stat, (void **) &ints, &ints_len) != napi_ok || ints_len < STAT_INTS * sizeof(uint32_t)) continue;
    struct stat st;
    memset(&st, 0, sizeof(st));
    populate_stat(ints, &st);
    attr_cache_put_stat(c, path, len, &st, NULL);
    if (no_caps) attr_cache_put_no_caps(c, path, CAPS_XATTR, attr_cache_gen(c));
  }
  return NULL;
}

napi_value fuse_native_cache_forget (napi_env env, napi_callback_info info) {
  NAPI_ARGV(3)
  NAPI_ARGV_UINT32(what, 2)
  attr_cache_t *c = cache_of(env, argv[0]);
  if (c == NULL) return NULL;
  uint32_t n = 0;
  napi_get_array_length(env, argv[1], &n);
  char path[PATH_MAX];
  for (uint32_t i = 0; i < n; i++) {
    napi_value raw_path;
    size_t len;
    if (napi_get_element(env, argv[1], i, &raw_path) != napi_ok) break;
    // A path too long to be a key was never cached: nothing to forget.
    if (!utf8_value(env, raw_path, path, sizeof(path), &len)) continue;
    attr_cache_forget(c, path, len, what);
  }
  return NULL;
}

// cacheLink (content 0) and cacheContent (content 1).
static napi_value put_string (napi_env env, napi_callback_info info, int content) {
  NAPI_ARGV(3)
  attr_cache_t *c = cache_of(env, argv[0]);
  if (c == NULL) return NULL;
  char path[PATH_MAX], value[PATH_MAX];
  size_t len, value_len;
  if (!utf8_value(env, argv[1], path, sizeof(path), &len)) return NULL;
  if (!utf8_value(env, argv[2], value, sizeof(value), &value_len)) return NULL;
  attr_cache_put_string(c, path, len, value, value_len, content);
  return NULL;
}

napi_value fuse_native_cache_link (napi_env env, napi_callback_info info) {
  return put_string(env, info, 0);
}

napi_value fuse_native_cache_content (napi_env env, napi_callback_info info) {
  return put_string(env, info, 1);
}

napi_value fuse_native_cache_clear (napi_env env, napi_callback_info info) {
  NAPI_ARGV(1)
  attr_cache_t *c = cache_of(env, argv[0]);
  if (c != NULL) attr_cache_clear(c);
  return NULL;
}
