/* Gemini: request framing and answers. */
#ifndef GAZETTE_GEMINI_H
#define GAZETTE_GEMINI_H

#include "conn.h"

extern const struct proto_ops gemini_ops;

/*
 * Finds the request in buf: a URL of at most URL_MAX bytes ended by CRLF. A
 * bare LF is not an end of line (the client then waits for its timeout).
 * Pure, for the unit tests and the fuzzer.
 */
enum frame_result gemini_frame(const char *buf, size_t len, size_t *linelen);

/*
 * The checks on a request line before routing: UTF-8, no NUL, an absolute
 * gemini:// URL for a served host and port. Returns the status (0 when the
 * request may be routed) and fills *u, *site and meta (for a non-zero status).
 */
struct url;
int gemini_check(const struct server *s, const struct request_ctx *ctx, const char *line,
    size_t len, struct url *u, const struct site **site, const char **meta);

#endif
