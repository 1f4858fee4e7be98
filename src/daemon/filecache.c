// SPDX-License-Identifier: MIT
/*
 * Backing files of DMA memory.  Each file a client's DMA range lives in
 * (a memfd, a /dev/shm or hugetlbfs file, a MAP_SHARED regular file) is
 * mapped here once, whole, MAP_SHARED, and shared by every DMA mapping that
 * points into it, so 65535 mappings of one guest RAM file cost one mmap
 * (vm.max_map_count is 65530 by default).  An entry is a DIRECT memory
 * object: the mappings hold references, and the last one unmaps the file.
 *
 * Files are known by (dev, ino), whichever fd the client passed.  A file
 * that grew past the cached mapping, or a writable need met by a read-only
 * mapping, gets a new entry that replaces the old one in the table; the
 * old one lives on for the mappings that use it.
 *
 * Lock: filecache.lock (a leaf) protects the table and 'cached'; entries
 * are found with get-unless-zero so a release racing with a lookup is
 * never resurrected.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "uvfiod.h"
#include "core/base/compiler.h"
#include "core/mm/mm.h"

#define FILECACHE_BUCKETS 256

struct filecache {
	struct uvf_mutex lock;
	struct list_head buckets[FILECACHE_BUCKETS];
	unsigned int count;
};

struct fc_entry {
	struct uvf_memobj obj;		/* first: the memory object handed out */
	struct list_head link;		/* in a bucket while cached */
	struct filecache *fc;
	dev_t dev;
	ino_t ino;
	bool cached;
};

static struct list_head *filecache_bucket(struct filecache *fc, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	return &fc->buckets[(h >> 32) % FILECACHE_BUCKETS];
}

struct filecache *filecache_new(void)
{
	struct filecache *fc = calloc(1, sizeof(*fc));

	if (!fc)
		return NULL;
	uvf_mutex_init(&fc->lock);
	for (int i = 0; i < FILECACHE_BUCKETS; i++)
		list_init(&fc->buckets[i]);
	return fc;
}

void filecache_free(struct filecache *fc)
{
	if (!fc)
		return;
	uvf_mutex_destroy(&fc->lock);
	free(fc);
}

unsigned int filecache_count(struct filecache *fc)
{
	unsigned int n;

	uvf_mutex_lock(&fc->lock);
	n = fc->count;
	uvf_mutex_unlock(&fc->lock);
	return n;
}

static void fc_uncache_locked(struct fc_entry *e)
{
	if (!e->cached)
		return;
	list_del_init(&e->link);
	e->cached = false;
	e->fc->count--;
}

static void fc_entry_release(struct uvf_memobj *m)
{
	struct fc_entry *e = container_of(m, struct fc_entry, obj);

	uvf_mutex_lock(&e->fc->lock);
	fc_uncache_locked(e);
	uvf_mutex_unlock(&e->fc->lock);
	munmap(e->obj.base, e->obj.size);
	free(e);
}

/* A cached entry serving the need, referenced, or NULL. */
static struct fc_entry *fc_lookup(struct filecache *fc, const struct stat *st, uint64_t need,
				  bool write)
{
	struct list_head *b = filecache_bucket(fc, st->st_dev, st->st_ino);
	struct fc_entry *e, *found = NULL;

	uvf_mutex_lock(&fc->lock);
	list_for_each_entry(e, b, link) {
		if (e->dev != st->st_dev || e->ino != st->st_ino)
			continue;
		if (e->obj.size >= need && (!write || !e->obj.readonly) &&
		    uvf_ref_get_unless_zero(&e->obj.ref))
			found = e;
		break;
	}
	uvf_mutex_unlock(&fc->lock);
	return found;
}

/* Map the whole file: writable when the fd allows, else read-only. */
static struct fc_entry *fc_map(struct filecache *fc, int fd, const struct stat *st, bool write)
{
	struct fc_entry *e = calloc(1, sizeof(*e));
	uint64_t size = (uint64_t)st->st_size;
	void *base;
	bool readonly = false;

	if (!e)
		return NULL;
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED && (errno == EACCES || errno == EPERM) && !write) {
		base = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		readonly = true;
	}
	if (base == MAP_FAILED) {
		free(e);
		return NULL;
	}
	uvf_ref_init(&e->obj.ref);
	e->obj.kind = UVF_MEMOBJ_DIRECT;
	e->obj.base = base;
	e->obj.mem_fd = -1;
	e->obj.size = size;
	e->obj.readonly = readonly;
	e->obj.release = fc_entry_release;
	e->fc = fc;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	list_init(&e->link);
	return e;
}

/* Make e the table's entry for its file, retiring an older one. */
static void fc_insert(struct filecache *fc, struct fc_entry *e)
{
	struct list_head *b = filecache_bucket(fc, e->dev, e->ino);
	struct fc_entry *old, *tmp;

	uvf_mutex_lock(&fc->lock);
	list_for_each_entry_safe(old, tmp, b, link)
		if (old->dev == e->dev && old->ino == e->ino)
			fc_uncache_locked(old);
	list_add(&e->link, b);
	e->cached = true;
	fc->count++;
	uvf_mutex_unlock(&fc->lock);
}

int filecache_get(struct filecache *fc, int fd, uint64_t need, bool write,
		  struct uvf_memobj **out)
{
	struct fc_entry *e;
	struct stat st;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    need > (uint64_t)st.st_size)
		return -EFAULT;
	e = fc_lookup(fc, &st, need, write);
	if (!e) {
		e = fc_map(fc, fd, &st, write);
		if (!e)
			return -EFAULT;
		fc_insert(fc, e);
	}
	*out = &e->obj;
	return 0;
}
