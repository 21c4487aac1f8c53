// libfuse 3 (3.14: pkg-config fuse3), high-level path API. Every file reaches
// libfuse through this header, so all of them agree on FUSE_USE_VERSION.
#pragma once

#define FUSE_USE_VERSION 314

#include <fuse.h>
#include <fuse_opt.h>
#include <fuse_common.h>
#include <fuse_lowlevel.h>
