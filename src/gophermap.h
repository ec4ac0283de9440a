/*
 * Gopher menus (RFC 1436): the archive's documents rendered as menus, and a
 * folder's gophermap file parsed into one. Pure functions, bytes in and menu
 * lines out; whatever needs the disk goes through struct gophermap_ctx.
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
	const char *gemini_host;	/* gemini:// links to this host and port */
	int gemini_port;		/* become local selectors */
	/* The item type of the local file at path; NULL: by extension, else '9'. */
	char (*file_type)(void *arg, const char *path);
	void *arg;
};

/*
 * Appends d as menu lines (without the final "."): headings and text as info
 * lines wrapped under 70 columns (a level-1 heading underlined with '=',
 * others with '-'), links as items by target: menus 1, posts 0 (selector
 * /posts/NAME.txt), files by type, searches 7, feeds left out; URLs as h items
 * with a "URL:" selector, but gemini:// links to this capsule become local
 * items and gopher:// links the items they name. Returns -1 (writing nothing)
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

/* The item type for a file name's extension, or 0 when it does not tell. */
char gophermap_type_by_name(const char *name);

/* The item type for a media type as libmagic gives it ("image/png; ..."). */
char gophermap_type_by_mime(const char *mime);

/*
 * Resolves the selector path s[0..len) (leading '/' optional) into out: one
 * '/' between segments, "." and ".." segments applied, a trailing '/' kept
 * when the path names a folder. Returns the length, or -1 when ".." would
 * climb above the root, s holds a NUL, or out is too small.
 */
long gophermap_path(const char *s, size_t len, char *out, size_t size);

#endif
