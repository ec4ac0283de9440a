/*
 * Gopher menus (RFC 1436): the archive's documents rendered as menus, and a
 * folder's gophermap file parsed into one. Pure functions, bytes in and menu
 * lines out: what a link is to Gopher (its item type, a URL's item) the
 * document's builder worked out; nothing here reads the disk or routes.
 *
 * Every line written is "T<display>\t<selector>\t<host>\t<port>\r\n" where
 * the display string is at most GOPHER_DISPLAY_MAX columns (cut with "…",
 * or word-wrapped over several info lines), the selector is under 256 bytes,
 * and no field holds a TAB, CR, LF, NUL or any other control character.
 * Info lines ('i') and errors ('3') carry the conventional fake fields
 * "\terror.host\t1" (Bucktooth's), which no client mistakes for a server.
 * Local selectors are the paths themselves, sent raw; one that cannot travel
 * raw (a control character or '?' in a file name) is percent-encoded, which
 * the server decodes when the raw selector names nothing.
 */
#ifndef GAZETTE_GOPHERMAP_H
#define GAZETTE_GOPHERMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/buffer.h>

#include "doc.h"

/*
 * Columns of a display string: under 70 (RFC 1436), leaving room in 80 for
 * what clients put before an item ("(FILE) [12]" in lynx -dump).
 */
#define GOPHER_DISPLAY_MAX 67
#define GOPHER_SELECTOR_MAX 255		/* bytes */
#define GOPHERMAP_HIDDEN_MAX 256	/* "-name" lines honoured per gophermap */

/* The names a gophermap's "-name" lines hide from its "*" listing. */
struct gophermap_hidden {
	struct {
		const char *s;		/* into the gophermap's bytes */
		size_t len;
	} name[GOPHERMAP_HIDDEN_MAX];
	size_t n;
};

struct gophermap_ctx {
	const char *host;	/* the public host name local items advertise */
	int port;		/* and the public port */
};

/*
 * Appends d as menu lines (without the final "."): headings and text as info
 * lines wrapped under 70 columns (a level-1 heading underlined with '=',
 * others with '-'), links as items by target: menus 1, posts 0 (selector
 * /posts/NAME.txt), files by their item type (else by name), searches 7,
 * feeds left out; URLs as the item their builder made of them (doc_block's
 * sel), else h items with a "URL:" selector. Returns -1 (writing nothing)
 * when the document failed to build.
 */
int gophermap_render(const struct doc *d, const struct gophermap_ctx *c,
    struct evbuffer *out);

/*
 * Appends the menu described by a gophermap file (data[0..len), any bytes),
 * without the final ".", for the folder whose path (ending in '/') is folder.
 * Bucktooth format: a line with a TAB is an item "Tdisplay\tselector\thost\tport"
 * (missing selector: the display; missing host and port: this server's; a
 * relative local selector is relative to the folder); a line without one is
 * info text. Gophernicus additions: "!title", "#comment", "-name" hides name
 * from the listing, "*" appends listing (the first "*" only; nothing when it
 * is NULL), "." alone ends the map; "=" lines (Gophernicus' includes) are left
 * out, as is any line that cannot make a valid item.
 */
void gophermap_parse(const char *data, size_t len, const char *folder,
    const struct gophermap_ctx *c, const struct doc *listing, struct evbuffer *out);

/*
 * Whether the gophermap wants the folder's listing (a "*" line before any
 * lone "."); the names its "-name" lines hide go into *h either way.
 */
bool gophermap_listed(const char *data, size_t len, struct gophermap_hidden *h);

/* True when h hides the file name. */
bool gophermap_hides(const struct gophermap_hidden *h, const char *name);

/*
 * Appends one item, its display string cleaned and cut to fit. Returns -1
 * (writing nothing) when type, selector or host cannot be sent as they are.
 */
int gophermap_item(struct evbuffer *out, char type, const char *display,
    const char *selector, const char *host, int port);

/* Appends text as one info ('i') or error ('3') line, cut to fit. */
void gophermap_info(struct evbuffer *out, char type, const char *text);

/* The lone "." line that ends a menu. */
void gophermap_end(struct evbuffer *out);

#endif
