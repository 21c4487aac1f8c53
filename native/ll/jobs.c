// What the addon's jobs on libuv's pool share (check.c checks content objects, read-meta.c
// reads metadata objects): a job named by an object file and answered through a JS callback.
// Here: the job made from the call's arguments (the file first, copied for the pool's thread),
// queued with its callback, the object file opened without touching its atime, the callback
// called with the outcome, and the job let go of.
#include "ll.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

void *ll_job_new(napi_env env, napi_callback_info info, size_t size, size_t argc, napi_value *argv) {
  size_t got = argc;
  struct ll_job *j = calloc(1, size);
  if (j == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  if (napi_get_cb_info(env, info, &got, argv, NULL, NULL) != napi_ok || got < argc) { napi_throw_error(env, NULL, "missing arguments"); free(j); return NULL; }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) { napi_throw_error(env, NULL, "a file name was expected"); free(j); return NULL; }
  if ((j->file = malloc(len + 1)) == NULL) { napi_throw_error(env, NULL, "out of memory"); free(j); return NULL; }
  napi_get_value_string_utf8(env, argv[0], j->file, len + 1, &len);
  return j;
}

int ll_job_start(napi_env env, struct ll_job *j, napi_value done, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete) {
  napi_value n;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &n);
  if (napi_create_reference(env, done, 1, &j->done) != napi_ok) { napi_throw_error(env, NULL, "napi_create_reference failed"); return -1; }
  if (napi_create_async_work(env, NULL, n, execute, complete, j, &j->work) != napi_ok) { napi_throw_error(env, NULL, "napi_create_async_work failed"); return -1; }
  if (napi_queue_async_work(env, j->work) != napi_ok) {
    napi_delete_async_work(env, j->work);
    napi_throw_error(env, NULL, "napi_queue_async_work failed");
    return -1;
  }
  return 0;
}

int ll_job_checksum(napi_env env, napi_value v, unsigned char out[32]) {
  void *want;
  size_t wlen;
  if (napi_get_buffer_info(env, v, &want, &wlen) != napi_ok || wlen != 32) { napi_throw_error(env, NULL, "checksum: 32 bytes"); return -1; }
  memcpy(out, want, 32);
  return 0;
}

void ll_job_discard(napi_env env, struct ll_job *j) {
  if (j->done != NULL) napi_delete_reference(env, j->done);
  free(j->file);
  free(j);
}

int ll_open_object(const char *file) {
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = open(file, O_RDONLY | O_CLOEXEC); // O_NOATIME: only the owner or root
  return fd;
}

void ll_job_finish(napi_env env, struct ll_job *j, size_t argc, napi_value *argv) {
  napi_value fn, undefined;
  napi_get_undefined(env, &undefined);
  if (napi_get_reference_value(env, j->done, &fn) == napi_ok) napi_call_function(env, undefined, fn, argc, argv, NULL);
  napi_delete_reference(env, j->done);
  napi_delete_async_work(env, j->work);
  free(j->file);
  free(j);
}
