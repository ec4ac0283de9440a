/*
 * Menus from arbitrary bytes: a gophermap file parsed, and documents whose
 * headings, text, labels and links are the input's lines, rendered. Whatever
 * goes in, what comes out must be a menu RFC 1436 accepts: CRLF lines of four
 * clean fields, display strings that fit, selectors under 256 bytes, the
 * lone "." at the end. Wrapping must keep to its width too.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "fuzz.h"
#include "fuzz/gopher_check.h"
#include "gophermap.h"
#include "pages.h"
#include "text.h"

static const struct gophermap_ctx ctx = {
	.host = "localhost",
	.port = 7070,
};

/* gemini:// links to localhost:1965 are this capsule's. */
static const struct pages_site here = {
	    .title = "Fuzz", .description = "",
	    .home_posts = 10, .page_size = 100, .host = "localhost", .gemini_port = 1965 };

static void
check_menu(struct evbuffer *b)
{
	size_t len;

	gophermap_end(b);
	len = evbuffer_get_length(b);
	EXPECT(gopher_check_menu((const char *)evbuffer_pullup(b, -1), len,
	    GOPHER_DISPLAY_MAX) == NULL);
}

/* Each line of the input becomes a block, its kind picked by its number. */
static void
check_doc(const char *s, size_t size)
{
	struct evbuffer *b = evbuffer_new();
	const char *p = s, *end = s + size, *nl;
	char line[600];
	struct doc d;
	size_t i = 0, n;

	if (b == NULL)
		return;
	doc_init(&d);
	for (; p < end; p = nl ? nl + 1 : end, i++) {
		nl = memchr(p, '\n', end - p);
		n = (nl ? nl : end) - p;
		snprintf(line, sizeof(line), "%.*s", (int)(n < 500 ? n : 500), p);
		switch (i % 8) {
		case 0:
			doc_heading(&d, (int)(n % 3) + 1, line);
			break;
		case 1:
			doc_text(&d, line, -1);
			break;
		case 2:
			doc_item(&d, line, -1);
			break;
		case 3:
			doc_pre(&d, NULL, line, -1);
			break;
		case 4:
			/* Any URL, with what the builder makes of it for Gopher. */
			pages_link_url(&d, line, line, &here);
			break;
		default:
			doc_link(&d, (enum doc_target)(i % 6), line, line);
			break;
		}
	}
	EXPECT(gophermap_render(&d, &ctx, b) == 0);
	check_menu(b);
	doc_clear(&d);
	evbuffer_free(b);
}

static void
line_width(void *arg, const char *prefix, const char *s, size_t len)
{
	size_t width = *(size_t *)arg;

	EXPECT(len > 0);
	EXPECT(utf8_width(prefix, strlen(prefix)) + utf8_width(s, len) <= width);
}

/* Any width that leaves the prefix room for a wide character. */
static void
check_wrap(const char *s, size_t size)
{
	size_t n, width = size ? 4 + (unsigned char)s[0] % 80 : 10;
	char *clean = text_clean(s, size, &n);

	if (clean == NULL)
		return;
	text_wrap(clean, n, width, "* ", "  ", line_width, &width);
	free(clean);
}

FUZZ_TARGET(gophermap)
{
	struct evbuffer *b = evbuffer_new();
	char *s = malloc(size ? size : 1);

	if (b == NULL || s == NULL) {
		if (b)
			evbuffer_free(b);
		free(s);
		return 0;
	}
	memcpy(s, data, size);
	{
		struct gophermap_hidden h;
		struct doc listing;

		doc_init(&listing);
		doc_link(&listing, DOC_TO_MENU, "/dir/sub/", "listed");
		if (gophermap_listed(s, size, &h))
			EXPECT(h.n <= GOPHERMAP_HIDDEN_MAX);
		gophermap_parse(s, size, "/dir/", &ctx, &listing, b);
		doc_clear(&listing);
	}
	check_menu(b);
	check_doc(s, size);
	check_wrap(s, size);
	evbuffer_free(b);
	free(s);
	return 0;
}
