/* Gopher (RFC 1436): selector framing and answers, from the same archive. */
#ifndef GAZETTE_GOPHER_H
#define GAZETTE_GOPHER_H

#include <stdbool.h>

#include "conn.h"
#include "gophermap.h"

extern const struct proto_ops gopher_ops;

/*
 * Finds the request line in buf: at most GOPHER_SELECTOR_MAX bytes ended by
 * CRLF or a bare LF. Pure, for the unit tests and the fuzzer.
 */
enum frame_result gopher_frame(const char *buf, size_t len, size_t *linelen);

/* A request line, taken apart. */
struct gopher_request {
	bool is_url;		/* "URL:<url>" (or "/URL:<url>"): path holds the URL */
	/* The selector resolved: starts with '/', no "." or ".." segment, no "//". */
	char path[GOPHER_SELECTOR_MAX + 3];
	bool has_words;		/* a search: TAB words, or "?words" */
	char words[GOPHER_SELECTOR_MAX + 1];
	char plus;		/* a Gopher+ suffix ('+', '$' or '!'), or 0 */
	bool encoded;		/* the raw selector holds '%': worth a decoded try */
};

/*
 * Parses the request line (without its line end):
 *
 *   selector [TAB words] [TAB gopher+]    or    selector?words
 *
 * A second field that is "+", "$" or "!" (or "+type/subtype", "!+ATTR",
 * "$+ATTR") is a Gopher+ suffix, not search words; so is a third field. The
 * selector is used raw, as RFC 1436 wants; with decode, its percent-escapes
 * are decoded first (for clients that send URL-encoded selectors: the server
 * retries that way when the raw selector names nothing). Returns NULL, or why
 * the line is refused: a control character, a bad escape, ".." above the root.
 */
const char *gopher_parse(const char *line, size_t len, bool decode, struct gopher_request *rq);

/*
 * The type-0 transport, as a streaming filter: LF, CRLF and CR line ends all
 * become CRLF. With GOPHER_TEXT_TERMINATOR in *state (RFC 1436 to the letter,
 * gopher_text_terminator = yes), a line starting with '.' gets another, and
 * in == NULL (the end) closes the last line and adds the lone "." line;
 * without it, as Gophernicus and geomyidae send text, neither. *state starts
 * at 0 or GOPHER_TEXT_TERMINATOR.
 */
#define GOPHER_TEXT_TERMINATOR 4u
void gopher_text(unsigned *state, const char *in, size_t len, struct evbuffer *out);

#endif
