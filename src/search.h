/*
 * Search terms and matching: case-insensitive, UTF-8 aware, every word must
 * occur. Pure functions; the store decides what text a post offers.
 */
#ifndef GAZETTE_SEARCH_H
#define GAZETTE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#define SEARCH_MAX_WORDS 8
#define SEARCH_MAX_QUERY 256	/* bytes of query considered */

struct search_terms {
	char buf[SEARCH_MAX_QUERY + 1];	/* the folded words, NUL-separated */
	const char *word[SEARCH_MAX_WORDS];
	int n;
};

/*
 * Splits a decoded query into folded words (separated by white space and
 * punctuation). Returns the number of words; extra words are dropped.
 */
int search_terms_parse(struct search_terms *t, const char *query, size_t len);

/*
 * Folds s to lower case into out (at least len + 1 bytes): ASCII, Latin-1,
 * Latin Extended-A, Greek and Cyrillic capitals; everything else is copied.
 * Returns the folded length (never more than len).
 */
size_t search_fold(const char *s, size_t len, char *out);

/* Marks in *found (bit i for word i) which words occur in folded text. */
void search_scan(const struct search_terms *t, const char *folded, size_t len,
    unsigned *found);

/* True when every word is marked in found. */
bool search_complete(const struct search_terms *t, unsigned found);

#endif
