/*
 * A worker's searches, off its event loop. One thread, started at the first
 * search (the worker is confined by then, and so is the thread), runs them
 * one after another against the sites' search indexes, read-only, while the
 * loop goes on serving everyone else; a search of any size costs the loop a
 * lookup. Finished searches are kept, keyed by (index, index version,
 * words, offset, limit), until newer ones push them out, so a reader paging
 * back and forth, or many readers asking the same, cost one search each.
 *
 * Bounded: at most SEARCHER_JOBS searches queued, running or kept; when all
 * are queued or running the next is refused (SEARCHER_BUSY).
 */
#ifndef GAZETTE_SEARCHER_H
#define GAZETTE_SEARCHER_H

#include <event2/event.h>

#include "fts.h"

#define SEARCHER_JOBS 64

struct searcher;

/* done(arg) runs on the loop each time searches have finished. NULL when out of memory. */
struct searcher *searcher_new(struct event_base *base, void (*done)(void *arg), void *arg);

/* Stops the thread (after the search it is running) and frees everything. */
void searcher_free(struct searcher *s);

enum searcher_state {
	SEARCHER_DONE,		/* *r is the result, valid until the loop's next turn */
	SEARCHER_WAIT,		/* queued or running: done() will say when it is over */
	SEARCHER_BUSY,		/* too many searches under way: try again later */
};

/* The search of words in the index at db (a path), as of index version. */
enum searcher_state searcher_find(struct searcher *s, const char *db, unsigned long version,
    const char *words, long offset, long limit, const struct fts_result **r);

#endif
