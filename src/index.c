/*
 * The image, in order: a header, the posts (struct index_post, by date, then
 * slug, then file name: a total order), the post indexes by stem, the
 * months, the tags (by key), the skipped files (by name), a pool of uint32
 * (each tag's posts, each post's tags) and the strings, NUL-terminated,
 * the first of them "" so that offset 0 means "none". Every region starts
 * on an 8-byte boundary. Equal strings are stored once.
 */
#include "index.h"

#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "strmap.h"
#include "utf8.h"

#define INDEX_MAGIC 0x58495a47u	/* "GZIX" */
#define INDEX_FORMAT 1

struct index_header {
	uint32_t magic, format;
	uint64_t version;
	uint64_t size;		/* of the whole image */
	uint64_t nposts, nmonths, ntags, nskipped, npool, nstrings;
	uint64_t posts, by_stem, months, tags, skipped, pool, strings;	/* offsets */
};

/* ---- Building ------------------------------------------------------------ */

struct tag_build {
	char *key;		/* owned; keys by_key */
	uint32_t name, keyoff;
	uint32_t *posts;
	size_t n, cap;
	uint32_t as_source;
	uint32_t pool;		/* where its posts went */
};

struct builder {
	char *str;
	size_t nstr, capstr;
	struct strmap seen;	/* string -> its offset + 1; keys are the input's */
	uint32_t *pool;
	size_t npool, cappool;
	struct tag_build *tags;
	size_t ntags, captags;
	struct strmap by_key;	/* slug -> tag index + 1 */
	bool failed;
};

static bool
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 64;
	void *n;

	while (c < need)
		c *= 2;
	if (c == *cap)
		return true;
	if ((n = realloc(*p, c * elem)) == NULL)
		return false;
	*p = n;
	*cap = c;
	return true;
}

/* Adds len bytes of s as a string; equal NUL-terminated inputs share one copy when dedupe. */
static uint32_t
add_str(struct builder *b, const char *s, size_t len, bool dedupe)
{
	uintptr_t known;
	uint32_t off;

	if (len == 0)
		return 0;
	if (dedupe && (known = (uintptr_t)strmap_get(&b->seen, s)) != 0)
		return (uint32_t)(known - 1);
	if (b->nstr + len + 1 > UINT32_MAX ||
	    !grow((void **)&b->str, &b->capstr, b->nstr + len + 1, 1)) {
		b->failed = true;
		return 0;
	}
	off = (uint32_t)b->nstr;
	memcpy(b->str + b->nstr, s, len);
	b->str[b->nstr + len] = '\0';
	b->nstr += len + 1;
	if (dedupe && strmap_put(&b->seen, s, (void *)(uintptr_t)(off + 1)) == -1)
		b->failed = true;
	return off;
}

static uint32_t
add_opt(struct builder *b, const char *s)
{
	return s != NULL ? add_str(b, s, strlen(s), true) : 0;
}

static void
add_pool(struct builder *b, uint32_t v)
{
	if (b->npool >= UINT32_MAX || !grow((void **)&b->pool, &b->cappool, b->npool + 1,
	    sizeof(*b->pool))) {
		b->failed = true;
		return;
	}
	b->pool[b->npool++] = v;
}

struct sorted {
	const struct index_entry *e;
	long long when;
};

/* Ascending by date, then slug, then file name: a total order. */
static int
entry_cmp(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;
	int c;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	if ((c = strcmp(x->e->meta->slug, y->e->meta->slug)) != 0)
		return c;
	return strcmp(x->e->name, y->e->name);
}

/* Adds post i under the tag name (a tag, or the source when is_source). */
static void
add_tag(struct builder *b, const char *name, uint32_t i, bool is_source)
{
	char key[256];
	struct tag_build *t;
	uintptr_t slot;

	index_tag_slug(name, key, sizeof(key));
	if (key[0] == '\0')
		return;
	if ((slot = (uintptr_t)strmap_get(&b->by_key, key)) == 0) {
		if (!grow((void **)&b->tags, &b->captags, b->ntags + 1, sizeof(*b->tags))) {
			b->failed = true;
			return;
		}
		t = &b->tags[b->ntags];
		memset(t, 0, sizeof(*t));
		t->name = add_opt(b, name);
		t->keyoff = add_str(b, key, strlen(key), false);
		if ((t->key = strdup(key)) == NULL ||
		    strmap_put(&b->by_key, t->key, (void *)(uintptr_t)(b->ntags + 1)) == -1) {
			free(t->key);
			b->failed = true;
			return;
		}
		slot = ++b->ntags;
	}
	t = &b->tags[slot - 1];
	if (t->n > 0 && t->posts[t->n - 1] == i)
		return;	/* the source is also a tag of the same post */
	if (!grow((void **)&t->posts, &t->cap, t->n + 1, sizeof(*t->posts))) {
		b->failed = true;
		return;
	}
	t->posts[t->n++] = i;
	if (is_source)
		t->as_source++;
}

static int
tag_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tag_build *)a)->key, ((const struct tag_build *)b)->key);
}

struct build {
	struct builder b;
	struct sorted *order;
	struct index_post *posts;
	struct index_month *months;
	uint32_t *by_stem;
	struct index_skip *skips;
	struct index_skipped *skipped;
};

/* Post indexes by their posts' stems: arg is the build. */
static int
stem_cmp(const void *a, const void *b, void *arg)
{
	const struct build *w = arg;

	return strcmp(w->b.str + w->posts[*(const uint32_t *)a].stem,
	    w->b.str + w->posts[*(const uint32_t *)b].stem);
}

static int
skip_cmp(const void *a, const void *b)
{
	return strcmp(((const struct index_skip *)a)->name, ((const struct index_skip *)b)->name);
}

static size_t
align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* The posts in order, with their months and tags; strings and pool as they go. */
static void
add_posts(struct builder *b, const struct sorted *order, size_t n, struct index_post *posts,
    struct index_month *months, size_t *nmonths)
{
	size_t i, j;

	for (i = 0; i < n && !b->failed; i++) {
		const struct index_entry *e = order[i].e;
		const struct post *p = e->meta;
		struct index_post *o = &posts[i];
		size_t namelen = strlen(e->name);

		o->file = e->file;
		o->when = order[i].when;
		o->stem = add_str(b, e->name, namelen > 4 ? namelen - 4 : namelen, false);
		/* Titles and slugs are each a post's own: only names repeat. */
		o->title = add_str(b, p->title, strlen(p->title), false);
		o->slug = add_str(b, p->slug, strlen(p->slug), false);
		o->author = add_opt(b, p->author);
		o->source = add_opt(b, p->source);
		o->ntags = (uint32_t)(p->ntags < POST_TAGS_MAX ? p->ntags : POST_TAGS_MAX);
		o->tags = (uint32_t)b->npool;
		for (j = 0; j < o->ntags; j++)
			add_pool(b, add_opt(b, p->tags[j]));
		o->year = p->year;
		o->month = (uint8_t)p->month;
		o->day = (uint8_t)p->day;
		o->hour = (uint8_t)p->hour;
		o->minute = (uint8_t)p->minute;
		o->second = (uint8_t)p->second;
		o->has_time = p->has_time;
		o->date_source = (uint8_t)p->date_source;
		if (*nmonths == 0 || months[*nmonths - 1].year != p->year ||
		    months[*nmonths - 1].month != p->month)
			months[(*nmonths)++] = (struct index_month){ p->year, p->month,
			    (uint32_t)i, 0 };
		months[*nmonths - 1].count++;
		for (j = 0; j < o->ntags; j++)
			add_tag(b, p->tags[j], (uint32_t)i, false);
		if (p->source != NULL)
			add_tag(b, p->source, (uint32_t)i, true);
	}
}


static void
build_free(struct build *w)
{
	size_t i;

	for (i = 0; i < w->b.ntags; i++) {
		free(w->b.tags[i].key);
		free(w->b.tags[i].posts);
	}
	free(w->b.tags);
	free(w->b.str);
	free(w->b.pool);
	strmap_clear(&w->b.seen);
	strmap_clear(&w->b.by_key);
	free(w->order);
	free(w->posts);
	free(w->months);
	free(w->by_stem);
	free(w->skips);
	free(w->skipped);
}

void *
index_build(const struct index_entry *in, size_t n, const struct index_skip *skipped,
    size_t nskipped, unsigned long version, size_t *size)
{
	struct build w = { 0 };
	struct builder *b = &w.b;
	struct index_header h = { 0 };
	size_t i, nmonths = 0;
	char *img = NULL;

	if (n >= UINT32_MAX || nskipped >= UINT32_MAX)
		return NULL;
	strmap_init(&b->seen);
	strmap_init(&b->by_key);
	if ((w.order = malloc((n + 1) * sizeof(*w.order))) == NULL ||
	    (w.posts = calloc(n + 1, sizeof(*w.posts))) == NULL ||
	    (w.months = calloc(n + 1, sizeof(*w.months))) == NULL ||
	    (w.by_stem = malloc((n + 1) * sizeof(*w.by_stem))) == NULL ||
	    (w.skips = malloc((nskipped + 1) * sizeof(*w.skips))) == NULL ||
	    (w.skipped = calloc(nskipped + 1, sizeof(*w.skipped))) == NULL ||
	    !grow((void **)&b->str, &b->capstr, 1, 1))
		goto fail;
	b->str[0] = '\0';	/* offset 0 is "" */
	b->nstr = 1;
	for (i = 0; i < n; i++) {
		const struct post *p = in[i].meta;
		w.order[i] = (struct sorted){ &in[i], post_when(p) };
	}
	qsort(w.order, n, sizeof(*w.order), entry_cmp);
	add_posts(b, w.order, n, w.posts, w.months, &nmonths);
	/* Tags by key; then each one's posts into the pool, ascending as added. */
	if (b->ntags > 0)
		qsort(b->tags, b->ntags, sizeof(*b->tags), tag_cmp);
	for (i = 0; i < b->ntags; i++) {
		struct tag_build *t = &b->tags[i];
		t->pool = (uint32_t)b->npool;
		for (size_t j = 0; j < t->n; j++)
			add_pool(b, t->posts[j]);
	}
	if (nskipped > 0) {
		memcpy(w.skips, skipped, nskipped * sizeof(*skipped));
		qsort(w.skips, nskipped, sizeof(*w.skips), skip_cmp);
	}
	for (i = 0; i < nskipped; i++) {
		w.skipped[i].file = w.skips[i].file;
		w.skipped[i].name = add_str(b, w.skips[i].name, strlen(w.skips[i].name), false);
	}
	if (b->failed)
		goto fail;
	for (i = 0; i < n; i++)
		w.by_stem[i] = (uint32_t)i;
	if (n > 0)
		qsort_r(w.by_stem, n, sizeof(*w.by_stem), stem_cmp, &w);
	h.magic = INDEX_MAGIC;
	h.format = INDEX_FORMAT;
	h.version = version;
	h.nposts = n;
	h.nmonths = nmonths;
	h.ntags = b->ntags;
	h.nskipped = nskipped;
	h.npool = b->npool;
	h.nstrings = b->nstr;
	h.posts = align8(sizeof(h));
	h.by_stem = align8(h.posts + n * sizeof(struct index_post));
	h.months = align8(h.by_stem + n * sizeof(uint32_t));
	h.tags = align8(h.months + nmonths * sizeof(struct index_month));
	h.skipped = align8(h.tags + b->ntags * sizeof(struct index_tag));
	h.pool = align8(h.skipped + nskipped * sizeof(struct index_skipped));
	h.strings = align8(h.pool + b->npool * sizeof(uint32_t));
	h.size = align8(h.strings + b->nstr);
	if ((img = calloc(1, h.size)) == NULL)
		goto fail;
	memcpy(img, &h, sizeof(h));
	memcpy(img + h.posts, w.posts, n * sizeof(struct index_post));
	memcpy(img + h.by_stem, w.by_stem, n * sizeof(uint32_t));
	memcpy(img + h.months, w.months, nmonths * sizeof(struct index_month));
	for (i = 0; i < b->ntags; i++) {
		const struct tag_build *t = &b->tags[i];
		struct index_tag o = { t->name, t->keyoff, t->pool, (uint32_t)t->n,
		    t->as_source, 0 };
		memcpy(img + h.tags + i * sizeof(o), &o, sizeof(o));
	}
	memcpy(img + h.skipped, w.skipped, nskipped * sizeof(struct index_skipped));
	if (b->npool > 0)	/* none allocated when no post has tags */
		memcpy(img + h.pool, b->pool, b->npool * sizeof(uint32_t));
	memcpy(img + h.strings, b->str, b->nstr);
	*size = h.size;
	build_free(&w);
	return img;
fail:
	build_free(&w);
	return NULL;
}

/* ---- Reading ------------------------------------------------------------- */

/* Whether count elements of elem bytes at off lie inside size bytes, aligned. */
static bool
region_ok(uint64_t off, uint64_t count, size_t elem, size_t size)
{
	return off % 8 == 0 && off <= size && count <= (size - off) / elem;
}

int
index_map(const void *base, size_t size, struct index *x, const char **why)
{
	const char *img = base;
	struct index_header h;
	size_t i, j;

	if (size < sizeof(h)) {
		*why = "shorter than its header";
		return -1;
	}
	memcpy(&h, img, sizeof(h));
	if (h.magic != INDEX_MAGIC || h.format != INDEX_FORMAT) {
		*why = "not a post index of this version";
		return -1;
	}
	if (h.size != size || (uintptr_t)base % 8 != 0) {
		*why = "size does not match";
		return -1;
	}
	if (!region_ok(h.posts, h.nposts, sizeof(struct index_post), size) ||
	    !region_ok(h.by_stem, h.nposts, sizeof(uint32_t), size) ||
	    !region_ok(h.months, h.nmonths, sizeof(struct index_month), size) ||
	    !region_ok(h.tags, h.ntags, sizeof(struct index_tag), size) ||
	    !region_ok(h.skipped, h.nskipped, sizeof(struct index_skipped), size) ||
	    !region_ok(h.pool, h.npool, sizeof(uint32_t), size) ||
	    !region_ok(h.strings, h.nstrings, 1, size) || h.nstrings == 0 ||
	    h.nposts >= UINT32_MAX) {
		*why = "a region lies outside the image";
		return -1;
	}
	memset(x, 0, sizeof(*x));
	x->version = (unsigned long)h.version;
	x->posts = (const struct index_post *)(img + h.posts);
	x->nposts = h.nposts;
	x->by_stem = (const uint32_t *)(img + h.by_stem);
	x->months = (const struct index_month *)(img + h.months);
	x->nmonths = h.nmonths;
	x->tags = (const struct index_tag *)(img + h.tags);
	x->ntags = h.ntags;
	x->skipped = (const struct index_skipped *)(img + h.skipped);
	x->nskipped = h.nskipped;
	x->pool = (const uint32_t *)(img + h.pool);
	x->npool = h.npool;
	x->strings = img + h.strings;
	x->nstrings = h.nstrings;
	/* Strings need only end in NUL: index_str checks every offset. */
	if (x->strings[0] != '\0' || x->strings[x->nstrings - 1] != '\0') {
		*why = "strings are not terminated";
		return -1;
	}
	for (i = 0; i < x->nposts; i++) {
		const struct index_post *p = &x->posts[i];
		if (p->tags > x->npool || p->ntags > x->npool - p->tags ||
		    p->ntags > POST_TAGS_MAX || x->by_stem[i] >= x->nposts) {
			*why = "a post's tags or order lie outside the image";
			return -1;
		}
	}
	for (i = 0; i < x->nmonths; i++)
		if (x->months[i].first > x->nposts ||
		    x->months[i].count > x->nposts - x->months[i].first) {
			*why = "a month's posts lie outside the image";
			return -1;
		}
	for (i = 0; i < x->ntags; i++) {
		const struct index_tag *t = &x->tags[i];
		if (t->posts > x->npool || t->n > x->npool - t->posts) {
			*why = "a tag's posts lie outside the image";
			return -1;
		}
		for (j = 0; j < t->n; j++)
			if (x->pool[t->posts + j] >= x->nposts) {
				*why = "a tag names a post that is not there";
				return -1;
			}
	}
	return 0;
}

void
index_empty(struct index *x)
{
	static const uint32_t none[1];

	memset(x, 0, sizeof(*x));
	x->by_stem = none;
	x->pool = none;
	x->strings = "";
	x->nstrings = 1;
}

const char *
index_str(const struct index *x, uint32_t off)
{
	return off < x->nstrings ? x->strings + off : "";
}

const char *
index_opt(const struct index *x, uint32_t off)
{
	return off == 0 ? NULL : index_str(x, off);
}

const char *
index_post_tag(const struct index *x, const struct index_post *sp, size_t j)
{
	return j < sp->ntags ? index_str(x, x->pool[sp->tags + j]) : "";
}

const struct post *
index_post_meta(const struct index *x, const struct index_post *sp, struct index_meta *buf)
{
	struct post *p = &buf->post;
	size_t j;

	memset(buf, 0, sizeof(*buf));
	/* The image is read-only; struct post's fields are not const only for its parser. */
	p->title = (char *)index_str(x, sp->title);
	p->slug = (char *)index_str(x, sp->slug);
	p->author = (char *)index_opt(x, sp->author);
	p->source = (char *)index_opt(x, sp->source);
	for (j = 0; j < sp->ntags; j++)
		buf->tags[j] = (char *)index_post_tag(x, sp, j);
	p->tags = sp->ntags ? buf->tags : NULL;
	p->ntags = sp->ntags;
	p->year = sp->year;
	p->month = sp->month;
	p->day = sp->day;
	p->hour = sp->hour;
	p->minute = sp->minute;
	p->second = sp->second;
	p->has_time = sp->has_time;
	p->date_source = (enum post_date_source)sp->date_source;
	return p;
}

bool
index_file_is(const struct index_file *f, const struct stat *st)
{
	return f->dev == (uint64_t)st->st_dev && f->ino == (uint64_t)st->st_ino &&
	    f->size == (int64_t)st->st_size && f->mtime_sec == (int64_t)st->st_mtim.tv_sec &&
	    f->mtime_nsec == (int64_t)st->st_mtim.tv_nsec;
}

void
index_file_set(struct index_file *f, const struct stat *st)
{
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime_sec = st->st_mtim.tv_sec;
	f->mtime_nsec = st->st_mtim.tv_nsec;
}

/* The name sorted lists are bisected by: what element i of each is called. */
static const char *
post_at(const struct index *x, size_t i)
{
	return index_str(x, x->posts[x->by_stem[i]].stem);
}

static const char *
tag_at(const struct index *x, size_t i)
{
	return index_str(x, x->tags[i].key);
}

static const char *
skipped_at(const struct index *x, size_t i)
{
	return index_str(x, x->skipped[i].name);
}

/* Where key is among the n names of a sorted list, or -1. */
static long
bisect(const struct index *x, size_t n, const char *(*name_at)(const struct index *, size_t),
    const char *key)
{
	size_t lo = 0, hi = n;
	int c;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((c = strcmp(key, name_at(x, mid))) == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

long
index_find_post(const struct index *x, const char *stem)
{
	long i = bisect(x, x->nposts, post_at, stem);

	return i < 0 ? -1 : (long)x->by_stem[i];
}

long
index_find_month(const struct index *x, int year, int month)
{
	size_t lo = 0, hi = x->nmonths;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct index_month *m = &x->months[mid];
		if (m->year == year && m->month == month)
			return (long)mid;
		if (m->year < year || (m->year == year && m->month < month))
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

long
index_find_year(const struct index *x, int year)
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
index_find_tag(const struct index *x, const char *name)
{
	char key[256];

	index_tag_slug(name, key, sizeof(key));
	return bisect(x, x->ntags, tag_at, key);
}

long
index_find_skipped(const struct index *x, const char *name)
{
	return bisect(x, x->nskipped, skipped_at, name);
}

void
index_tag_slug(const char *name, char *out, size_t size)
{
	char folded[512];
	size_t n = strlen(name), i, o = 0;

	if (n >= sizeof(folded))
		n = sizeof(folded) - 1;
	n = fold_case(name, n, folded);
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
