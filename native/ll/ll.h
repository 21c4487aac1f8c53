// hacktree_ll: serves a read-only commit on libfuse 3's low-level API. A commit never
// changes, so whatever JS has told the addon once (a directory's listing with each entry's
// attributes, symlink target and xattrs; which checked object file holds a file's bytes) is
// answered again on libfuse's threads without entering JS. JS is asked (bridge.c) only to
// list a directory the first time, to read a file whose content it has not published, and
// for statfs; it may give listings ahead of the kernel's asking (offerList), and C reads
// ahead the object files it is told of (ahead.c).
//
// A root (commit + writable layer) is served by the same session and bridge with other ops
// (rw_ops.c): its node table lives in JS (src/fuse/ll/nodes.ts), which maps node ids to paths
// for the path-based Backend; C keeps only the fast paths (reads and writes on the layer's
// file descriptors and on checked object files) and tells the kernel of changes (notify.c).
// A subtree of a root that nothing can change (no path in it takes writes, the layer holds
// nothing there) is grafted: JS answers its name with a commit node of this table, and from
// there down the commit's ops (ops.c) answer as on a commit's mount (grafts.c).
//
// session.c    mount, the loop thread, INIT, request counts, unmount
// nodes.c      the node table of a commit: listings, hard links, paths
// ops.c        the fuse_lowlevel_ops of a commit
// rw_ops.c     the fuse_lowlevel_ops of a root
// rw_replies.c JS's answers to a root's requests
// facts.c      what C may answer of a root's node (no security.capability, still the commit's)
// handles.c    layer files and directories C answers for through their descriptors
// notify.c     telling the kernel what changed beneath it
// ahead.c      reading object files ahead of a cold walk
// reap.c       waiting for a child libuv did not spawn (a mount's first daemon)
// check.c      checking an object file against its checksum, off the event loop
// read-meta.c  reading and checking a metadata object, off the event loop
// jobs.c       what those two jobs share
// grafts.c     a root's untouched subtrees, served as a commit's
// passthrough.c a root's files read (and its layer's written) by the kernel itself (FUSE passthrough)
// fuse-passthrough-proto.h  the 7.40 protocol fields libfuse 3.14 and its headers lack
// bridge.c     calls into JS and JS's replies (N-API)
#ifndef HACKTREE_LL_H
#define HACKTREE_LL_H

#define FUSE_USE_VERSION 312
#define _GNU_SOURCE
#include <fuse_lowlevel.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

/** Entries, attributes and negative lookups are kept by the kernel this long: a commit never changes. */
#define LL_FOREVER 86400.0
/** What the layer holds is kept by the kernel this long (src/fuse/ll/serve-root.ts LAYER_TIMEOUT). */
#define LL_LAYER_TIMEOUT 1.0
/** Reads of up to 1 MiB per request; session.c passes the matching max_read= option. */
#define LL_MAX_REQUEST (1u << 20)
#define LL_OPCODES 64
/**
 * A commit node's id for the kernel is its address with this bit set: a root's ops tell it
 * from JS's node ids (small counters), and it stays exact in a double (user addresses are
 * below 2^47).
 */
#define LL_COMMIT_TAG (1ULL << 52)

/** What JS said of a path; times in ms since the epoch. */
struct ll_attr {
  uint64_t ino, size, blocks;
  int64_t atime_ms, mtime_ms, ctime_ms;
  uint32_t mode, nlink, uid, gid, rdev, blksize;
};

struct ll_node;

struct ll_entry {
  const char *name;       // in the listing's name block
  struct ll_node *node;
};

/** A directory as JS listed it: immutable once published (node->dir). */
struct ll_dir {
  uint32_t count, mask;   // mask + 1 slots in `slots`, a power of two above 2 * count
  uint32_t *slots;        // open addressing by name hash: index + 1 into entries, 0 empty
  char *names;
  struct ll_entry entries[];
};

enum ll_list_state { LIST_NONE, LIST_PENDING, LIST_DONE };

/** A request waiting for its directory's listing. */
struct ll_waiter {
  struct ll_waiter *next;
  fuse_req_t req;
  int kind;               // WAIT_LOOKUP, WAIT_READDIR, WAIT_READDIRPLUS
  size_t size;
  off_t off;
  char name[];
};
enum { WAIT_LOOKUP, WAIT_READDIR, WAIT_READDIRPLUS };

struct ll_node {
  struct ll_attr attr;
  // The name the node was first listed under: its path for JS (any name of a hard link reads the same).
  struct ll_node *parent;
  const char *name;
  struct ll_node *link_next;  // chain in the hard-link table
  uint64_t nlookup;           // atomic: what the kernel holds (entry replies minus FORGETs)
  char *symlink;              // target, for a symlink
  char *xattrs;               // (u32 name length, u32 value length, name, value)*
  uint32_t xattrs_len;
  // Under fs->lock:
  uint8_t list_state;
  uint8_t ahead;              // listed ahead by JS (offerList), not yet asked for by the kernel
  struct ll_dir *dir;
  struct ll_waiter *waiters;
  char *content;              // the checked object file of a regular file; set once, never freed
  uint32_t gen;               // fs->gen when listed: a root's reload starts a new commit tree
};

struct ll_fs {
  struct fuse_session *se;
  pthread_t loop;
  char *mountpoint;
  struct ll_node root;
  pthread_mutex_t lock;
  struct ll_node *links[4096];   // regular files with several names, by st_ino (under lock)
  napi_threadsafe_function tsfn;
  // JS replies on the event loop; the loop thread takes this before the session's fd goes away.
  pthread_mutex_t reply_lock;
  int stopped;                   // under reply_lock: the session no longer takes replies
  int no_open, no_opendir;       // the kernel opens files/directories itself after ENOSYS
  uint64_t requests[LL_OPCODES]; // atomic: requests the kernel sent, by opcode
  int rw;                        // a root: rw_ops, node table in JS
  // A booted system's / (mount -o boot; set by JS before it answers anything): what C answers
  // of a layer directory (attributes, names not there) is kept by the kernel LL_FOREVER, as
  // JS's answers are (src/fuse/ll/serve-root.ts bootRoot says why).
  int boot;
  uint32_t gen;                  // under lock: the commit tree's generation (grafts.c)
  // FUSE passthrough of a root's files (passthrough.c): the kernel offered it in INIT
  // (whose unique is kept to find its reply), -o nopassthrough, and whether it is on.
  int pt_offered, pt_unwanted, pt;
  uint64_t pt_init_unique;
};

/** A file handle (fi->fh) of a root: fd + 1 in the low 32 bits, and these flags (rw_ops.c). */
#define LL_FH_CONTENT (1ULL << 32) // the descriptor is a commit file's checked object
#define LL_FH_PASSED (1ULL << 33)  // the kernel reads and writes its backing file itself

// nodes.c
struct ll_node *ll_node_of(struct ll_fs *fs, fuse_ino_t ino);
/** The kernel's id of a commit node. */
fuse_ino_t ll_id_of(struct ll_fs *fs, const struct ll_node *n);
static inline int ll_is_commit_id(fuse_ino_t ino) { return (ino & LL_COMMIT_TAG) != 0; }
struct ll_dir *ll_parse_listing(struct ll_fs *fs, struct ll_node *dir, const uint8_t *buf, size_t len);
int ll_parse_attrs(const uint8_t **p, const uint8_t *end, struct ll_node *n);
const struct ll_entry *ll_dir_find(const struct ll_dir *d, const char *name);
char *ll_path_of(const struct ll_node *n);
struct ll_node *ll_node_at(struct ll_fs *fs, const char *path);
void ll_stat_of(const struct ll_node *n, struct stat *st);

// ops.c
extern const struct fuse_lowlevel_ops ll_ops;
void ll_answer_waiter(struct ll_fs *fs, struct ll_node *dir, struct ll_waiter *w, int err);

// bridge.c: calls into JS (from any thread, never blocking)
// CALL_VISIT: the kernel asked for a listing JS gave ahead (no reply: JS reads on ahead of it).
// CALL_OPEN_CONTENT: a root's mount opens a commit file whose object is not checked yet, to
// pass it through (passthrough.c): JS checks and publishes it as for a read, then answers with
// replyReadContent, or with replyRead (an error, or nothing published: the open is cached).
enum { CALL_INIT, CALL_LIST, CALL_READ, CALL_STATFS, CALL_VISIT, CALL_OPEN_CONTENT };
// A root's requests (src/fuse/ll/binding.ts RwCall says what each carries).
enum {
  CALL_RW = 16,
  CALL_LOOKUP = CALL_RW, CALL_FORGET, CALL_GETATTR, CALL_SETATTR, CALL_READLINK, CALL_MKNOD, CALL_MKDIR,
  CALL_UNLINK, CALL_RMDIR, CALL_SYMLINK, CALL_RENAME, CALL_LINK, CALL_OPEN, CALL_RWREAD, CALL_OPENDIR,
  CALL_READDIR, CALL_RELEASEDIR, CALL_GETXATTR, CALL_LISTXATTR, CALL_SETXATTR, CALL_REMOVEXATTR, CALL_CREATE,
  CALL_RELEASE,
};
/** Numbers a root's request carries (binding.ts Num). */
enum { NUM_MODE, NUM_RDEV, NUM_SIZE, NUM_OFF, NUM_UID, NUM_GID, NUM_PID, NUM_UMASK, NUM_FLAGS, NUM_FD, NUM_TO_SET,
  NUM_ATIME, NUM_MTIME, NUM_SET_UID, NUM_SET_GID, NUM_SET_SIZE, NUM_SET_MODE, RW_NUMS };
struct ll_call {
  struct ll_fs *fs;
  int kind;
  fuse_req_t req;          // READ, STATFS, every root request
  struct ll_node *node;    // LIST, READ
  size_t size;
  off_t off;
  // A root's request: node ids, names, bytes (setxattr), numbers.
  uint64_t ino, ino2;
  char *s1, *s2;
  void *data;
  size_t data_len;
  double num[RW_NUMS];
  uint64_t generation;     // ll_fact_generation() when the request came
};
void ll_call_js(struct ll_fs *fs, int kind, fuse_req_t req, struct ll_node *node, size_t size, off_t off);
/** Queues a prepared call (a root's request); on failure answers EIO and frees it. */
void ll_call_js_rw(struct ll_call *c);
void ll_free_call(struct ll_call *c);
struct ll_call *ll_reply_begin_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
bool ll_reply_begin(struct ll_call *c);
/** The arguments of a call on a mount (the mount first, as mount() handed it out): its fs, or NULL. */
struct ll_fs *ll_mount_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);

// ahead.c
/** Has the kernel read `file` into the page cache soon, on a thread of its own (never blocks). */
void ll_read_ahead(const char *file);

// ops.c: a commit's regular file read from its published object file (the file opened, or -1 when none is).
int ll_open_content(struct ll_fs *fs, struct ll_node *n);
void ll_reply_content(fuse_req_t req, int fd, size_t size, off_t off);

// rw_ops.c
extern const struct fuse_lowlevel_ops ll_rw_ops;
/** (event loop) The JS arguments of a root's request: handler(kind, id, ino, ino2, s1, s2, nums, data). */
void ll_rw_args(napi_env env, struct ll_call *c, napi_value argv[8]);

// handles.c: layer files whose metadata C changes on their descriptor
int ll_meta_set(uint64_t node, int fd, uint64_t ino);
void ll_meta_clear(uint64_t node, int fd);
int ll_meta_getattr(fuse_req_t req, uint64_t node);
int ll_meta_setattr(fuse_req_t req, uint64_t node, const struct stat *attr, int to_set);
void ll_dir_set(uint64_t node, int fd, uint64_t ino, int layer_only);
void ll_dir_drop(uint64_t node);
int ll_dir_getattr(fuse_req_t req, uint64_t node);
int ll_dir_lookup_missing(fuse_req_t req, uint64_t node, const char *name);

// facts.c: what C may answer of a root's node without JS
enum { FACT_NO_CAPS = 1, FACT_STABLE = 2 };
int ll_fact_has(uint64_t node, int flag);
/** Only if nothing was dropped since `generation` (ll_fact_generation() when the request came). */
void ll_fact_add(uint64_t node, int flag, const struct stat *st, uint64_t generation);
int ll_fact_stat(uint64_t node, struct stat *st);
void ll_fact_drop_some(uint64_t node, int flags);
uint64_t ll_fact_generation(void);
void ll_fact_set_content(uint64_t node, const char *file);
int ll_fact_open_content(uint64_t node);
void ll_fact_drop(uint64_t node);
int ll_is_caps(const char *name);

// Exported to JS: rw_replies.c's table of a root's replies; notify(), reap(), checkObject(), readMeta(); grafts.c's
napi_value ll_rw_exports(napi_env env, napi_value exports);
napi_value ll_js_graft(napi_env env, napi_callback_info info);
napi_value ll_js_commit_path(napi_env env, napi_callback_info info);
napi_value ll_js_new_commit(napi_env env, napi_callback_info info);
napi_value ll_js_notify(napi_env env, napi_callback_info info);
napi_value ll_js_reap(napi_env env, napi_callback_info info);
napi_value ll_js_check_object(napi_env env, napi_callback_info info);
napi_value ll_js_read_meta(napi_env env, napi_callback_info info);

// jobs.c: what check.c's and read-meta.c's jobs on libuv's pool share
/** The head of a job's struct (its first member). */
struct ll_job {
  napi_async_work work;
  napi_ref done;          // the JS callback
  char *file;             // the object file
};
/** (event loop) A zeroed job of `size` bytes from a call's `argc` arguments, argv[0] its file; NULL (and a JS exception). */
void *ll_job_new(napi_env env, napi_callback_info info, size_t size, size_t argc, napi_value *argv);
/** Queues the job with its callback `done`: 0, or -1 (and a JS exception; the job is still the caller's). */
int ll_job_start(napi_env env, struct ll_job *j, napi_value done, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete);
/** Frees a job that was not started (what it holds besides its head, the caller frees first). */
void ll_job_discard(napi_env env, struct ll_job *j);
/** (event loop) Calls the job's callback with argv, and frees the job (its own fields first freed by the caller). */
void ll_job_finish(napi_env env, struct ll_job *j, size_t argc, napi_value *argv);
/** (event loop) The object's checksum argument `v` (a 32-byte Buffer) into `out`: 0, or -1 (and a JS exception). */
int ll_job_checksum(napi_env env, napi_value v, unsigned char out[32]);
/** An object file opened to read, its atime left alone where the caller may ask so. */
int ll_open_object(const char *file);
/** In an exported function with a `fail:` label: a failed N-API call throws and goes there. */
#define LL_CHECK_NAPI(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); goto fail; } } while (0)

// passthrough.c: a root's files read (and its layer's written) by the kernel itself
void ll_pt_init_request(struct ll_fs *fs, const void *buf, size_t n);
void ll_pt_patch_reply(struct ll_fs *fs, struct iovec *iov, int count);
/** Counts an open of `node` (the file it may pass through to, or -1); its backing id if it passes through, else 0. */
int32_t ll_pt_open(struct ll_fs *fs, uint64_t node, int fd);
void ll_pt_release(struct ll_fs *fs, uint64_t node, int passed);
int ll_pt_reply_open(fuse_req_t req, struct fuse_file_info *fi, int32_t backing);
int ll_pt_reply_create(fuse_req_t req, const struct fuse_entry_param *e, struct fuse_file_info *fi, int32_t backing);
/** A commit file opened on a root's mount (ops.c): passed through to its checked object file, once JS has checked it. */
void ll_pt_open_commit(fuse_req_t req, struct ll_fs *fs, fuse_ino_t ino, struct ll_node *n);
/** Answers such an open: passing through to `fd` (its checked object, closed here), or cached when fd < 0. */
void ll_pt_answer_commit_open(fuse_req_t req, struct ll_fs *fs, fuse_ino_t ino, int fd);

// session.c
int ll_session_start(struct ll_fs *fs, const char *mountpoint, char **opts, int nopts, char *err, size_t errlen);

#endif
