// The FUSE protocol's passthrough fields (7.40, Linux 6.9), newer than bookworm's
// <linux/fuse.h> (7.38) and libfuse 3.14: written into the raw INIT, OPEN and CREATE replies
// (passthrough.c; bench/passthrough/ptfs.c measures the same for reads).
#ifndef HACKTREE_FUSE_PASSTHROUGH_PROTO_H
#define HACKTREE_FUSE_PASSTHROUGH_PROTO_H

#include <stdint.h>
#include <sys/ioctl.h>

#define PT_FUSE_INIT_EXT (1u << 30)
#define PT_FUSE_PASSTHROUGH_FLAGS2 (1u << 5) /* FUSE_PASSTHROUGH is bit 37 of the 64-bit flags */
#define PT_FOPEN_PASSTHROUGH (1u << 7)
struct pt_backing_map { int32_t fd; uint32_t flags; uint64_t padding; };
#define PT_BACKING_OPEN _IOW(229, 1, struct pt_backing_map)
#define PT_BACKING_CLOSE _IOW(229, 2, uint32_t)
struct pt_init_out { // fuse_init_out of 7.40
  uint32_t major, minor, max_readahead, flags;
  uint16_t max_background, congestion_threshold;
  uint32_t max_write, time_gran;
  uint16_t max_pages, map_alignment;
  uint32_t flags2, max_stack_depth, unused[6];
};
struct pt_open_out { uint64_t fh; uint32_t open_flags; int32_t backing_id; };

#endif
