// Checks a content object file against its checksum off the event loop. JS did this with an
// open, an fstat, a read per 256 KiB and a close, each a trip through libuv's pool and back,
// and hashed every byte on the event loop: for a cold tar of the test root, 5,216 objects,
// most of a second of the event loop's CPU. Here one job of libuv's pool opens the file, takes
// its stamp (inode, size, ctime), and hashes the checksum prefix JS gives (the object's
// header) and the bytes: JS gets the stamp and the verdict in one callback. A stamp that
// matches the repository's verified mark for the object spares the hash, as JS's check did.
// The hash is node's own OpenSSL (the node binary exports it to addons).
#include "ll.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

enum { CHECK_GOOD = 0, CHECK_MISMATCH = -1 };

struct check {
  struct ll_job job;
  uint8_t *prefix;
  size_t prefix_len;
  uint8_t want[32];
  int has_mark;
  uint64_t mark_ino, mark_size;
  int64_t mark_ctime;
  // CHECK_GOOD, CHECK_MISMATCH or an errno.
  int status;
  uint64_t ino, size;
  int64_t ctime;
};

static int hash_file(int fd, const uint8_t *prefix, size_t prefix_len, uint8_t out[32]) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  uint8_t *buf = malloc(CHUNK);
  int rc = ctx == NULL || buf == NULL ? ENOMEM : 0;
  if (rc == 0 && (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(ctx, prefix, prefix_len) != 1)) rc = EIO;
  for (off_t pos = 0; rc == 0;) {
    ssize_t n = pread(fd, buf, CHUNK, pos);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { rc = errno; break; }
    if (n == 0) break;
    if (EVP_DigestUpdate(ctx, buf, (size_t) n) != 1) rc = EIO;
    pos += n;
  }
  unsigned int len = 0;
  if (rc == 0 && (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 32)) rc = EIO;
  EVP_MD_CTX_free(ctx);
  free(buf);
  return rc;
}

static void execute(napi_env env, void *data) {
  (void) env;
  struct check *c = data;
  int fd = ll_open_object(c->job.file);
  if (fd < 0) { c->status = errno; return; }
  struct stat st;
  if (fstat(fd, &st) != 0) { c->status = errno; close(fd); return; }
  c->ino = (uint64_t) st.st_ino;
  c->size = (uint64_t) st.st_size;
  c->ctime = (int64_t) st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
  if (c->has_mark && c->mark_ino == c->ino && c->mark_size == c->size && c->mark_ctime == c->ctime) {
    c->status = CHECK_GOOD;
  } else {
    uint8_t got[32];
    c->status = hash_file(fd, c->prefix, c->prefix_len, got);
    if (c->status == 0 && memcmp(got, c->want, 32) != 0) c->status = CHECK_MISMATCH;
  }
  close(fd);
}

static void complete(napi_env env, napi_status status, void *data) {
  struct check *c = data;
  napi_value undefined, argv[4];
  if (status == napi_cancelled) c->status = ECANCELED;
  napi_get_undefined(env, &undefined);
  napi_create_int32(env, c->status, &argv[0]);
  napi_create_double(env, (double) c->ino, &argv[1]);
  napi_create_double(env, (double) c->size, &argv[2]);
  napi_create_bigint_int64(env, c->ctime, &argv[3]);
  free(c->prefix);
  ll_job_finish(env, &c->job, 4, argv);
}

// checkObject(file, prefix, checksum (32 bytes), markIno, markSize, markCtimeNs (bigint; markIno < 0: no mark),
// done(status, ino, size, ctimeNs)): status 0 good, -1 checksum mismatch, else an errno.
napi_value ll_js_check_object(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  struct check *c = ll_job_new(env, info, sizeof *c, 7, argv);
  if (c == NULL) return NULL;
  void *p;
  size_t plen;
  LL_CHECK_NAPI(napi_get_buffer_info(env, argv[1], &p, &plen));
  if (ll_job_checksum(env, argv[2], c->want) != 0) goto fail;
  c->prefix = malloc(plen > 0 ? plen : 1);
  if (c->prefix == NULL) { napi_throw_error(env, NULL, "out of memory"); goto fail; }
  memcpy(c->prefix, p, plen);
  c->prefix_len = plen;
  double ino = -1, size = 0;
  bool lossless;
  LL_CHECK_NAPI(napi_get_value_double(env, argv[3], &ino));
  if (ino >= 0) {
    LL_CHECK_NAPI(napi_get_value_double(env, argv[4], &size));
    LL_CHECK_NAPI(napi_get_value_bigint_int64(env, argv[5], &c->mark_ctime, &lossless));
    c->has_mark = 1;
    c->mark_ino = (uint64_t) ino;
    c->mark_size = (uint64_t) size;
  }
  if (ll_job_start(env, &c->job, argv[6], "hacktree_check", execute, complete) == 0) return NULL;
fail:
  free(c->prefix);
  ll_job_discard(env, &c->job);
  return NULL;
}
