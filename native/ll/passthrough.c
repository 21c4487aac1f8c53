// FUSE passthrough for a root's files (Linux 6.9+, protocol 7.40): the reply to an OPEN or
// CREATE names a backing file registered with FUSE_DEV_IOC_BACKING_OPEN, and from then on the
// kernel reads and writes that file itself. For a layer file that is the layer's own file: what
// a program sees is its behaviour on its disk (sizes, times, setuid clearing). For a commit file
// of a graft (below) it is the checked object file. No READ or WRITE request reaches this
// process for them, and no byte is copied through it.
//
// bookworm's libfuse 3.14 predates it (3.17 has fuse_passthrough_open), so the protocol's new
// fields are written into the raw replies by the session's I/O hook (session.c): FUSE_PASSTHROUGH
// and max_stack_depth into INIT's, FOPEN_PASSTHROUGH and the backing id into OPEN's and CREATE's.
// bench/passthrough/ptfs.c measured the same for reads.
//
// The kernel keeps one I/O mode per inode: while a handle of it passes through, every other open
// of it must too, with the same backing file; while one is cached (a file still the commit's,
// read by node or from its checked object), none may pass through. Either mistake fails the
// open with EIO. So the opens of each node are counted here by mode, and an open passes
// through only when that keeps to the rule; the counts drop at RELEASE, after the kernel's, so
// they never claim less than the kernel has.
#include "ll.h"
#include "fuse-passthrough-proto.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fuse.h>

#define BUCKETS 4096

struct opens { struct opens *next; uint64_t node; int passing, cached; int32_t backing; dev_t dev; ino_t ino; };

static struct opens *buckets[BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
// The backing id of the OPEN or CREATE reply this thread is sending (ll_pt_reply_*).
static __thread int32_t sending;

static struct opens *find(uint64_t node, int add) {
  struct opens **b = &buckets[node % BUCKETS], *o;
  for (o = *b; o != NULL; o = o->next) if (o->node == node) return o;
  if (add && (o = calloc(1, sizeof *o)) != NULL) { o->node = node; o->next = *b; *b = o; }
  return o;
}

static void forget_if_closed(struct opens *o) {
  if (o->passing > 0 || o->cached > 0) return;
  struct opens **p = &buckets[o->node % BUCKETS];
  while (*p != o) p = &(*p)->next;
  *p = o->next;
  free(o);
}

void ll_pt_init_request(struct ll_fs *fs, const void *buf, size_t n) {
  const struct fuse_in_header *in = buf;
  if (n < sizeof *in + 5 * sizeof(uint32_t) || in->opcode != FUSE_INIT) return;
  const uint32_t *init = (const uint32_t *) (in + 1); // major, minor, max_readahead, flags, flags2
  fs->pt_init_unique = in->unique;
  fs->pt_offered = (init[3] & PT_FUSE_INIT_EXT) && (init[4] & PT_FUSE_PASSTHROUGH_FLAGS2);
}

void ll_pt_patch_reply(struct ll_fs *fs, struct iovec *iov, int count) {
  if (count < 2 || iov[0].iov_len != sizeof(struct fuse_out_header)) return;
  const struct fuse_out_header *out = iov[0].iov_base;
  if (out->error != 0) return;
  if (out->unique == fs->pt_init_unique && fs->rw && !fs->pt_unwanted && fs->pt_offered && iov[1].iov_len >= sizeof(struct pt_init_out)) {
    struct pt_init_out *init = iov[1].iov_base;
    init->flags |= PT_FUSE_INIT_EXT;
    init->flags2 |= PT_FUSE_PASSTHROUGH_FLAGS2;
    init->max_stack_depth = 1; // a layer lives on a plain (unstacked) file system
    fs->pt = 1;
  } else if (sending > 0 && iov[1].iov_len >= sizeof(struct pt_open_out)) {
    // OPEN's reply is the open_out alone; CREATE's the entry, then the open_out.
    struct pt_open_out *o = (struct pt_open_out *) ((char *) iov[1].iov_base + iov[1].iov_len - sizeof *o);
    o->open_flags |= PT_FOPEN_PASSTHROUGH;
    o->backing_id = sending;
  }
}

int32_t ll_pt_open(struct ll_fs *fs, uint64_t node, int fd) {
  pthread_mutex_lock(&lock);
  struct opens *o = find(node, 1);
  int32_t id = 0;
  if (o == NULL) { pthread_mutex_unlock(&lock); return 0; }
  struct stat st;
  if (fd >= 0 && fs->pt && o->cached == 0 && fstat(fd, &st) == 0) {
    if (o->passing == 0) {
      struct pt_backing_map map = { .fd = fd };
      int got = ioctl(fuse_session_fd(fs->se), PT_BACKING_OPEN, &map);
      if (got > 0) { o->backing = got; o->dev = st.st_dev; o->ino = st.st_ino; }
    }
    // Another file under the same node (JS gives a new node when a reload replaces an open
    // file: serve-root.ts) would have the kernel write into the backing one: not passed
    // through, the open fails with EIO instead.
    if (o->backing > 0 && o->dev == st.st_dev && o->ino == st.st_ino) { o->passing++; id = o->backing; }
  } else if (fd < 0 && o->passing > 0) {
    // An open to read the commit's file (by node, or its object), decided while another open
    // copied the file up and passed it through: the inode is the layer file's now, and a cached
    // open of it would fail with EIO. It reads the layer file too, the file the name holds.
    o->passing++;
    id = o->backing;
  }
  if (id == 0) o->cached++;
  pthread_mutex_unlock(&lock);
  return id;
}

void ll_pt_release(struct ll_fs *fs, uint64_t node, int passed) {
  pthread_mutex_lock(&lock);
  struct opens *o = find(node, 0);
  if (o != NULL) {
    if (!passed && o->cached > 0) o->cached--;
    else if (passed && o->passing > 0 && --o->passing == 0) {
      // The kernel holds the backing file of each handle it opened with it.
      ioctl(fuse_session_fd(fs->se), PT_BACKING_CLOSE, &o->backing);
      o->backing = 0;
    }
    forget_if_closed(o);
  }
  pthread_mutex_unlock(&lock);
}

// Replies that pass through: no other open flag is allowed beside FOPEN_PASSTHROUGH but those
// of FOPEN_PASSTHROUGH_MASK (noflush, direct_io), so the kernel keeps no pages of its own.
static void passing(struct fuse_file_info *fi, int32_t backing) {
  if (backing > 0) { fi->keep_cache = 0; fi->fh |= LL_FH_PASSED; }
  sending = backing;
}

int ll_pt_reply_open(fuse_req_t req, struct fuse_file_info *fi, int32_t backing) {
  passing(fi, backing);
  int rc = fuse_reply_open(req, fi);
  sending = 0;
  return rc;
}

int ll_pt_reply_create(fuse_req_t req, const struct fuse_entry_param *e, struct fuse_file_info *fi, int32_t backing) {
  passing(fi, backing);
  int rc = fuse_reply_create(req, e, fi);
  sending = 0;
  return rc;
}

// A graft's file (a commit file on a root's mount, where nothing takes writes: ops.c answers a
// write-open EROFS) passes through to its checked object file, in a bare-user or bare
// repository the file's bytes as they are. A root's mount gets an OPEN per file anyway; what
// passing through saves is every READ (and the copy of its bytes through this process).
void ll_pt_open_commit(fuse_req_t req, struct ll_fs *fs, fuse_ino_t ino, struct ll_node *n) {
  int fd = ll_open_content(fs, n);
  // Not checked yet: JS checks it first, as for a first read (bridge.c: CALL_OPEN_CONTENT).
  if (fd < 0) ll_call_js(fs, CALL_OPEN_CONTENT, req, n, 0, 0);
  else ll_pt_answer_commit_open(req, fs, ino, fd);
}

void ll_pt_answer_commit_open(fuse_req_t req, struct ll_fs *fs, fuse_ino_t ino, int fd) {
  struct fuse_file_info fi = { .noflush = 1 };
  int32_t backing = ll_pt_open(fs, ino, fd);
  // Cached (the backing could not be registered, or fd < 0): the kernel keeps its pages.
  fi.keep_cache = backing == 0;
  if (ll_pt_reply_open(req, &fi, backing) != 0) ll_pt_release(fs, ino, backing > 0);
  if (fd >= 0) close(fd);
}
