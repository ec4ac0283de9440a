/*
 * The post store: an in-memory index of the .txt files in ROOT/posts, sorted by date then
 * slug, with its months and tags, kept up to date with the disk.
 *
 * Requests ask for the index through store_refresh(), which first applies
 * what changed on disk (inotify, or a bounded rescan where inotify is not to
 * be had) and then hands out a complete index: a new one is built aside and
 * swapped in whole, so no request sees one half updated.
 */
#ifndef GAZETTE_STORE_H
#define GAZETTE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "post.h"
#include "strmap.h"

struct store_post {
	char *stem;		/* the file name without ".txt": the URL name */
	long long when;		/* seconds since the epoch, UTC */
	struct post meta;	/* from POST_META: no blocks; strings live in this allocation */
	struct store_post *next;	/* the store's list of retired posts */
};

struct store_month {
	int year, month;
	size_t first, count;	/* posts[first .. first + count) */
};

struct store_tag {
	char *name;		/* as first written */
	char *key;		/* its slug: the URL name, /tags/KEY/ */
	size_t *posts;		/* indexes into posts, ascending */
	size_t n;
	size_t as_source;	/* how many of those name it as their source */
};

struct store_index {
	unsigned long version;	/* changes whenever the posts do */
	struct store_post **posts;	/* oldest first */
	size_t nposts;
	struct store_month *months;	/* oldest first */
	size_t nmonths;
	struct store_tag *tags;		/* by key */
	size_t ntags;
	struct strmap by_tag;
};

struct store;

/*
 * Opens ROOT/posts (it may not exist yet) through rootfd and scans it;
 * rootpath is the same folder by name, for inotify. label names the host in
 * the log. Files beyond max_post_size are read up to it.
 */
struct store *store_new(int rootfd, const char *rootpath, size_t max_post_size,
    const char *label);
void store_free(struct store *s);

/*
 * Starts watching posts/ with inotify (each process its own: events read by
 * one are lost to the others). Until then, and where inotify fails, the store
 * rescans at most every two seconds. Returns -1 when it fell back to that.
 */
int store_watch(struct store *s);

/* The inotify descriptor to watch (readable when something changed), or -1. */
int store_fd(const struct store *s);

/* Applies changes from disk, then returns the current index. Never NULL. */
const struct store_index *store_refresh(struct store *s);

/* Lookups; -1 when absent. */
long store_find_post(const struct store *s, const struct store_index *x, const char *stem);
long store_find_month(const struct store_index *x, int year, int month);
long store_find_tag(const struct store_index *x, const char *name);
/* The first month of year, or -1; months of a year are contiguous. */
long store_find_year(const struct store_index *x, int year);

/* The slug of a tag or source name, into out. */
void store_tag_slug(const char *name, char *out, size_t size);

/*
 * Searches the posts newest first for every word of t in title, tags, source
 * and body; stores at most max matching indexes into out. Reading bodies stops
 * once budget_ms have passed; *searched then tells how many posts were
 * looked at (all of them when it equals nposts).
 */
struct search_terms;
size_t store_search(struct store *s, const struct store_index *x,
    const struct search_terms *t, size_t *out, size_t max, long budget_ms,
    size_t *searched);

/*
 * Reads and parses the whole post (POST_FULL). Returns -1 when the file is
 * gone, no longer parses, or is being written (a read that a writer may have
 * torn is never returned); the caller answers "not found" then.
 */
int store_load(struct store *s, const struct store_post *sp, struct post *out);

/* Scan statistics, for the start-up log and the benchmark. */
struct store_stats {
	size_t files, posts, skipped;
	double scan_ms;
};
void store_stats(const struct store *s, struct store_stats *st);

#endif
