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

#include "utf8.h"

/* libmagic's verdict rarely needs more than the first few KiB. */
#define MAGIC_PEEK (16 * 1024)
#define CACHE_SLOTS 512

/*
 * The one table of file name extensions: the media type a name settles
 * (NULL: libmagic decides, as for text whose charset only its bytes tell)
 * and the Gopher item type it settles (0: by the media type).
 */
static const struct {
	const char *ext;
	const char *type;
	char item;
} extensions[] = {
	{ ".gmi", MIME_GEMINI, '0' },
	{ ".gemini", MIME_GEMINI, '0' },
	{ ".txt", "text/plain; charset=utf-8", '0' },
	{ ".md", NULL, '0' },
	{ ".gif", "image/gif", 'g' },
	{ ".png", "image/png", 'I' },
	{ ".jpg", "image/jpeg", 'I' },
	{ ".jpeg", "image/jpeg", 'I' },
	{ ".webp", "image/webp", 'I' },
	{ ".svg", "image/svg+xml", 'I' },
	{ ".html", NULL, 'h' },
	{ ".htm", NULL, 'h' },
	{ ".mp3", "audio/mpeg", 's' },
	{ ".ogg", "audio/ogg", 's' },
	{ ".opus", "audio/ogg", 's' },
	{ ".wav", "audio/wav", 's' },
	{ ".flac", "audio/flac", 's' },
	{ ".pdf", "application/pdf", '9' },
	{ ".zip", "application/zip", '9' },
	{ ".gz", "application/gzip", '9' },
	{ ".tar", "application/x-tar", '9' },
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
	char peek[MAGIC_PEEK];	/* the first bytes of the file being typed */
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

/* The table's row for name's extension, or -1. */
static int
extension(const char *name)
{
	size_t i, n = strlen(name), e;

	for (i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++) {
		e = strlen(extensions[i].ext);
		if (n > e && strcasecmp(name + n - e, extensions[i].ext) == 0)
			return (int)i;
	}
	return -1;
}

const char *
mime_by_extension(const char *name)
{
	int i = extension(name);

	return i < 0 ? NULL : extensions[i].type;
}

char
mime_item_by_name(const char *name)
{
	int i = extension(name);

	return i < 0 ? 0 : extensions[i].item;
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

char
mime_item(const char *type)
{
	if (has_prefix(type, "text/html"))
		return 'h';
	/* libmagic calls an empty file inode/x-empty: empty text. */
	if (has_prefix(type, "text/") || has_prefix(type, "inode/x-empty") ||
	    has_prefix(type, "application/x-empty"))
		return '0';
	if (has_prefix(type, "image/gif"))
		return 'g';
	if (has_prefix(type, "image/"))
		return 'I';
	if (has_prefix(type, "audio/"))
		return 's';
	return '9';
}

/* Bytes of a file looked at to tell text from binary in a listing. */
#define SNIFF_PEEK 512

char
mime_item_sniff(int fd)
{
	char buf[SNIFF_PEEK];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	size_t cut;

	if (n < 0)
		return '9';
	if (memchr(buf, '\0', (size_t)n) != NULL)
		return '9';
	/* A character the peek cut in two is no sign of binary. */
	for (cut = 0; cut < 4 && cut <= (size_t)n; cut++)
		if (utf8_valid(buf, (size_t)n - cut))
			return '0';
	return '9';
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
	struct cache_slot *s;
	const char *type;
	char *cut;
	ssize_t n;

	if ((type = mime_by_extension(name)) != NULL)
		return type;
	s = &m->cache[(st->st_ino * 2654435761u ^ st->st_dev) % CACHE_SLOTS];
	if (slot_matches(s, st))
		return s->type;
	if ((n = pread(fd, m->peek, sizeof(m->peek), 0)) < 0)
		return "application/octet-stream";
	type = magic_buffer(m->cookie, m->peek, n);
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
	/* A charset is a property of text; libmagic says "binary" for the rest. */
	if ((cut = strstr(s->type, "; charset=binary")) != NULL && cut[16] == '\0')
		*cut = '\0';
	return s->type;
}
