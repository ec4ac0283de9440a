#include "postdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "store.h"
#include "strmap.h"

/* What the index needs of one post, in one allocation: the struct, its strings and tags. */
struct entry {
	struct post meta;	/* no blocks */
};

struct file_rec {
	struct index_file file;
	struct entry *post;	/* NULL: skipped (the log said why, once) */
	unsigned long seen;	/* the last rescan that found it */
	bool recheck;		/* skipped under other limits: read once more */
	char name[];
};

struct postdir {
	int rootfd;
	int postsfd;			/* -1 while posts/ does not exist */
	dev_t posts_dev;		/* which folder postsfd is */
	ino_t posts_ino;
	size_t max_size;
	char label[256];
	struct strmap files;		/* name -> struct file_rec */
	struct strmap pending;		/* names to look at again; keys are ours */
	struct strmap writing;		/* names modified, not yet closed -> struct timespec */
	struct strmap touched;		/* names read anew or forgotten, for the search index */
	bool changed;
	unsigned long rescans;
	void (*hear)(void *arg);	/* takes in the change events queued meanwhile */
	void *hear_arg;
};

/*
 * Packs a post's metadata into one allocation: the struct, then its strings
 * and tag list. A 100,000-post archive then costs one malloc per post
 * instead of a dozen.
 */
static struct entry *
entry_new(const struct post *p)
{
	const char *strs[4] = { p->title, p->slug, p->author, p->source };
	char **fields[4];
	size_t need = sizeof(struct entry) + p->ntags * sizeof(char *), i;
	struct entry *e;
	char *w, **tags;

	for (i = 0; i < 4; i++)
		need += strs[i] ? strlen(strs[i]) + 1 : 0;
	for (i = 0; i < p->ntags; i++)
		need += strlen(p->tags[i]) + 1;
	if ((e = malloc(need)) == NULL)
		return NULL;
	e->meta = *p;
	e->meta.blocks = NULL;
	e->meta.nblocks = 0;
	fields[0] = &e->meta.title;
	fields[1] = &e->meta.slug;
	fields[2] = &e->meta.author;
	fields[3] = &e->meta.source;
	tags = (char **)(e + 1);
	w = (char *)(tags + p->ntags);
	for (i = 0; i < 4; i++) {
		if (strs[i] == NULL)
			continue;
		*fields[i] = strcpy(w, strs[i]);
		w += strlen(w) + 1;
	}
	for (i = 0; i < p->ntags; i++) {
		tags[i] = strcpy(w, p->tags[i]);
		w += strlen(w) + 1;
	}
	e->meta.tags = p->ntags ? tags : NULL;
	return e;
}

static struct file_rec *
rec_get(struct postdir *p, const char *name)
{
	struct file_rec *f = strmap_get(&p->files, name);

	if (f != NULL)
		return f;
	if ((f = calloc(1, sizeof(*f) + strlen(name) + 1)) == NULL)
		return NULL;
	strcpy(f->name, name);
	if (strmap_put(&p->files, f->name, f) == -1) {
		free(f);
		return NULL;
	}
	return f;
}

/* Adds name to a set of names the set owns. */
static void
add_name(struct strmap *set, const char *name)
{
	char *key;

	if (strmap_get(set, name) != NULL || (key = strdup(name)) == NULL)
		return;
	if (strmap_put(set, key, key) == -1)
		free(key);
}

static void
forget(struct postdir *p, const char *name)
{
	struct file_rec *f = strmap_del(&p->files, name);

	if (f != NULL) {
		/* name may be the record's own: touched before it is freed. */
		add_name(&p->touched, name);
		free(f->post);
		free(f);
		p->changed = true;
	}
}

/*
 * Reads and parses posts/NAME into *e (NULL: not a post), warning once about
 * what is wrong with it. -1 when a writer cut it short as it was read.
 */
static int
read_entry(struct postdir *p, const char *name, int fd, const struct stat *st,
    struct entry **out)
{
	char text[POST_WARNING_TEXT_MAX];
	struct entry *e;
	struct post meta;
	const char *why;
	int rc;

	*out = NULL;
	if ((rc = store_read_post(fd, name, st, p->max_size, POST_META, &meta, &why)) ==
	    STORE_READ_TORN)
		return -1;
	if (rc == -1) {
		log_warn("%s: posts/%s: skipped: %s", p->label, name, why ? why : "unreadable");
		return 0;
	}
	if (meta.warnings)
		log_warn("%s: posts/%s: %s", p->label, name,
		    post_warning_text(meta.warnings, text, sizeof(text)));
	if ((e = entry_new(&meta)) == NULL)
		log_err("%s: posts/%s: out of memory", p->label, name);
	post_free(&meta);
	*out = e;
	return 0;
}

static void mark_pending(struct postdir *p, const char *name);
static void mark_writing(struct postdir *p, const char *name, bool on);

/* Brings one file's record up to date; reads it only when it changed. */
static void
update_file(struct postdir *p, const char *name)
{
	struct entry *e;
	struct file_rec *f;
	struct stat st;
	bool same;
	int fd;

	if (!store_is_post_name(name))
		return;
	f = strmap_get(&p->files, name);
	/* A stat first: most files of a rescan have not changed. */
	if (p->postsfd == -1 || fstatat(p->postsfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode)) {
		forget(p, name);
		return;
	}
	if (f != NULL && index_file_is(&f->file, &st) && !f->recheck)
		return;
	if ((fd = store_open_post(p->postsfd, name, &st)) == -1) {
		forget(p, name);
		return;
	}
	if (read_entry(p, name, fd, &st, &e) == -1) {
		/* A writer is at work after all: as if inotify had said so. */
		close(fd);
		mark_writing(p, name, true);
		mark_pending(p, name);
		return;
	}
	/*
	 * A writer that began on it since the events were last taken in (it
	 * truncated the file and paused halfway) left a whole-looking half:
	 * its events, queued by now, say so.
	 */
	if (p->hear != NULL) {
		p->hear(p->hear_arg);
		if (strmap_get(&p->writing, name) != NULL) {
			free(e);
			close(fd);
			mark_pending(p, name);
			return;
		}
	}
	if ((f = rec_get(p, name)) == NULL) {
		free(e);
		close(fd);
		return;
	}
	/* Skipped before, the same file skipped again: no news. */
	same = f->recheck && e == NULL && index_file_is(&f->file, &st);
	f->recheck = false;
	free(f->post);
	f->post = e;
	index_file_set(&f->file, &st);
	close(fd);
	if (same)
		return;
	p->changed = true;
	add_name(&p->touched, name);
}

struct postdir *
postdir_new(int rootfd, size_t max_post_size, const char *label)
{
	struct postdir *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->rootfd = rootfd;
	p->postsfd = -1;
	p->max_size = max_post_size;
	snprintf(p->label, sizeof(p->label), "%s", label);
	strmap_init(&p->files);
	strmap_init(&p->pending);
	strmap_init(&p->writing);
	strmap_init(&p->touched);
	/* The first image says "no posts" too, if that is so. */
	p->changed = true;
	return p;
}

static void
free_values(struct strmap *m)
{
	const char *name;
	void *value;
	size_t i = 0;

	while (strmap_next(m, &i, &name, &value))
		free(value);
	strmap_clear(m);
}

void
postdir_free(struct postdir *p)
{
	const char *name;
	void *value;
	size_t i = 0;

	if (p == NULL)
		return;
	while (strmap_next(&p->files, &i, &name, &value))
		free(((struct file_rec *)value)->post);
	free_values(&p->files);
	free_values(&p->pending);
	free_values(&p->writing);
	free_values(&p->touched);
	if (p->postsfd != -1)
		close(p->postsfd);
	free(p);
}

int
postdir_seed(struct postdir *p, const struct index *x, bool skipped)
{
	struct index_meta buf;
	struct file_rec *f;
	char name[NAME_MAX + 1];
	size_t i;

	if (strmap_reserve(&p->files, x->nposts + x->nskipped) == -1)
		return -1;
	for (i = 0; i < x->nposts; i++) {
		const struct index_post *sp = &x->posts[i];
		if (snprintf(name, sizeof(name), "%s.txt", index_str(x, sp->stem)) >=
		    (int)sizeof(name) || (f = rec_get(p, name)) == NULL)
			continue;
		free(f->post);
		if ((f->post = entry_new(index_post_meta(x, sp, &buf))) == NULL)
			return -1;
		f->file = sp->file;
	}
	for (i = 0; i < x->nskipped; i++) {
		if ((f = rec_get(p, index_str(x, x->skipped[i].name))) == NULL)
			return -1;
		free(f->post);
		f->post = NULL;
		f->file = x->skipped[i].file;
		f->recheck = !skipped;
	}
	/* The records are that image's now: only a difference makes another. */
	p->changed = false;
	return 0;
}

bool
postdir_follow(struct postdir *p)
{
	int fd = openat(p->rootfd, STORE_POSTS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (fd != -1 && fstat(fd, &st) == -1) {
		close(fd);
		fd = -1;
	}
	if (fd != -1 && p->postsfd != -1 && st.st_dev == p->posts_dev &&
	    st.st_ino == p->posts_ino) {
		close(fd);
		return false;
	}
	if (fd == -1 && p->postsfd == -1)
		return false;
	if (p->postsfd != -1)
		close(p->postsfd);
	p->postsfd = fd;
	if (fd != -1) {
		p->posts_dev = st.st_dev;
		p->posts_ino = st.st_ino;
	}
	return true;
}

int
postdir_fd(const struct postdir *p)
{
	return p->postsfd;
}

void
postdir_rescan(struct postdir *p)
{
	struct file_rec *f;
	struct dirent *de;
	const char *name;
	void *value;
	size_t i = 0;
	DIR *d;
	int fd;

	p->rescans++;
	/* A descriptor of our own: a directory stream's position is shared by dups. */
	if (p->postsfd != -1 && (fd = openat(p->postsfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		if ((d = fdopendir(fd)) == NULL)
			close(fd);
		else {
			/* readdir_r is deprecated; see files_list() in files.c. */
			/* cppcheck-suppress readdirCalled */
			while ((de = readdir(d)) != NULL) {
				if (!store_is_post_name(de->d_name) ||
				    strmap_get(&p->writing, de->d_name) != NULL)
					continue;
				update_file(p, de->d_name);
				if ((f = strmap_get(&p->files, de->d_name)) != NULL)
					f->seen = p->rescans;
			}
			closedir(d);
		}
	}
	/* Deleting leaves a tombstone in place, so iterating on is safe. */
	while (strmap_next(&p->files, &i, &name, &value))
		if (((struct file_rec *)value)->seen != p->rescans &&
		    strmap_get(&p->writing, name) == NULL)
			forget(p, name);
}

static void
mark_pending(struct postdir *p, const char *name)
{
	add_name(&p->pending, name);
}

static void
mark_writing(struct postdir *p, const char *name, bool on)
{
	struct timespec *since = strmap_get(&p->writing, name);
	const char *key;

	if (!on) {
		if (since != NULL) {
			key = (const char *)(since + 1);
			strmap_del(&p->writing, key);
			free(since);
		}
		return;
	}
	if (since == NULL) {
		/* One allocation: the time, then the name that keys it. */
		if ((since = malloc(sizeof(*since) + strlen(name) + 1)) == NULL)
			return;
		strcpy((char *)(since + 1), name);
		if (strmap_put(&p->writing, (char *)(since + 1), since) == -1) {
			free(since);
			return;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, since);
}

void
postdir_event(struct postdir *p, const char *name, enum postdir_change what)
{
	if (!store_is_post_name(name))
		return;
	if (what != POSTDIR_TOUCHED)
		mark_writing(p, name, what == POSTDIR_WRITING);
	mark_pending(p, name);
}

/* ms left of name's grace; 0 when it is not being written (any more). */
static long
grace_left(struct postdir *p, const char *name)
{
	struct timespec *since = strmap_get(&p->writing, name);
	long long left;

	if (since == NULL)
		return 0;
	left = (long long)since->tv_sec * 1000 + since->tv_nsec / 1000000 +
	    POSTDIR_WRITE_GRACE_MS - clock_ms();
	if (left > 0)
		return (long)left;
	mark_writing(p, name, false);
	return 0;
}

long
postdir_apply(struct postdir *p)
{
	const char *name, **due;
	void *value;
	size_t i = 0, n = 0, k;
	long left, next = -1;

	/* The names due are taken first: events heard while reading may add more. */
	if ((due = malloc((p->pending.n + 1) * sizeof(*due))) == NULL)
		return 0;
	while (strmap_next(&p->pending, &i, &name, &value)) {
		if ((left = grace_left(p, name)) == 0)
			due[n++] = name;
		else if (next == -1 || left < next)
			next = left;
	}
	for (k = 0; k < n; k++) {
		/* Out of pending first: news of it heard while it is read puts it back. */
		name = strmap_del(&p->pending, due[k]);
		update_file(p, name);
		/* Cut short as it was read: its writer gets its grace after all. */
		if ((left = grace_left(p, name)) > 0) {
			mark_pending(p, name);
			if (next == -1 || left < next)
				next = left;
		}
		free((char *)name);
	}
	free(due);
	return next;
}

void
postdir_hear(struct postdir *p, void (*hear)(void *arg), void *arg)
{
	p->hear = hear;
	p->hear_arg = arg;
}

bool
postdir_changed(const struct postdir *p)
{
	return p->changed;
}

void *
postdir_image(struct postdir *p, unsigned long version, size_t *size)
{
	struct index_entry *posts;
	struct index_skip *skipped;
	size_t n = 0, k = 0, i = 0;
	const char *name;
	void *value, *img = NULL;

	posts = malloc((p->files.n + 1) * sizeof(*posts));
	skipped = malloc((p->files.n + 1) * sizeof(*skipped));
	if (posts != NULL && skipped != NULL) {
		while (strmap_next(&p->files, &i, &name, &value)) {
			const struct file_rec *f = value;
			if (f->post != NULL)
				posts[n++] = (struct index_entry){ f->name, &f->post->meta, f->file };
			else
				skipped[k++] = (struct index_skip){ f->name, f->file };
		}
		if ((img = index_build(posts, n, skipped, k, version, size)) != NULL)
			p->changed = false;
	}
	free(posts);
	free(skipped);
	return img;
}

void
postdir_counts(const struct postdir *p, size_t *posts, size_t *skipped)
{
	const char *name;
	void *value;
	size_t i = 0;

	*posts = *skipped = 0;
	while (strmap_next(&p->files, &i, &name, &value))
		if (((struct file_rec *)value)->post != NULL)
			++*posts;
		else
			++*skipped;
}

size_t
postdir_take_touched(struct postdir *p, size_t max, void (*fn)(void *arg, const char *name),
    void *arg)
{
	const char *name;
	void *value;
	size_t i = 0, n = 0;

	while (n < max && strmap_next(&p->touched, &i, &name, &value)) {
		fn(arg, name);
		strmap_del(&p->touched, name);
		free(value);
		n++;
	}
	return n;
}

void
postdir_touch(struct postdir *p, const char *name)
{
	add_name(&p->touched, name);
}

void
postdir_touch_all(struct postdir *p)
{
	const char *name;
	void *value;
	size_t i = 0;

	while (strmap_next(&p->files, &i, &name, &value))
		add_name(&p->touched, name);
}

bool
postdir_touched(const struct postdir *p)
{
	return p->touched.n > 0;
}

bool
postdir_lookup(const struct postdir *p, const char *name, struct index_file *file)
{
	const struct file_rec *f = strmap_get(&p->files, name);

	if (f == NULL || f->post == NULL)
		return false;
	*file = f->file;
	return true;
}

int
postdir_read(const struct postdir *p, const char *name, const struct index_file *file,
    struct post *out)
{
	struct stat st;
	const char *why;
	int fd, rc;

	if (p->postsfd == -1 || (fd = store_open_post(p->postsfd, name, &st)) == -1)
		return -1;
	/* Another file than the record's: its own change is on its way. */
	rc = index_file_is(file, &st) ? store_read_post(fd, name, &st, p->max_size, POST_FULL,
	    out, &why) : -1;
	close(fd);
	return rc == 0 ? 0 : -1;
}
