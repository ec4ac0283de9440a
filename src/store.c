#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "indexer.h"

/* What an image must be sealed against before a worker maps it: it cannot change under us. */
#define IMAGE_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

struct store {
	int rootfd;
	size_t max_size;
	const struct indexer_watch *watch;	/* NULL: never behind */
	int site;
	struct index index;
	void *map;		/* the image, or NULL before the first */
	size_t map_size;
};

bool
store_is_post_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".txt") == 0;
}

struct store *
store_new(int rootfd, size_t max_post_size)
{
	struct store *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->rootfd = rootfd;
	s->max_size = max_post_size;
	index_empty(&s->index);
	return s;
}

void
store_follow(struct store *s, const struct indexer_watch *w, int site)
{
	s->watch = w;
	s->site = site;
}

bool
store_behind(const struct store *s, unsigned long *ticket)
{
	return s->watch != NULL && indexer_behind(s->watch, s->site, s->index.version, ticket);
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	if (s->map != NULL)
		munmap(s->map, s->map_size);
	free(s);
}

int
store_set_image(struct store *s, int fd, char *err, size_t errsize)
{
	struct index x;
	const char *why;
	struct stat st;
	void *map;
	int seals;

	if (fstat(fd, &st) == -1 || st.st_size <= 0) {
		snprintf(err, errsize, "post index: %s", strerror(errno ? errno : EINVAL));
		return -1;
	}
	if ((seals = fcntl(fd, F_GET_SEALS)) == -1 || (seals & IMAGE_SEALS) != IMAGE_SEALS) {
		snprintf(err, errsize, "post index: not sealed");
		return -1;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		snprintf(err, errsize, "post index: mmap: %s", strerror(errno));
		return -1;
	}
	if (index_map(map, (size_t)st.st_size, &x, &why) == -1) {
		snprintf(err, errsize, "post index: %s", why);
		munmap(map, (size_t)st.st_size);
		return -1;
	}
	if (s->map != NULL)
		munmap(s->map, s->map_size);
	s->map = map;
	s->map_size = (size_t)st.st_size;
	s->index = x;
	return 0;
}

const struct index *
store_index(const struct store *s)
{
	return &s->index;
}

int
store_open_post(int dirfd, const char *path, struct stat *st)
{
	int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1)
		return -1;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads at most max bytes of fd into a new buffer; *len gets the count. */
static char *
read_all(int fd, size_t size, size_t max, size_t *len)
{
	size_t want = size < max ? size : max, got = 0;
	char *buf;
	ssize_t n;

	if ((buf = malloc(want + 1)) == NULL)
		return NULL;
	while (got < want) {
		n = read(fd, buf + got, want - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

int
store_read_post(int fd, const char *name, const struct stat *st, size_t max_size,
    enum post_mode mode, struct post *p, const char **why)
{
	size_t len;
	char *data;
	int rc;

	*why = NULL;
	if ((data = read_all(fd, (size_t)st->st_size, max_size, &len)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	/* Shorter than it was a moment ago: cut while we read. */
	if (len < ((size_t)st->st_size < max_size ? (size_t)st->st_size : max_size)) {
		free(data);
		*why = "changed while being read";
		return STORE_READ_TORN;
	}
	rc = post_parse(name, data, len, (long long)st->st_mtime, mode, p, why);
	free(data);
	if (rc == 0 && (size_t)st->st_size > max_size)
		p->warnings |= POST_WARN_TRUNCATED;
	return rc;
}

enum store_load
store_load(const struct store *s, const struct index_post *sp, struct post *out)
{
	const char *stem = index_str(&s->index, sp->stem), *why;
	char path[sizeof(STORE_POSTS_DIR) + NAME_MAX + 2];
	struct stat st, after;
	enum store_load rc = STORE_LOADED;
	int fd, read;

	if (snprintf(path, sizeof(path), STORE_POSTS_DIR "/%s.txt", stem) >= (int)sizeof(path) ||
	    (fd = store_open_post(s->rootfd, path, &st)) == -1)
		return STORE_GONE;
	/*
	 * Another file than the one indexed: an author is writing it, or has
	 * just replaced it and the next index is on its way. Either way this
	 * is not what the index (and the cache keyed by it) describes.
	 */
	if (!index_file_is(&sp->file, &st))
		rc = STORE_BUSY;
	else if ((read = store_read_post(fd, path, &st, s->max_size, POST_FULL, out, &why)) != 0)
		rc = read == STORE_READ_TORN ? STORE_BUSY : STORE_GONE;
	/* Written to while we read (in place, same inode): what we read may be torn. */
	else if (fstat(fd, &after) == -1 || !index_file_is(&sp->file, &after)) {
		post_free(out);
		rc = STORE_BUSY;
	}
	close(fd);
	return rc;
}

enum store_load
store_check(const struct store *s, const char *stem)
{
	char path[sizeof(STORE_POSTS_DIR) + NAME_MAX + 2];
	const struct index_file *f;
	struct stat st;
	long i;

	if (snprintf(path, sizeof(path), STORE_POSTS_DIR "/%s.txt", stem) >= (int)sizeof(path))
		return STORE_GONE;
	if ((i = index_find_post(&s->index, stem)) >= 0)
		f = &s->index.posts[i].file;
	else if ((i = index_find_skipped(&s->index, path + sizeof(STORE_POSTS_DIR))) >= 0)
		f = &s->index.skipped[i].file;
	else
		return STORE_GONE;
	if (fstatat(s->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return STORE_GONE;
	return index_file_is(f, &st) ? STORE_LOADED : STORE_BUSY;
}
