/* SPDX-License-Identifier: MIT */
/*
 * Directory streams of served /dev directories (/dev/vfio): the daemon
 * lists the names (UVP_READDIR) and the shim hands out a DIR of its own.
 * The same stream lists a machine directory that holds served trees
 * (/sys/module, /dev): its own entries, then the served names it lacks.
 * It is told apart from glibc's by a magic first word where glibc keeps
 * the directory's fd, which no real stream can hold.  The readdir family
 * is wrapped here; a real stream passes straight through.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include "shim.h"

#define DEVDIR_MAGIC	0x55564649444952ULL	/* "UVFIDIR" */

struct shim_devdir {
	uint64_t magic;
	char *names;			/* NUL-separated, "." and ".." first */
	size_t len;
	size_t pos;			/* offset of the next name */
	struct dirent64 ent;
	struct dirent ent32;
};

static struct shim_devdir *devdir(DIR *d)
{
	struct shim_devdir *s = (struct shim_devdir *)d;

	return d && s->magic == DEVDIR_MAGIC ? s : NULL;
}

static int devdir_list(const char *path, char *body, size_t size, uint32_t *len)
{
	struct uvp_path up = { 0 };
	struct shim_msg m = { .op = UVP_READDIR };
	struct shim_reply r = { .niov = 0 };
	int err;

	if (strlen(path) >= sizeof(up.path))
		return -ENAMETOOLONG;
	strcpy(up.path, path);
	shim_msg_add(&m, &up, sizeof(up));
	shim_reply_add(&r, body, size);
	err = shim_ctrl_call(&m, &r, true);
	shim_reply_close_fds(&r);
	if (err)
		return err;
	if (r.ret < 0)
		return (int)r.ret;
	*len = r.len;
	return 0;
}

DIR *shim_devdir_open(const char *path)
{
	struct shim_devdir *s;
	char *body = malloc(UVP_MAX_BODY);
	uint32_t len = 0;
	int err;

	if (!body) {
		errno = ENOMEM;
		return NULL;
	}
	err = devdir_list(path, body, UVP_MAX_BODY, &len);
	s = err ? NULL : calloc(1, sizeof(*s));
	if (!s) {
		free(body);
		errno = err ? -err : ENOMEM;
		return NULL;
	}
	s->magic = DEVDIR_MAGIC;
	s->names = malloc(len + 6);
	if (!s->names) {
		free(body);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	/* The kernel lists "." and ".."; add them if the daemon did not. */
	if (len < 2 || strcmp(body, ".")) {
		memcpy(s->names, ".\0..\0", 5);
		s->len = 5;
	}
	memcpy(s->names + s->len, body, len);
	s->len += len;
	free(body);
	return (DIR *)s;
}

/* A stream over names (NUL-separated, taken over), "." and ".." first. */
static DIR *devdir_from_names(char *names, size_t len)
{
	struct shim_devdir *s = calloc(1, sizeof(*s));

	if (!s) {
		free(names);
		errno = ENOMEM;
		return NULL;
	}
	s->magic = DEVDIR_MAGIC;
	s->names = names;
	s->len = len;
	return (DIR *)s;
}

static bool names_have(const char *names, size_t len, const char *name)
{
	for (size_t at = 0; at < len; at += strlen(names + at) + 1)
		if (!strcmp(names + at, name))
			return true;
	return false;
}

DIR *shim_devdir_open_merged(const char *real_path, const char *served, size_t slen)
{
	DIR *real = REAL(opendir)(real_path);
	size_t len = 0, cap = 4096 + slen;
	char *names;
	struct dirent64 *e;

	if (!real)
		return NULL;
	names = malloc(cap);
	if (!names) {
		REAL(closedir)(real);
		errno = ENOMEM;
		return NULL;
	}
	while ((e = REAL(readdir64)(real))) {
		size_t n = strlen(e->d_name) + 1;

		if (len + n + slen > cap) {
			char *more = realloc(names, cap = 2 * cap + n);

			if (!more)
				break;
			names = more;
		}
		memcpy(names + len, e->d_name, n);
		len += n;
	}
	REAL(closedir)(real);
	for (size_t at = 0; at < slen; at += strlen(served + at) + 1) {
		size_t n = strlen(served + at) + 1;

		if (len + n <= cap && !names_have(names, len, served + at)) {
			memcpy(names + len, served + at, n);
			len += n;
		}
	}
	return devdir_from_names(names, len);
}

struct dirent64 *shim_devdir_read(DIR *d)
{
	struct shim_devdir *s = devdir(d);
	const char *name;
	size_t n;

	while (s->pos < s->len) {
		name = s->names + s->pos;
		n = strnlen(name, s->len - s->pos);
		s->pos += n + 1;
		if (!n || n >= sizeof(s->ent.d_name))
			continue;
		memset(&s->ent, 0, sizeof(s->ent));
		/* Stable, nonzero inode numbers; the type is left for stat(). */
		s->ent.d_ino = 1 + (s->pos * 2654435761u) % 0x7fffffff;
		s->ent.d_off = (off64_t)s->pos;
		s->ent.d_reclen = sizeof(s->ent);
		s->ent.d_type = !strcmp(name, ".") || !strcmp(name, "..") ? DT_DIR : DT_UNKNOWN;
		memcpy(s->ent.d_name, name, n + 1);
		return &s->ent;
	}
	return NULL;
}

static struct dirent *devdir_read32(DIR *d)
{
	struct shim_devdir *s = devdir(d);
	struct dirent64 *e = shim_devdir_read(d);

	if (!e)
		return NULL;
	memset(&s->ent32, 0, sizeof(s->ent32));
	s->ent32.d_ino = e->d_ino;
	s->ent32.d_off = e->d_off;
	s->ent32.d_reclen = sizeof(s->ent32);
	s->ent32.d_type = e->d_type;
	memcpy(s->ent32.d_name, e->d_name, sizeof(s->ent32.d_name));
	return &s->ent32;
}

int shim_devdir_close(DIR *d)
{
	struct shim_devdir *s = devdir(d);

	s->magic = 0;
	free(s->names);
	free(s);
	return 0;
}

void shim_devdir_rewind(DIR *d)
{
	devdir(d)->pos = 0;
}

long shim_devdir_tell(DIR *d)
{
	return (long)devdir(d)->pos;
}

void shim_devdir_seek(DIR *d, long pos)
{
	struct shim_devdir *s = devdir(d);

	if (pos >= 0 && (size_t)pos <= s->len)
		s->pos = (size_t)pos;
}

/* ---- the readdir family ------------------------------------------------- */

SHIM_EXPORT struct dirent *readdir(DIR *d)
{
	if (devdir(d))
		return devdir_read32(d);
	return REAL(readdir)(d);
}

SHIM_EXPORT struct dirent64 *readdir64(DIR *d)
{
	if (devdir(d))
		return shim_devdir_read(d);
	return REAL(readdir64)(d);
}

SHIM_EXPORT int readdir_r(DIR *d, struct dirent *entry, struct dirent **result)
{
	struct dirent *e;

	if (!devdir(d))
		return REAL(readdir_r)(d, entry, result);
	e = devdir_read32(d);
	if (e)
		memcpy(entry, e, sizeof(*entry));
	*result = e ? entry : NULL;
	return 0;
}

SHIM_EXPORT int readdir64_r(DIR *d, struct dirent64 *entry, struct dirent64 **result)
{
	struct dirent64 *e;

	if (!devdir(d))
		return REAL(readdir64_r)(d, entry, result);
	e = shim_devdir_read(d);
	if (e)
		memcpy(entry, e, sizeof(*entry));
	*result = e ? entry : NULL;
	return 0;
}

SHIM_EXPORT int closedir(DIR *d)
{
	if (devdir(d))
		return shim_devdir_close(d);
	return REAL(closedir)(d);
}

SHIM_EXPORT int dirfd(DIR *d)
{
	if (devdir(d)) {
		errno = ENOTSUP;
		return -1;
	}
	return REAL(dirfd)(d);
}

SHIM_EXPORT void rewinddir(DIR *d)
{
	if (devdir(d))
		shim_devdir_rewind(d);
	else
		REAL(rewinddir)(d);
}

SHIM_EXPORT long telldir(DIR *d)
{
	if (devdir(d))
		return shim_devdir_tell(d);
	return REAL(telldir)(d);
}

SHIM_EXPORT void seekdir(DIR *d, long pos)
{
	if (devdir(d))
		shim_devdir_seek(d, pos);
	else
		REAL(seekdir)(d, pos);
}
