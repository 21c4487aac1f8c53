// hacktree's FUSE addon: the module's exports (binding.ts is the one JS that
// uses them). It began as fuse-native 2.2.6 (see ../NOTICE).
//
//   session.c      mount / unmount, the FUSE thread, init, the mount options
//   bridge.c       the hop to JS and back (thread locals, uv_async, signal)
//   ops.c, ops_*.c the fuse_operations, one small function each
//   attr_cache.c   the reply cache (cache_table.c its tables, dir_listing.c
//                  listings; cache_methods.c what JS calls on it)
//   direct.c       direct handles and layer files
//   requests.c     the session's I/O: request counts, OPENDIR for no_opendir
//   convert.c      values between JS and C
#include <stdio.h>
#include <napi-macros.h>

#include "session.h"
#include "bridge.h"
#include "ops.h"
#include "requests.h"
#include "cache_methods.h"

NAPI_INIT() {
  bridge_init_process();

  NAPI_EXPORT_SIZEOF(fuse_thread_t)

  NAPI_EXPORT_FUNCTION(fuse_native_mount)
  NAPI_EXPORT_FUNCTION(fuse_native_unmount)
  NAPI_EXPORT_FUNCTION(fuse_native_signal)
  NAPI_EXPORT_FUNCTION(fuse_native_cache_put)
  NAPI_EXPORT_FUNCTION(fuse_native_cache_link)
  NAPI_EXPORT_FUNCTION(fuse_native_cache_content)
  NAPI_EXPORT_FUNCTION(fuse_native_cache_clear)
  NAPI_EXPORT_FUNCTION(fuse_native_cache_forget)
  NAPI_EXPORT_FUNCTION(fuse_native_request_counts)

  // op_<name>: the opcode of each op JS may implement (the first argument after
  // the locals in each dispatch).
  for (uint32_t op = 0; op < OP_COUNT; op++) {
    const bridge_op_t *b = ops_bridge(op);
    if (b == NULL) continue;
    char name[64];
    snprintf(name, sizeof(name), "op_%s", b->name);
    napi_value v;
    napi_create_uint32(env, op, &v);
    napi_set_named_property(env, exports, name, v);
  }
}
