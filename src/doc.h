/*
 * A page as a protocol-neutral document: headings, text, links, list items,
 * quotes and preformatted blocks. Page builders fill one; the gemtext and
 * gophermap renderers turn it into bytes, so the two protocols never drift.
 */
#ifndef GAZETTE_DOC_H
#define GAZETTE_DOC_H

#include <stddef.h>

enum doc_type {
	DOC_HEADING,	/* level 1-3 */
	DOC_TEXT,	/* one paragraph, one logical line */
	DOC_LINK,
	DOC_ITEM,	/* a list item */
	DOC_QUOTE,
	DOC_PRE,	/* preformatted, may hold newlines; alt is its caption */
	DOC_BLANK,
};

/* What a link points to; each renderer maps it to its own form. */
enum doc_target {
	DOC_TO_URL,	/* an absolute URL, any scheme */
	DOC_TO_MENU,	/* a local generated page or folder (ends with '/') */
	DOC_TO_FILE,	/* a local static file */
	DOC_TO_POST,	/* a post: href is /posts/NAME without extension */
	DOC_TO_SEARCH,	/* a page that takes a query; alt: the words, if it has them */
	DOC_TO_FEED,	/* a feed only Gemini serves */
};

struct doc_block {
	enum doc_type type;
	int level;
	enum doc_target target;
	const char *text;
	const char *href;	/* decoded local path, or absolute URL */
	const char *alt;
	char item;		/* a local file's Gopher item type, or 0: by its name */
	/*
	 * What a URL link is to Gopher, worked out by the builder: the item's
	 * selector (NULL: none, the URL goes as an "h" item), its host (NULL:
	 * this server) and port, and item its type.
	 */
	const char *sel;
	const char *sel_host;
	int sel_port;
};

struct doc_chunk;

struct doc {
	struct doc_block *blocks;
	size_t n, cap;
	struct doc_chunk *chunks;	/* the arena every string is copied into */
	int failed;			/* an allocation failed: render nothing */
};

void doc_init(struct doc *d);
void doc_clear(struct doc *d);

/* Each copies its strings; len -1 means strlen. */
void doc_heading(struct doc *d, int level, const char *text);
void doc_text(struct doc *d, const char *text, long len);
void doc_link(struct doc *d, enum doc_target target, const char *href, const char *label);
/* A link to a local file whose Gopher item type is known (by its bytes, say). */
void doc_link_item(struct doc *d, const char *href, const char *label, char item);
/* A page of results for the words (href such as /search/page/2). */
void doc_link_results(struct doc *d, const char *href, const char *label,
    const char *words);
/* Gives the last link, a URL, its Gopher item (host NULL: this server). */
void doc_link_gopher(struct doc *d, char item, const char *sel, const char *host, int port);
void doc_item(struct doc *d, const char *text, long len);
void doc_quote(struct doc *d, const char *text, long len);
void doc_pre(struct doc *d, const char *alt, const char *text, long len);
void doc_blank(struct doc *d);

/* printf into the arena, for labels built from parts. */
const char *doc_printf(struct doc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
