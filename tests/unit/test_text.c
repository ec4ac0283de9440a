/* Plain text: cleaning, cutting and wrapping by display width; posts as text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "post.h"
#include "test.h"
#include "text.h"
#include "utf8.h"

TEST(text_clean_controls_and_bad_utf8)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} rows[] = {
		{ "plain", 5, "plain" },
		{ "a\tb\rc\nd", 7, "a b c d" },
		{ "nul\0x", 5, "nul x" },
		{ "del\x7f", 4, "del " },
		{ "c1\xc2\x85|\xc2\x9b", 7, "c1 | " },
		{ "caf\xe9!", 5, "caf\xef\xbf\xbd!" },
		{ "\xff\xfe", 2, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "Caf\xc3\xa9 \xe2\x82\xac", 9, "Caf\xc3\xa9 \xe2\x82\xac" },
		{ "", 0, "" },
	};
	size_t i, n;
	char *out;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("row %zu", i);
		out = text_clean(rows[i].in, rows[i].len, &n);
		CHECK_STR(out, rows[i].want);
		CHECK_INT(n, strlen(rows[i].want));
		free(out);
	}
}

TEST(text_fit_counts_columns)
{
	/* 한 is two columns; U+0301 (combining acute) none. */
	CHECK_INT(text_fit("hello", 5, 3), 3);
	CHECK_INT(text_fit("hello", 5, 10), 5);
	CHECK_INT(text_fit("\xed\x95\x9c\xed\x95\x9c", 6, 3), 3);
	CHECK_INT(text_fit("\xed\x95\x9c\xed\x95\x9c", 6, 4), 6);
	CHECK_INT(text_fit("e\xcc\x81x", 4, 1), 3);
	CHECK_INT(text_fit("\xff\xff\xff", 3, 2), 2);
	/* Never zero characters when there is a column: progress is certain. */
	CHECK_INT(text_fit("\xed\x95\x9c", 3, 1), 3);
	CHECK_INT(text_fit("abc", 3, 0), 0);
	/* Never half a character. */
	CHECK_INT(text_fit("a\xe2\x82\xac", 4, 1), 1);
}

struct lines {
	char buf[4096];
	int n;
};

static void
collect(void *arg, const char *prefix, const char *s, size_t len)
{
	struct lines *l = arg;
	size_t used = strlen(l->buf);

	snprintf(l->buf + used, sizeof(l->buf) - used, "%s%.*s|", prefix, (int)len, s);
	l->n++;
}

static const char *
wrapped(const char *s, size_t width, const char *first, const char *rest)
{
	static struct lines l;

	memset(&l, 0, sizeof(l));
	text_wrap(s, strlen(s), width, first, rest, collect, &l);
	return l.buf;
}

TEST(text_wrap_words_and_prefixes)
{
	CHECK_STR(wrapped("one two three four", 9, "", ""), "one two|three|four|");
	CHECK_STR(wrapped("one two three four", 8, "", ""), "one two|three|four|");
	CHECK_STR(wrapped("one two three four", 7, "", ""), "one two|three|four|");
	CHECK_STR(wrapped("one two three", 13, "", ""), "one two three|");
	CHECK_STR(wrapped("  lead  and   runs  ", 10, "", ""), "lead  and|runs|");
	CHECK_STR(wrapped("alpha beta gamma", 10, "* ", "  "), "* alpha|  beta|  gamma|");
	CHECK_STR(wrapped("quoted words here", 10, "> ", "> "), "> quoted|> words|> here|");
	/* A word wider than the line is broken where it must be. */
	CHECK_STR(wrapped("abcdefghij xy", 4, "", ""), "abcd|efgh|ij|xy|");
	CHECK_STR(wrapped("https://example.org/long", 10, "", ""),
	    "https://ex|ample.org/|long|");
	/* Columns, not bytes: five Hangul syllables are ten columns. */
	CHECK_STR(wrapped("\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xec\x9e\x85\xeb\x8b\x88\xeb\x8b\xa4",
	    7, "", ""), "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4|\xec\x9e\x85\xeb\x8b\x88\xeb\x8b\xa4|");
	CHECK_STR(wrapped("", 10, "", ""), "");
	CHECK_STR(wrapped("    ", 10, "", ""), "");
}

TEST(text_wrap_never_exceeds_width)
{
	char s[2000];
	struct lines l;
	size_t i, width;
	const char *p, *bar;

	/* Words of every length 1..29, with CJK and combining marks mixed in. */
	s[0] = '\0';
	for (i = 1; i < 30; i++) {
		size_t used = strlen(s);
		memset(s + used, i % 3 ? 'a' : 'b', i);
		strcpy(s + used + i, i % 4 ? " " : " \xed\x95\x9c\xcc\x81 ");
	}
	for (width = 3; width < 40; width++) {
		memset(&l, 0, sizeof(l));
		text_wrap(s, strlen(s), width, "", "", collect, &l);
		for (p = l.buf; (bar = strchr(p, '|')) != NULL; p = bar + 1) {
			test_context("width %zu: %.*s", width, (int)(bar - p), p);
			CHECK(utf8_width(p, bar - p) <= width);
			CHECK(bar > p);
		}
	}
}

static int
parse(struct post *p, const char *s)
{
	const char *why;

	return post_parse("2020-01-08-text.txt", s, strlen(s), 0, POST_FULL, p, &why);
}

static char *
as_text(const char *src)
{
	struct evbuffer *b = evbuffer_new();
	struct post p;
	char *out = NULL;
	size_t n;

	if (b == NULL || parse(&p, src) == -1) {
		test_fail(__FILE__, __LINE__, "cannot parse");
		if (b)
			evbuffer_free(b);
		return strdup("");
	}
	CHECK_INT(text_post(&p, b), 0);
	n = evbuffer_get_length(b);
	if ((out = malloc(n + 1)) != NULL) {
		evbuffer_remove(b, out, n);
		out[n] = '\0';
	}
	evbuffer_free(b);
	post_free(&p);
	return out;
}

TEST(text_post_layout)
{
	char *t = as_text("Title: A post\n"
	    "Date: 2020-01-08T09:05Z\n"
	    "Author: Ann\n"
	    "Source: Daily Example\n"
	    "Tags: one, two\n"
	    "\n"
	    "A paragraph that is long enough to need wrapping at seventy columns, with a "
	    "link https://example.org/page in it and gemini://example.org/x too.\n"
	    "\n"
	    "> A quote that also goes on for quite a while so that it has to wrap onto "
	    "another line.\n"
	    "\n"
	    "* An item long enough to wrap onto a second line, which is indented to "
	    "hang under it.\n"
	    "* Short item\n"
	    "\n"
	    "    pre\tformatted line that is kept exactly as it is, however long it happens to be\n"
	    "\n"
	    ".starts with a dot\n"
	    "\n"
	    "https://example.com/standalone\n");

	CHECK_STR(t, "A post\n"
	    "======\n"
	    "\n"
	    "Date:   2020-01-08 09:05 UTC\n"
	    "Author: Ann\n"
	    "Source: Daily Example\n"
	    "Tags:   one, two\n"
	    "\n"
	    "A paragraph that is long enough to need wrapping at seventy columns,\n"
	    "with a link https://example.org/page [1] in it and\n"
	    "gemini://example.org/x [2] too.\n"
	    "\n"
	    "> A quote that also goes on for quite a while so that it has to wrap\n"
	    "> onto another line.\n"
	    "\n"
	    "* An item long enough to wrap onto a second line, which is indented to\n"
	    "  hang under it.\n"
	    "* Short item\n"
	    "\n"
	    "    pre\tformatted line that is kept exactly as it is, however long it happens to be\n"
	    "\n"
	    ".starts with a dot\n"
	    "\n"
	    "https://example.com/standalone [3]\n"
	    "\n"
	    "References\n"
	    "[1] https://example.org/page\n"
	    "[2] gemini://example.org/x\n"
	    "[3] https://example.com/standalone\n");
	free(t);
}

TEST(text_post_title_underline_and_width)
{
	char *t = as_text("Title: \xed\x95\x9c\xea\xb5\xad \xeb\x89\xb4\xec\x8a\xa4\n\nBody.\n");
	char *line, *save = NULL;

	/* "한국 뉴스" is nine columns: nine '=' under it. */
	CHECK(strstr(t, "\n=========\n\n") != NULL);
	CHECK(strstr(t, "\n==========\n") == NULL);
	free(t);
	t = as_text("Title: A title so long that it cannot possibly fit on one line of seventy "
	    "columns of text\n\nsupercalifragilisticexpialidocious-and-then-some-more-letters-to-"
	    "be-longer-than-a-line word\n");
	for (line = strtok_r(t, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		test_context("%s", line);
		CHECK(utf8_width(line, strlen(line)) <= TEXT_WIDTH);
	}
	free(t);
}

TEST(text_post_without_links_has_no_references)
{
	char *t = as_text("Just a title\n\nAnd a body.\n");

	CHECK_STR(t, "Just a title\n============\n\nDate:   2020-01-08\n\nAnd a body.\n");
	free(t);
}
