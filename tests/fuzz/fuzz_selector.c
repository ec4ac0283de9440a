/*
 * Gopher request bytes as a client might send them: framing, parsing (raw
 * and decoded), and the type-0 transport of the same bytes as text. Framing
 * must find exactly the first line end within 255 bytes; a parsed selector
 * must be confined and clean; the transport must give CRLF lines, keep RFC
 * 1436 when asked for the terminator, and be undone by a client that reads
 * the lines (and un-stuffs dots).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz/gopher_check.h"
#include "gopher.h"

static void
check_frame(const char *buf, size_t size)
{
	const char *lf = memchr(buf, '\n', size);
	size_t n = 0, at = lf ? (size_t)(lf - buf) : size;

	switch (gopher_frame(buf, size, &n)) {
	case FRAME_LINE:
		EXPECT(lf != NULL && n <= GOPHER_SELECTOR_MAX);
		EXPECT(n == at || (n + 1 == at && buf[n] == '\r'));
		break;
	case FRAME_MORE:
		EXPECT(lf == NULL && size <= GOPHER_SELECTOR_MAX + 1);
		break;
	case FRAME_TOO_LONG:
		EXPECT(at > GOPHER_SELECTOR_MAX);
		EXPECT(lf == NULL || at > GOPHER_SELECTOR_MAX + 1 || buf[at - 1] != '\r');
		break;
	}
}

static void
check_parse(const char *line, size_t len, bool decode)
{
	struct gopher_request rq;
	size_t i;

	if (gopher_parse(line, len, decode, &rq) != NULL)
		return;
	EXPECT(len <= GOPHER_SELECTOR_MAX);
	for (i = 0; i < len; i++)
		EXPECT((unsigned char)line[i] >= 0x20 || line[i] == '\t');
	EXPECT(strchr(rq.words, '\t') == NULL);
	EXPECT(rq.has_words || rq.words[0] == '\0');
	EXPECT(rq.plus == 0 || rq.plus == '+' || rq.plus == '$' || rq.plus == '!');
	if (rq.is_url) {
		EXPECT(memmem(line, len, rq.path, strlen(rq.path)) != NULL);
		return;
	}
	EXPECT(rq.path[0] == '/');
	EXPECT(strlen(rq.path) <= GOPHER_SELECTOR_MAX + 2);
	EXPECT(strstr(rq.path, "//") == NULL);
	EXPECT(!has_segment(rq.path, "."));
	EXPECT(!has_segment(rq.path, ".."));
	if (!decode)
		EXPECT(strchr(rq.path, '\t') == NULL);
}

/*
 * The text a client reads back: CRLF as LF; with the terminator, dots
 * un-stuffed up to the lone "." line.
 */
static void
check_text(const char *data, size_t size, bool terminator)
{
	struct evbuffer *b = evbuffer_new();
	size_t split = size ? (unsigned char)data[0] % size : 0, len, i, n, o = 0;
	unsigned state = terminator ? GOPHER_TEXT_TERMINATOR : 0;
	char *out, *want;
	const char *p, *end, *crlf, *why;

	if (b == NULL || (want = malloc(size + 2)) == NULL) {
		if (b)
			evbuffer_free(b);
		return;
	}
	gopher_text(&state, data, split, b);
	gopher_text(&state, data + split, size - split, b);
	gopher_text(&state, NULL, 0, b);
	len = evbuffer_get_length(b);
	out = (char *)evbuffer_pullup(b, -1);
	why = gopher_check_text(out, len, terminator);
	EXPECT(why == NULL);
	/* What was sent: every line end made LF, and (terminator) a last line closed. */
	for (i = 0; i < size; i++) {
		if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n')
			continue;
		want[o++] = data[i] == '\r' ? '\n' : data[i];
	}
	if (terminator && o > 0 && want[o - 1] != '\n')
		want[o++] = '\n';
	if (why == NULL) {
		for (p = out, end = out + len, i = 0; p < end; p = crlf ? crlf + 2 : end) {
			crlf = gopher_check_crlf(p, end);
			if (terminator && crlf != NULL && crlf - p == 1 && p[0] == '.')
				break;
			if (terminator && p[0] == '.')
				p++;
			n = (crlf ? crlf : end) - p;
			if (i + n > o || memcmp(want + i, p, n) != 0 ||
			    (crlf != NULL && (i + n == o || want[i + n] != '\n')))
				break;
			i += n + (crlf != NULL);
		}
		EXPECT(i == o);
	}
	free(want);
	evbuffer_free(b);
}

FUZZ_TARGET(selector)
{
	char *buf = malloc(size ? size : 1);
	size_t n = 0;

	/* An exact-size copy: no terminating NUL to lean on. */
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	check_frame(buf, size);
	if (gopher_frame(buf, size, &n) != FRAME_LINE)
		n = size;
	check_parse(buf, n, false);
	check_parse(buf, n, true);
	check_text(buf, size, true);
	check_text(buf, size, false);
	free(buf);
	return 0;
}
