// Nodes known to have no security.capability. The kernel asks before every write() to a
// FUSE file (fuse clears SB_NOSEC, so no inode is ever marked as having none), and a round
// trip into JS per write would cost an untar more than its writes. JS's ENODATA is
// remembered here; setxattr and removexattr of the node, and any invalidation of it
// (notify.c), forget it. Node ids are never reused, so a stale id can do no harm.
#include "ll.h"
#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096

struct cap_entry { struct cap_entry *next; uint64_t ino; };

static struct cap_entry *buckets[BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

// One table for every mount of the process: node ids of a daemon's one root mount.
int ll_nocaps_has(uint64_t ino) {
  int found = 0;
  pthread_mutex_lock(&lock);
  for (struct cap_entry *e = buckets[ino % BUCKETS]; e != NULL; e = e->next) if (e->ino == ino) { found = 1; break; }
  pthread_mutex_unlock(&lock);
  return found;
}

void ll_nocaps_add(uint64_t ino) {
  if (ll_nocaps_has(ino)) return;
  struct cap_entry *e = malloc(sizeof *e);
  if (e == NULL) return;
  e->ino = ino;
  pthread_mutex_lock(&lock);
  e->next = buckets[ino % BUCKETS];
  buckets[ino % BUCKETS] = e;
  pthread_mutex_unlock(&lock);
}

void ll_nocaps_drop(uint64_t ino) {
  pthread_mutex_lock(&lock);
  for (struct cap_entry **p = &buckets[ino % BUCKETS]; *p != NULL; p = &(*p)->next) {
    if ((*p)->ino == ino) { struct cap_entry *e = *p; *p = e->next; free(e); break; }
  }
  pthread_mutex_unlock(&lock);
}

int ll_is_caps(const char *name) { return name != NULL && strcmp(name, "security.capability") == 0; }
