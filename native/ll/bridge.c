// The bridge to JS: one thread-safe function carries every call (the INIT, a directory to
// list, a read, statfs) to the event loop without blocking libfuse's thread; JS answers each
// call later through a reply function, given the call's id. Replies go to the kernel from
// the event loop, under reply_lock, so none is sent once the session is gone.
#include "ll.h"
#include "opcode-names.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

// Answers every request waiting for `dir`'s listing, once it is published (err 0) or failed.
static void settle_listing(struct ll_fs *fs, struct ll_node *dir, struct ll_dir *d, int err) {
  pthread_mutex_lock(&fs->lock);
  if (d != NULL) { dir->dir = d; dir->list_state = LIST_DONE; }
  else dir->list_state = LIST_NONE; // the next request asks again
  struct ll_waiter *w = dir->waiters;
  dir->waiters = NULL;
  pthread_mutex_unlock(&fs->lock);
  pthread_mutex_lock(&fs->reply_lock);
  while (w != NULL) {
    struct ll_waiter *next = w->next;
    if (fs->stopped) fuse_reply_none(w->req);
    else ll_answer_waiter(fs, dir, w, d != NULL ? 0 : err);
    free(w);
    w = next;
  }
  pthread_mutex_unlock(&fs->reply_lock);
}

void ll_call_js(struct ll_fs *fs, int kind, fuse_req_t req, struct ll_node *node, size_t size, off_t off) {
  struct ll_call *c = malloc(sizeof *c);
  if (c != NULL) {
    *c = (struct ll_call) { .fs = fs, .kind = kind, .req = req, .node = node, .size = size, .off = off };
    if (napi_call_threadsafe_function(fs->tsfn, c, napi_tsfn_nonblocking) == napi_ok) return;
    free(c);
  }
  if (kind == CALL_LIST) settle_listing(fs, node, NULL, EIO);
  else if (req != NULL) fuse_reply_err(req, EIO);
  // (a lost CALL_VISIT only means no listing ahead below that directory)
}

void ll_free_call(struct ll_call *c) {
  free(c->s1);
  free(c->s2);
  free(c->data);
  free(c);
}

void ll_call_js_rw(struct ll_call *c) {
  if (napi_call_threadsafe_function(c->fs->tsfn, c, napi_tsfn_nonblocking) == napi_ok) return;
  if (c->kind == CALL_RELEASE) close((int) c->num[NUM_FD]);
  else if (c->kind != CALL_FORGET) fuse_reply_err(c->req, EIO);
  ll_free_call(c);
}

// (event loop) handler(kind, id, path, size, offset); a root's: handler(kind, id, ino, ino2, s1, s2, nums, data)
static void call_js(napi_env env, napi_value fn, void *context, void *data) {
  (void) context;
  struct ll_call *c = data;
  if (env == NULL) {
    if (c->kind == CALL_RELEASE) close((int) c->num[NUM_FD]);
    else if (c->kind >= CALL_RW && c->kind != CALL_FORGET) fuse_reply_err(c->req, EIO);
    ll_free_call(c);
    return;
  }
  if (c->kind >= CALL_RW) {
    napi_value argv[8], undefined;
    napi_get_undefined(env, &undefined);
    ll_rw_args(env, c, argv);
    // FORGET and RELEASE take no answer: their call is done once JS has it.
    if (c->kind == CALL_FORGET || c->kind == CALL_RELEASE) ll_free_call(c);
    napi_call_function(env, undefined, fn, 8, argv, NULL);
    return;
  }
  napi_value argv[5], undefined;
  napi_get_undefined(env, &undefined);
  napi_create_int32(env, c->kind, &argv[0]);
  napi_create_double(env, (double) (uintptr_t) c, &argv[1]);
  char *path = c->node != NULL ? ll_path_of(c->node) : NULL;
  if (path != NULL) napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &argv[2]);
  else argv[2] = undefined;
  free(path);
  napi_create_double(env, (double) c->size, &argv[3]);
  napi_create_double(env, (double) c->off, &argv[4]);
  if (c->kind == CALL_INIT || c->kind == CALL_VISIT) free(c); // nothing to answer
  napi_call_function(env, undefined, fn, 5, argv, NULL);
}

static struct ll_call *call_arg(napi_env env, napi_value v) {
  double id = 0;
  napi_get_value_double(env, v, &id);
  return (struct ll_call *) (uintptr_t) id;
}

// A reply from JS, (id, value, status): the call it answers, or NULL (and a JS exception).
static struct ll_call *reply_args(napi_env env, napi_callback_info info, napi_value argv[3]) {
  size_t argc = 3;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  return call_arg(env, argv[0]);
}

// Takes the reply lock for an answer to `c`; false (the request freed, the lock released)
// once the session has stopped and takes no answer.
static bool reply_begin(struct ll_call *c) {
  pthread_mutex_lock(&c->fs->reply_lock);
  if (!c->fs->stopped) return true;
  fuse_reply_none(c->req);
  pthread_mutex_unlock(&c->fs->reply_lock);
  return false;
}

bool ll_reply_begin(struct ll_call *c) { return reply_begin(c); }

// A reply's arguments (id first): its call, or NULL (and a JS exception).
struct ll_call *ll_reply_begin_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  for (size_t i = argc; i < want; i++) napi_get_undefined(env, &argv[i]);
  return call_arg(env, argv[0]);
}

static struct ll_fs *fs_arg(napi_env env, napi_value v) {
  void *p = NULL;
  napi_get_value_external(env, v, &p);
  return p;
}

struct ll_fs *ll_mount_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  for (size_t i = argc; i < want; i++) napi_get_undefined(env, &argv[i]);
  return fs_arg(env, argv[0]);
}

// mount(mountpoint, options[], rootRecord | null, handler) → the mount (an external); a root's
// mount (rw_ops.c) when rootRecord is null.
static napi_value js_mount(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char mnt[4096], err[512];
  size_t len;
  CHECK(napi_get_value_string_utf8(env, argv[0], mnt, sizeof mnt, &len));
  uint32_t nopts = 0;
  CHECK(napi_get_array_length(env, argv[1], &nopts));
  void *root = NULL;
  size_t root_len = 0;
  bool has_root = false;
  napi_is_buffer(env, argv[2], &has_root);
  if (has_root) CHECK(napi_get_buffer_info(env, argv[2], &root, &root_len));
  struct ll_fs *fs = calloc(1, sizeof *fs);
  char **opts = calloc(nopts + 1, sizeof(char *));
  if (fs == NULL || opts == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  for (uint32_t i = 0; i < nopts; i++) {
    napi_value o;
    size_t olen = 0;
    napi_get_element(env, argv[1], i, &o);
    napi_get_value_string_utf8(env, o, NULL, 0, &olen);
    opts[i] = malloc(olen + 1);
    if (opts[i] != NULL) napi_get_value_string_utf8(env, o, opts[i], olen + 1, &olen);
    // hacktree's own option, which libfuse would refuse (passthrough.c).
    if (opts[i] != NULL && strcmp(opts[i], "nopassthrough") == 0) { fs->pt_unwanted = 1; opts[i][0] = '\0'; }
  }
  pthread_mutex_init(&fs->lock, NULL);
  pthread_mutex_init(&fs->reply_lock, NULL);
  fs->rw = !has_root;
  // A root's commit tree (grafts.c) starts at a directory JS lists with offerList.
  if (fs->rw) fs->root.attr.mode = S_IFDIR | 0755;
  const uint8_t *p = root;
  int bad = has_root && (ll_parse_attrs(&p, p + root_len, &fs->root) != 0 || !S_ISDIR(fs->root.attr.mode));
  napi_value name;
  napi_create_string_utf8(env, "hacktree_ll", NAPI_AUTO_LENGTH, &name);
  int rc = -1;
  if (bad) snprintf(err, sizeof err, "bad root attributes");
  else if (napi_create_threadsafe_function(env, argv[3], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &fs->tsfn) != napi_ok) snprintf(err, sizeof err, "napi_create_threadsafe_function failed");
  else rc = ll_session_start(fs, mnt, opts, (int) nopts, err, sizeof err);
  for (uint32_t i = 0; i < nopts; i++) free(opts[i]);
  free(opts);
  if (rc != 0) {
    if (!bad && fs->tsfn != NULL) napi_release_threadsafe_function(fs->tsfn, napi_tsfn_abort);
    napi_throw_error(env, NULL, err);
    return NULL; // (fs leaks: nothing else points to it, and a failed mount is rare)
  }
  napi_value ext;
  CHECK(napi_create_external(env, fs, NULL, NULL, &ext));
  return ext;
}

// replyList(id, listing | null, errno)
static napi_value js_reply_list(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct ll_call *c = reply_args(env, info, argv);
  if (c == NULL) return NULL;
  int32_t err = EIO;
  napi_get_value_int32(env, argv[2], &err);
  bool is_buf = false;
  napi_is_buffer(env, argv[1], &is_buf);
  struct ll_dir *d = NULL;
  pthread_mutex_lock(&c->fs->lock);
  // Given ahead meanwhile (offerList): its waiters have their answers.
  int done = c->node->list_state == LIST_DONE;
  pthread_mutex_unlock(&c->fs->lock);
  if (done) { free(c); return NULL; }
  if (is_buf) {
    void *buf;
    size_t len;
    CHECK(napi_get_buffer_info(env, argv[1], &buf, &len));
    pthread_mutex_lock(&c->fs->lock);
    d = ll_parse_listing(c->fs, c->node, buf, len);
    pthread_mutex_unlock(&c->fs->lock);
    if (d == NULL) err = EIO;
  }
  settle_listing(c->fs, c->node, d, err > 0 ? err : EIO);
  free(c);
  return NULL;
}

// offerList(mount, path, listing) → whether it was taken: the listing of a directory the kernel
// has not asked for yet, made ahead of a walk. Taken only for a directory whose parent is
// listed and that has no listing yet; requests already waiting for it are answered with it.
static napi_value js_offer_list(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct ll_fs *fs = fs_arg(env, argv[0]);
  char path[4096];
  size_t plen;
  void *buf;
  size_t len;
  CHECK(napi_get_value_string_utf8(env, argv[1], path, sizeof path, &plen));
  CHECK(napi_get_buffer_info(env, argv[2], &buf, &len));
  struct ll_dir *d = NULL;
  struct ll_node *n = NULL;
  if (plen < sizeof path - 1) {
    pthread_mutex_lock(&fs->lock);
    n = ll_node_at(fs, path);
    if (n != NULL && S_ISDIR(n->attr.mode) && n->list_state != LIST_DONE) {
      d = ll_parse_listing(fs, n, buf, len);
      // Asked for by now (a request waits): the walk is there, nothing to tell JS.
      if (d != NULL && n->list_state == LIST_NONE) n->ahead = 1;
    }
    pthread_mutex_unlock(&fs->lock);
  }
  if (d != NULL) settle_listing(fs, n, d, 0);
  CHECK(napi_get_boolean(env, d != NULL, &result));
  return result;
}

// replyRead(id, bytes | null, n or -errno)
static napi_value js_reply_read(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct ll_call *c = reply_args(env, info, argv);
  if (c == NULL) return NULL;
  int64_t n = -EIO;
  napi_get_value_int64(env, argv[2], &n);
  void *buf = NULL;
  size_t len = 0;
  bool is_buf = false;
  napi_is_buffer(env, argv[1], &is_buf);
  if (is_buf) napi_get_buffer_info(env, argv[1], &buf, &len);
  if (n > (int64_t) len || (n >= 0 && !is_buf)) n = -EIO;
  // An open whose object JS could not publish: cached, read by node as before passthrough.
  if (c->kind == CALL_OPEN_CONTENT && n >= 0) {
    if (reply_begin(c)) {
      ll_pt_answer_commit_open(c->req, c->fs, ll_id_of(c->fs, c->node), -1);
      pthread_mutex_unlock(&c->fs->reply_lock);
    }
    free(c);
    return NULL;
  }
  if (reply_begin(c)) {
    if (n < 0) fuse_reply_err(c->req, (int) -n);
    else fuse_reply_buf(c->req, buf, (size_t) n);
    pthread_mutex_unlock(&c->fs->reply_lock);
  }
  free(c);
  return NULL;
}

// replyReadContent(id) → whether it answered: a read JS has just published the file's checked
// object file for (cacheContent) is read from it here, as the reads after it are; false (the
// call still JS's to answer) when nothing is published.
static napi_value js_reply_read_content(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  struct ll_call *c = reply_args(env, info, argv);
  if (c == NULL) return NULL;
  int fd = ll_open_content(c->fs, c->node);
  if (fd >= 0) {
    if (!reply_begin(c)) close(fd);
    else {
      if (c->kind == CALL_OPEN_CONTENT) ll_pt_answer_commit_open(c->req, c->fs, ll_id_of(c->fs, c->node), fd); // closes fd
      else { ll_reply_content(c->req, fd, c->size, c->off); close(fd); }
      pthread_mutex_unlock(&c->fs->reply_lock);
    }
    free(c);
  }
  CHECK(napi_get_boolean(env, fd >= 0, &result));
  return result;
}

// replyStatfs(id, [bsize, frsize, blocks, bfree, bavail, files, ffree, favail, namemax] | null, errno)
static napi_value js_reply_statfs(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct ll_call *c = reply_args(env, info, argv);
  if (c == NULL) return NULL;
  int32_t err = EIO;
  napi_get_value_int32(env, argv[2], &err);
  bool is_array = false;
  napi_is_array(env, argv[1], &is_array);
  double v[9] = { 0 };
  for (uint32_t i = 0; is_array && i < 9; i++) {
    napi_value e;
    napi_get_element(env, argv[1], i, &e);
    napi_get_value_double(env, e, &v[i]);
  }
  struct statvfs sv = {
    .f_bsize = (unsigned long) v[0], .f_frsize = (unsigned long) v[1], .f_blocks = (fsblkcnt_t) v[2],
    .f_bfree = (fsblkcnt_t) v[3], .f_bavail = (fsblkcnt_t) v[4], .f_files = (fsfilcnt_t) v[5],
    .f_ffree = (fsfilcnt_t) v[6], .f_favail = (fsfilcnt_t) v[7], .f_namemax = (unsigned long) v[8],
  };
  if (reply_begin(c)) {
    if (!is_array) fuse_reply_err(c->req, err > 0 ? err : EIO);
    else fuse_reply_statfs(c->req, &sv);
    pthread_mutex_unlock(&c->fs->reply_lock);
  }
  free(c);
  return NULL;
}

// cacheContent(mount, path, file): the checked object file holding the regular file at path.
static napi_value js_cache_content(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct ll_fs *fs = fs_arg(env, argv[0]);
  char path[4096], file[4096];
  size_t plen, flen;
  CHECK(napi_get_value_string_utf8(env, argv[1], path, sizeof path, &plen));
  CHECK(napi_get_value_string_utf8(env, argv[2], file, sizeof file, &flen));
  if (plen >= sizeof path - 1 || flen >= sizeof file - 1) return NULL; // cut: not that file
  pthread_mutex_lock(&fs->lock);
  struct ll_node *n = ll_node_at(fs, path);
  int fresh = n != NULL && S_ISREG(n->attr.mode) && n->content == NULL;
  if (fresh) n->content = strdup(file);
  pthread_mutex_unlock(&fs->lock);
  // Published ahead of the walk's read of it (JS opened it ahead; unless JS checked it, its
  // bytes are still on the disk).
  if (fresh) ll_read_ahead(file);
  return NULL;
}

// readAhead(file): has the kernel read the file into the page cache, in the background.
static napi_value js_read_ahead(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char file[4096];
  size_t flen;
  CHECK(napi_get_value_string_utf8(env, argv[0], file, sizeof file, &flen));
  if (flen < sizeof file - 1) ll_read_ahead(file);
  return NULL;
}

// requestCounts(mount) → { opcode name: requests }
static napi_value js_request_counts(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct ll_fs *fs = fs_arg(env, argv[0]);
  CHECK(napi_create_object(env, &result));
  for (uint32_t op = 0; op < LL_OPCODES; op++) {
    uint64_t n = __atomic_load_n(&fs->requests[op], __ATOMIC_RELAXED);
    if (n == 0) continue;
    char other[32];
    const char *name = FUSE_OPCODE_NAMES[op];
    if (name == NULL) { snprintf(other, sizeof other, "opcode_%u", op); name = other; }
    napi_value v;
    napi_create_double(env, (double) n, &v);
    napi_set_named_property(env, result, name, v);
  }
  return result;
}

// detach(mount): after the unmount, the event loop need not wait for the kernel any more.
// (The thread-safe function is never released: a libfuse thread may still call it.)
static napi_value js_detach(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_unref_threadsafe_function(env, fs_arg(env, argv[0])->tsfn);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
    { "mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL },
    { "replyList", NULL, js_reply_list, NULL, NULL, NULL, napi_default, NULL },
    { "replyRead", NULL, js_reply_read, NULL, NULL, NULL, napi_default, NULL },
    { "replyReadContent", NULL, js_reply_read_content, NULL, NULL, NULL, napi_default, NULL },
    { "replyStatfs", NULL, js_reply_statfs, NULL, NULL, NULL, napi_default, NULL },
    { "offerList", NULL, js_offer_list, NULL, NULL, NULL, napi_default, NULL },
    { "cacheContent", NULL, js_cache_content, NULL, NULL, NULL, napi_default, NULL },
    { "readAhead", NULL, js_read_ahead, NULL, NULL, NULL, napi_default, NULL },
    { "requestCounts", NULL, js_request_counts, NULL, NULL, NULL, napi_default, NULL },
    { "detach", NULL, js_detach, NULL, NULL, NULL, napi_default, NULL },
    { "notify", NULL, ll_js_notify, NULL, NULL, NULL, napi_default, NULL },
    { "reap", NULL, ll_js_reap, NULL, NULL, NULL, napi_default, NULL },
    { "checkObject", NULL, ll_js_check_object, NULL, NULL, NULL, napi_default, NULL },
    { "graft", NULL, ll_js_graft, NULL, NULL, NULL, napi_default, NULL },
    { "commitPath", NULL, ll_js_commit_path, NULL, NULL, NULL, napi_default, NULL },
    { "newCommit", NULL, ll_js_new_commit, NULL, NULL, NULL, napi_default, NULL },
    { "readMeta", NULL, ll_js_read_meta, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  ll_rw_exports(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
