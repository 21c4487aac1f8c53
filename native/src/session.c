// Mounting, the FUSE thread, init and the options (see session.h).
#include <stdlib.h>
#include <string.h>
#include <napi-macros.h>

#include "session.h"
#include "ops.h"

fuse_thread_t * current_mount (void) {
  return (fuse_thread_t *) fuse_get_context()->private_data;
}

void * session_init (struct fuse_conn_info *conn, struct fuse_config *cfg) {
  fuse_thread_t *ft = current_mount();

  // Options libfuse 2 parsed itself (config_opts_t).
  config_opts_t *o = &(ft->config_opts);
  cfg->use_ino = o->use_ino;
  cfg->readdir_ino = o->readdir_ino;
  cfg->hard_remove = o->hard_remove;
  cfg->direct_io = o->direct_io;
  cfg->intr = o->intr;
  if (o->set_intr_signal) cfg->intr_signal = o->intr_signal;
  // Paths for ops on open files, NULL only once the name is gone: libfuse
  // 2's flag_nullpath_ok. (libfuse 3's nullpath_ok would never compute them.)
  cfg->nullpath_ok = 0;

  // libfuse 3 asks the kernel for these by default; libfuse 2 did not, and
  // the binding keeps libfuse 2's behaviour: the kernel drops setuid bits and
  // asks for security.capability before writes (no HANDLE_KILLPRIV: the ops
  // do neither); flock() is the kernel's (there is no flock op); truncation on
  // open is a separate setattr (no ATOMIC_O_TRUNC); cached pages are dropped
  // only when the attributes time out (no AUTO_INVAL_DATA); no ioctl on
  // directories (there is no ioctl op); no READDIRPLUS but on frozen mounts.
  conn->want &= ~(FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_ATOMIC_O_TRUNC |
                  FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_IOCTL_DIR |
                  FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
  if (ft->frozen) {
    // READDIRPLUS for every READDIR (not only the first of a walk): what it
    // carries is already at hand, and it saves the kernel a LOOKUP per entry.
    if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
    __atomic_store_n(&(ft->no_open), (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0, __ATOMIC_RELEASE);
    __atomic_store_n(&(ft->no_opendir), (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0, __ATOMIC_RELEASE);
  }
  // -o max_write=, readdirplus=... as given, over the defaults above.
  if (ft->conn_opts != NULL) fuse_apply_conn_info_opts(ft->conn_opts, conn);

  bridge_call(bridge_locals(), OP_INIT);
  return ft;
}

static void * fuse_thread_main (void *data) {
  fuse_thread_t *ft = (fuse_thread_t *) data;
  struct fuse_loop_config *config = fuse_loop_cfg_create();
  if (config != NULL) {
    fuse_loop_mt(ft->fuse, config);
    fuse_loop_cfg_destroy(config);
  }

  fuse_unmount(ft->fuse);
  requests_unregister(ft->fuse);
  // (libfuse's state of directories still open for the binding is not freed.)
  requests_drop(ft);
  fuse_destroy(ft->fuse);
  free(ft->conn_opts);
  ft->conn_opts = NULL;
  attr_cache_close(&(ft->cache));

  return NULL;
}

// libfuse 2 options that libfuse 3 moved into struct fuse_config (set in init).
#define CONFIG_OPT(t, p, v) { t, offsetof(config_opts_t, p), v }
static const struct fuse_opt config_opt_spec[] = {
  CONFIG_OPT("use_ino", use_ino, 1),
  CONFIG_OPT("readdir_ino", readdir_ino, 1),
  CONFIG_OPT("hard_remove", hard_remove, 1),
  CONFIG_OPT("direct_io", direct_io, 1),
  CONFIG_OPT("intr", intr, 1),
  CONFIG_OPT("intr_signal=%d", intr_signal, 0),
  CONFIG_OPT("intr_signal=", set_intr_signal, 1),
  FUSE_OPT_END
};

// Makes the libfuse session for `mntopts` ("-oa,b,..." or ""), mounted at `mnt`;
// NULL after throwing. Every option is parsed before anything is mounted.
static struct fuse * session_new (napi_env env, fuse_thread_t *ft, const char *mnt, char *mntopts, const struct fuse_operations *ops) {
  int argc = (strcmp(mntopts, "-o") <= 0) ? 1 : 2;
  char *argv[] = { (char *) "fuse_bindings_dummy", mntopts };
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);

  memset(&(ft->config_opts), 0, sizeof(config_opts_t));
  if (fuse_opt_parse(&args, &(ft->config_opts), config_opt_spec, NULL) == -1) {
    fuse_opt_free_args(&args);
    napi_throw_error(env, "fuse failed", "bad mount options");
    return NULL;
  }
  struct fuse_conn_info_opts *conn_opts = fuse_parse_conn_info_opts(&args);
  if (conn_opts == NULL) {
    fuse_opt_free_args(&args);
    napi_throw_error(env, "fuse failed", "bad mount options");
    return NULL;
  }

  // Parses the remaining options: an unknown one fails it.
  struct fuse *fuse = fuse_new(&args, ops, sizeof(struct fuse_operations), ft);
  fuse_opt_free_args(&args);
  if (fuse == NULL) {
    free(conn_opts);
    napi_throw_error(env, "fuse failed", "fuse_new failed (bad mount option?)");
    return NULL;
  }

  if (fuse_mount(fuse, mnt) != 0) {
    fuse_destroy(fuse);
    free(conn_opts);
    napi_throw_error(env, "fuse failed", "fuse failed");
    return NULL;
  }

  struct fuse_session *se = fuse_get_session(fuse);
  if (!requests_register(fuse, ft) || fuse_session_custom_io(se, &requests_io, fuse_session_fd(se)) != 0) {
    requests_unregister(fuse);
    fuse_unmount(fuse);
    fuse_destroy(fuse);
    free(conn_opts);
    napi_throw_error(env, "fuse failed", "fuse failed (session I/O)");
    return NULL;
  }
  ft->se = se;
  ft->conn_opts = conn_opts;
  return fuse;
}

napi_value fuse_native_mount (napi_env env, napi_callback_info info) {
  NAPI_ARGV(8)
  NAPI_ARGV_UTF8(mnt, 1024, 0)
  NAPI_ARGV_UTF8(mntopts, 1024, 1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 2)
  napi_value dispatch = argv[3];
  NAPI_ARGV_BUFFER_CAST(uint32_t *, implemented, 4)
  NAPI_ARGV_UINT32(attr_cache_max, 5)
  NAPI_ARGV_UINT32(mount_flags, 6)
  NAPI_ARGV_UTF8(layer_dir, PATH_MAX, 7)
  if (ft_len < sizeof(fuse_thread_t) || implemented_len < OP_COUNT * sizeof(uint32_t)) {
    napi_throw_error(env, "fuse failed", "mount: bad thread or implemented buffer");
    return NULL;
  }

  for (int i = 0; i < OP_COUNT; i++) ft->bridge.implemented[i] = implemented[i] ? 1 : 0;
  struct fuse_operations ops;
  ops_fill(&ops, ft->bridge.implemented);
  // Always: it sets the connection up (and tells JS).
  ops.init = session_init;

  struct fuse *fuse = session_new(env, ft, mnt, mntopts, &ops);
  if (fuse == NULL) return NULL;

  strncpy(ft->mnt, mnt, 1024);
  strncpy(ft->mntopts, mntopts, 1024);
  ft->fuse = fuse;
  ft->mounted++;

  if (bridge_start(&(ft->bridge), env, ft, argv[2], dispatch) != 0) {
    napi_throw_error(env, "fuse failed", "fuse failed");
    return NULL;
  }

  // Before the FUSE thread exists, so it sees cache.max without locking.
  attr_cache_init(&(ft->cache), attr_cache_max);
  ft->cache.mutable = (mount_flags & MOUNT_MUTABLE) != 0;
  ft->direct = (mount_flags & MOUNT_DIRECT) != 0;
  size_t layer_len = strlen(layer_dir);
  while (layer_len > 1 && layer_dir[layer_len - 1] == '/') layer_dir[--layer_len] = '\0';
  memcpy(ft->layer, layer_dir, layer_len + 1);
  ft->frozen = (mount_flags & MOUNT_FROZEN) != 0 && (mount_flags & MOUNT_MUTABLE) == 0;
  ft->dir_attrs = (mount_flags & MOUNT_DIR_ATTRS) != 0 && (mount_flags & MOUNT_MUTABLE) != 0;
  ft->boot_root = (mount_flags & MOUNT_BOOT) != 0;
  ft->no_open = 0;
  ft->no_opendir = 0;
  requests_init(&(ft->requests));

  pthread_attr_init(&(ft->attr));
  pthread_create(&(ft->thread), &(ft->attr), fuse_thread_main, ft);

  return NULL;
}

napi_value fuse_native_unmount (napi_env env, napi_callback_info info) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  if (ft_len < sizeof(fuse_thread_t) || ft->mounted <= 0) return NULL;

  // The FUSE thread is not joined: it ends when libfuse's loop sees the
  // session end, which a lazy unmount (fusermount -uz) may delay.
  bridge_stop(&(ft->bridge));
  ft->mounted--;
  // A lazy unmount may leave the FUSE thread serving a little longer: it
  // then misses and asks JS, as without the cache.
  attr_cache_close(&(ft->cache));

  return NULL;
}
