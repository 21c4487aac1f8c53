# hacktree's FUSE addon, built by `npm ci` (the package's install script) against
# the system libfuse 3 (Debian: libfuse3-dev). ll/ll.h says what each file does.
{
  "targets": [{
    # Commit and root mounts on libfuse's low-level API (ll/ll.h says what is where).
    "target_name": "hacktree_ll",
    "include_dirs": ["<!@(pkg-config fuse3 --cflags-only-I | sed s/-I//g)"],
    "link_settings": {
      "libraries": ["<!@(pkg-config --libs-only-L --libs-only-l fuse3)", "-lpthread"]
    },
    "sources": ["ll/nodes.c", "ll/ops.c", "ll/rw_ops.c", "ll/rw_replies.c", "ll/notify.c", "ll/facts.c", "ll/handles.c", "ll/ahead.c", "ll/grafts.c", "ll/passthrough.c", "ll/session.c", "ll/reap.c", "ll/check.c", "ll/read-meta.c", "ll/jobs.c", "ll/bridge.c"],
    "cflags": ["-g", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
  }]
}
