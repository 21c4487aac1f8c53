// Reaping a child that libuv did not spawn. A background mount starts its supervisor and
// its first daemon at once (`sh -c 'node daemon & exec node supervisor'`), so that daemon is
// the supervisor's child, but libuv waits only for the children it spawned itself: the
// supervisor learns of the death from SIGCHLD and takes the exit status here.
#include "ll.h"
#include <errno.h>
#include <sys/types.h>
#include <sys/wait.h>

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

// reap(pid) → null while the child runs; { code, signal } once it has ended (and is reaped);
// a negative errno if it is not this process's child (ECHILD: already reaped).
napi_value ll_js_reap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, v;
  int32_t pid;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &pid));
  int status = 0;
  pid_t r;
  do r = waitpid(pid, &status, WNOHANG); while (r < 0 && errno == EINTR);
  if (r < 0) { CHECK(napi_create_int32(env, -errno, &out)); return out; }
  if (r == 0) { CHECK(napi_get_null(env, &out)); return out; }
  CHECK(napi_create_object(env, &out));
  if (WIFSIGNALED(status)) {
    CHECK(napi_get_null(env, &v));
    CHECK(napi_set_named_property(env, out, "code", v));
    CHECK(napi_create_int32(env, WTERMSIG(status), &v));
  } else {
    CHECK(napi_create_int32(env, WEXITSTATUS(status), &v));
    CHECK(napi_set_named_property(env, out, "code", v));
    CHECK(napi_get_null(env, &v));
  }
  CHECK(napi_set_named_property(env, out, "signal", v));
  return out;
}

