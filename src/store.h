/*
 * A worker's posts of one site: the index image the indexer process built
 * (mapped read-only, replaced whole when a newer one arrives, so a request
 * never sees an index half updated) and the post files themselves, read
 * through the site's root when a page needs a post's body.
 */
#ifndef GAZETTE_STORE_H
#define GAZETTE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "index.h"
#include "post.h"

#define STORE_POSTS_DIR "posts"

struct store;

/* Posts under rootfd/posts; files beyond max_post_size are read up to it. */
struct store *store_new(int rootfd, size_t max_post_size);
void store_free(struct store *s);

/*
 * Maps the image in fd (a sealed memfd from the indexer) and makes it the
 * current index, if it is newer. Returns -1 with err set, keeping the
 * current one, when it cannot be mapped or does not check out.
 */
int store_set_image(struct store *s, int fd, char *err, size_t errsize);

/* Where the store learns whether its indexer is behind the disk; site: its number. */
struct indexer_watch;
void store_follow(struct store *s, const struct indexer_watch *w, int site);

/*
 * Whether a change on disk is not in the current index yet: with *ticket 0
 * it looks (and takes a ticket when so), with a ticket it tells whether the
 * index has caught up with it (indexer.h).
 */
bool store_behind(const struct store *s, unsigned long *ticket);

/* The current index; an empty one until the first image. Never NULL. */
const struct index *store_index(const struct store *s);

enum store_load {
	STORE_LOADED,	/* *out holds the post as the index knows it */
	STORE_GONE,	/* the file is no longer there, or no longer parses */
	STORE_BUSY,	/* the file is not the one indexed: being written, or newer */
};

/*
 * Reads and parses post sp in full (POST_FULL). Only the very file the index
 * was built from is read, and a read that a writer may have torn is
 * discarded, so no page is ever built from half a post; STORE_BUSY asks the
 * caller to answer "try again in a moment".
 */
enum store_load store_load(const struct store *s, const struct index_post *sp,
    struct post *out);

/*
 * Whether posts/STEM.txt may be sent as the file it is: STORE_LOADED when it
 * is the very file the index holds (a post, or a file skipped as none),
 * STORE_BUSY when another is there now, STORE_GONE when the index does not
 * know it (not yet, or no longer) or it is not there.
 */
enum store_load store_check(const struct store *s, const char *stem);

/*
 * What the indexer shares with the workers: opening a post file (a regular
 * file, never through a symlink, never blocking on a FIFO) relative to
 * dirfd, -1 when it is not a post file; and reading and parsing it, -1 (with
 * *why) when it is no post, STORE_READ_TORN when it was cut short while
 * being read (a writer at work: try again later).
 */
#define STORE_READ_TORN (-2)
int store_open_post(int dirfd, const char *path, struct stat *st);
int store_read_post(int fd, const char *name, const struct stat *st, size_t max_size,
    enum post_mode mode, struct post *p, const char **why);

/* Whether a file name is one the index considers: NAME.txt, not hidden. */
bool store_is_post_name(const char *name);

#endif
