// A root's untouched subtrees. Below a directory where no path takes writes and the layer
// holds nothing (JS decides: src/fuse/ll/serve-root.ts), a root is its commit and stays so
// until the root reloads (a layer reset, an upgrade). JS answers such a directory's name with
// the id of its commit node here, and from there down the kernel's requests are a commit
// mount's (ops.c, through rw_ops.c): listings, attributes, targets and xattrs in C, reads
// from checked object files, the kernel caching it all for a day. JS lists the commit's
// directories above a graft too (offerList), so that a node's path is its parent chain's.
//
// A reload starts a new tree (new_commit): the kernel may still hold nodes of the old one
// (an open file, a cwd), which keep answering what they were; JS has the kernel drop the
// names it gave.
#include "ll.h"
#include <stdlib.h>
#include <string.h>

// graft(mount, path) → the kernel's id of the commit directory at `path` (its parents listed), or 0.
napi_value ll_js_graft(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  struct ll_fs *fs = ll_mount_args(env, info, 2, argv);
  char path[4096];
  size_t len = 0;
  double id = 0;
  if (fs != NULL && napi_get_value_string_utf8(env, argv[1], path, sizeof path, &len) == napi_ok && len < sizeof path - 1) {
    pthread_mutex_lock(&fs->lock);
    struct ll_node *n = ll_node_at(fs, path);
    if (n != NULL && n != &fs->root && S_ISDIR(n->attr.mode) && ((uintptr_t) n >> 52) == 0) id = (double) ll_id_of(fs, n);
    pthread_mutex_unlock(&fs->lock);
  }
  napi_create_double(env, id, &result);
  return result;
}

// commitPath(mount, id) → the path of a commit node (a request of the kernel's named it), or null for JS's ids.
napi_value ll_js_commit_path(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  struct ll_fs *fs = ll_mount_args(env, info, 2, argv);
  double id = 0;
  napi_get_value_double(env, argv[1], &id);
  napi_get_null(env, &result);
  if (fs == NULL || !ll_is_commit_id((fuse_ino_t) id)) return result;
  char *path = ll_path_of(ll_node_of(fs, (fuse_ino_t) id));
  if (path != NULL) napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &result);
  free(path);
  return result;
}

// newCommit(mount): the commit under the root may be another from now on; its tree is listed
// anew. (Old nodes stay allocated: the kernel may use their ids until it forgets them.)
napi_value ll_js_new_commit(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct ll_fs *fs = ll_mount_args(env, info, 1, argv);
  if (fs == NULL) return NULL;
  pthread_mutex_lock(&fs->lock);
  fs->root.dir = NULL;
  fs->root.list_state = LIST_NONE;
  fs->root.ahead = 0;
  memset(fs->links, 0, sizeof fs->links);
  __atomic_add_fetch(&fs->gen, 1, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&fs->lock);
  return NULL;
}
