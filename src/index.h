/*
 * The post index as one flat image: the posts sorted by date, their months
 * and tags, built by the indexer process and shared read-only with every
 * worker (a sealed memfd each maps), so N workers hold one copy of it and
 * none of them scans or parses the archive.
 *
 * The image holds offsets, never pointers, so it means the same at any
 * address. A reader checks it once as it maps it (every count, range and
 * index) and reads every string through index_str(), which checks the
 * offset: no image, however made, can lead a worker outside it.
 */
#ifndef GAZETTE_INDEX_H
#define GAZETTE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "post.h"

/* Which file a record was read from: a reader compares it with the disk's. */
struct index_file {
	uint64_t dev, ino;
	int64_t size;
	int64_t mtime_sec, mtime_nsec;
};

/* String fields are offsets into the strings; 0 is "" (or "none" where optional). */
struct index_post {
	struct index_file file;
	int64_t when;		/* seconds since the epoch, UTC */
	uint32_t stem;		/* the file name without ".txt": the URL name */
	uint32_t title;
	uint32_t slug;
	uint32_t author;	/* 0: none */
	uint32_t source;	/* 0: none */
	uint32_t tags;		/* pool[tags .. tags + ntags): string offsets */
	uint32_t ntags;
	int32_t year;
	uint8_t month, day, hour, minute, second;
	uint8_t has_time;
	uint8_t date_source;	/* enum post_date_source */
	uint8_t pad;
};

struct index_month {
	int32_t year, month;
	uint32_t first, count;	/* posts[first .. first + count) */
};

struct index_tag {
	uint32_t name;		/* as first written */
	uint32_t key;		/* its slug: the URL name, /tags/KEY/ */
	uint32_t posts;		/* pool[posts .. posts + n): post indexes, ascending */
	uint32_t n;
	uint32_t as_source;	/* how many of those name it as their source */
	uint32_t pad;
};

/* A file that is not a post (the log said why once): not read again while unchanged. */
struct index_skipped {
	struct index_file file;
	uint32_t name;
	uint32_t pad;
};

/* A reader's view of an image; every pointer is into the image. */
struct index {
	unsigned long version;	/* changes whenever the posts do */
	const struct index_post *posts;	/* oldest first */
	size_t nposts;
	const uint32_t *by_stem;	/* post indexes in the order of their stems */
	const struct index_month *months;	/* oldest first */
	size_t nmonths;
	const struct index_tag *tags;	/* by key */
	size_t ntags;
	const struct index_skipped *skipped;
	size_t nskipped;
	const uint32_t *pool;
	size_t npool;
	const char *strings;
	size_t nstrings;
};

/* What the builder takes of one post the indexer parsed (POST_META). */
struct index_entry {
	const char *name;	/* the file name, "2020-01-08-slug.txt" */
	const struct post *meta;
	struct index_file file;
};

struct index_skip {
	const char *name;
	struct index_file file;
};

/*
 * Builds the image of these posts and skipped files: a new malloc'd buffer
 * of *size bytes, or NULL when memory ran out. The order of the input does
 * not matter; the same input gives the same bytes.
 */
void *index_build(const struct index_entry *posts, size_t n, const struct index_skip *skipped,
    size_t nskipped, unsigned long version, size_t *size);

/*
 * Checks the image at base (size bytes) and fills x with a view of it.
 * Returns -1 with *why set when it is not a whole, consistent image.
 */
int index_map(const void *base, size_t size, struct index *x, const char **why);

/* An index with no posts (before the first image arrives). */
void index_empty(struct index *x);

/* The string at offset off; "" for an offset outside the strings. */
const char *index_str(const struct index *x, uint32_t off);

/* The same, but NULL for 0 (an author or source that is not there). */
const char *index_opt(const struct index *x, uint32_t off);

/* Tag j of post sp. */
const char *index_post_tag(const struct index *x, const struct index_post *sp, size_t j);

/*
 * The post's metadata as a struct post (no blocks), for code that takes
 * one; tags points into buf. Valid as long as the image.
 */
struct index_meta {
	struct post post;
	char *tags[POST_TAGS_MAX];
};
const struct post *index_post_meta(const struct index *x, const struct index_post *sp,
    struct index_meta *buf);

/* Whether the disk's stat of a file is the one a record was read from. */
bool index_file_is(const struct index_file *f, const struct stat *st);
void index_file_set(struct index_file *f, const struct stat *st);

/* Lookups; -1 when absent. */
long index_find_post(const struct index *x, const char *stem);
long index_find_month(const struct index *x, int year, int month);
/* The first month of year, or -1; months of a year are contiguous. */
long index_find_year(const struct index *x, int year);
long index_find_tag(const struct index *x, const char *name);
/* A skipped file by name ("empty.txt"). */
long index_find_skipped(const struct index *x, const char *name);

/*
 * The slug of a tag or source name, into out: folded, with every run of
 * ASCII punctuation or space one '-', so "VoA/South China Morning Post" is
 * /tags/voa-south-china-morning-post/ and needs no '/' in a URL.
 */
void index_tag_slug(const char *name, char *out, size_t size);

#endif
