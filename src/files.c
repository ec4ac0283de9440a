/*
 * Static file access. Every open starts from the content root's descriptor,
 * never from a path string joined by hand, so no request can name a file
 * outside it.
 */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

bool
files_hidden(const char *path)
{
	const char *p;

	if (path[0] == '.')
		return true;
	for (p = path; (p = strchr(p, '/')) != NULL; p++)
		if (p[1] == '.')
			return true;
	return false;
}

/* Fallback without openat2: one component at a time, following no symlink. */
static int
open_walk(int rootfd, const char *rel)
{
	char seg[256];
	const char *p = rel, *slash;
	int fd = rootfd, next;
	size_t n;

	for (;;) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n >= sizeof(seg)) {
			errno = ENAMETOOLONG;
			next = -1;
		} else {
			memcpy(seg, p, n);
			seg[n] = '\0';
			next = openat(fd, seg, OPEN_FLAGS | O_NOFOLLOW |
			    (slash ? O_DIRECTORY : 0));
		}
		if (fd != rootfd)
			close(fd);
		if (next == -1 || slash == NULL || slash[1] == '\0')
			return next;
		fd = next;
		p = slash + 1;
	}
}

/* Symlinks followed in one path at most, as the kernel's own limit. */
#define LINKS_MAX 40

/*
 * The name rel has once its symlinks are followed, spelled without any (nor
 * "." or ".."), into out: what the rules on names must judge, since a link
 * inside the root gives a second name to what they would hide. -1 when it
 * would leave the root (".." above it, an absolute link), loops, or is too
 * long.
 */
static int
real_name(int rootfd, const char *rel, char *out, size_t size)
{
	char rest[FILES_REAL_MAX * 2], target[FILES_REAL_MAX], tmp[FILES_REAL_MAX * 3];
	const char *p;
	size_t n, done = 0;
	struct stat st;
	ssize_t t;
	int links = 0;
	char *slash;

	if (snprintf(rest, sizeof(rest), "%s", rel) >= (int)sizeof(rest))
		return -1;
	out[0] = '\0';
	for (p = rest; *p != '\0'; ) {
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || n == 0) {
			p += n + (p[n] == '/');
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (done == 0)
				return -1;
			slash = strrchr(out, '/');
			done = slash ? (size_t)(slash - out) : 0;
			out[done] = '\0';
			p += n + (p[n] == '/');
			continue;
		}
		if (done + 1 + n + 1 > size)
			return -1;
		snprintf(out + done, size - done, "%s%.*s", done ? "/" : "", (int)n, p);
		if (fstatat(rootfd, out, &st, AT_SYMLINK_NOFOLLOW) == -1 || !S_ISLNK(st.st_mode)) {
			done = strlen(out);
			p += n + (p[n] == '/');
			continue;
		}
		/* A link: its target, then what followed it, resolved from its folder. */
		if (++links > LINKS_MAX ||
		    (t = readlinkat(rootfd, out, target, sizeof(target))) <= 0 ||
		    (size_t)t == sizeof(target))
			return -1;
		target[t] = '\0';
		if (target[0] == '/' || snprintf(tmp, sizeof(tmp), "%s%s%s", target,
		    p[n] == '/' ? "/" : "", p[n] == '/' ? p + n + 1 : "") >= (int)sizeof(rest))
			return -1;
		memcpy(rest, tmp, strlen(tmp) + 1);
		p = rest;
		out[done] = '\0';
	}
	return 0;
}

/* openat2 beneath rootfd, following no symlink (how) or only inside the root. */
static int
open_how(int rootfd, const char *rel, bool no_links)
{
	struct open_how how = {
		.flags = OPEN_FLAGS,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
		    (no_links ? RESOLVE_NO_SYMLINKS : 0),
	};

	return (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
}

/*
 * Opens rel beneath rootfd by its real name (real_name), into e->real when
 * a link was followed. Without openat2, no symlink is followed at all.
 */
static int
open_beneath(int rootfd, const char *rel, struct files_entry *e)
{
	static int have_openat2 = 1;
	int fd;

	if (have_openat2) {
		/* Most paths hold no link: taken as they are. */
		fd = open_how(rootfd, rel, true);
		if (fd != -1 || errno != ENOSYS) {
			if (fd != -1 || errno != ELOOP)
				return fd;
			if (real_name(rootfd, rel, e->real + 1, sizeof(e->real) - 1) == -1 ||
			    files_hidden(e->real + 1))
				return -1;
			e->real[0] = '/';
			e->linked = true;
			return open_how(rootfd, e->real[1] ? e->real + 1 : ".", true);
		}
		have_openat2 = 0;
	}
	return open_walk(rootfd, rel);
}

enum files_status
files_open(int rootfd, const char *path, struct files_entry *e)
{
	size_t len = strlen(path);
	bool slash = len > 0 && path[len - 1] == '/';
	const char *rel;

	memset(e, 0, sizeof(*e));
	e->fd = -1;
	if (path[0] != '/' || files_hidden(path + 1))
		return FILES_NOT_FOUND;
	rel = path[1] == '\0' ? "." : path + 1;
	e->name = strrchr(path, '/') + 1;
	if ((e->fd = open_beneath(rootfd, rel, e)) == -1)
		return FILES_NOT_FOUND;
	if (fstat(e->fd, &e->st) == -1)
		goto not_found;
	if (S_ISDIR(e->st.st_mode)) {
		e->is_dir = true;
		if (!slash) {
			close(e->fd);
			e->fd = -1;
			return FILES_NEEDS_SLASH;
		}
		return FILES_OK;
	}
	if (S_ISREG(e->st.st_mode) && !slash)
		return FILES_OK;
not_found:
	close(e->fd);
	e->fd = -1;
	return FILES_NOT_FOUND;
}

static int
item_cmp(const void *a, const void *b)
{
	const struct files_item *x = a, *y = b;

	if (x->is_dir != y->is_dir)
		return x->is_dir ? -1 : 1;
	return strcmp(x->name, y->name);
}

void
files_list_free(struct files_item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(items[i].name);
	free(items);
}

/*
 * A symlink is listed only when it opens from the root, as a request would
 * (so never one that leads to a hidden name).
 */
static bool
link_inside(int rootfd, const char *path, const char *name)
{
	struct files_entry e = { .fd = -1 };
	char rel[4096];
	int fd;

	if (snprintf(rel, sizeof(rel), "%s%s", path + 1, name) >= (int)sizeof(rel))
		return false;
	if ((fd = open_beneath(rootfd, rel, &e)) == -1)
		return false;
	close(fd);
	return true;
}

int
files_list(int rootfd, const char *path, int dirfd, struct files_item **out, size_t *nout)
{
	struct files_item *items = NULL, *grown;
	struct dirent *de;
	struct stat st;
	size_t n = 0, cap = 0;
	DIR *d;
	int fd;

	*out = NULL;
	*nout = 0;
	if ((fd = dup(dirfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	/*
	 * cppcheck's readdirCalled wants readdir_r, which glibc deprecates:
	 * readdir is safe on a stream of one's own.
	 */
	/* cppcheck-suppress readdirCalled */
	while (n < FILES_LIST_MAX && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		/* Symlinks are listed by what they point to, when that is inside. */
		if (S_ISLNK(st.st_mode) && (!link_inside(rootfd, path, de->d_name) ||
		    fstatat(dirfd, de->d_name, &st, 0) == -1))
			continue;
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((grown = realloc(items, cap * sizeof(*items))) == NULL)
				goto fail;
			items = grown;
		}
		if ((items[n].name = strdup(de->d_name)) == NULL)
			goto fail;
		items[n].item = 0;
		items[n++].is_dir = S_ISDIR(st.st_mode);
	}
	closedir(d);
	/* An empty folder leaves items NULL, which qsort may not be given. */
	if (n > 0)
		qsort(items, n, sizeof(*items), item_cmp);
	*out = items;
	*nout = n;
	return 0;
fail:
	closedir(d);
	files_list_free(items, n);
	return -1;
}
