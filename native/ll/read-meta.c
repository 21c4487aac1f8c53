// Reads a metadata object (a dirtree, a dirmeta) whole and checks it against its checksum off
// the event loop. JS did this with an open, a read and a close, each a trip through libuv's
// pool and back, and hashed on the event loop: a cold walk reads a dirtree for every
// directory, and on a 2-core machine each trip's wakeup cost the event loop about as much as
// the listing it served (~100 µs an open or a close, profiled in a cold find). Here one job of
// libuv's pool opens the file, reads it, closes it and hashes it: JS gets the bytes or the
// verdict in one callback. The hash is node's own OpenSSL (the node binary exports it).
#include "ll.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// Larger metadata objects are refused (ostree's own limit for a metadata object is 10 MB).
#define META_MAX (64 * 1024 * 1024)

enum { META_GOOD = 0, META_MISMATCH = -1 };

struct read_meta {
  struct ll_job job;
  uint8_t want[32];
  // META_GOOD, META_MISMATCH or an errno.
  int status;
  uint8_t *data;
  size_t len;
};

static int read_whole(int fd, uint8_t **out, size_t *out_len) {
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  if (st.st_size > META_MAX) return EFBIG;
  // One byte more than fstat says: a short read is then the end of the file, in one read.
  size_t cap = (size_t) st.st_size + 1, len = 0;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) return ENOMEM;
  for (;;) {
    ssize_t n = pread(fd, buf + len, cap - len, (off_t) len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { int e = errno; free(buf); return e; }
    if (n == 0) break;
    len += (size_t) n;
    if (len == cap) {
      if (cap >= META_MAX) { free(buf); return EFBIG; }
      uint8_t *bigger = realloc(buf, cap * 2);
      if (bigger == NULL) { free(buf); return ENOMEM; }
      buf = bigger;
      cap *= 2;
    }
  }
  *out = buf;
  *out_len = len;
  return 0;
}

static void execute(napi_env env, void *data) {
  (void) env;
  struct read_meta *r = data;
  int fd = ll_open_object(r->job.file);
  if (fd < 0) { r->status = errno; return; }
  r->status = read_whole(fd, &r->data, &r->len);
  close(fd);
  if (r->status != 0) return;
  uint8_t got[32];
  unsigned int glen = 0;
  if (EVP_Digest(r->data, r->len, got, &glen, EVP_sha256(), NULL) != 1 || glen != 32) r->status = EIO;
  else if (memcmp(got, r->want, 32) != 0) r->status = META_MISMATCH;
}

static void complete(napi_env env, napi_status status, void *data) {
  struct read_meta *r = data;
  napi_value undefined, argv[2];
  if (status == napi_cancelled) r->status = ECANCELED;
  napi_get_undefined(env, &undefined);
  napi_create_int32(env, r->status, &argv[0]);
  argv[1] = undefined;
  if (r->status == META_GOOD && napi_create_buffer_copy(env, r->len, r->data, NULL, &argv[1]) != napi_ok) {
    napi_create_int32(env, ENOMEM, &argv[0]);
    argv[1] = undefined;
  }
  free(r->data);
  ll_job_finish(env, &r->job, 2, argv);
}

// readMeta(file, checksum (32 bytes), done(status, bytes)): status 0 with the file's bytes,
// -1 when they do not hash to the checksum, else an errno.
napi_value ll_js_read_meta(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct read_meta *r = ll_job_new(env, info, sizeof *r, 3, argv);
  if (r == NULL) return NULL;
  if (ll_job_checksum(env, argv[1], r->want) == 0 && ll_job_start(env, &r->job, argv[2], "hacktree_read_meta", execute, complete) == 0) return NULL;
  ll_job_discard(env, &r->job);
  return NULL;
}
