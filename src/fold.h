/*
 * Case folding of the few alphabets tag names are compared in: ASCII,
 * Latin-1, Latin Extended-A, Greek and Cyrillic. Search folds with SQLite's
 * unicode61 tokenizer instead (fts.c); this is for tag slugs alone.
 */
#ifndef GAZETTE_FOLD_H
#define GAZETTE_FOLD_H

#include <stddef.h>

/*
 * Folds s to lower case into out (at least len + 1 bytes); everything else
 * is copied. Returns the folded length (never more than len).
 */
size_t fold_case(const char *s, size_t len, char *out);

#endif
