/*
 * The RFC 1436 rules a Gopher answer keeps, checked on its bytes. Shared by
 * the unit and integration tests and the fuzz targets; header-only, because a
 * libFuzzer build compiles one target file with src/ and nothing else.
 * Each check returns NULL, or the first rule broken.
 */
#ifndef GAZETTE_GOPHER_CHECK_H
#define GAZETTE_GOPHER_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "utf8.h"

/* The next CRLF in [p, end), or NULL. */
static inline const char *
gopher_check_crlf(const char *p, const char *end)
{
	for (; p + 1 < end; p++)
		if (p[0] == '\r' && p[1] == '\n')
			return p;
	return NULL;
}

static inline bool
gopher_check_controls(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* A display string: UTF-8 without C0, DEL or C1, at most max_width columns. */
static inline const char *
gopher_check_display(const char *s, size_t n, size_t max_width)
{
	size_t i = 0, k;
	uint32_t cp;

	if (!utf8_valid(s, n))
		return "display string is not UTF-8";
	while (i < n) {
		k = utf8_decode(s + i, n - i, &cp);
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return "control character in a display string";
		i += k;
	}
	return utf8_width(s, n) > max_width ? "display string too wide" : NULL;
}

/*
 * A menu: CRLF lines "T<display>\t<selector>\t<host>\t<port>", selectors under
 * 256 bytes, no control character in any field, then a lone "." line and
 * nothing after it.
 */
static inline const char *
gopher_check_menu(const char *s, size_t len, size_t max_width)
{
	const char *p = s, *end = s + len, *crlf, *f[4], *why;
	size_t n, nf, i, fl[4];
	long port;

	for (;;) {
		if (p == end)
			return "no lone \".\" at the end";
		if ((crlf = gopher_check_crlf(p, end)) == NULL)
			return "a line does not end with CRLF";
		n = crlf - p;
		if (memchr(p, '\r', n) != NULL || memchr(p, '\n', n) != NULL)
			return "bare CR or LF inside a line";
		if (n == 1 && p[0] == '.')
			return crlf + 2 == end ? NULL : "bytes after the lone \".\"";
		if (n == 0 || p[0] <= ' ' || p[0] > '~')
			return "bad item type";
		/* Exactly four fields after the type: three TABs. */
		f[0] = p + 1;
		for (nf = 0, i = 1; i < n; i++)
			if (p[i] == '\t') {
				if (nf == 3)
					return "more than four fields";
				fl[nf] = p + i - f[nf];
				f[++nf] = p + i + 1;
			}
		if (nf != 3)
			return "fewer than four fields";
		fl[3] = crlf - f[3];
		if ((why = gopher_check_display(f[0], fl[0], max_width)) != NULL)
			return why;
		if (fl[1] > 255)
			return "selector of 256 bytes or more";
		if (gopher_check_controls(f[1], fl[1]))
			return "control character in a selector";
		if (fl[2] == 0 || fl[2] > 255 || gopher_check_controls(f[2], fl[2]) ||
		    memchr(f[2], ' ', fl[2]) != NULL)
			return "bad host field";
		if (fl[3] == 0 || fl[3] > 5)
			return "bad port field";
		for (port = 0, i = 0; i < fl[3]; i++) {
			if (f[3][i] < '0' || f[3][i] > '9')
				return "bad port field";
			port = port * 10 + (f[3][i] - '0');
		}
		if (port < 1 || port > 65535)
			return "port out of range";
		p = crlf + 2;
	}
}

/*
 * Type-0 text: CRLF lines (the last may be left open). With terminator, every
 * line that starts with '.' dot-stuffed, a lone "." line at the end and
 * nothing after it.
 */
static inline const char *
gopher_check_text(const char *s, size_t len, bool terminator)
{
	const char *p = s, *end = s + len, *crlf;
	size_t n;

	for (;;) {
		if (p == end)
			return terminator ? "no lone \".\" at the end" : NULL;
		crlf = gopher_check_crlf(p, end);
		if (crlf == NULL && terminator)
			return "a line does not end with CRLF";
		n = (crlf ? crlf : end) - p;
		if (memchr(p, '\r', n) != NULL || memchr(p, '\n', n) != NULL)
			return "bare CR or LF inside a line";
		if (crlf == NULL)
			return NULL;
		if (terminator && n == 1 && p[0] == '.')
			return crlf + 2 == end ? NULL : "bytes after the lone \".\"";
		if (terminator && n > 0 && p[0] == '.' && (n < 2 || p[1] != '.'))
			return "a line starting with '.' is not dot-stuffed";
		p = crlf + 2;
	}
}

#endif
