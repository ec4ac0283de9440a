/*
 * Gopher menus. Every line is written by put_line() or put_item(), after its
 * fields were checked (gophermap_item: type, selector, host, port) or cleaned
 * and fitted (display strings): the RFC 1436 field rules live there alone.
 */
#include "gophermap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "text.h"
#include "url.h"
#include "utf8.h"

#define INFO_FIELDS "\terror.host\t1"
/* Bytes of a display string considered: far more than its columns need. */
#define DISPLAY_BYTES 1024
#define ELLIPSIS "\xe2\x80\xa6"
/* A cut display string ends between words when that keeps this many columns. */
#define CUT_AT_WORD_MIN 46

/* s is shorter than max bytes and holds no control character. */
static bool
field_ok(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			return false;
	return n < max;
}

/* Ends a line whose type and display string were written already. */
static void
put_fields(struct evbuffer *out, const char *selector, const char *host, int port)
{
	if (host == NULL)
		evbuffer_add_printf(out, "\t%s" INFO_FIELDS "\r\n", selector);
	else
		evbuffer_add_printf(out, "\t%s\t%s\t%d\r\n", selector, host, port);
}

/* One line; its display string (prefix, then s[0..len)) is clean and fits. */
static void
put_line(struct evbuffer *out, char type, const char *prefix, const char *s, size_t len,
    const char *selector, const char *host, int port)
{
	evbuffer_add(out, &type, 1);
	evbuffer_add(out, prefix, strlen(prefix));
	evbuffer_add(out, s, len);
	put_fields(out, selector, host, port);
}

/* Cleans the display string and cuts it to GOPHER_DISPLAY_MAX columns. */
static void
put_item(struct evbuffer *out, char type, const char *display, size_t len,
    const char *selector, const char *host, int port)
{
	size_t n, fit, cut;
	char *clean;

	if ((clean = text_clean(display, len < DISPLAY_BYTES ? len : DISPLAY_BYTES, &n)) == NULL)
		n = 0;
	evbuffer_add(out, &type, 1);
	if (text_fit(clean, n, GOPHER_DISPLAY_MAX) < n) {
		/* Cut one column short, for the ellipsis; between words if that loses little. */
		fit = text_fit(clean, n, GOPHER_DISPLAY_MAX - 1);
		for (cut = fit; cut > 0 && clean[cut] != ' '; cut--)
			;
		if (utf8_width(clean, cut) >= CUT_AT_WORD_MIN)
			fit = cut;
		while (fit > 0 && clean[fit - 1] == ' ')
			fit--;
		evbuffer_add(out, clean, fit);
		evbuffer_add(out, ELLIPSIS, strlen(ELLIPSIS));
	} else
		evbuffer_add(out, clean, n);
	put_fields(out, selector, host, port);
	free(clean);
}

int
gophermap_item(struct evbuffer *out, char type, const char *display, const char *selector,
    const char *host, int port)
{
	if (type <= ' ' || type > '~' || !field_ok(selector, GOPHER_SELECTOR_MAX + 1) ||
	    host[0] == '\0' || !field_ok(host, 256) || strchr(host, ' ') != NULL ||
	    port < 1 || port > 65535)
		return -1;
	put_item(out, type, display, strlen(display), selector, host, port);
	return 0;
}

void
gophermap_info(struct evbuffer *out, char type, const char *text)
{
	put_item(out, type, text, strlen(text), "", NULL, 0);
}

void
gophermap_end(struct evbuffer *out)
{
	evbuffer_add(out, ".\r\n", 3);
}

/* What a selector may carry raw: printable ASCII (lynx cuts at any other byte). */
static bool
selector_byte_ok(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

/*
 * The selector for a local path (plus suffix): the path itself, or
 * percent-encoded when it holds what a selector cannot carry raw (control
 * characters, bytes beyond ASCII) or what the server would take for a query
 * ('?'). -1 when it would not be under 256 bytes.
 */
static long
local_selector(const char *path, const char *suffix, char *out, size_t size)
{
	char raw[URL_MAX + 1];
	size_t n, i;
	long e;

	if ((size_t)snprintf(raw, sizeof(raw), "%s%s", path, suffix) >= sizeof(raw))
		return -1;
	n = strlen(raw);
	for (i = 0; i < n; i++)
		if (!selector_byte_ok((unsigned char)raw[i]) || raw[i] == '?')
			break;
	if (i == n) {
		if (n > GOPHER_SELECTOR_MAX || n >= size)
			return -1;
		memcpy(out, raw, n + 1);
		return (long)n;
	}
	e = url_encode_path(raw, n, out, size);
	return e < 0 || e > GOPHER_SELECTOR_MAX ? -1 : e;
}

/* A local file's item type: what the builder found, else by its name. */
static char
file_type(const struct doc_block *b)
{
	char t;

	if (b->item != 0)
		return b->item;
	return (t = mime_item_by_name(b->href)) != 0 ? t : '9';
}

/* A local item; one that cannot be sent stays visible as text. */
static void
local_item(const struct gophermap_ctx *c, struct evbuffer *out, char type, const char *label,
    const char *path, const char *suffix)
{
	char sel[GOPHER_SELECTOR_MAX + 1];

	if (local_selector(path, suffix, sel, sizeof(sel)) < 0 ||
	    gophermap_item(out, type, label, sel, c->host, c->port) == -1)
		gophermap_info(out, 'i', label);
}

/*
 * A URL: the Gopher item the builder made of it (a local page, another
 * server's item), else an "h" item with a "URL:" selector, Bucktooth's
 * convention, which the server answers with a redirect page.
 */
static void
url_item(const struct gophermap_ctx *c, struct evbuffer *out, const char *label,
    const struct doc_block *b)
{
	char sel[GOPHER_SELECTOR_MAX + 1];

	if (b->sel != NULL && b->sel_host == NULL && b->item != 0) {
		local_item(c, out, b->item, label, b->sel, "");
		return;
	}
	if (b->sel != NULL && b->sel_host != NULL &&
	    gophermap_item(out, b->item, label, b->sel, b->sel_host, b->sel_port) == 0)
		return;
	if ((size_t)snprintf(sel, sizeof(sel), "URL:%s", b->href) >= sizeof(sel) ||
	    gophermap_item(out, 'h', label, sel, c->host, c->port) == -1)
		gophermap_info(out, 'i', label);
}

/*
 * A page of results: a menu whose selector carries the words after a '?',
 * as curl sends a search; percent-encoded when they hold '%' or what a
 * selector cannot carry raw (gopher_parse decodes them).
 */
static void
results_item(const struct gophermap_ctx *c, struct evbuffer *out, const char *label,
    const struct doc_block *b)
{
	char sel[GOPHER_SELECTOR_MAX + 1], words[GOPHER_SELECTOR_MAX + 1];
	long n = local_selector(b->href, "", sel, sizeof(sel));
	size_t len = strlen(b->alt), i;
	const char *w = b->alt;

	for (i = 0; i < len && selector_byte_ok((unsigned char)b->alt[i]) && b->alt[i] != '%';
	    i++)
		;
	if (i < len)
		w = url_encode_query(b->alt, len, words, sizeof(words)) < 0 ? NULL : words;
	if (n < 0 || w == NULL || (size_t)snprintf(sel + n, sizeof(sel) - n, "?%s", w) >=
	    sizeof(sel) - n || gophermap_item(out, '1', label, sel, c->host, c->port) == -1)
		gophermap_info(out, 'i', label);
}

static void
link_item(const struct gophermap_ctx *c, struct evbuffer *out, const struct doc_block *b)
{
	const char *label = b->text[0] != '\0' ? b->text : b->href;

	switch (b->target) {
	case DOC_TO_URL:
		url_item(c, out, label, b);
		break;
	case DOC_TO_MENU:
		local_item(c, out, '1', label, b->href, "");
		break;
	case DOC_TO_FILE:
		local_item(c, out, file_type(b), label, b->href, "");
		break;
	case DOC_TO_POST:
		local_item(c, out, '0', label, b->href, ".txt");
		break;
	case DOC_TO_SEARCH:
		if (b->alt != NULL)
			results_item(c, out, label, b);
		else
			local_item(c, out, '7', label, b->href, "");
		break;
	case DOC_TO_FEED:
		/* Gopher has no feeds. */
		break;
	}
}

static void
info_line(struct evbuffer *out, const char *prefix, const char *s, size_t len)
{
	put_line(out, 'i', prefix, s, len, "", NULL, 0);
}

/* Word-wraps text over info lines; returns the widest line's width. */
static size_t
info_wrap(struct evbuffer *out, const char *text, const char *first, const char *rest)
{
	struct text_sink in = { out, 0, info_line };
	char *clean;
	size_t n;

	if ((clean = text_clean(text, strlen(text), &n)) == NULL)
		return 0;
	text_wrap(clean, n, GOPHER_DISPLAY_MAX, first, rest, text_sink_line, &in);
	free(clean);
	return in.widest;
}

static void
heading(struct evbuffer *out, const struct doc_block *b)
{
	char rule[GOPHER_DISPLAY_MAX + 1];
	size_t w = info_wrap(out, b->text, "", "");

	if (w == 0)
		return;
	memset(rule, b->level == 1 ? '=' : '-', w);
	rule[w] = '\0';
	put_line(out, 'i', "", rule, w, "", NULL, 0);
}

/* Preformatted lines are cut, not wrapped: wrapping would break their layout. */
static void
pre(struct evbuffer *out, const char *text)
{
	const char *nl;

	for (;;) {
		nl = strchr(text, '\n');
		put_item(out, 'i', text, nl ? (size_t)(nl - text) : strlen(text), "", NULL, 0);
		if (nl == NULL)
			return;
		text = nl + 1;
	}
}

int
gophermap_render(const struct doc *d, const struct gophermap_ctx *c, struct evbuffer *out)
{
	const struct doc_block *b;
	size_t i;

	if (d->failed)
		return -1;
	for (i = 0; i < d->n; i++) {
		b = &d->blocks[i];
		switch (b->type) {
		case DOC_HEADING:
			heading(out, b);
			break;
		case DOC_TEXT:
			info_wrap(out, b->text, "", "");
			break;
		case DOC_ITEM:
			info_wrap(out, b->text, "* ", "  ");
			break;
		case DOC_QUOTE:
			info_wrap(out, b->text, "> ", "> ");
			break;
		case DOC_LINK:
			link_item(c, out, b);
			break;
		case DOC_PRE:
			pre(out, b->text);
			break;
		case DOC_BLANK:
			put_line(out, 'i', "", "", 0, "", NULL, 0);
			break;
		}
	}
	return 0;
}

bool
gophermap_hides(const struct gophermap_hidden *h, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < h->n; i++)
		if (h->name[i].len == n && memcmp(h->name[i].s, name, n) == 0)
			return true;
	return false;
}

/* Splits off the next TAB-separated field of [*p, end). */
static void
next_field(const char **p, const char *end, const char **f, size_t *n)
{
	const char *tab = memchr(*p, '\t', end - *p);

	*f = *p;
	*n = (tab ? tab : end) - *p;
	*p = tab ? tab + 1 : end;
}

/* "Tdisplay\tselector\thost\tport", the fields after the port ignored (Gopher+). */
static void
map_item(const struct gophermap_ctx *c, struct evbuffer *out, const char *folder,
    const char *line, size_t len)
{
	char display[DISPLAY_BYTES + 1], sel[GOPHER_SELECTOR_MAX + 1], host[256];
	char joined[2 * GOPHER_SELECTOR_MAX + 4];
	const char *p = line + 1, *end = line + len, *f;
	size_t n, sn;
	bool local;
	int port;

	next_field(&p, end, &f, &n);
	snprintf(display, sizeof(display), "%.*s", (int)(n < DISPLAY_BYTES ? n : DISPLAY_BYTES), f);
	if (line[0] == 'i' || line[0] == '3') {
		put_item(out, line[0], f, n, "", NULL, 0);
		return;
	}
	next_field(&p, end, &f, &sn);
	if (sn > GOPHER_SELECTOR_MAX)
		return;
	/* Bucktooth: no selector means the display string names the file. */
	if (sn == 0)
		snprintf(sel, sizeof(sel), "%.*s", (int)(n < GOPHER_SELECTOR_MAX ? n :
		    GOPHER_SELECTOR_MAX), line + 1);
	else
		snprintf(sel, sizeof(sel), "%.*s", (int)sn, f);
	next_field(&p, end, &f, &n);
	if (n >= sizeof(host))
		return;
	snprintf(host, sizeof(host), "%.*s", (int)n, f);
	local = host[0] == '\0' || strcasecmp(host, c->host) == 0;
	if (host[0] == '\0')
		snprintf(host, sizeof(host), "%s", c->host);
	next_field(&p, end, &f, &n);
	if ((port = (int)url_port(f, n)) < 1)
		port = local ? c->port : 70;
	local = local && port == c->port;
	if (local && sel[0] != '/' && strncmp(sel, "URL:", 4) != 0) {
		snprintf(joined, sizeof(joined), "%s%s", folder, sel);
		if (url_path_resolve(joined, strlen(joined), sel, sizeof(sel)) < 0)
			return;
	}
	gophermap_item(out, line[0], display, sel, host, port);
}

/* The "-name" lines, gathered first so that they hide from any "*". */
static void
collect_hidden(const char *data, size_t len, struct gophermap_hidden *h)
{
	const char *p = data, *end = data + len, *nl;
	size_t n;

	h->n = 0;
	for (; p < end && h->n < GOPHERMAP_HIDDEN_MAX; p = nl ? nl + 1 : end) {
		nl = memchr(p, '\n', end - p);
		n = (nl ? nl : end) - p;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 1 && p[0] == '.')
			break;
		if (n > 1 && p[0] == '-' && memchr(p, '\t', n) == NULL) {
			h->name[h->n].s = p + 1;
			h->name[h->n++].len = n - 1;
		}
	}
}

bool
gophermap_listed(const char *data, size_t len, struct gophermap_hidden *h)
{
	const char *p = data, *end = data + len, *nl;
	size_t n;

	collect_hidden(data, len, h);
	for (; p < end; p = nl ? nl + 1 : end) {
		nl = memchr(p, '\n', end - p);
		n = (nl ? nl : end) - p;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 1 && p[0] == '.')
			return false;
		if (n == 1 && p[0] == '*')
			return true;
	}
	return false;
}

void
gophermap_parse(const char *data, size_t len, const char *folder,
    const struct gophermap_ctx *c, const struct doc *listing, struct evbuffer *out)
{
	const char *p = data, *end = data + len, *nl;
	bool listed = false;
	size_t n;

	for (; p < end; p = nl ? nl + 1 : end) {
		nl = memchr(p, '\n', end - p);
		n = (nl ? nl : end) - p;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (memchr(p, '\t', n) != NULL) {
			map_item(c, out, folder, p, n);
			continue;
		}
		if (n == 1 && p[0] == '.')
			break;
		if (n == 1 && p[0] == '*') {
			/* Once: a second listing would repeat the first. */
			if (listing != NULL && !listed)
				gophermap_render(listing, c, out);
			listed = true;
		} else if (n > 0 && p[0] == '!')
			put_item(out, 'i', p + 1, n - 1, "TITLE", NULL, 0);
		else if (n > 0 && (p[0] == '#' || p[0] == '-' || p[0] == '='))
			;	/* comments, hidden names; "=" (Gophernicus' include) is not supported */
		else
			put_item(out, 'i', p, n, "", NULL, 0);
	}
}
