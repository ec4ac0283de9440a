/* Gopher requests: framing, selector parsing, and the type-0 text transport. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/gopher_check.h"
#include "gopher.h"
#include "test.h"

TEST(gopher_frame_lines)
{
	char buf[600];
	size_t n = 0;

	CHECK_INT(gopher_frame("/archive/\r\n", 11, &n), FRAME_LINE);
	CHECK_INT(n, 9);
	/* A bare LF ends a line too: some clients send only that. */
	CHECK_INT(gopher_frame("/archive/\n", 10, &n), FRAME_LINE);
	CHECK_INT(n, 9);
	CHECK_INT(gopher_frame("\r\n", 2, &n), FRAME_LINE);
	CHECK_INT(n, 0);
	CHECK_INT(gopher_frame("/search\tkim\r\n", 13, &n), FRAME_LINE);
	CHECK_INT(n, 11);
	CHECK_INT(gopher_frame("", 0, &n), FRAME_MORE);
	CHECK_INT(gopher_frame("/archive/", 9, &n), FRAME_MORE);
	CHECK_INT(gopher_frame("/archive/\r", 10, &n), FRAME_MORE);
	/* 255 bytes and CRLF: the longest line. */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf + 255, "\r\n", 2);
	CHECK_INT(gopher_frame(buf, 257, &n), FRAME_LINE);
	CHECK_INT(n, 255);
	CHECK_INT(gopher_frame(buf, 256, &n), FRAME_MORE);
	/* 256 bytes: too long, whether the line end came or not. */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf + 256, "\r\n", 2);
	CHECK_INT(gopher_frame(buf, 258, &n), FRAME_TOO_LONG);
	buf[256] = '\n';
	CHECK_INT(gopher_frame(buf, 257, &n), FRAME_TOO_LONG);
	CHECK_INT(gopher_frame(buf, 256, &n), FRAME_TOO_LONG);
	memset(buf, 'a', sizeof(buf));
	CHECK_INT(gopher_frame(buf, 300, &n), FRAME_TOO_LONG);
	CHECK_INT(gopher_frame(buf, 255, &n), FRAME_MORE);
}

TEST(gopher_parse_selectors)
{
	static const struct {
		const char *line;
		const char *path, *words;	/* path NULL: refused */
		char plus;
	} rows[] = {
		{ "", "/", NULL, 0 },
		{ "/", "/", NULL, 0 },
		{ "/archive/2020/01/", "/archive/2020/01/", NULL, 0 },
		{ "archive", "/archive", NULL, 0 },
		{ "/posts/2020-01-08-kim.txt", "/posts/2020-01-08-kim.txt", NULL, 0 },
		{ "/a b/c d.txt", "/a b/c d.txt", NULL, 0 },
		{ "/archive/../tags/", "/tags/", NULL, 0 },
		{ "/./archive//2020/.", "/archive/2020/", NULL, 0 },
		{ "/..", NULL, NULL, 0 },
		{ "/../etc/passwd", NULL, NULL, 0 },
		{ "/a/../../b", NULL, NULL, 0 },
		/* Searches: TAB and words, or "?words" as curl sends them. */
		{ "/search\tkim jong", "/search", "kim jong", 0 },
		{ "/search?kim jong", "/search", "kim jong", 0 },
		{ "/search?", "/search", "", 0 },
		{ "/search?a?b", "/search", "a?b", 0 },
		/* Words our menus encode are decoded; a stray '%' or a control stays. */
		{ "/search?caf%C3%A9%20au%20lait", "/search", "caf\xc3\xa9 au lait", 0 },
		{ "/search?100%25%20sure", "/search", "100% sure", 0 },
		{ "/search?100%", "/search", "100%", 0 },
		{ "/search?a%0Ab", "/search", "a%0Ab", 0 },
		{ "/search\tx?y", "/search", "x?y", 0 },
		/* Gopher+: recognised, never taken for words. */
		{ "/archive/\t+", "/archive/", NULL, '+' },
		{ "/archive/\t$", "/archive/", NULL, '$' },
		{ "/archive/\t!", "/archive/", NULL, '!' },
		{ "/archive/\t!+ABSTRACT", "/archive/", NULL, '!' },
		{ "/archive/\t+text/plain", "/archive/", NULL, '+' },
		{ "/search\tkim\t+", "/search", "kim", '+' },
		{ "/search\tkim\t1", "/search", "kim", 0 },
		{ "/search\t+kim", "/search", "+kim", 0 },
		{ "/search\t$5", "/search", "$5", 0 },
	};
	struct gopher_request rq;
	const char *err;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].line);
		err = gopher_parse(rows[i].line, strlen(rows[i].line), false, &rq);
		if (rows[i].path == NULL) {
			CHECK(err != NULL);
			continue;
		}
		CHECK_STR(err, NULL);
		CHECK(!rq.is_url);
		CHECK_STR(rq.path, rows[i].path);
		CHECK_INT(rq.has_words, rows[i].words != NULL);
		CHECK_STR(rq.words, rows[i].words ? rows[i].words : "");
		CHECK_INT(rq.plus, rows[i].plus);
	}
}

TEST(gopher_parse_refuses_junk)
{
	static const char *const lines[] = {
		"/a\0b", "\x01\x02\x03", "/a\rb", "/a\nb", "/del\x7f", "/\x1b[2J",
	};
	static const size_t lens[] = { 4, 3, 4, 4, 5, 5 };
	struct gopher_request rq;
	char line[300];
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		test_context("line %zu", i);
		CHECK(gopher_parse(lines[i], lens[i], false, &rq) != NULL);
	}
	memset(line, 'a', sizeof(line));
	CHECK(gopher_parse(line, 256, false, &rq) != NULL);
	line[0] = '/';
	CHECK(gopher_parse(line, 255, false, &rq) == NULL);
	CHECK_INT(strlen(rq.path), 255);
}

TEST(gopher_parse_url_and_encoding)
{
	struct gopher_request rq;

	CHECK(gopher_parse("URL:https://example.org/?a=b", 28, false, &rq) == NULL);
	CHECK(rq.is_url);
	CHECK_STR(rq.path, "https://example.org/?a=b");
	CHECK(gopher_parse("/URL:gemini://x/", 16, false, &rq) == NULL);
	CHECK(rq.is_url);
	CHECK_STR(rq.path, "gemini://x/");
	/* Raw first: "%41" is three bytes of a name, and worth a decoded try. */
	CHECK(gopher_parse("/a%20b/%3F", 10, false, &rq) == NULL);
	CHECK_STR(rq.path, "/a%20b/%3F");
	CHECK(rq.encoded);
	CHECK(gopher_parse("/a%20b/%3F", 10, true, &rq) == NULL);
	CHECK_STR(rq.path, "/a b/?");
	CHECK(!rq.encoded);
	/* Decoded dots climb like dots, and no further than the root. */
	CHECK(gopher_parse("/x/%2e%2e/tags/", 15, true, &rq) == NULL);
	CHECK_STR(rq.path, "/tags/");
	CHECK(gopher_parse("/%2e%2e/etc", 11, true, &rq) != NULL);
	CHECK(gopher_parse("/%00", 4, true, &rq) != NULL);
	CHECK(gopher_parse("/%zz", 4, true, &rq) != NULL);
	CHECK(gopher_parse("/plain", 6, false, &rq) == NULL);
	CHECK(!rq.encoded);
}

static char *
transport(const char *const *chunks, size_t n, unsigned mode)
{
	struct evbuffer *b = evbuffer_new();
	unsigned state = mode;
	size_t i, len;
	char *out;

	for (i = 0; i < n; i++)
		gopher_text(&state, chunks[i], strlen(chunks[i]), b);
	gopher_text(&state, NULL, 0, b);
	len = evbuffer_get_length(b);
	if ((out = malloc(len + 1)) == NULL)
		abort();
	evbuffer_remove(b, out, len);
	out[len] = '\0';
	evbuffer_free(b);
	CHECK_STR(gopher_check_text(out, len, mode != 0), NULL);
	return out;
}

TEST(gopher_text_transport)
{
	/* Each input, with gopher_text_terminator = yes, then as sent by default. */
	static const struct {
		const char *chunks[4];
		const char *strict, *plain;
	} rows[] = {
		{ { "" }, ".\r\n", "" },
		{ { "one\ntwo\n" }, "one\r\ntwo\r\n.\r\n", "one\r\ntwo\r\n" },
		{ { "no final newline" }, "no final newline\r\n.\r\n", "no final newline" },
		{ { "crlf\r\nlines\r\n" }, "crlf\r\nlines\r\n.\r\n", "crlf\r\nlines\r\n" },
		{ { "old\rmac\r" }, "old\r\nmac\r\n.\r\n", "old\r\nmac\r\n" },
		{ { ".\n.hidden\n..two\nmid.dle\n" },
		    "..\r\n..hidden\r\n...two\r\nmid.dle\r\n.\r\n",
		    ".\r\n.hidden\r\n..two\r\nmid.dle\r\n" },
		{ { "\n\n" }, "\r\n\r\n.\r\n", "\r\n\r\n" },
		/* Split anywhere: across CR LF, before a dot, inside a line. */
		{ { "a\r", "\nb" }, "a\r\nb\r\n.\r\n", "a\r\nb" },
		{ { "a\n", ".b" }, "a\r\n..b\r\n.\r\n", "a\r\n.b" },
		{ { "a", ".b\n", ".", "\n" }, "a.b\r\n..\r\n.\r\n", "a.b\r\n.\r\n" },
		{ { "x\r", "\r", "\n" }, "x\r\n\r\n.\r\n", "x\r\n\r\n" },
	};
	size_t i, n;
	char *out;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("row %zu", i);
		for (n = 0; n < 4 && rows[i].chunks[n] != NULL; n++)
			;
		out = transport(rows[i].chunks, n, GOPHER_TEXT_TERMINATOR);
		CHECK_STR(out, rows[i].strict);
		free(out);
		out = transport(rows[i].chunks, n, 0);
		CHECK_STR(out, rows[i].plain);
		free(out);
	}
}
