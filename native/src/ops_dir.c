// Directories: opendir, readdir, releasedir, fsyncdir, mkdir, rmdir (see ops.h).
#include <string.h>
#include <errno.h>

#include "ops.h"
#include "session.h"
#include "dir_listing.h"
#include "convert.h"

int ops_opendir (const char *path, struct fuse_file_info *info) {
  fuse_thread_t *ft = current_mount();
  // The binding's own open of a directory (requests.h): JS never hears of it.
  if (requests_own()) {
    info->fh = 0;
    return 0;
  }
  // Frozen: the kernel answers every later opendir itself, listings cached (no_opendir).
  if (ft->no_opendir) return -ENOSYS;
  if (!ft->bridge.implemented[OP_OPENDIR]) return 0;
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->info = info;
  return bridge_call(l, OP_OPENDIR);
}

static void args_opendir (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  uint32_arg(env, l->info != NULL ? (uint32_t) l->info->flags : 0, &argv[1]);
}

const bridge_op_t bridge_opendir = { "opendir", 2, args_opendir, reply_handle };

int ops_readdir (const char *path, void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *info, enum fuse_readdir_flags flags) {
  fuse_thread_t *ft = current_mount();
  uint32_t room = requests_take_readdir_room();
  // Listed by JS already: fill it here, without the round trip.
  readdir_fill_t rf;
  readdir_fill_init(&rf, ft->frozen, buf, filler, offset, flags, room);
  if (dir_listing_fill(&(ft->cache), path, &rf)) return 0;
  fuse_thread_locals_t *l = bridge_locals();
  l->cache_gen = attr_cache_gen(&(ft->cache));
  l->buf = buf;
  l->path = path;
  l->offset = offset;
  l->info = info;
  l->readdir_filler = filler;
  l->readdir_flags = flags;
  l->readdir_room = room;
  return bridge_call(l, OP_READDIR);
}

// JS's answer: (names, stats), stats empty or one statArray per name.
static int reply_readdir (napi_env env, fuse_thread_locals_t *l, int32_t res, napi_value *payload) {
  attr_cache_t *c = &(l->fuse->cache);
  napi_value names = payload[0], stats = payload[1];
  uint32_t names_length = 0, stats_length = 0;
  napi_get_array_length(env, names, &names_length);
  napi_get_array_length(env, stats, &stats_length);
  int with_stats = names_length == stats_length;

  readdir_fill_t rf;
  readdir_fill_init(&rf, l->fuse->frozen, (void *) l->buf, l->readdir_filler, l->offset, l->readdir_flags, l->readdir_room);

  // JS's answer, kept (attrCache) so the next readdir of this path stays here.
  // Every name goes into it, also past the entries this reply has room for.
  dir_listing_builder_t listing;
  dir_listing_begin(c, &listing, res == 0 ? l->path : NULL, names_length, with_stats);

  napi_value raw_name;
  for (uint32_t i = 0; i < names_length && napi_get_element(env, names, i, &raw_name) == napi_ok; i++) {
    char name[1024];
    size_t name_len;
    if (napi_get_value_string_utf8(env, raw_name, name, sizeof(name), &name_len) != napi_ok) {
      napi_throw_error(env, "EINVAL", "Expected string");
      goto fail;
    }
    if (!with_stats) {
      dir_listing_add(&listing, name, name_len, NULL);
      readdir_emit(&rf, i, name, name_len, NULL);
      continue;
    }
    napi_value raw_stat;
    uint32_t *ints;
    napi_get_element(env, stats, i, &raw_stat);
    if (!buffer_value(env, raw_stat, (void **) &ints, NULL)) goto fail;
    struct stat st;
    memset(&st, 0, sizeof(st));
    populate_stat(ints, &st);
    // JS resolved every child to answer this: keep the answers, so the
    // lookups that follow a listing (ls -l, find) never reach JS.
    if (res == 0) attr_cache_put_child(c, l->path, name, name_len, &st, l->cache_gen);
    dir_listing_add(&listing, name, name_len, &st);
    // With READDIRPLUS (frozen mounts) the attributes reach the kernel too.
    readdir_emit(&rf, i, name, name_len, &st);
  }
  dir_listing_end(c, &listing, l->path, 1, l->cache_gen);
  return 0;
fail:
  dir_listing_end(c, &listing, l->path, 0, l->cache_gen);
  return -1;
}

const bridge_op_t bridge_readdir = { "readdir", 1, args_path, reply_readdir };

int ops_releasedir (const char *path, struct fuse_file_info *info) {
  if (requests_own() || !current_mount()->bridge.implemented[OP_RELEASEDIR]) return 0;
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->info = info;
  return bridge_call(l, OP_RELEASEDIR);
}

const bridge_op_t bridge_releasedir = { "releasedir", 2, args_path_fh, NULL };

int ops_fsyncdir (const char *path, int datasync, struct fuse_file_info *info) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->mode = datasync;
  l->info = info;
  return bridge_call(l, OP_FSYNCDIR);
}

const bridge_op_t bridge_fsyncdir = { "fsyncdir", 3, args_fsync, NULL };

int ops_mkdir (const char *path, mode_t mode) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  l->mode = mode;
  return bridge_call(l, OP_MKDIR);
}

static void args_mkdir (napi_env env, fuse_thread_locals_t *l, napi_value *argv) {
  path_arg(env, l->path, &argv[0]);
  uint32_arg(env, l->mode, &argv[1]);
}

const bridge_op_t bridge_mkdir = { "mkdir", 2, args_mkdir, NULL };

int ops_rmdir (const char *path) {
  fuse_thread_locals_t *l = bridge_locals();
  l->path = path;
  return bridge_call(l, OP_RMDIR);
}

const bridge_op_t bridge_rmdir = { "rmdir", 1, args_path, NULL };
