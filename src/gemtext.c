/*
 * The gemtext renderer. Gemtext has no escapes, so anything that would change
 * a line's type is neutralised here: control characters become spaces, and a
 * text line that starts like a link, heading, list item, quote or fence gets a
 * leading space.
 */
#include "gemtext.h"

#include <stdbool.h>
#include <string.h>

#include "url.h"

/* Adds s with CR, LF, TAB and other controls turned into spaces. */
static void
add_line(struct evbuffer *out, const char *s)
{
	const char *p = s, *start = s;

	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			evbuffer_add(out, start, p - start);
			evbuffer_add(out, " ", 1);
			start = p + 1;
		}
	evbuffer_add(out, start, p - start);
}

static bool
looks_special(const char *s)
{
	return s[0] == '#' || s[0] == '>' || strncmp(s, "=>", 2) == 0 ||
	    strncmp(s, "* ", 2) == 0 || strncmp(s, "```", 3) == 0;
}

static void
add_link(struct evbuffer *out, const struct doc_block *b)
{
	char enc[3 * URL_MAX + 8], words[3 * URL_MAX + 1];
	const char *href = b->href;

	evbuffer_add(out, "=> ", 3);
	if (b->target == DOC_TO_URL)
		add_line(out, href);
	else if (url_encode_path(href, strlen(href), enc, sizeof(enc) - 4) >= 0) {
		if (b->target == DOC_TO_POST)
			strcat(enc, ".gmi");
		evbuffer_add(out, enc, strlen(enc));
		/* A page of results carries its words as the query. */
		if (b->target == DOC_TO_SEARCH && b->alt != NULL &&
		    url_encode_query(b->alt, strlen(b->alt), words, sizeof(words)) >= 0)
			evbuffer_add_printf(out, "?%s", words);
	} else
		evbuffer_add(out, "/", 1);
	if (b->text[0] != '\0') {
		evbuffer_add(out, " ", 1);
		add_line(out, b->text);
	}
	evbuffer_add(out, "\n", 1);
}

static void
add_pre(struct evbuffer *out, const struct doc_block *b)
{
	const char *line = b->text, *nl;
	size_t n;

	evbuffer_add(out, "```", 3);
	add_line(out, b->alt);
	evbuffer_add(out, "\n", 1);
	while (*line) {
		nl = strchr(line, '\n');
		n = nl ? (size_t)(nl - line) : strlen(line);
		if (n >= 3 && strncmp(line, "```", 3) == 0)
			evbuffer_add(out, " ", 1);
		evbuffer_add(out, line, n);
		evbuffer_add(out, "\n", 1);
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	evbuffer_add(out, "```\n", 4);
}

int
gemtext_render(const struct doc *d, struct evbuffer *out)
{
	static const char *const prefix[] = {
		[DOC_ITEM] = "* ", [DOC_QUOTE] = "> ",
	};
	const struct doc_block *b;
	size_t i;

	if (d->failed)
		return -1;
	for (i = 0; i < d->n; i++) {
		b = &d->blocks[i];
		switch (b->type) {
		case DOC_HEADING:
			evbuffer_add(out, "###", b->level);
			evbuffer_add(out, " ", 1);
			add_line(out, b->text);
			evbuffer_add(out, "\n", 1);
			break;
		case DOC_TEXT:
			if (looks_special(b->text))
				evbuffer_add(out, " ", 1);
			add_line(out, b->text);
			evbuffer_add(out, "\n", 1);
			break;
		case DOC_ITEM:
		case DOC_QUOTE:
			evbuffer_add(out, prefix[b->type], 2);
			add_line(out, b->text);
			evbuffer_add(out, "\n", 1);
			break;
		case DOC_LINK:
			add_link(out, b);
			break;
		case DOC_PRE:
			add_pre(out, b);
			break;
		case DOC_BLANK:
			evbuffer_add(out, "\n", 1);
			break;
		}
	}
	return 0;
}
