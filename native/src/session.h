// A mount: mounting and unmounting, the FUSE thread that serves it, the
// connection's capabilities (init) and the mount options the binding parses.
#pragma once

#include <pthread.h>
#include <limits.h>
#include <node_api.h>

#include "libfuse.h"
#include "bridge.h"
#include "attr_cache.h"
#include "requests.h"

// Mount flags (binding.ts mountFlags).
// The tree changes (a writable layer): the reply cache keeps no file with
// several names (attr_cache.h).
#define MOUNT_MUTABLE 1
// Direct handles and files of stable content (direct.h).
#define MOUNT_DIRECT 2
// A read-only mount of a tree that never changes: the kernel may keep all it
// learns for the mount's life. Opens of files and directories are answered
// ENOSYS, so the kernel stops sending OPEN/RELEASE and OPENDIR/RELEASEDIR
// (no_open, which implies FOPEN_KEEP_CACHE; no_opendir, which implies
// FOPEN_CACHE_DIR: each listing is asked once); symlink targets are cached
// (FUSE_CAP_CACHE_SYMLINKS), and listings carry attributes (READDIRPLUS), so
// a walk needs no LOOKUP per entry.
#define MOUNT_FROZEN 4
// A mutable mount whose directories' attributes the kernel may keep a while
// (requests.h DIR_ATTR_TTL).
#define MOUNT_DIR_ATTRS 8
// The mount is a booted system's / (requests.c boot_root_reply).
#define MOUNT_BOOT 16

// fuse_config fields libfuse 2 took as -o options and libfuse 3 no longer
// parses (fuse_new rejects them): parsed here, set in init.
typedef struct {
  int use_ino;
  int readdir_ino;
  int hard_remove;
  int direct_io;
  int intr;
  int intr_signal;
  int set_intr_signal;
} config_opts_t;

// One mount. It lives in a Buffer JS allocates (sizeof_fuse_thread_t) and
// hands to every method; C pins it (bridge_t.pin) for the FUSE thread.
typedef struct fuse_thread {
  bridge_t bridge;
  pthread_t thread;
  pthread_attr_t attr;

  struct fuse *fuse;
  struct fuse_session *se;
  config_opts_t config_opts;
  struct fuse_conn_info_opts *conn_opts;  // -o max_write= etc. (libfuse's), applied at init
  char mnt[1024];
  char mntopts[1024];
  int mounted;

  attr_cache_t cache;

  // Mount flag MOUNT_DIRECT (see direct.h). Set before the FUSE thread starts.
  int direct;
  // With MOUNT_DIRECT: the directory mirroring the mount's layer files (see
  // layer_setattr), or empty. Set before the FUSE thread starts.
  char layer[PATH_MAX];

  // Mount flag MOUNT_FROZEN (set before the FUSE thread starts), and what the
  // kernel agreed to at init: opens of files and directories answered ENOSYS
  // (no_open / no_opendir), see session_init.
  int frozen;
  int no_open;
  int no_opendir;
  // Mount flag MOUNT_DIR_ATTRS (set before the FUSE thread starts): on a
  // mutable mount, directory attributes in replies are given DIR_ATTR_TTL.
  int dir_attrs;
  // Mount flag MOUNT_BOOT (set before the FUSE thread starts): the mount is a
  // booted system's /; the root's entries and attributes are kept (requests.c).
  int boot_root;

  // The session's I/O: request counts, directory handles (requests.h).
  requests_t requests;
} fuse_thread_t;

// The mount the calling libfuse thread serves.
fuse_thread_t * current_mount (void);

// libfuse's init: sets the connection up, then tells JS (which resolves the mount).
void * session_init (struct fuse_conn_info *conn, struct fuse_config *cfg);

// mount(mnt, options, thread, dispatch, implemented, attrCacheMax, mountFlags, layerDir)
napi_value fuse_native_mount (napi_env env, napi_callback_info info);
// unmount(thread), once the kernel's mount is gone (fusermount -uz).
napi_value fuse_native_unmount (napi_env env, napi_callback_info info);
