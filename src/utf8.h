/* UTF-8: validation, decoding and terminal display width. Pure functions. */
#ifndef GAZETTE_UTF8_H
#define GAZETTE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Strict RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
bool utf8_valid(const char *s, size_t len);

/*
 * Decodes the code point at s into *cp and returns its length in bytes (1-4),
 * or 0 when the bytes at s are not valid UTF-8 (then *cp is U+FFFD).
 */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Columns a terminal gives cp: 0 for combining marks, 2 for wide CJK, else 1. */
int utf8_cp_width(uint32_t cp);

/* Display width of a string; an invalid byte counts as one column. */
size_t utf8_width(const char *s, size_t len);

#endif
