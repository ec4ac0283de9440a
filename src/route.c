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

static void
match_archive(const char *rest, struct route *r)
{
	size_t n = strlen(rest);

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

/* /posts/NAME.gmi or /posts/NAME.txt; NAME has no '/'. */
static void
match_post(const char *rest, struct route *r)
{
	size_t n = strlen(rest);

	r->kind = ROUTE_NOT_FOUND;
	if (n == 0) {
		r->kind = ROUTE_ARCHIVE;
		return;
	}
	if (n < 5 || n >= sizeof(r->buf) || strchr(rest, '/') != NULL)
		return;
	if (strcmp(rest + n - 4, ".gmi") == 0)
		r->kind = ROUTE_POST;
	else if (strcmp(rest + n - 4, ".txt") == 0)
		r->kind = ROUTE_POST_TEXT;
	else
		return;
	memcpy(r->buf, rest, n - 4);
	r->buf[n - 4] = '\0';
	r->name = r->buf;
}

static void
match_tag(const char *rest, struct route *r)
{
	size_t n = strlen(rest);
	const char *slash = strchr(rest, '/');

	if (n == 0) {
		r->kind = ROUTE_TAGS;
		return;
	}
	r->kind = ROUTE_NOT_FOUND;
	if (n >= sizeof(r->buf) || (slash != NULL && slash != rest + n - 1))
		return;
	r->kind = ROUTE_TAG;
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
	else if (strcmp(path, "/atom.xml") == 0)
		r->kind = ROUTE_FEED;
	else if (strcmp(path, "/caps.txt") == 0)
		r->kind = ROUTE_CAPS;
}
