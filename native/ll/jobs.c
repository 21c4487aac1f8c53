// What the addon's jobs on libuv's pool share (check.c checks content objects, read-meta.c
// reads metadata objects): the object file opened without touching its atime, the JS string
// naming it copied for the pool's thread, the job queued or its failure thrown to JS, and JS
// called back with its outcome.
#include "ll.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

int ll_open_object(const char *file) {
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = open(file, O_RDONLY | O_CLOEXEC); // O_NOATIME: only the owner or root
  return fd;
}

char *ll_js_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) { napi_throw_error(env, NULL, "a string was expected"); return NULL; }
  char *s = malloc(len + 1);
  if (s == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

int ll_queue_job(napi_env env, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete, void *data, napi_async_work *work) {
  napi_value n;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &n);
  if (napi_create_async_work(env, NULL, n, execute, complete, data, work) != napi_ok) { napi_throw_error(env, NULL, "napi_create_async_work failed"); return -1; }
  if (napi_queue_async_work(env, *work) != napi_ok) {
    napi_delete_async_work(env, *work);
    napi_throw_error(env, NULL, "napi_queue_async_work failed");
    return -1;
  }
  return 0;
}

void ll_finish_job(napi_env env, napi_ref done, napi_async_work work, size_t argc, napi_value *argv) {
  napi_value fn, undefined;
  napi_get_undefined(env, &undefined);
  if (napi_get_reference_value(env, done, &fn) == napi_ok) napi_call_function(env, undefined, fn, argc, argv, NULL);
  napi_delete_reference(env, done);
  napi_delete_async_work(env, work);
}
