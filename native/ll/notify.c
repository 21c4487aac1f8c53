// Telling the kernel of changes it did not make itself (a layer reset, an upgrade, a name
// that an op changed besides the one it named). The kernel may take a directory's lock to
// apply one, a lock a request waiting for JS can hold: so notifications are sent from a
// worker thread of libuv's pool, never from the event loop or a libfuse thread, and JS
// learns by a promise when the kernel has them all.
#include "ll.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

/** What notify() takes, 4 doubles each (binding.ts Notice): kind, node, parent, name index. */
enum { NOTE_INODE, NOTE_ENTRY, NOTE_DELETE };

struct batch {
  struct ll_fs *fs;
  size_t count;
  double *notes;
  char **names;
  uint32_t nnames;
  napi_async_work work;
  napi_deferred deferred;
};

static void send_all(napi_env env, void *data) {
  struct batch *b = data;
  pthread_mutex_lock(&b->fs->reply_lock);
  int stopped = b->fs->stopped;
  pthread_mutex_unlock(&b->fs->reply_lock);
  if (stopped) return;
  for (size_t i = 0; i < b->count; i++) {
    const double *n = b->notes + i * 4;
    fuse_ino_t node = (fuse_ino_t) n[1], parent = (fuse_ino_t) n[2];
    uint32_t at = (uint32_t) n[3];
    const char *name = at < b->nnames ? b->names[at] : NULL;
    // ENOENT: the kernel no longer knows it, which is as good.
    switch ((int) n[0]) {
      case NOTE_INODE: ll_fact_drop(node); ll_dir_drop(node); fuse_lowlevel_notify_inval_inode(b->fs->se, node, 0, 0); break;
      case NOTE_ENTRY: if (name != NULL) fuse_lowlevel_notify_inval_entry(b->fs->se, parent, name, strlen(name)); break;
      case NOTE_DELETE: if (name != NULL) fuse_lowlevel_notify_delete(b->fs->se, parent, node, name, strlen(name)); break;
    }
  }
}

static void done(napi_env env, napi_status status, void *data) {
  struct batch *b = data;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_resolve_deferred(env, b->deferred, undefined);
  napi_delete_async_work(env, b->work);
  for (uint32_t i = 0; i < b->nnames; i++) free(b->names[i]);
  free(b->names);
  free(b->notes);
  free(b);
}

// notify(mount, notes: Float64Array, names: string[]) → Promise<void>, settled once the kernel has them.
napi_value ll_js_notify(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], promise, name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct batch *b = calloc(1, sizeof *b);
  if (b == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  CHECK(napi_get_value_external(env, argv[0], (void **) &b->fs));
  napi_typedarray_type type;
  size_t len;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL));
  if (type != napi_float64_array) { free(b); napi_throw_type_error(env, NULL, "notes: a Float64Array"); return NULL; }
  b->count = len / 4;
  b->notes = malloc(len * sizeof(double) + 1);
  CHECK(napi_get_array_length(env, argv[2], &b->nnames));
  b->names = calloc(b->nnames + 1, sizeof(char *));
  if (b->notes == NULL || b->names == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  memcpy(b->notes, data, len * sizeof(double));
  for (uint32_t i = 0; i < b->nnames; i++) {
    napi_value v;
    size_t nl = 0;
    napi_get_element(env, argv[2], i, &v);
    napi_get_value_string_utf8(env, v, NULL, 0, &nl);
    b->names[i] = malloc(nl + 1);
    if (b->names[i] != NULL) napi_get_value_string_utf8(env, v, b->names[i], nl + 1, &nl);
  }
  CHECK(napi_create_promise(env, &b->deferred, &promise));
  napi_create_string_utf8(env, "hacktree_notify", NAPI_AUTO_LENGTH, &name);
  CHECK(napi_create_async_work(env, NULL, name, send_all, done, b, &b->work));
  CHECK(napi_queue_async_work(env, b->work));
  return promise;
}

