/*
 * The URL map both protocols share: which generated page a path names.
 * Pure: a decoded path in, a route out.
 */
#ifndef GAZETTE_ROUTE_H
#define GAZETTE_ROUTE_H

#include <stdbool.h>

enum route_kind {
	ROUTE_STATIC,		/* not a generated page: a file or folder under the root */
	ROUTE_NOT_FOUND,	/* under a generated prefix, but names nothing */
	ROUTE_HOME,		/* / */
	ROUTE_ARCHIVE,		/* /archive/ (and /posts/) */
	ROUTE_YEAR,		/* /archive/YYYY/ */
	ROUTE_MONTH,		/* /archive/YYYY/MM/ */
	/* ... and each list of them, /tags/NAME/ too, in pages: LIST/page/N/, N >= 2 */
	ROUTE_POST,		/* /posts/NAME.gmi */
	ROUTE_POST_TEXT,	/* /posts/NAME.txt */
	ROUTE_TAGS,		/* /tags/ */
	ROUTE_TAG,		/* /tags/NAME/ */
	ROUTE_SEARCH,		/* /search, /search/page/N */
	ROUTE_FEED,		/* /atom.xml */
	ROUTE_CAPS,		/* /caps.txt */
	ROUTE_WRITE,		/* /write/: how an author writes; /write/new?WORDS (name "new") */
};

struct route {
	enum route_kind kind;
	bool needs_slash;	/* a folder-like page named without its '/' */
	int year, month;
	long page;		/* which page of a long list: 1 for the list's own path */
	const char *name;	/* ROUTE_POST*: the stem; ROUTE_TAG: the tag (points into buf) */
	char buf[1100];
};

void route_match(const char *path, struct route *r);

#endif
