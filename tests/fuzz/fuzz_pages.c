/*
 * Every output is valid for any input: the bytes are a post file (its name
 * from the first bytes), parsed, indexed with a neighbour, built into its
 * page, the month page, the feed and a folder listing of odd names, then
 * rendered for both protocols. Whatever a post or a file name holds, the
 * gemtext keeps its framing, the menu keeps RFC 1436's rules, the feed is
 * XML 1.0 text, and every local link a listing gives parses back as a URL
 * naming that very file.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atom.h"
#include "doc.h"
#include "fuzz.h"
#include "fuzz/gopher_check.h"
#include "gemtext.h"
#include "gophermap.h"
#include "index.h"
#include "pages.h"
#include "post.h"
#include "url.h"
#include "utf8.h"

static const struct gophermap_ctx ctx = { "localhost", 70 };
static const struct pages_site site = {
	    .title = "Fuzz", .description = "A capsule.",
	    .home_posts = 10, .page_size = 10, .host = "localhost", .gemini_port = 1965 };

/* Gemtext: UTF-8, no CR, fences balanced, every link line "=> URL[ label]". */
static void
check_gemtext(const char *s, size_t n)
{
	const char *p = s, *end = s + n, *nl;
	bool pre = false;

	EXPECT(utf8_valid(s, n));
	EXPECT(memchr(s, '\r', n) == NULL);
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', end - p);
		EXPECT(nl != NULL);	/* every line ends */
		if (nl == NULL)
			return;
		if (nl - p >= 3 && memcmp(p, "```", 3) == 0) {
			pre = !pre;
			continue;
		}
		if (!pre && nl - p >= 2 && memcmp(p, "=>", 2) == 0) {
			EXPECT(nl - p > 3 && p[2] == ' ' && p[3] != ' ');
		}
	}
	EXPECT(!pre);
}

/* XML 1.0 text: UTF-8, no control but TAB and LF, '&' only as an entity, '<' only in tags. */
static void
check_xml(const char *s, size_t n)
{
	static const char *const entities[] = { "&amp;", "&lt;", "&gt;", "&quot;" };
	size_t i, k;

	EXPECT(utf8_valid(s, n));
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		EXPECT(c >= 0x20 || c == '\t' || c == '\n');
		if (c == '&') {
			for (k = 0; k < 4; k++)
				if (strncmp(s + i, entities[k], strlen(entities[k])) == 0)
					break;
			EXPECT(k < 4);
		}
		if (c == '<')
			EXPECT(s[i + 1] == '/' || s[i + 1] == '?' || (s[i + 1] >= 'a' &&
			    s[i + 1] <= 'z'));
	}
}

static void
render_both(const struct doc *d)
{
	struct evbuffer *g = evbuffer_new(), *o = evbuffer_new();
	size_t n;

	EXPECT(gemtext_render(d, g) == 0);
	n = evbuffer_get_length(g);
	check_gemtext((const char *)evbuffer_pullup(g, -1), n);
	EXPECT(gophermap_render(d, &ctx, o) == 0);
	gophermap_end(o);
	n = evbuffer_get_length(o);
	EXPECT(gopher_check_menu((const char *)evbuffer_pullup(o, -1), n,
	    GOPHER_DISPLAY_MAX) == NULL);
	evbuffer_free(g);
	evbuffer_free(o);
}

/*
 * A listing of names made from the bytes (the ones a Gemini request can carry:
 * UTF-8 without controls, as the resolver keeps): each link, as gemtext
 * writes it, is a URL whose path is the folder and that name.
 */
static void
check_listing(const char *s, size_t n)
{
	struct files_item items[8];
	char names[8][40], want[400], url[400];
	struct evbuffer *g = evbuffer_new();
	const char *out, *p, *end;
	size_t k = 0, i, len;
	struct url u;
	struct doc d;

	for (i = 0; i < 8 && i * 8 < n; i++) {
		len = n - i * 8 < 8 ? n - i * 8 : 8;
		memcpy(names[k], s + i * 8, len);
		names[k][len] = '\0';
		if (len == 0 || names[k][0] == '.' || strchr(names[k], '/') != NULL ||
		    !utf8_valid(names[k], strlen(names[k])) || strlen(names[k]) != len)
			continue;
		for (p = names[k]; *p && (unsigned char)*p >= 0x20 && *p != 0x7f; p++)
			;
		if (*p != '\0')
			continue;
		items[k] = (struct files_item){ names[k], false, '0' };
		k++;
	}
	doc_init(&d);
	pages_folder_entries(&d, "/dir/", items, k);
	gemtext_render(&d, g);
	len = evbuffer_get_length(g);
	out = (const char *)evbuffer_pullup(g, -1);
	/* One link a line, "=> URL label", in the items' order. */
	for (i = 0, p = out; i < k && p < out + len; i++) {
		EXPECT(strncmp(p, "=> ", 3) == 0);
		p += 3;
		end = memchr(p, ' ', out + len - p);
		EXPECT(end != NULL);
		if (end == NULL)
			break;
		snprintf(url, sizeof(url), "gemini://h%.*s", (int)(end - p), p);
		snprintf(want, sizeof(want), "/dir/%s", names[i]);
		EXPECT(url_parse(url, strlen(url), &u) == NULL);
		if (url_parse(url, strlen(url), &u) == NULL)
			EXPECT(strcmp(u.path, want) == 0 || (strcmp(names[i], "..") == 0) ||
			    (strcmp(names[i], ".") == 0));
		p = memchr(end, '\n', out + len - end);
		if (p == NULL)
			break;
		p++;
	}
	doc_clear(&d);
	evbuffer_free(g);
}

/*
 * The bytes as the author's introduction (the root's index.gmi) on a home
 * page: rendered soundly for both protocols, and the page keeps one title.
 */
static void
check_intro(const char *s, size_t n)
{
	struct pages_site home = site;
	struct evbuffer *g;
	const char *out, *p;
	struct index x;
	const char *why;
	size_t len;
	void *img;
	int titles = 0;
	struct doc d;

	home.intro = s;
	home.intro_len = n;
	home.about = n % 2 == 1;
	if ((img = index_build(NULL, 0, NULL, 0, 1, &len)) == NULL)
		return;
	if (index_map(img, len, &x, &why) == 0 && (g = evbuffer_new()) != NULL) {
		doc_init(&d);
		pages_home(&d, &home, &x);
		render_both(&d);
		EXPECT(gemtext_render(&d, g) == 0);
		out = (const char *)evbuffer_pullup(g, -1);
		len = evbuffer_get_length(g);
		for (p = out; p != NULL && p < out + len; p = memchr(p, '\n', out + len - p)) {
			if (*p == '\n')
				p++;
			titles += p + 2 <= out + len && p[0] == '#' && p[1] == ' ';
		}
		EXPECT(titles == 1);
		doc_clear(&d);
		evbuffer_free(g);
	}
	free(img);
}

FUZZ_TARGET(pages)
{
	char name[64], *text = malloc(size + 1);
	struct post p, prev = { .title = "Before", .slug = "before", .year = 1999,
	    .month = 12, .day = 31 };
	struct index_entry in[2];
	struct index_meta m;
	struct atom_entry e;
	struct atom_feed f = { "gemini://localhost", "Fuzz", "", "en" };
	struct evbuffer *b;
	const char *why;
	struct index x;
	struct doc d;
	size_t n = size < 24 ? size : 24, len;
	void *img;
	long i;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* The name: the first bytes, made a post's name. */
	snprintf(name, sizeof(name), "%.*s.txt", (int)n, text);
	for (char *c = name; *c; c++)
		if (*c == '/' || *c == '\0')
			*c = '_';
	check_listing(text, size);
	check_intro(text, size);
	if (post_parse(name, text, size, 0, POST_FULL, &p, &why) == 0) {
		in[0] = (struct index_entry){ "1999-12-31-before.txt", &prev, { 0, 1, 0, 0, 0 } };
		in[1] = (struct index_entry){ name, &p, { 0, 2, 0, 0, 0 } };
		if ((img = index_build(in, 2, NULL, 0, 1, &len)) != NULL) {
			EXPECT(index_map(img, len, &x, &why) == 0);
			if (index_map(img, len, &x, &why) == 0 &&
			    (i = index_find_post(&x, index_str(&x, x.posts[1].stem))) >= 0) {
				doc_init(&d);
				pages_post(&d, &site, &x, (size_t)i, &p);
				render_both(&d);
				doc_clear(&d);
				doc_init(&d);
				EXPECT(pages_month(&d, &x, x.posts[i].year, x.posts[i].month, 10, 1) == 0);
				render_both(&d);
				doc_clear(&d);
				e = (struct atom_entry){ index_str(&x, x.posts[i].stem),
				    index_post_meta(&x, &x.posts[i], &m), &p };
				b = evbuffer_new();
				atom_render(b, &f, &e, 1);
				check_xml((const char *)evbuffer_pullup(b, -1),
				    evbuffer_get_length(b));
				evbuffer_free(b);
			}
			free(img);
		}
		post_free(&p);
	}
	free(text);
	return 0;
}
