#include "route.h"

#include <stdio.h>
#include <string.h>

/* Reads exactly n digits at s; -1 when they are not. */
static int
digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A later page's number: "2" to "999999", no leading 0; 0 for anything else. */
static long
page_number(const char *s, size_t n)
{
	long page = 0;
	size_t i;

	if (n == 0 || n > 6 || s[0] == '0')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		page = page * 10 + (s[i] - '0');
	}
	return page >= 2 ? page : 0;
}

/*
 * A list's later pages: takes "page/N/" (or "page/N", which then needs its
 * slash) off the end of rest[0..*n). Returns false when rest ends in
 * "page/..." that is not one (the route names nothing then).
 */
static bool
strip_page(const char *rest, size_t *n, struct route *r)
{
	size_t len = *n, end = len, start;

	if (end > 0 && rest[end - 1] == '/')
		end--;
	for (start = end; start > 0 && rest[start - 1] >= '0' && rest[start - 1] <= '9';)
		start--;
	if (start < 5 || memcmp(rest + start - 5, "page/", 5) != 0 ||
	    (start > 5 && rest[start - 6] != '/'))
		return true;	/* no page suffix */
	if ((r->page = page_number(rest + start, end - start)) == 0)
		return false;
	r->needs_slash = end == len;
	*n = start - 5;
	return true;
}

static void
match_archive_base(const char *rest, size_t n, struct route *r)
{
	r->kind = ROUTE_NOT_FOUND;
	if (n == 0) {
		r->kind = ROUTE_ARCHIVE;
		return;
	}
	if (n < 4 || (r->year = digits(rest, 4)) < 0)
		return;
	if (n == 4 || (n == 5 && rest[4] == '/')) {
		r->kind = ROUTE_YEAR;
		r->needs_slash = n == 4;
		return;
	}
	if (rest[4] != '/' || (n != 7 && n != 8) || (r->month = digits(rest + 5, 2)) < 1 ||
	    r->month > 12 || (n == 8 && rest[7] != '/'))
		return;
	r->kind = ROUTE_MONTH;
	r->needs_slash = n == 7;
}

static void
match_archive(const char *rest, struct route *r)
{
	size_t n = strlen(rest);
	bool slash;

	r->kind = ROUTE_NOT_FOUND;
	if (!strip_page(rest, &n, r))
		return;
	slash = r->needs_slash;
	match_archive_base(rest, n, r);
	if (r->page > 1 && r->kind != ROUTE_NOT_FOUND)
		r->needs_slash = slash;
}

/*
 * /posts/NAME.gmi or /posts/NAME.txt, NAME without '/'; anything else under
 * /posts/ (an image a post shows, a folder of them) is a file like any other.
 */
static void
match_post(const char *rest, struct route *r)
{
	size_t n = strlen(rest);

	r->kind = ROUTE_ARCHIVE;
	if (n == 0)
		return;
	r->kind = ROUTE_STATIC;
	if (n < 4 || strchr(rest, '/') != NULL)
		return;
	if (strcmp(rest + n - 4, ".gmi") == 0)
		r->kind = ROUTE_POST;
	else if (strcmp(rest + n - 4, ".txt") == 0)
		r->kind = ROUTE_POST_TEXT;
	else
		return;
	if (n == 4 || n >= sizeof(r->buf)) {
		r->kind = ROUTE_NOT_FOUND;
		return;
	}
	memcpy(r->buf, rest, n - 4);
	r->buf[n - 4] = '\0';
	r->name = r->buf;
}

static void
match_tag(const char *rest, struct route *r)
{
	size_t n = strlen(rest);
	const char *slash;
	bool paged;

	r->kind = ROUTE_NOT_FOUND;
	if (!strip_page(rest, &n, r))
		return;
	paged = r->page > 1;
	if (n == 0) {
		r->kind = ROUTE_TAGS;
		return;
	}
	slash = memchr(rest, '/', n);
	if (n >= sizeof(r->buf) || (slash != NULL && slash != rest + n - 1) ||
	    (paged && slash == NULL))
		return;
	r->kind = ROUTE_TAG;
	if (!paged)
		r->needs_slash = slash == NULL;
	memcpy(r->buf, rest, n);
	r->buf[slash ? n - 1 : n] = '\0';
	r->name = r->buf;
}

void
route_match(const char *path, struct route *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = ROUTE_STATIC;
	r->page = 1;
	if (strcmp(path, "/") == 0)
		r->kind = ROUTE_HOME;
	else if (strcmp(path, "/archive") == 0 || strcmp(path, "/posts") == 0 ||
	    strcmp(path, "/tags") == 0) {
		r->kind = path[1] == 't' ? ROUTE_TAGS : ROUTE_ARCHIVE;
		r->needs_slash = true;
	} else if (has_prefix(path, "/archive/"))
		match_archive(path + 9, r);
	else if (has_prefix(path, "/posts/"))
		match_post(path + 7, r);
	else if (has_prefix(path, "/tags/"))
		match_tag(path + 6, r);
	else if (strcmp(path, "/search") == 0)
		r->kind = ROUTE_SEARCH;
	else if (has_prefix(path, "/search/page/")) {
		/* Results take their words as a query: no slash. */
		r->page = page_number(path + 13, strlen(path + 13));
		r->kind = r->page != 0 ? ROUTE_SEARCH : ROUTE_NOT_FOUND;
	}
	else if (strcmp(path, "/atom.xml") == 0)
		r->kind = ROUTE_FEED;
	else if (strcmp(path, "/caps.txt") == 0)
		r->kind = ROUTE_CAPS;
	else if (strcmp(path, "/write/") == 0 || strcmp(path, "/write") == 0) {
		r->kind = ROUTE_WRITE;
		r->needs_slash = path[6] == '\0';
	} else if (strcmp(path, "/write/new") == 0) {
		r->kind = ROUTE_WRITE;
		r->name = "new";
	}
}
