/*
 * Plain text. Wrapping works on display columns, not bytes: a CJK character
 * takes two, a combining mark none, so a line of Korean and a line of
 * English both end at the 70th column of the reader's terminal.
 */
#include "text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define INDENT "        "	/* under a header label */
#define PRE_INDENT "    "

char *
text_clean(const char *s, size_t len, size_t *outlen)
{
	char *out, *o;
	size_t i = 0, n;
	uint32_t cp;

	/* An invalid byte becomes three (U+FFFD): the worst case. */
	if (len > (SIZE_MAX - 1) / 3 || (out = o = malloc(len * 3 + 1)) == NULL)
		return NULL;
	while (i < len) {
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			*o++ = ' ';
		else {
			memcpy(o, s + i, n);
			o += n;
		}
		i += n;
	}
	*o = '\0';
	*outlen = o - out;
	return out;
}

size_t
text_fit(const char *s, size_t len, size_t width)
{
	size_t i = 0, w = 0, n;
	uint32_t cp;
	int cw;

	while (i < len) {
		n = utf8_decode(s + i, len - i, &cp);
		cw = n == 0 ? 1 : utf8_cp_width(cp);
		/* Marks of width 0 always go with their base character. */
		if (cw > 0 && w + cw > width && (i > 0 || width == 0))
			break;
		w += cw;
		i += n == 0 ? 1 : n;
	}
	return i;
}

/*
 * Measures the word at s (up to a space or the end of len) while it fits in
 * avail columns: true, with its bytes and width, when all of it does. Never
 * looks further than avail columns in, so a line costs its width, however
 * long the word (a megabyte without a space wraps in linear time).
 */
static bool
word_fits(const char *s, size_t len, size_t avail, size_t *bytes, size_t *width)
{
	size_t i = 0, w = 0, n;
	uint32_t cp;
	int cw;

	while (i < len && s[i] != ' ') {
		n = utf8_decode(s + i, len - i, &cp);
		cw = n == 0 ? 1 : utf8_cp_width(cp);
		if (cw > 0 && w + (size_t)cw > avail)
			return false;
		w += cw;
		i += n == 0 ? 1 : n;
	}
	*bytes = i;
	*width = w;
	return true;
}

void
text_wrap(const char *s, size_t len, size_t width, const char *first, const char *rest,
    text_line_fn emit, void *arg)
{
	const char *prefix = first;
	size_t pos = 0, start, end, w, ws, wb, ww, pw, room, gap;

	for (;;) {
		while (pos < len && s[pos] == ' ')
			pos++;
		if (pos >= len)
			return;
		pw = utf8_width(prefix, strlen(prefix));
		room = width > pw ? width - pw : 1;
		start = end = pos;
		w = 0;
		while (pos < len) {
			for (ws = pos; ws < len && s[ws] == ' '; ws++)
				;
			if (ws == len)
				break;
			if (end == start) {
				/* The line's first word: it goes here, broken if it must. */
				if (!word_fits(s + ws, len - ws, room, &wb, &ww)) {
					end = pos = ws + text_fit(s + ws, len - ws, room);
					break;
				}
				w = ww;
			} else {
				gap = ws - end;
				if (w + gap > room ||
				    !word_fits(s + ws, len - ws, room - w - gap, &wb, &ww))
					break;
				w += gap + ww;
			}
			end = pos = ws + wb;
		}
		emit(arg, prefix, s + start, end - start);
		prefix = rest;
	}
}

void
text_sink_line(void *arg, const char *prefix, const char *s, size_t len)
{
	struct text_sink *k = arg;
	size_t w = utf8_width(prefix, strlen(prefix)) + utf8_width(s, len);

	if (w > k->widest)
		k->widest = w;
	k->put(k->out, prefix, s, len);
}

/* A post's lines: plain, LF-ended. */
static void
plain_line(struct evbuffer *out, const char *prefix, const char *s, size_t len)
{
	evbuffer_add(out, prefix, strlen(prefix));
	evbuffer_add(out, s, len);
	evbuffer_add(out, "\n", 1);
}

static void
wrap(struct text_sink *k, const char *s, size_t len, const char *first, const char *rest)
{
	text_wrap(s, len, TEXT_WIDTH, first, rest, text_sink_line, k);
}

static void
header(struct text_sink *k, const struct post *p, struct evbuffer *tmp)
{
	size_t i, n;

	k->widest = 0;
	wrap(k, p->title, strlen(p->title), "", "");
	for (i = 0; i < k->widest; i++)
		evbuffer_add(k->out, "=", 1);
	evbuffer_add(k->out, "\n\n", 2);
	if (p->has_time)
		evbuffer_add_printf(k->out, "Date:   %04d-%02d-%02d %02d:%02d UTC\n", p->year,
		    p->month, p->day, p->hour, p->minute);
	else
		evbuffer_add_printf(k->out, "Date:   %04d-%02d-%02d\n", p->year, p->month,
		    p->day);
	if (p->author != NULL)
		wrap(k, p->author, strlen(p->author), "Author: ", INDENT);
	if (p->source != NULL)
		wrap(k, p->source, strlen(p->source), "Source: ", INDENT);
	if (p->ntags > 0) {
		for (i = 0; i < p->ntags; i++)
			evbuffer_add_printf(tmp, "%s%s", i ? ", " : "", p->tags[i]);
		n = evbuffer_get_length(tmp);
		wrap(k, (const char *)evbuffer_pullup(tmp, -1), n, "Tags:   ", INDENT);
		evbuffer_drain(tmp, n);
	}
	evbuffer_add(k->out, "\n", 1);
}

/* The URLs of a post in the order they were numbered. */
struct refs {
	const char **url;
	size_t n, cap;
};

/* Numbers url; 0 when memory ran out. */
static size_t
ref_add(struct refs *r, const char *url)
{
	const char **grown;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		if ((grown = realloc(r->url, r->cap * sizeof(*grown))) == NULL)
			return 0;
		r->url = grown;
	}
	r->url[r->n++] = url;
	return r->n;
}

/* Writes b's text into tmp with " [n]" after each of its URLs. */
static int
mark_urls(const struct post_block *b, struct refs *refs, struct evbuffer *tmp)
{
	const char *p = b->text, *hit;
	size_t j, num;

	if (b->type == POST_LINK) {
		if ((num = ref_add(refs, b->text)) == 0)
			return -1;
		evbuffer_add_printf(tmp, "%s [%zu]", b->label ? b->label : b->text, num);
		return 0;
	}
	for (j = 0; j < b->nurls; j++) {
		if ((hit = strstr(p, b->urls[j])) == NULL)
			continue;
		if ((num = ref_add(refs, b->urls[j])) == 0)
			return -1;
		hit += strlen(b->urls[j]);
		evbuffer_add(tmp, p, hit - p);
		evbuffer_add_printf(tmp, " [%zu]", num);
		p = hit;
	}
	evbuffer_add(tmp, p, strlen(p));
	return 0;
}

static void
pre(struct text_sink *k, const char *text)
{
	const char *nl;

	for (;;) {
		nl = strchr(text, '\n');
		evbuffer_add(k->out, PRE_INDENT, strlen(PRE_INDENT));
		evbuffer_add(k->out, text, nl ? (size_t)(nl - text) : strlen(text));
		evbuffer_add(k->out, "\n", 1);
		if (nl == NULL)
			return;
		text = nl + 1;
	}
}

static int
body(struct text_sink *k, const struct post *p, struct refs *refs, struct evbuffer *tmp)
{
	static const char *const first[] = {
		[POST_PARA] = "", [POST_QUOTE] = "> ", [POST_ITEM] = "* ", [POST_LINK] = "",
	};
	static const char *const rest[] = {
		[POST_PARA] = "", [POST_QUOTE] = "> ", [POST_ITEM] = "  ", [POST_LINK] = "",
	};
	const struct post_block *b;
	size_t i, n;

	for (i = 0; i < p->nblocks; i++) {
		b = &p->blocks[i];
		if (b->type == POST_PRE)
			pre(k, b->text);
		else {
			if (mark_urls(b, refs, tmp) == -1)
				return -1;
			n = evbuffer_get_length(tmp);
			wrap(k, (const char *)evbuffer_pullup(tmp, -1), n, first[b->type],
			    rest[b->type]);
			evbuffer_drain(tmp, n);
		}
		if (post_block_apart(p, i))
			evbuffer_add(k->out, "\n", 1);
	}
	return 0;
}

int
text_post(const struct post *p, struct evbuffer *out)
{
	struct text_sink k = { out, 0, plain_line };
	struct refs refs = { NULL, 0, 0 };
	struct evbuffer *tmp;
	size_t i;
	int rc = -1;

	if ((tmp = evbuffer_new()) == NULL)
		return -1;
	header(&k, p, tmp);
	if (body(&k, p, &refs, tmp) == 0) {
		if (refs.n > 0)
			evbuffer_add(out, "\nReferences\n", 12);
		for (i = 0; i < refs.n; i++)
			evbuffer_add_printf(out, "[%zu] %s\n", i + 1, refs.url[i]);
		rc = 0;
	}
	free(refs.url);
	evbuffer_free(tmp);
	return rc;
}
