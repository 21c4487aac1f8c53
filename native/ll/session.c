// The session: mount, the loop thread, request counts, and what happens when the mount goes.
#include "ll.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/fuse.h>


// Every request passes here: counted by opcode for requestCounts() (logged when a mount stops).
static ssize_t io_read(int fd, void *buf, size_t size, void *userdata) {
  struct ll_fs *fs = userdata;
  ssize_t n = read(fd, buf, size);
  if (n >= (ssize_t) sizeof(struct fuse_in_header)) {
    uint32_t op = ((const struct fuse_in_header *) buf)->opcode;
    __atomic_add_fetch(&fs->requests[op < LL_OPCODES ? op : 0], 1, __ATOMIC_RELAXED);
    if (op == FUSE_INIT) ll_pt_init_request(fs, buf, (size_t) n);
  }
  return n;
}

// Every reply passes here: passthrough.c adds what libfuse 3.14 cannot write.
static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata) {
  ll_pt_patch_reply(userdata, iov, count);
  return writev(fd, iov, count);
}

static const struct fuse_custom_io custom_io = { .read = io_read, .writev = io_writev };

static void *loop(void *data) {
  struct ll_fs *fs = data;
  struct fuse_loop_config *cfg = fuse_loop_cfg_create();
  if (cfg != NULL) {
    fuse_session_loop_mt(fs->se, cfg);
    fuse_loop_cfg_destroy(cfg);
  }
  // JS may still reply to requests of this session: from now on those replies only free
  // their requests, and the session itself is never destroyed (one per daemon).
  pthread_mutex_lock(&fs->reply_lock);
  fs->stopped = 1;
  pthread_mutex_unlock(&fs->reply_lock);
  fuse_session_unmount(fs->se);
  return NULL;
}

// Mounts and starts serving; the kernel's INIT reaches JS through the bridge.
int ll_session_start(struct ll_fs *fs, const char *mountpoint, char **opts, int nopts, char *err, size_t errlen) {
  char **argv = calloc((size_t) nopts * 2 + 2, sizeof(char *));
  if (argv == NULL) { snprintf(err, errlen, "out of memory"); return -1; }
  int argc = 0;
  argv[argc++] = "hacktree";
  // Reads of 1 MiB need the kernel told at mount time too (ll_init sets the connection's).
  argv[argc++] = "-omax_read=1048576";
  for (int i = 0; i < nopts; i++) {
    if (opts[i] == NULL || opts[i][0] == '\0') continue; // taken off by bridge.c (hacktree's own)
    argv[argc++] = "-o";
    argv[argc++] = opts[i];
  }
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
  fs->se = fs->rw ? fuse_session_new(&args, &ll_rw_ops, sizeof ll_rw_ops, fs) : fuse_session_new(&args, &ll_ops, sizeof ll_ops, fs);
  fuse_opt_free_args(&args);
  free(argv);
  if (fs->se == NULL) { snprintf(err, errlen, "fuse_session_new failed (bad mount option?)"); return -1; }
  if (fuse_session_mount(fs->se, mountpoint) != 0) {
    fuse_session_destroy(fs->se);
    snprintf(err, errlen, "cannot mount at %s", mountpoint);
    return -1;
  }
  if (fuse_session_custom_io(fs->se, &custom_io, fuse_session_fd(fs->se)) != 0) {
    fuse_session_unmount(fs->se);
    fuse_session_destroy(fs->se);
    snprintf(err, errlen, "fuse_session_custom_io failed");
    return -1;
  }
  int rc = pthread_create(&fs->loop, NULL, loop, fs);
  if (rc != 0) {
    fuse_session_unmount(fs->se);
    fuse_session_destroy(fs->se);
    snprintf(err, errlen, "pthread_create: %s", strerror(rc));
    return -1;
  }
  pthread_detach(fs->loop);
  return 0;
}
