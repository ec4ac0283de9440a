/*
 * The feed's <updated> is the newest post's date, never the time of the
 * request, so that the same posts give the same bytes.
 */
#include "atom.h"

#include <string.h>

#include "url.h"

/* Adds s escaped for XML text and attributes; drops what XML 1.0 forbids. */
static void
add_escaped(struct evbuffer *out, const char *s)
{
	const char *start = s;

	for (; *s; s++) {
		const char *rep = NULL;
		unsigned char c = (unsigned char)*s;
		if (c == '&')
			rep = "&amp;";
		else if (c == '<')
			rep = "&lt;";
		else if (c == '>')
			rep = "&gt;";
		else if (c == '"')
			rep = "&quot;";
		else if (c < 0x20 && c != '\t' && c != '\n')
			rep = " ";
		if (rep != NULL) {
			evbuffer_add(out, start, s - start);
			evbuffer_add(out, rep, strlen(rep));
			start = s + 1;
		}
	}
	evbuffer_add(out, start, s - start);
}

static void
add_date(struct evbuffer *out, const struct post *p)
{
	evbuffer_add_printf(out, "%04d-%02d-%02dT%02d:%02d:%02dZ", p->year, p->month, p->day,
	    p->hour, p->minute, p->second);
}

static void
add_post_url(struct evbuffer *out, const struct atom_feed *f, const char *stem)
{
	char enc[3 * 1024];

	evbuffer_add_printf(out, "%s/posts/", f->base);
	if (url_encode_path(stem, strlen(stem), enc, sizeof(enc)) >= 0)
		add_escaped(out, enc);
	evbuffer_add(out, ".gmi", 4);
}

/* The first paragraph, the usual summary of a post. */
static const char *
summary(const struct post *p)
{
	size_t i;

	for (i = 0; p != NULL && i < p->nblocks; i++)
		if (p->blocks[i].type == POST_PARA)
			return p->blocks[i].text;
	return NULL;
}

static void
add_entry(struct evbuffer *out, const struct atom_feed *f, const struct atom_entry *e)
{
	const struct post *m = e->meta;
	const char *sum = summary(e->full);

	evbuffer_add_printf(out, "  <entry>\n    <title>");
	add_escaped(out, m->title);
	evbuffer_add_printf(out, "</title>\n    <link rel=\"alternate\" href=\"");
	add_post_url(out, f, e->stem);
	evbuffer_add_printf(out, "\"/>\n    <id>");
	add_post_url(out, f, e->stem);
	evbuffer_add_printf(out, "</id>\n    <updated>");
	add_date(out, m);
	evbuffer_add_printf(out, "</updated>\n");
	if (m->author != NULL) {
		evbuffer_add_printf(out, "    <author><name>");
		add_escaped(out, m->author);
		evbuffer_add_printf(out, "</name></author>\n");
	}
	if (m->source != NULL) {
		evbuffer_add_printf(out, "    <category term=\"");
		add_escaped(out, m->source);
		evbuffer_add_printf(out, "\" label=\"Source\"/>\n");
	}
	for (size_t i = 0; i < m->ntags; i++) {
		evbuffer_add_printf(out, "    <category term=\"");
		add_escaped(out, m->tags[i]);
		evbuffer_add_printf(out, "\"/>\n");
	}
	if (sum != NULL) {
		evbuffer_add_printf(out, "    <summary>");
		add_escaped(out, sum);
		evbuffer_add_printf(out, "</summary>\n");
	}
	evbuffer_add_printf(out, "  </entry>\n");
}

void
atom_render(struct evbuffer *out, const struct atom_feed *f, const struct atom_entry *e,
    size_t n)
{
	char lang[64];
	size_t i, l;

	/* xml:lang takes one tag: the first of the configured list. */
	l = strcspn(f->lang, ",");
	if (l >= sizeof(lang))
		l = sizeof(lang) - 1;
	memcpy(lang, f->lang, l);
	lang[l] = '\0';
	evbuffer_add_printf(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\"");
	if (lang[0] != '\0')
		evbuffer_add_printf(out, " xml:lang=\"%s\"", lang);
	evbuffer_add_printf(out, ">\n  <title>");
	add_escaped(out, f->title);
	evbuffer_add_printf(out, "</title>\n");
	if (f->description[0] != '\0') {
		evbuffer_add_printf(out, "  <subtitle>");
		add_escaped(out, f->description);
		evbuffer_add_printf(out, "</subtitle>\n");
	}
	evbuffer_add_printf(out, "  <link rel=\"self\" href=\"");
	add_escaped(out, f->base);
	evbuffer_add_printf(out, "/atom.xml\"/>\n  <link rel=\"alternate\" href=\"");
	add_escaped(out, f->base);
	evbuffer_add_printf(out, "/\"/>\n  <id>");
	add_escaped(out, f->base);
	evbuffer_add_printf(out, "/</id>\n  <updated>");
	if (n > 0)
		add_date(out, e[0].meta);
	else
		evbuffer_add_printf(out, "1970-01-01T00:00:00Z");
	evbuffer_add_printf(out, "</updated>\n  <author><name>");
	add_escaped(out, f->title);
	evbuffer_add_printf(out, "</name></author>\n");
	for (i = 0; i < n; i++)
		add_entry(out, f, &e[i]);
	evbuffer_add_printf(out, "</feed>\n");
}
