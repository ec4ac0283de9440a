/*
 * Documents own their strings in a chunked arena: a page is built, rendered
 * and dropped as a whole, so there is one free per chunk and none per string.
 */
#include "doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN 4096

struct doc_chunk {
	struct doc_chunk *next;
	size_t used, size;
	char data[];
};

void
doc_init(struct doc *d)
{
	memset(d, 0, sizeof(*d));
}

void
doc_clear(struct doc *d)
{
	struct doc_chunk *c, *next;

	for (c = d->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(d->blocks);
	memset(d, 0, sizeof(*d));
}

static char *
arena_alloc(struct doc *d, size_t n)
{
	struct doc_chunk *c = d->chunks;
	size_t size;

	if (c == NULL || c->size - c->used < n) {
		size = n > CHUNK_MIN ? n : CHUNK_MIN;
		if ((c = malloc(sizeof(*c) + size)) == NULL) {
			d->failed = 1;
			return NULL;
		}
		c->used = 0;
		c->size = size;
		c->next = d->chunks;
		d->chunks = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

static const char *
copy(struct doc *d, const char *s, long len)
{
	size_t n;
	char *p;

	if (s == NULL)
		return NULL;
	n = len < 0 ? strlen(s) : (size_t)len;
	if ((p = arena_alloc(d, n + 1)) == NULL)
		return "";
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

const char *
doc_printf(struct doc *d, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (p = arena_alloc(d, (size_t)n + 1)) == NULL)
		return "";
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

static struct doc_block *
add(struct doc *d, enum doc_type type)
{
	struct doc_block *grown;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		if ((grown = realloc(d->blocks, cap * sizeof(*grown))) == NULL) {
			d->failed = 1;
			return NULL;
		}
		d->blocks = grown;
		d->cap = cap;
	}
	memset(&d->blocks[d->n], 0, sizeof(d->blocks[0]));
	d->blocks[d->n].type = type;
	return &d->blocks[d->n++];
}

void
doc_heading(struct doc *d, int level, const char *text)
{
	struct doc_block *b = add(d, DOC_HEADING);

	if (b != NULL) {
		b->level = level < 1 ? 1 : level > 3 ? 3 : level;
		b->text = copy(d, text, -1);
	}
}

static void
add_text(struct doc *d, enum doc_type type, const char *text, long len)
{
	struct doc_block *b = add(d, type);

	if (b != NULL)
		b->text = copy(d, text, len);
}

void
doc_text(struct doc *d, const char *text, long len)
{
	add_text(d, DOC_TEXT, text, len);
}

void
doc_item(struct doc *d, const char *text, long len)
{
	add_text(d, DOC_ITEM, text, len);
}

void
doc_quote(struct doc *d, const char *text, long len)
{
	add_text(d, DOC_QUOTE, text, len);
}

void
doc_pre(struct doc *d, const char *alt, const char *text, long len)
{
	struct doc_block *b = add(d, DOC_PRE);

	if (b != NULL) {
		b->text = copy(d, text, len);
		b->alt = copy(d, alt ? alt : "", -1);
	}
}

void
doc_link(struct doc *d, enum doc_target target, const char *href, const char *label)
{
	struct doc_block *b = add(d, DOC_LINK);

	if (b != NULL) {
		b->target = target;
		b->href = copy(d, href, -1);
		b->text = copy(d, label ? label : "", -1);
	}
}

void
doc_link_item(struct doc *d, const char *href, const char *label, char item)
{
	doc_link(d, DOC_TO_FILE, href, label);
	if (!d->failed && d->n > 0)
		d->blocks[d->n - 1].item = item;
}

void
doc_link_results(struct doc *d, const char *href, const char *label, const char *words)
{
	doc_link(d, DOC_TO_SEARCH, href, label);
	if (!d->failed && d->n > 0)
		d->blocks[d->n - 1].alt = copy(d, words, -1);
}

void
doc_link_gopher(struct doc *d, char item, const char *sel, const char *host, int port)
{
	struct doc_block *b;

	if (d->failed || d->n == 0 || (b = &d->blocks[d->n - 1])->type != DOC_LINK)
		return;
	b->item = item;
	b->sel = copy(d, sel, -1);
	b->sel_host = host ? copy(d, host, -1) : NULL;
	b->sel_port = port;
}

void
doc_blank(struct doc *d)
{
	add(d, DOC_BLANK);
}
