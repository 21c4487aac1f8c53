// What JS calls on a mount's reply cache (attr_cache.h), each method given
// the mount's thread buffer first; a no-op when the cache is off.
#pragma once

#include <node_api.h>

// cachePut(thread, paths[], stats[], noCaps): publish attributes (stats are
// statArrays); noCaps 1: none of them has a security.capability xattr.
napi_value fuse_native_cache_put (napi_env env, napi_callback_info info);
// cacheForget(thread, paths[], what): forget what is known of each path (FORGET_* bits).
napi_value fuse_native_cache_forget (napi_env env, napi_callback_info info);
// cacheLink(thread, path, target): publish a symlink target for readlink.
napi_value fuse_native_cache_link (napi_env env, napi_callback_info info);
// cacheContent(thread, path, file): publish the real file holding a regular
// file's content, checked by JS; reads of `path` are then done in C.
napi_value fuse_native_cache_content (napi_env env, napi_callback_info info);
// cacheClear(thread): forget everything published so far.
napi_value fuse_native_cache_clear (napi_env env, napi_callback_info info);
