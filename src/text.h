/*
 * Plain text for terminals: cleaning, cutting and word-wrapping by display
 * width (UTF-8 aware), and a post rendered as text/plain, which Gopher serves
 * as its type 0. Pure functions; lines end with a bare LF here, the protocol
 * decides its own line ends.
 */
#ifndef GAZETTE_TEXT_H
#define GAZETTE_TEXT_H

#include <stddef.h>
#include <event2/buffer.h>

#include "post.h"

#define TEXT_WIDTH 70	/* columns of a post as text */

/*
 * A copy of s[0..len) fit for one line of a terminal, NUL-terminated and
 * malloc'd (NULL when memory ran out): C0 and C1 control characters (TAB,
 * CR, LF and NUL among them) and DEL become spaces, invalid UTF-8 becomes
 * U+FFFD. *outlen gets its length.
 */
char *text_clean(const char *s, size_t len, size_t *outlen);

/*
 * How many bytes of s[0..len) fit in width columns: never half a character,
 * and zero-width marks stay with the character they follow. At least one
 * character when width > 0, so a caller always makes progress.
 */
size_t text_fit(const char *s, size_t len, size_t width);

/* Receives one wrapped line: prefix, then s[0..len) (a slice of the input). */
typedef void (*text_line_fn)(void *arg, const char *prefix, const char *s, size_t len);

/*
 * Where wrapped lines go: each is written by put, and the widest one's width
 * is kept, for an underline. text_sink_line is the text_line_fn to pass.
 */
struct text_sink {
	struct evbuffer *out;
	size_t widest;
	void (*put)(struct evbuffer *out, const char *prefix, const char *s, size_t len);
};
void text_sink_line(void *arg, const char *prefix, const char *s, size_t len);

/*
 * Word-wraps the clean text s[0..len) (no control characters: see
 * text_clean) to width columns, prefix included: the first line starts with
 * first, the others with rest (a hanging indent). Runs of spaces between
 * lines are dropped; a word wider than a line is broken where it must be.
 * Empty or blank text gives no line. The prefixes must leave room.
 */
void text_wrap(const char *s, size_t len, size_t width, const char *first,
    const char *rest, text_line_fn emit, void *arg);

/*
 * Appends the post as text: a header (the title underlined, then date,
 * author, source and tags), the body (quotes "> ", list items "* " with a
 * hanging indent, preformatted lines indented by four spaces and otherwise
 * kept as they are), each URL followed by its reference number "[n]", and the
 * numbered references at the end. Every line is at most TEXT_WIDTH columns
 * but preformatted ones and references: a reference holds its whole URL,
 * however long, to be copied. Returns -1 when memory ran out.
 */
int text_post(const struct post *p, struct evbuffer *out);

#endif
