/*
 * The full-text index of one site's posts: an SQLite FTS5 database in the
 * state folder, one file per site. The indexer is its one writer and keeps it
 * in step with posts/; each worker's search thread opens it read-only.
 *
 * Words are folded by FTS5's unicode61 tokenizer (case, diacritics, and
 * punctuation such as the typographic apostrophe, so "iran's" finds
 * "Iran’s" and "cafe" finds "café"). Han, kana and Hangul, which unicode61
 * cannot cut into words, are indexed again as overlapping pairs of
 * characters (bigrams) in columns of their own, so a word inside a longer
 * run of them is found too. Results are ranked by bm25 with the title
 * weighted over the body, newest first among equals.
 *
 * A reader's words are never FTS5 syntax: they are cut into terms (words, a
 * "phrase" in double quotes, a trailing * for a prefix), each term is put
 * through the same tokenizer, and only its tokens, quoted, reach MATCH.
 */
#ifndef GAZETTE_FTS_H
#define GAZETTE_FTS_H

#include <stdbool.h>
#include <stddef.h>

#include "index.h"
#include "post.h"

#define FTS_QUERY_MAX 1024	/* bytes of a query looked at; the rest is left out */
#define FTS_TERMS_MAX 16	/* words and phrases of a query */
#define FTS_TOKENS_MAX 64	/* tokens of a query, all terms together */
#define FTS_MATCH_MAX 4096	/* bytes of the MATCH expression built from them */
#define FTS_SNIPPET_MAX 240	/* bytes of a result's snippet */

struct fts;

/*
 * The writer's handle: opens path, creating the file and its schema when it
 * is missing. A file that is not this schema's database (corrupt, or of
 * another version) is replaced by an empty one. Either way a database that
 * is not known to hold every post says so (fts_complete() false) until the
 * caller has indexed them all. NULL, with err, when it cannot be opened.
 */
struct fts *fts_open_writer(const char *path, char *err, size_t errsize);

/* A reader's handle, read-only; NULL, with err, when it cannot be opened. */
struct fts *fts_open_reader(const char *path, char *err, size_t errsize);

void fts_close(struct fts *f);

/* Deletes the database at path (and its journal): 0, or -1 with errno. */
int fts_destroy(const char *path);

/* Whether path still names the file f has open: false once it is deleted or replaced. */
bool fts_current(const struct fts *f);

/* Whether a failure so far means the file is damaged: close it and start afresh. */
bool fts_broken(const struct fts *f);

/* Writes are grouped: 0, or -1 when the transaction failed (and was rolled back). */
int fts_begin(struct fts *f);
int fts_commit(struct fts *f);

/* Whether every post has been indexed (a rebuild is over); and marking it so. */
bool fts_complete(struct fts *f);
int fts_set_complete(struct fts *f, bool complete);

/* Whether posts/NAME is indexed as this very file (same identity). */
bool fts_has(struct fts *f, const char *name, const struct index_file *file);

/* Indexes posts/NAME (p parsed in full), replacing what was there: 0 or -1. */
int fts_put(struct fts *f, const char *name, const struct index_file *file,
    const struct post *p);

/* Drops posts/NAME: 0 (also when it was not there) or -1. */
int fts_remove(struct fts *f, const char *name);

/* Calls fn for each indexed name, to find those that are gone: 0 or -1. */
int fts_each_name(struct fts *f, void (*fn)(void *arg, const char *name), void *arg);

/*
 * The MATCH expression for a reader's words into out (size bytes, always a
 * string): its length, or 0 when the words hold nothing to search for.
 */
size_t fts_match(struct fts *f, const char *words, size_t len, char *out, size_t size);

struct fts_hit {
	const char *stem;	/* the post's name without .txt */
	const char *title;
	const char *date;	/* "YYYY-MM-DD" */
	const char *snippet;	/* a few words around a match, one line */
};

enum fts_status {
	FTS_FOUND,		/* total matches, hits[0..n) of them */
	FTS_NO_WORDS,		/* nothing to search for in the words */
	FTS_REBUILDING,		/* the index is missing, incomplete or unreadable */
};

struct fts_result {
	enum fts_status status;
	long total;
	size_t n;
	struct fts_hit *hits;	/* hits and their strings: one allocation */
};

/*
 * Searches for words, ranked: hits [offset, offset + limit) of them, with
 * the total. 0, or -1 when out of memory (*r then says FTS_REBUILDING).
 */
int fts_search(struct fts *f, const char *words, long offset, long limit,
    struct fts_result *r);
void fts_result_free(struct fts_result *r);

#endif
