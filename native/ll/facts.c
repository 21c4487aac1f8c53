// What C may answer of a root's node without JS, as JS last said: that it has no
// security.capability (the kernel asks before every write(), fuse clearing SB_NOSEC, and a
// round trip into JS per write would cost an untar more than its writes), that it is a file
// still the commit's (read-only opens need no decision), and the checked object file holding
// its bytes. Anything that may change the node drops all of it: setattr, xattr changes, link,
// an open for writing (rw_ops.c), rename and unlink and what the layer reports (JS,
// dropFacts), and any invalidation (notify.c). Node ids are never reused.
#include "ll.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUCKETS 4096

struct fact { struct fact *next; uint64_t node; int flags; char *content; struct stat st; };

static struct fact *buckets[BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
// Drops so far: an answer JS computed before a drop must not bring back what it dropped.
static uint64_t drops;

uint64_t ll_fact_generation(void) { return __atomic_load_n(&drops, __ATOMIC_ACQUIRE); }

static struct fact *find(uint64_t node) {
  for (struct fact *f = buckets[node % BUCKETS]; f != NULL; f = f->next) if (f->node == node) return f;
  return NULL;
}

int ll_fact_has(uint64_t node, int flag) {
  pthread_mutex_lock(&lock);
  struct fact *f = find(node);
  int has = f != NULL && (f->flags & flag) != 0;
  pthread_mutex_unlock(&lock);
  return has;
}

// st: a file still the commit's keeps its attributes here (FACT_STABLE): reading it makes
// the kernel ask for its atime again on a writable mount, and tar asks after every file.
void ll_fact_add(uint64_t node, int flag, const struct stat *st, uint64_t generation) {
  pthread_mutex_lock(&lock);
  if (generation != drops) { pthread_mutex_unlock(&lock); return; }
  struct fact *f = find(node);
  if (f == NULL && (f = calloc(1, sizeof *f)) != NULL) {
    f->node = node;
    f->next = buckets[node % BUCKETS];
    buckets[node % BUCKETS] = f;
  }
  if (f != NULL) {
    f->flags |= flag;
    if (st != NULL) f->st = *st;
  }
  pthread_mutex_unlock(&lock);
}

int ll_fact_stat(uint64_t node, struct stat *st) {
  pthread_mutex_lock(&lock);
  struct fact *f = find(node);
  int has = f != NULL && (f->flags & FACT_STABLE) != 0;
  if (has) *st = f->st;
  pthread_mutex_unlock(&lock);
  return has;
}

// Kept only for a node still known as the commit's file (and dropped with that).
void ll_fact_set_content(uint64_t node, const char *file) {
  char *copy = strdup(file);
  pthread_mutex_lock(&lock);
  struct fact *f = find(node);
  if (copy != NULL && f != NULL && (f->flags & FACT_STABLE) && f->content == NULL) { f->content = copy; copy = NULL; }
  pthread_mutex_unlock(&lock);
  free(copy);
}

// The node's object file opened read-only, or -1.
int ll_fact_open_content(uint64_t node) {
  char *file = NULL;
  pthread_mutex_lock(&lock);
  struct fact *f = find(node);
  if (f != NULL && f->content != NULL) file = strdup(f->content);
  pthread_mutex_unlock(&lock);
  int fd = file != NULL ? open(file, O_RDONLY | O_CLOEXEC) : -1;
  free(file);
  return fd;
}

// Drops the facts in `flags` of the node; an answer in flight computed before may not bring them back.
void ll_fact_drop_some(uint64_t node, int flags) {
  pthread_mutex_lock(&lock);
  for (struct fact **p = &buckets[node % BUCKETS]; *p != NULL; p = &(*p)->next) {
    struct fact *f = *p;
    if (f->node != node) continue;
    if (f->flags & flags) __atomic_add_fetch(&drops, 1, __ATOMIC_RELEASE);
    f->flags &= ~flags;
    if (f->flags == 0) { *p = f->next; free(f->content); free(f); }
    break;
  }
  pthread_mutex_unlock(&lock);
}

void ll_fact_drop(uint64_t node) { ll_fact_drop_some(node, FACT_NO_CAPS | FACT_STABLE); }

int ll_is_caps(const char *name) { return name != NULL && strcmp(name, "security.capability") == 0; }
