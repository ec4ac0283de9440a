/*
 * The indexer: one process per generation, forked by the supervisor and
 * confined like a worker (no privileges, the content roots read-only). It
 * alone scans, watches (inotify) and parses the posts of every site, and
 * sends each new index image up its control channel; the supervisor passes
 * it on to the workers. So a post is read once whatever the number of
 * workers, a warning about it is logged once, and no worker ever waits for
 * a scan.
 */
#ifndef GAZETTE_INDEXER_H
#define GAZETTE_INDEXER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/*
 * How far the indexer has got, in memory it shares with the workers of its
 * generation, so that a change saved before a request shows in its answer.
 * The indexer works in cycles: each one first reads everything inotify has
 * queued, then publishes what changed. A worker that finds it behind (events
 * queued in the inotify instance they share, a cycle under way, or an image
 * published that has not reached it) takes a ticket for the next cycle,
 * rings the indexer's doorbell so that one starts at once, and holds
 * generated pages back until that cycle is done and its image has arrived.
 * A cycle that starts after the request arrived has read its change.
 */
struct indexer_progress {
	atomic_ulong started;	/* cycles begun */
	atomic_ulong done;	/* the last cycle whose changes are all published */
	atomic_ulong latest[CONFIG_MAX_HOSTS];	/* each site's newest image version */
};

/* What a worker holds to ask: the shared progress, inotify instance and doorbell. */
struct indexer_watch {
	const struct indexer_progress *progress;	/* NULL: never behind */
	int inotify;		/* only ever looked at (FIONREAD), never read */
	int doorbell;		/* an eventfd the indexer polls */
};

/*
 * Whether an index of version have for site is behind the disk. With *ticket
 * 0, looks, and when it is behind takes a ticket into *ticket (ringing the
 * doorbell); with a ticket, tells whether it is still behind that.
 */
bool indexer_behind(const struct indexer_watch *w, int site, unsigned long have,
    unsigned long *ticket);

/*
 * An image in a new memfd, sealed against any change (store_set_image
 * takes nothing less); -1 with errno set.
 */
int indexer_seal(const void *img, size_t size);

struct fts;
struct postdir;

/*
 * Brings posts/NAME into the search index f as dir knows it: indexed anew
 * unless f holds this very file, dropped when it is gone. 0, or -1 when the
 * index cannot be written; *read counts the posts read.
 */
int indexer_sync_name(struct fts *f, struct postdir *dir, const char *name, size_t *read);

struct indexer_site {
	int rootfd;
	size_t max_post_size;
	const char *label;	/* the host name, for the log */
	const char *root;	/* the root as configured, for the log */
	int seed;		/* an earlier image of this same root, or -1 */
	bool seed_saved;	/* ... saved by an earlier run: limits may have changed */
	const char *search_db;	/* the search index to keep, or NULL: none */
	const char *state_dir;	/* its folder as configured, for the log */
	const char *image_file;	/* where each image is saved for the next start, or NULL */
};

/*
 * Runs the indexer in this (forked, confined) process; ctl is its channel to
 * the supervisor, inotify the instance it shares with the workers (-1: none,
 * rescan instead), doorbell their eventfd, progress what it tells them.
 * Returns only when the supervisor is gone, with an exit status.
 */
int indexer_run(const struct indexer_site *sites, int n, int ctl, int inotify,
    int doorbell, struct indexer_progress *progress);

#endif
