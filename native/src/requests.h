// The session's I/O (fuse_session_custom_io): every request the kernel sends
// passes io_read, every reply io_writev. There the binding
// - counts the kernel's requests by opcode (requestCounts() in JS), whether
//   the binding, libfuse or JS answers them;
// - on a frozen mount with no_opendir, gives each directory request a handle.
//   The kernel then sends READDIR (and FSYNCDIR, directory IOCTL) with handle
//   0, and libfuse's high-level API cannot serve a directory it did not open:
//   its handle is libfuse's own state of the open directory. So before such a
//   request reaches libfuse, the binding opens the directory itself, through
//   libfuse, with an OPENDIR request of its own (answered in C, JS never hears
//   of it), puts the handle libfuse gave into the kernel's request, and once
//   the kernel's request has been answered, releases it with a RELEASEDIR of
//   its own. Its own requests carry OWN_REQUEST in their unique id (the
//   kernel's never do: they count up from 1 in steps of 2), and their answers
//   stop in io_writev, never reaching the kernel;
// - on a mutable mount with MOUNT_DIR_ATTRS, gives directory attributes in
//   replies DIR_ATTR_TTL (see requests.c);
// - notes the reply size a READDIR(PLUS) asks for (requests_take_readdir_room).
#pragma once

#include <pthread.h>
#include <stdint.h>
#include <node_api.h>

#include "libfuse.h"

struct fuse_thread;  // session.h

// Kernel requests are counted by opcode (every opcode below CUSE_INIT fits).
#define REQUEST_OPCODES 64

// A directory handle the binding opened itself, to be released once the
// request it served has been answered.
typedef struct dir_release {
  struct dir_release *next;
  uint64_t fh;
} dir_release_t;

// A mount's part (in fuse_thread_t).
typedef struct {
  // Directory handles to release, under pending_lock.
  pthread_mutex_t pending_lock;
  dir_release_t *pending;
  // Kernel requests received, by opcode (atomic).
  uint64_t counts[REQUEST_OPCODES];
} requests_t;

// The session I/O every mount's session gets.
extern const struct fuse_custom_io requests_io;

// Before the FUSE thread starts (counts stay as they are: zero).
void requests_init (requests_t *r);
// The session's I/O is told libfuse's struct fuse: which mount it is. 0 when
// too many mounts are registered.
int requests_register (struct fuse *fuse, struct fuse_thread *ft);
void requests_unregister (struct fuse *fuse);
// When the FUSE thread ends: forgets the handles not released yet.
void requests_drop (struct fuse_thread *ft);

// 1 while libfuse processes one of the binding's own requests on this thread
// (opendir and releasedir answer those without JS).
int requests_own (void);
// The reply size the READDIR(PLUS) being processed on this thread asked for,
// 0 when unknown; reset by the call.
uint32_t requests_take_readdir_room (void);

// requestCounts(thread): { opcode name: requests the kernel sent } for every opcode seen so far.
napi_value fuse_native_request_counts (napi_env env, napi_callback_info info);
