/*
 * Page builders: each turns what a request asks for into a document, with no
 * knowledge of the protocol that will render it. Every list of posts is a run
 * of links "YYYY-MM-DD Title" under the page's single level-1 heading: the
 * Gemini subscription form, which Lagrange and other readers subscribe to.
 * Builders are deterministic: the same index gives the same document. They
 * know no protocol, but pages_build is not pure: a post page reads its post
 * (store_load). Search results come in whole from the search index.
 */
#ifndef GAZETTE_PAGES_H
#define GAZETTE_PAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "doc.h"
#include "files.h"
#include "fts.h"
#include "post.h"
#include "route.h"
#include "store.h"

struct pages_site {
	const char *title;
	const char *description;
	int home_posts;		/* how many posts the home page lists */
	int page_size;		/* how many entries a page of a long list shows */
	const char *host;	/* gemini:// links to this host and port are local */
	int gemini_port;
	/* The home page's: the author's introduction (gemtext, the root's index.gmi) */
	const char *intro;
	size_t intro_len;
	bool about;		/* the root has an about.gmi to link */
	/*
	 * For a request made with an author's certificate (titan.h): where posts
	 * are written, "titan://HOST[:PORT]"; the home page links /write/ and a
	 * post its own Titan URL. NULL for everyone else.
	 */
	const char *titan;
};

/* A folder without an index: its folders, then its files, each a link. */
void pages_folder(struct doc *d, const char *path, const struct files_item *items,
    size_t n);
/* The same links alone, for a gophermap's "*". */
void pages_folder_entries(struct doc *d, const char *path, const struct files_item *items,
    size_t n);

/* The page builders pages_build dispatches to; the benchmark calls them too. */
void pages_home(struct doc *d, const struct pages_site *site, const struct index *x);
/*
 * How an author writes a post (site->titan set): the format, and for name
 * (a file name in posts/, or NULL) the Titan link to upload it to.
 */
void pages_write(struct doc *d, const struct pages_site *site, const char *name);
/* -1 (and nothing built) when the month has no posts. */
int pages_month(struct doc *d, const struct index *x, int year, int month, int size,
    long page);
/* Post i of the index, whose full parse is p. */
void pages_post(struct doc *d, const struct pages_site *site, const struct index *x,
    size_t i, const struct post *p);

enum pages_result {
	PAGES_OK,
	PAGES_NOT_FOUND,	/* nothing was built */
	PAGES_BUSY,		/* a post it needs is being written: try again in a moment */
};

/*
 * The generated page rt names, as both protocols share it: home, archive,
 * year, month, tags, tag and post (which reads the post from store), from
 * the store's current index.
 */
enum pages_result pages_build(struct doc *d, const struct pages_site *site,
    const struct store *store, const struct route *rt);

/*
 * Page page of the results r of a search for words (r holds that page's
 * hits and the total): each post's link with a snippet under it. -1, and
 * nothing built, when there is no such page.
 */
int pages_search(struct doc *d, const struct pages_site *site, const char *words, long page,
    const struct fts_result *r);

/* What a search says while the search index is being built (or cannot be read). */
void pages_search_rebuilding(struct doc *d);

/*
 * A link to url, with what it is to Gopher: a gemini:// URL of this capsule
 * the local item for the same page (a post's text, a menu, a search, a
 * file), a gopher:// URL the item it names (RFC 4266), anything else none.
 */
void pages_link_url(struct doc *d, const char *url, const char *label,
    const struct pages_site *site);

/* "January" for 1. */
const char *pages_month_name(int month);

#endif
