/*
 * libmagic reads a buffer we fill, never a path: the cookie is opened once at
 * start (before any confinement) and file access stays in our hands.
 */
#include "mime.h"

#include <magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* libmagic's verdict rarely needs more than the first few KiB. */
#define MAGIC_PEEK (16 * 1024)
#define CACHE_SLOTS 512

static const struct {
	const char *ext;
	const char *type;
} extensions[] = {
	{ ".gmi", MIME_GEMINI },
	{ ".gemini", MIME_GEMINI },
	{ ".txt", "text/plain; charset=utf-8" },
};

struct cache_slot {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char type[96];
};

struct mime {
	magic_t cookie;
	struct cache_slot cache[CACHE_SLOTS];
};

struct mime *
mime_new(char *err, size_t errsize)
{
	struct mime *m;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	if ((m->cookie = magic_open(MAGIC_MIME | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS)) ==
	    NULL) {
		snprintf(err, errsize, "magic_open failed");
		free(m);
		return NULL;
	}
	if (magic_load(m->cookie, NULL) == -1) {
		snprintf(err, errsize, "cannot load the magic database: %s",
		    magic_error(m->cookie));
		mime_free(m);
		return NULL;
	}
	return m;
}

void
mime_free(struct mime *m)
{
	if (m == NULL)
		return;
	magic_close(m->cookie);
	free(m);
}

const char *
mime_by_extension(const char *name)
{
	size_t i, n = strlen(name), e;

	for (i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++) {
		e = strlen(extensions[i].ext);
		if (n > e && strcasecmp(name + n - e, extensions[i].ext) == 0)
			return extensions[i].type;
	}
	return NULL;
}

static bool
slot_matches(const struct cache_slot *s, const struct stat *st)
{
	return s->type[0] != '\0' && s->dev == st->st_dev && s->ino == st->st_ino &&
	    s->size == st->st_size && s->mtime.tv_sec == st->st_mtim.tv_sec &&
	    s->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

const char *
mime_type(struct mime *m, const char *name, int fd, const struct stat *st)
{
	static char peek[MAGIC_PEEK];
	struct cache_slot *s;
	const char *type;
	ssize_t n;

	if ((type = mime_by_extension(name)) != NULL)
		return type;
	s = &m->cache[(st->st_ino * 2654435761u ^ st->st_dev) % CACHE_SLOTS];
	if (slot_matches(s, st))
		return s->type;
	if ((n = pread(fd, peek, sizeof(peek), 0)) < 0)
		return "application/octet-stream";
	type = magic_buffer(m->cookie, peek, n);
	if (type == NULL || strlen(type) >= sizeof(s->type))
		return "application/octet-stream";
	/* A MIME meta may not carry a CR or LF; libmagic's never should. */
	if (strpbrk(type, "\r\n") != NULL)
		return "application/octet-stream";
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
	memcpy(s->type, type, strlen(type) + 1);
	return s->type;
}
