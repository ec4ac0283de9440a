/*
 * The post store.
 *
 * Files are remembered by name with their inode, size and modification time;
 * only a file whose triple changed is read and parsed again, so a refresh
 * costs what changed, not what exists. Only then is the index rebuilt (sort,
 * months, tags), in a new structure swapped in at the end.
 *
 * A file still being written is left alone: inotify tells us it was modified
 * and not yet closed, and until it is (or WRITE_GRACE_MS passes without news),
 * the index keeps the previous version, or does not list a new file at all.
 */
#include "store.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "search.h"
#include "utf8.h"

#define POSTS_DIR "posts"
#define WRITE_GRACE_MS 2000	/* a writer silent this long is taken as done */
#define POLL_MS 2000		/* rescans without inotify, at most this often */
#define REOPEN_MS 1000		/* looks for a missing posts folder this often */
#define INOTIFY_MASK (IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | \
	IN_MOVED_TO | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct file_rec {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct store_post *post;	/* NULL: skipped (the log said why) */
	char name[];
};

struct store {
	int rootfd;
	char rootpath[PATH_MAX];
	int postsfd;			/* -1 while ROOT/posts does not exist */
	int ifd;			/* inotify, or -1 */
	size_t max_size;
	char label[256];
	struct strmap files;		/* name -> struct file_rec */
	struct strmap pending;		/* names to look at again; keys are ours */
	struct strmap writing;		/* names modified, not yet closed -> struct timespec */
	bool rescan;
	bool changed;
	long long last_scan_ms;
	struct store_index *index;
	struct store_post *graveyard;	/* replaced posts the index may still show */
	unsigned long version;
	struct store_stats stats;
	const char *reading;		/* the post store_load is reading, if any */
	bool torn;			/* ... and it was written to meanwhile */
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
is_post_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".txt") == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long
days_from_civil(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * Retires a post: the current index may still point at it (until the rebuild
 * that follows every change succeeds), so it is freed only after that.
 */
static void
store_post_retire(struct store *s, struct store_post *sp)
{
	if (sp != NULL) {
		sp->next = s->graveyard;
		s->graveyard = sp;
	}
}

static void
bury(struct store *s)
{
	struct store_post *sp, *next;

	for (sp = s->graveyard; sp != NULL; sp = next) {
		next = sp->next;
		free(sp);
	}
	s->graveyard = NULL;
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

/* Opens posts/NAME: a regular file, no symlink. -1 when it is not a post file. */
static int
open_post(struct store *s, const char *name, struct stat *st)
{
	int fd;

	if (s->postsfd == -1)
		return -1;
	fd = openat(s->postsfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads and parses posts/NAME; in POST_META mode, warns about what is wrong with it. */
static int
read_post(struct store *s, const char *name, int fd, const struct stat *st,
    enum post_mode mode, struct post *p)
{
	const char *why = NULL;
	size_t len;
	char *data;
	int rc;

	if ((data = read_all(fd, st->st_size, s->max_size, &len)) == NULL)
		return -1;
	rc = post_parse(name, data, len, (long long)st->st_mtime, mode, p, &why);
	free(data);
	if (rc == -1) {
		if (mode == POST_META)
			log_warn("%s: posts/%s: skipped: %s", s->label, name, why ? why : "unreadable");
		return -1;
	}
	if ((size_t)st->st_size > s->max_size)
		p->warnings |= POST_WARN_TRUNCATED;
	if (mode == POST_META && p->warnings) {
		char text[POST_WARNING_TEXT_MAX];
		log_warn("%s: posts/%s: %s", s->label, name,
		    post_warning_text(p->warnings, text, sizeof(text)));
	}
	return 0;
}

/*
 * Packs what the index needs of a post into one allocation: the struct, then
 * its strings and tag list. A 100,000-post archive then costs one malloc per
 * post instead of a dozen, which is most of its memory.
 */
static struct store_post *
store_post_new(const char *name, const struct post *p)
{
	const char *strs[4] = { p->title, p->slug, p->author, p->source };
	size_t need = sizeof(struct store_post) + p->ntags * sizeof(char *);
	size_t stem = strlen(name) - 4, i;
	struct store_post *sp;
	char *w, **tags;

	need += stem + 1;
	for (i = 0; i < 4; i++)
		need += strs[i] ? strlen(strs[i]) + 1 : 0;
	for (i = 0; i < p->ntags; i++)
		need += strlen(p->tags[i]) + 1;
	if ((sp = malloc(need)) == NULL)
		return NULL;
	memset(sp, 0, sizeof(*sp));
	sp->meta = *p;
	tags = (char **)(sp + 1);
	w = (char *)(tags + p->ntags);
	memcpy(w, name, stem);
	w[stem] = '\0';
	sp->stem = w;
	w += stem + 1;
	for (i = 0; i < 4; i++) {
		char **field = i == 0 ? &sp->meta.title : i == 1 ? &sp->meta.slug :
		    i == 2 ? &sp->meta.author : &sp->meta.source;
		if (strs[i] == NULL)
			continue;
		*field = strcpy(w, strs[i]);
		w += strlen(w) + 1;
	}
	for (i = 0; i < p->ntags; i++) {
		tags[i] = strcpy(w, p->tags[i]);
		w += strlen(w) + 1;
	}
	sp->meta.tags = p->ntags ? tags : NULL;
	sp->when = days_from_civil(p->year, p->month, p->day) * 86400LL + p->hour * 3600 +
	    p->minute * 60 + p->second;
	return sp;
}

static void
forget(struct store *s, const char *name)
{
	struct file_rec *f = strmap_del(&s->files, name);

	if (f != NULL) {
		store_post_retire(s, f->post);
		free(f);
		s->changed = true;
	}
}

/* Brings one file's record up to date; reads it only when it changed. */
static void
update_file(struct store *s, const char *name)
{
	struct file_rec *f;
	struct post p;
	struct stat st;
	int fd;

	if (!is_post_name(name))
		return;
	if ((fd = open_post(s, name, &st)) == -1) {
		forget(s, name);
		return;
	}
	f = strmap_get(&s->files, name);
	if (f != NULL && f->dev == st.st_dev && f->ino == st.st_ino && f->size == st.st_size &&
	    f->mtime.tv_sec == st.st_mtim.tv_sec && f->mtime.tv_nsec == st.st_mtim.tv_nsec) {
		close(fd);
		return;
	}
	if (f == NULL) {
		if ((f = calloc(1, sizeof(*f) + strlen(name) + 1)) == NULL) {
			close(fd);
			return;
		}
		strcpy(f->name, name);
		if (strmap_put(&s->files, f->name, f) == -1) {
			free(f);
			close(fd);
			return;
		}
	}
	store_post_retire(s, f->post);
	f->post = NULL;
	if (read_post(s, name, fd, &st, POST_META, &p) == 0) {
		f->post = store_post_new(name, &p);
		post_free(&p);
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
	close(fd);
	s->changed = true;
}

/* Adds the inotify watch on posts/; without one, the store rescans instead. */
static void
watch_posts_dir(struct store *s)
{
	char path[PATH_MAX + sizeof(POSTS_DIR) + 1];

	if (s->postsfd == -1 || s->ifd == -1)
		return;
	/* inotify wants a path; the root's own path, not /proc, survives chroot. */
	snprintf(path, sizeof(path), "%s/" POSTS_DIR, s->rootpath);
	if (inotify_add_watch(s->ifd, path, INOTIFY_MASK) == -1) {
		log_warn("%s: cannot watch %s: %s; rescanning every %d ms instead",
		    s->label, path, strerror(errno), POLL_MS);
		close(s->ifd);
		s->ifd = -1;
	}
}

static void
open_posts_dir(struct store *s)
{
	s->postsfd = openat(s->rootfd, POSTS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	watch_posts_dir(s);
}

int
store_watch(struct store *s)
{
	if (s->ifd != -1)
		return 0;
	if ((s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("%s: inotify: %s; rescanning posts/ every %d ms instead", s->label,
		    strerror(errno), POLL_MS);
		return -1;
	}
	watch_posts_dir(s);
	/* What changed between the scan and the watch shows up on this rescan. */
	s->rescan = true;
	return 0;
}

/* Reads the whole folder again: what appeared, changed or vanished. */
static void
rescan(struct store *s)
{
	struct strmap seen;
	struct dirent *de;
	const char *name;
	void *value;
	size_t i = 0;
	DIR *d;
	int fd;

	s->rescan = false;
	s->last_scan_ms = now_ms();
	strmap_init(&seen);
	if (s->postsfd != -1 && (fd = dup(s->postsfd)) != -1) {
		if ((d = fdopendir(fd)) == NULL)
			close(fd);
		else {
			rewinddir(d);
			/* readdir_r is deprecated; see files_list() in files.c. */
			/* cppcheck-suppress readdirCalled */
			while ((de = readdir(d)) != NULL) {
				if (!is_post_name(de->d_name) || strmap_get(&s->writing, de->d_name))
					continue;
				update_file(s, de->d_name);
				if ((value = strmap_get(&s->files, de->d_name)) != NULL)
					strmap_put(&seen, ((struct file_rec *)value)->name, value);
			}
			closedir(d);
		}
	}
	/* Deleting leaves a tombstone in place, so iterating on is safe. */
	while (strmap_next(&s->files, &i, &name, &value))
		if (strmap_get(&seen, name) == NULL && strmap_get(&s->writing, name) == NULL)
			forget(s, name);
	strmap_clear(&seen);
}

static void
mark_pending(struct store *s, const char *name)
{
	char *key;

	if (strmap_get(&s->pending, name) != NULL || (key = strdup(name)) == NULL)
		return;
	if (strmap_put(&s->pending, key, key) == -1)
		free(key);
}

static void
mark_writing(struct store *s, const char *name, bool on)
{
	struct timespec *since = strmap_get(&s->writing, name);
	const char *key;

	if (!on) {
		if (since != NULL) {
			key = (const char *)(since + 1);
			strmap_del(&s->writing, key);
			free(since);
		}
		return;
	}
	if (since == NULL) {
		/* One allocation: the time, then the name that keys it. */
		if ((since = malloc(sizeof(*since) + strlen(name) + 1)) == NULL)
			return;
		strcpy((char *)(since + 1), name);
		if (strmap_put(&s->writing, (char *)(since + 1), since) == -1) {
			free(since);
			return;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, since);
}

/* Reads every queued inotify event; sorts them into pending and writing. */
static void
drain_inotify(struct store *s)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	for (;;) {
		n = read(s->ifd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				s->rescan = true;
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				if (s->postsfd != -1)
					close(s->postsfd);
				s->postsfd = -1;
				s->rescan = true;
			}
			if (ev->len == 0 || !is_post_name(ev->name))
				continue;
			if (s->reading != NULL && (ev->mask & IN_MODIFY) &&
			    strcmp(ev->name, s->reading) == 0)
				s->torn = true;
			if (ev->mask & (IN_CREATE | IN_MODIFY))
				mark_writing(s, ev->name, true);
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE))
				mark_writing(s, ev->name, false);
			mark_pending(s, ev->name);
		}
	}
}

static bool
still_writing(struct store *s, const char *name)
{
	struct timespec *since = strmap_get(&s->writing, name);

	if (since == NULL)
		return false;
	if (now_ms() - ((long long)since->tv_sec * 1000 + since->tv_nsec / 1000000) <
	    WRITE_GRACE_MS)
		return true;
	mark_writing(s, name, false);
	return false;
}

static void
apply_pending(struct store *s)
{
	const char *name;
	void *value;
	size_t i = 0;

	while (strmap_next(&s->pending, &i, &name, &value)) {
		if (still_writing(s, name))
			continue;
		update_file(s, name);
		strmap_del(&s->pending, name);
		free(value);
	}
}

/* Ascending by date, then slug, then file name: a total order. */
static int
post_cmp(const void *a, const void *b)
{
	const struct store_post *x = *(struct store_post *const *)a;
	const struct store_post *y = *(struct store_post *const *)b;
	int c;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	if ((c = strcmp(x->meta.slug, y->meta.slug)) != 0)
		return c;
	return strcmp(x->stem, y->stem);
}

static int
tag_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_tag *)a)->key, ((const struct store_tag *)b)->key);
}

static void
index_free(struct store_index *x)
{
	size_t i;

	if (x == NULL)
		return;
	for (i = 0; i < x->ntags; i++) {
		free(x->tags[i].key);
		free(x->tags[i].posts);
	}
	free(x->tags);
	free(x->months);
	free(x->posts);
	strmap_clear(&x->by_tag);
	free(x);
}

/*
 * Tags and sources share one namespace of slugs: folded, with every run of
 * ASCII punctuation or space turned into one '-', so "VoA/South China Morning
 * Post" is /tags/voa-south-china-morning-post/ and needs no '/' in a URL.
 */
void
store_tag_slug(const char *name, char *out, size_t size)
{
	char folded[512];
	size_t n = strlen(name), i, o = 0;

	if (n >= sizeof(folded))
		n = sizeof(folded) - 1;
	n = search_fold(name, n, folded);
	for (i = 0; i < n && o + 1 < size; i++) {
		unsigned char c = (unsigned char)folded[i];
		if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[o++] = c;
		else if (o > 0 && out[o - 1] != '-')
			out[o++] = '-';
	}
	/* A cut may have split a UTF-8 sequence: drop the partial tail. */
	while (o > 0 && (out[o - 1] == '-' || !utf8_valid(out, o)))
		o--;
	out[o] = '\0';
}

/* Adds post i under the tag name (a tag, or the source when is_source). */
static int
add_tag(struct strmap *tmp, struct store_tag **tags, size_t *ntags, size_t *cap,
    const char *name, size_t i, bool is_source)
{
	char key[256];
	struct store_tag *t, *grown;
	size_t *gp;
	uintptr_t slot;

	store_tag_slug(name, key, sizeof(key));
	if (key[0] == '\0')
		return 0;
	if ((slot = (uintptr_t)strmap_get(tmp, key)) == 0) {
		if (*ntags == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			if ((grown = realloc(*tags, *cap * sizeof(**tags))) == NULL)
				return -1;
			/* The map holds indexes, so moving the array does not hurt it. */
			*tags = grown;
		}
		t = &(*tags)[*ntags];
		memset(t, 0, sizeof(*t));
		t->name = (char *)name;
		if ((t->key = strdup(key)) == NULL ||
		    strmap_put(tmp, t->key, (void *)(uintptr_t)(*ntags + 1)) == -1) {
			free(t->key);
			return -1;
		}
		slot = ++*ntags;
	}
	t = &(*tags)[slot - 1];
	if (t->n > 0 && t->posts[t->n - 1] == i)
		return 0;	/* the source is also a tag of the same post */
	if ((t->n & (t->n - 1)) == 0) {
		/* Room doubles at each power of two. */
		if ((gp = realloc(t->posts, (t->n ? t->n * 2 : 1) * sizeof(*gp))) == NULL)
			return -1;
		t->posts = gp;
	}
	t->posts[t->n++] = i;
	if (is_source)
		t->as_source++;
	return 0;
}

static struct store_index *
index_build(struct store *s)
{
	struct store_index *x;
	struct strmap tmp;
	struct file_rec *f;
	const char *name;
	size_t i = 0, n = 0, cap = 0, j;
	void *value;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	strmap_init(&tmp);
	if ((x->posts = malloc((s->files.n + 1) * sizeof(*x->posts))) == NULL)
		goto fail;
	while (strmap_next(&s->files, &i, &name, &value)) {
		f = value;
		if (f->post != NULL)
			x->posts[n++] = f->post;
	}
	x->nposts = n;
	qsort(x->posts, n, sizeof(*x->posts), post_cmp);
	if ((x->months = malloc((n + 1) * sizeof(*x->months))) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		const struct post *p = &x->posts[i]->meta;
		struct store_month *m = x->nmonths ? &x->months[x->nmonths - 1] : NULL;
		if (m == NULL || m->year != p->year || m->month != p->month) {
			/*
			 * Checked after malloc; scan-build forgets it across add_tag()
			 * and reports a NULL dereference (a false positive).
			 */
			assert(x->months != NULL);
			m = &x->months[x->nmonths++];
			m->year = p->year;
			m->month = p->month;
			m->first = i;
			m->count = 0;
		}
		m->count++;
		for (j = 0; j < p->ntags; j++)
			if (add_tag(&tmp, &x->tags, &x->ntags, &cap, p->tags[j], i, false) == -1)
				goto fail;
		if (p->source != NULL &&
		    add_tag(&tmp, &x->tags, &x->ntags, &cap, p->source, i, true) == -1)
			goto fail;
	}
	strmap_clear(&tmp);
	if (x->ntags > 0)
		qsort(x->tags, x->ntags, sizeof(*x->tags), tag_cmp);
	for (i = 0; i < x->ntags; i++)
		if (strmap_put(&x->by_tag, x->tags[i].key, &x->tags[i]) == -1)
			goto fail;
	x->version = ++s->version;
	return x;
fail:
	strmap_clear(&tmp);
	index_free(x);
	return NULL;
}

static void
rebuild(struct store *s)
{
	struct store_index *x;

	s->changed = false;
	if ((x = index_build(s)) == NULL) {
		log_err("%s: out of memory rebuilding the post index; keeping the old one",
		    s->label);
		s->changed = true;
		return;
	}
	index_free(s->index);
	s->index = x;
	bury(s);
}

const struct store_index *
store_refresh(struct store *s)
{
	long long now = now_ms();

	if (s->ifd != -1)
		drain_inotify(s);
	if (s->postsfd == -1 && now - s->last_scan_ms >= REOPEN_MS) {
		open_posts_dir(s);
		s->rescan = true;
	}
	if (s->ifd == -1 && now - s->last_scan_ms >= POLL_MS)
		s->rescan = true;
	if (s->rescan) {
		if (s->postsfd == -1)
			s->last_scan_ms = now;
		rescan(s);
	}
	if (s->pending.n > 0)
		apply_pending(s);
	if (s->changed || s->index == NULL)
		rebuild(s);
	return s->index;
}

struct store *
store_new(int rootfd, const char *rootpath, size_t max_post_size, const char *label)
{
	struct store *s;
	long long t0 = now_ms();
	struct timespec a, b;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &a);
	s->rootfd = rootfd;
	snprintf(s->rootpath, sizeof(s->rootpath), "%s", rootpath);
	s->max_size = max_post_size;
	s->postsfd = -1;
	snprintf(s->label, sizeof(s->label), "%s", label);
	strmap_init(&s->files);
	strmap_init(&s->pending);
	strmap_init(&s->writing);
	s->ifd = -1;
	open_posts_dir(s);
	s->last_scan_ms = t0;
	rescan(s);
	rebuild(s);
	if (s->index == NULL) {
		store_free(s);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	s->stats.scan_ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
	return s;
}

void
store_free(struct store *s)
{
	const char *name;
	void *value;
	size_t i = 0;

	if (s == NULL)
		return;
	index_free(s->index);
	while (strmap_next(&s->files, &i, &name, &value)) {
		store_post_retire(s, ((struct file_rec *)value)->post);
		free(value);
	}
	bury(s);
	i = 0;
	while (strmap_next(&s->pending, &i, &name, &value))
		free(value);
	i = 0;
	while (strmap_next(&s->writing, &i, &name, &value))
		free(value);
	strmap_clear(&s->files);
	strmap_clear(&s->pending);
	strmap_clear(&s->writing);
	if (s->postsfd != -1)
		close(s->postsfd);
	if (s->ifd != -1)
		close(s->ifd);
	free(s);
}

int
store_fd(const struct store *s)
{
	return s->ifd;
}

long
store_find_post(const struct store *s, const struct store_index *x, const char *stem)
{
	char name[NAME_MAX + 1];
	const struct file_rec *f;
	const struct store_post *sp;
	struct store_post **hit;

	if (snprintf(name, sizeof(name), "%s.txt", stem) >= (int)sizeof(name) ||
	    (f = strmap_get(&s->files, name)) == NULL || (sp = f->post) == NULL)
		return -1;
	/* The sorted position, by bisection on the same order. */
	hit = bsearch(&sp, x->posts, x->nposts, sizeof(*x->posts), post_cmp);
	return hit ? (long)(hit - x->posts) : -1;
}

static int
month_cmp(const void *a, const void *b)
{
	const struct store_month *x = a, *y = b;

	if (x->year != y->year)
		return x->year < y->year ? -1 : 1;
	return x->month < y->month ? -1 : x->month > y->month;
}

long
store_find_month(const struct store_index *x, int year, int month)
{
	struct store_month key = { .year = year, .month = month };
	struct store_month *hit;

	hit = bsearch(&key, x->months, x->nmonths, sizeof(*x->months), month_cmp);
	return hit ? (long)(hit - x->months) : -1;
}

long
store_find_year(const struct store_index *x, int year)
{
	size_t lo = 0, hi = x->nmonths;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (x->months[mid].year < year)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->nmonths && x->months[lo].year == year ? (long)lo : -1;
}

long
store_find_tag(const struct store_index *x, const char *name)
{
	const struct store_tag *t;
	char key[256];

	store_tag_slug(name, key, sizeof(key));
	if ((t = strmap_get(&x->by_tag, key)) == NULL)
		return -1;
	return (long)(t - x->tags);
}

int
store_load(struct store *s, const struct store_post *sp, struct post *out)
{
	char name[NAME_MAX + 1];
	struct stat st, after;
	int fd, rc;

	if (snprintf(name, sizeof(name), "%s.txt", sp->stem) >= (int)sizeof(name))
		return -1;
	/*
	 * A page must never show half a post (and then be cached). The index
	 * may well know a file an author is rewriting in place or recreating
	 * right now: read it only when no writer is at work on it, and discard
	 * what was read if one wrote to it meanwhile (inotify tells both; the
	 * size and time before and after, where there is no inotify). The
	 * caller then answers as if the post were not there, for that moment.
	 */
	if (s->ifd != -1)
		drain_inotify(s);
	if (still_writing(s, name) || (fd = open_post(s, name, &st)) == -1)
		return -1;
	s->reading = name;
	s->torn = false;
	rc = read_post(s, name, fd, &st, POST_FULL, out);
	if (s->ifd != -1)
		drain_inotify(s);
	s->reading = NULL;
	if (rc == 0 && (s->torn || fstat(fd, &after) == -1 || after.st_size != st.st_size ||
	    after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != st.st_mtim.tv_nsec)) {
		post_free(out);
		rc = -1;
	}
	close(fd);
	return rc;
}

void
store_stats(const struct store *s, struct store_stats *st)
{
	const char *name;
	void *value;
	size_t i = 0;

	*st = s->stats;
	st->files = s->files.n;
	st->posts = s->index ? s->index->nposts : 0;
	st->skipped = 0;
	while (strmap_next(&s->files, &i, &name, &value))
		if (((struct file_rec *)value)->post == NULL)
			st->skipped++;
}

/* Folds text and marks the words it holds; buf grows as needed. */
static void
scan_text(const struct search_terms *t, const char *text, unsigned *found, char **buf,
    size_t *cap)
{
	size_t n = strlen(text);
	char *grown;

	if (n + 1 > *cap) {
		if ((grown = realloc(*buf, n + 1)) == NULL)
			return;
		*buf = grown;
		*cap = n + 1;
	}
	n = search_fold(text, n, *buf);
	search_scan(t, *buf, n, found);
}

size_t
store_search(struct store *s, const struct store_index *x, const struct search_terms *t,
    size_t *out, size_t max, long budget_ms, size_t *searched)
{
	long long deadline = now_ms() + budget_ms;
	const struct store_post *sp;
	size_t n = 0, i, j, cap = 0;
	char *buf = NULL;
	struct post full;
	unsigned found;

	*searched = 0;
	for (i = x->nposts; i-- > 0 && n < max; (*searched)++) {
		sp = x->posts[i];
		found = 0;
		scan_text(t, sp->meta.title, &found, &buf, &cap);
		for (j = 0; j < sp->meta.ntags; j++)
			scan_text(t, sp->meta.tags[j], &found, &buf, &cap);
		if (sp->meta.source != NULL)
			scan_text(t, sp->meta.source, &found, &buf, &cap);
		if (!search_complete(t, found)) {
			/* Bodies cost a read each: only while the budget lasts. */
			if (now_ms() >= deadline)
				break;
			if (store_load(s, sp, &full) == 0) {
				for (j = 0; j < full.nblocks && !search_complete(t, found); j++)
					scan_text(t, full.blocks[j].text, &found, &buf, &cap);
				post_free(&full);
			}
		}
		if (search_complete(t, found))
			out[n++] = i;
	}
	free(buf);
	return n;
}
