#include "pages.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "search.h"
#include "url.h"

static const char *const month_names[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};

const char *
pages_month_name(int month)
{
	return month >= 1 && month <= 12 ? month_names[month - 1] : "?";
}

void
pages_folder_entries(struct doc *d, const char *path, const struct files_item *items,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *href = doc_printf(d, "%s%s%s", path, items[i].name,
		    items[i].is_dir ? "/" : "");
		const char *label = doc_printf(d, "%s%s", items[i].name,
		    items[i].is_dir ? "/" : "");
		if (items[i].is_dir)
			doc_link(d, DOC_TO_MENU, href, label);
		else
			doc_link_item(d, href, label, items[i].item);
	}
}

void
pages_folder(struct doc *d, const char *path, const struct files_item *items, size_t n)
{
	size_t plen = strlen(path);

	doc_heading(d, 1, doc_printf(d, "Index of %s", path));
	doc_blank(d);
	if (strcmp(path, "/") != 0) {
		/* The parent: path minus its last segment, keeping the slash. */
		size_t cut = plen - 1;
		while (cut > 0 && path[cut - 1] != '/')
			cut--;
		doc_link(d, DOC_TO_MENU, doc_printf(d, "%.*s", (int)cut, path), "..");
	}
	pages_folder_entries(d, path, items, n);
}

/* One post in the subscription form: "=> /posts/NAME.gmi YYYY-MM-DD Title". */
static void
post_link(struct doc *d, const struct index *x, size_t i)
{
	const struct index_post *sp = &x->posts[i];

	doc_link(d, DOC_TO_POST, doc_printf(d, "/posts/%s", index_str(x, sp->stem)),
	    doc_printf(d, "%04d-%02d-%02d %s", sp->year, sp->month, sp->day,
	    index_str(x, sp->title)));
}

/* Posts [first, first + count) of the index, newest first. */
static void
post_links(struct doc *d, const struct index *x, size_t first, size_t count)
{
	size_t i;

	for (i = first + count; i-- > first;)
		post_link(d, x, i);
}

static const char *
month_href(struct doc *d, const struct index_month *m)
{
	return doc_printf(d, "/archive/%04d/%02d/", m->year, m->month);
}

static const char *
count_label(struct doc *d, size_t n)
{
	return doc_printf(d, "%zu post%s", n, n == 1 ? "" : "s");
}

void
pages_home(struct doc *d, const struct pages_site *site, const struct index *x)
{
	size_t n = x->nposts < (size_t)site->home_posts ? x->nposts : (size_t)site->home_posts;

	doc_heading(d, 1, site->title);
	if (site->description[0] != '\0') {
		doc_blank(d);
		doc_text(d, site->description, -1);
	}
	doc_blank(d);
	doc_heading(d, 2, "Latest posts");
	if (n == 0)
		doc_text(d, "Nothing has been posted yet.", -1);
	post_links(d, x, x->nposts - n, n);
	doc_blank(d);
	doc_heading(d, 2, "More");
	doc_link(d, DOC_TO_MENU, "/archive/", "Archive: every month");
	doc_link(d, DOC_TO_MENU, "/tags/", "Tags and sources");
	doc_link(d, DOC_TO_SEARCH, "/search", "Search");
	doc_link(d, DOC_TO_FEED, "/atom.xml", "Atom feed");
}

static void
nav_home(struct doc *d)
{
	doc_link(d, DOC_TO_MENU, "/archive/", "Archive");
	doc_link(d, DOC_TO_MENU, "/", "Home");
}

static void
pages_archive(struct doc *d, const struct index *x)
{
	size_t i, total;
	long y;

	doc_heading(d, 1, "Archive");
	if (x->nmonths == 0) {
		doc_blank(d);
		doc_text(d, "Nothing has been posted yet.", -1);
	}
	for (i = x->nmonths; i-- > 0;) {
		const struct index_month *m = &x->months[i];
		if (i + 1 == x->nmonths || x->months[i + 1].year != m->year) {
			/* A year's months are contiguous: sum them for its heading. */
			total = 0;
			for (y = (long)i; y >= 0 && x->months[y].year == m->year; y--)
				total += x->months[y].count;
			doc_blank(d);
			doc_heading(d, 2, doc_printf(d, "%04d", m->year));
			doc_link(d, DOC_TO_MENU, doc_printf(d, "/archive/%04d/", m->year),
			    doc_printf(d, "All of %04d: %s", m->year, count_label(d, total)));
		}
		doc_link(d, DOC_TO_MENU, month_href(d, m), doc_printf(d, "%s %04d: %s",
		    pages_month_name(m->month), m->year, count_label(d, m->count)));
	}
	doc_blank(d);
	doc_link(d, DOC_TO_MENU, "/", "Home");
}

static int
pages_year(struct doc *d, const struct index *x, int year)
{
	long first = index_find_year(x, year);
	size_t i, last;

	if (first < 0)
		return -1;
	for (last = first; last + 1 < x->nmonths && x->months[last + 1].year == year; last++)
		;
	doc_heading(d, 1, doc_printf(d, "Yearly Archives: %04d", year));
	for (i = last + 1; i-- > (size_t)first;) {
		const struct index_month *m = &x->months[i];
		doc_blank(d);
		doc_heading(d, 2, doc_printf(d, "%s %04d", pages_month_name(m->month), year));
		post_links(d, x, m->first, m->count);
	}
	doc_blank(d);
	if (first > 0)
		doc_link(d, DOC_TO_MENU, doc_printf(d, "/archive/%04d/",
		    x->months[first - 1].year), doc_printf(d, "Earlier: %04d",
		    x->months[first - 1].year));
	if (last + 1 < x->nmonths)
		doc_link(d, DOC_TO_MENU, doc_printf(d, "/archive/%04d/",
		    x->months[last + 1].year), doc_printf(d, "Later: %04d",
		    x->months[last + 1].year));
	nav_home(d);
	return 0;
}

int
pages_month(struct doc *d, const struct index *x, int year, int month)
{
	long i = index_find_month(x, year, month);
	const struct index_month *m;

	if (i < 0)
		return -1;
	m = &x->months[i];
	doc_heading(d, 1, doc_printf(d, "Monthly Archives: %s %04d",
	    pages_month_name(month), year));
	doc_blank(d);
	post_links(d, x, m->first, m->count);
	doc_blank(d);
	if (i > 0)
		doc_link(d, DOC_TO_MENU, month_href(d, &x->months[i - 1]),
		    doc_printf(d, "Previous month: %s %04d",
		    pages_month_name(x->months[i - 1].month), x->months[i - 1].year));
	if ((size_t)i + 1 < x->nmonths)
		doc_link(d, DOC_TO_MENU, month_href(d, &x->months[i + 1]),
		    doc_printf(d, "Next month: %s %04d",
		    pages_month_name(x->months[i + 1].month), x->months[i + 1].year));
	doc_link(d, DOC_TO_MENU, doc_printf(d, "/archive/%04d/", year),
	    doc_printf(d, "All of %04d", year));
	nav_home(d);
	return 0;
}

static void
pages_tags(struct doc *d, const struct index *x)
{
	size_t i, ntags = 0, nsources = 0;
	int pass;

	doc_heading(d, 1, "Tags and sources");
	for (i = 0; i < x->ntags; i++) {
		if (x->tags[i].as_source == x->tags[i].n)
			nsources++;
		else
			ntags++;
	}
	if (ntags + nsources == 0) {
		doc_blank(d);
		doc_text(d, "No post has tags or a source yet.", -1);
	}
	/* Pass 0 lists tags, pass 1 sources: names used only as a source. */
	for (pass = 0; pass < 2; pass++) {
		if ((pass == 0 ? ntags : nsources) == 0)
			continue;
		doc_blank(d);
		doc_heading(d, 2, pass == 0 ? "Tags" : "Sources");
		for (i = 0; i < x->ntags; i++) {
			const struct index_tag *t = &x->tags[i];
			if ((t->as_source == t->n) != (pass == 1))
				continue;
			doc_link(d, DOC_TO_MENU, doc_printf(d, "/tags/%s/", index_str(x, t->key)),
			    doc_printf(d, "%s (%u)", index_str(x, t->name), (unsigned)t->n));
		}
	}
	doc_blank(d);
	doc_link(d, DOC_TO_MENU, "/", "Home");
}

static int
pages_tag(struct doc *d, const struct index *x, const char *name)
{
	long ti = index_find_tag(x, name);
	const struct index_tag *t;
	const char *tname;
	size_t i;

	if (ti < 0)
		return -1;
	t = &x->tags[ti];
	tname = index_str(x, t->name);
	doc_heading(d, 1, t->as_source == t->n ? doc_printf(d, "Posts from %s", tname) :
	    doc_printf(d, "Posts tagged %s", tname));
	doc_blank(d);
	for (i = t->n; i-- > 0;)
		post_link(d, x, x->pool[t->posts + i]);
	doc_blank(d);
	doc_link(d, DOC_TO_MENU, "/tags/", "All tags and sources");
	doc_link(d, DOC_TO_MENU, "/", "Home");
	return 0;
}

/* A gemini:// URL of this capsule: the local Gopher item for the same page. */
static bool
gemini_here(struct doc *d, const struct url *u, const struct pages_site *site)
{
	struct route rt;

	if (site->host == NULL || strcmp(u->scheme, "gemini") != 0 ||
	    strcasecmp(u->host, site->host) != 0 ||
	    (u->port == -1 ? 1965 : u->port) != site->gemini_port)
		return false;
	route_match(u->path, &rt);
	switch (rt.kind) {
	case ROUTE_FEED:
		return false;	/* Gopher has no feeds */
	case ROUTE_POST:
		doc_link_gopher(d, '0', doc_printf(d, "/posts/%s.txt", rt.name), NULL, 0);
		break;
	case ROUTE_POST_TEXT:
	case ROUTE_CAPS:
		doc_link_gopher(d, '0', u->path, NULL, 0);
		break;
	case ROUTE_SEARCH:
		doc_link_gopher(d, '7', u->path, NULL, 0);
		break;
	case ROUTE_STATIC:
		/* A file its name does not type waits for the resolver to look (0). */
		doc_link_gopher(d, u->path[strlen(u->path) - 1] == '/' ? '1' :
		    mime_item_by_name(u->path), u->path, NULL, 0);
		break;
	default:
		doc_link_gopher(d, '1', u->path, NULL, 0);
		break;
	}
	return true;
}

/* A gopher:// URL (RFC 4266: gopher://host[:port]/Tselector) as its item. */
static void
gopher_there(struct doc *d, const char *url)
{
	char auth[300], sel[URL_MAX + 1];
	const char *path;
	struct url u;

	if (strncasecmp(url, "gopher://", 9) != 0)
		return;
	path = url + 9 + strcspn(url + 9, "/?#");
	if (*path != '/' && *path != '\0')
		return;
	/* url_parse checks the host and port; the rest is not a URL path. */
	if ((size_t)snprintf(auth, sizeof(auth), "%.*s/", (int)(path - url), url) >=
	    sizeof(auth) || url_parse(auth, strlen(auth), &u) != NULL)
		return;
	if (*path == '\0' || path[1] == '\0')
		doc_link_gopher(d, '1', "", u.host, u.port == -1 ? 70 : u.port);
	else if (url_decode(path + 2, strlen(path + 2), sel, sizeof(sel), false) >= 0)
		doc_link_gopher(d, path[1], sel, u.host, u.port == -1 ? 70 : u.port);
}

void
pages_link_url(struct doc *d, const char *url, const char *label,
    const struct pages_site *site)
{
	struct url u;

	doc_link(d, DOC_TO_URL, url, label);
	if (url_parse(url, strlen(url), &u) != NULL || !gemini_here(d, &u, site))
		gopher_there(d, url);
}

static void
post_body(struct doc *d, const struct post *p, const struct pages_site *site)
{
	size_t i, j;

	for (i = 0; i < p->nblocks; i++) {
		const struct post_block *b = &p->blocks[i];
		switch (b->type) {
		case POST_PARA:
			doc_text(d, b->text, -1);
			break;
		case POST_QUOTE:
			doc_quote(d, b->text, -1);
			break;
		case POST_ITEM:
			doc_item(d, b->text, -1);
			break;
		case POST_PRE:
			doc_pre(d, NULL, b->text, -1);
			break;
		case POST_LINK:
			pages_link_url(d, b->text, b->text, site);
			break;
		}
		/* Gemtext cannot link inside a line: a paragraph's links follow it. */
		for (j = 0; j < b->nurls; j++)
			pages_link_url(d, b->urls[j], b->urls[j], site);
		if (post_block_apart(p, i))
			doc_blank(d);
	}
}

void
pages_post(struct doc *d, const struct pages_site *site, const struct index *x, size_t i,
    const struct post *p)
{
	const struct index_post *sp = &x->posts[i];
	char slug[256];
	size_t t;

	doc_heading(d, 1, p->title);
	doc_blank(d);
	/* Date, author and source up top, as the plain-text version has them. */
	doc_text(d, doc_printf(d, "%s%s%s%s%s", p->has_time ?
	    doc_printf(d, "%04d-%02d-%02d %02d:%02d UTC", p->year, p->month, p->day, p->hour,
	    p->minute) : doc_printf(d, "%04d-%02d-%02d", p->year, p->month, p->day),
	    p->author ? " · by " : "", p->author ? p->author : "",
	    p->source ? " · " : "", p->source ? p->source : ""), -1);
	doc_blank(d);
	post_body(d, p, site);
	doc_blank(d);
	if (p->source != NULL) {
		index_tag_slug(p->source, slug, sizeof(slug));
		doc_link(d, DOC_TO_MENU, doc_printf(d, "/tags/%s/", slug),
		    doc_printf(d, "Source: %s", p->source));
	}
	for (t = 0; t < p->ntags; t++) {
		index_tag_slug(p->tags[t], slug, sizeof(slug));
		doc_link(d, DOC_TO_MENU, doc_printf(d, "/tags/%s/", slug),
		    doc_printf(d, "Tag: %s", p->tags[t]));
	}
	doc_link(d, DOC_TO_MENU, doc_printf(d, "/archive/%04d/%02d/", sp->year, sp->month),
	    doc_printf(d, "%s %04d", pages_month_name(sp->month), sp->year));
	if (i > 0)
		doc_link(d, DOC_TO_POST, doc_printf(d, "/posts/%s",
		    index_str(x, x->posts[i - 1].stem)), doc_printf(d, "Older: %s",
		    index_str(x, x->posts[i - 1].title)));
	if (i + 1 < x->nposts)
		doc_link(d, DOC_TO_POST, doc_printf(d, "/posts/%s",
		    index_str(x, x->posts[i + 1].stem)), doc_printf(d, "Newer: %s",
		    index_str(x, x->posts[i + 1].title)));
	doc_link(d, DOC_TO_FILE, doc_printf(d, "/posts/%s.txt", index_str(x, sp->stem)),
	    "Plain text");
	doc_link(d, DOC_TO_MENU, "/", "Home");
}

static void
pages_search(struct doc *d, const struct index *x, const char *query,
    const size_t *found, size_t n, size_t searched)
{
	size_t i;

	doc_heading(d, 1, doc_printf(d, "Search: %s", query));
	doc_blank(d);
	if (n == 0)
		doc_text(d, "No post matches every word.", -1);
	else
		doc_text(d, doc_printf(d, "%s match%s.", count_label(d, n),
		    n == 1 ? "es" : ""), -1);
	if (searched < x->nposts)
		doc_text(d, doc_printf(d, "Only the newest %zu of %zu posts were searched; "
		    "more words narrow it down.", searched, x->nposts), -1);
	doc_blank(d);
	for (i = 0; i < n; i++)
		post_link(d, x, found[i]);
	if (n > 0)
		doc_blank(d);
	doc_link(d, DOC_TO_SEARCH, "/search", "Search again");
	doc_link(d, DOC_TO_MENU, "/", "Home");
}

/* PAGES_OK, or PAGES_NOT_FOUND for -1. */
static enum pages_result
found(int rc)
{
	return rc == 0 ? PAGES_OK : PAGES_NOT_FOUND;
}

enum pages_result
pages_build(struct doc *d, const struct pages_site *site, const struct store *store,
    const struct route *rt)
{
	const struct index *x = store_index(store);
	struct post full;
	long i;

	switch (rt->kind) {
	case ROUTE_HOME:
		pages_home(d, site, x);
		return PAGES_OK;
	case ROUTE_ARCHIVE:
		pages_archive(d, x);
		return PAGES_OK;
	case ROUTE_YEAR:
		return found(pages_year(d, x, rt->year));
	case ROUTE_MONTH:
		return found(pages_month(d, x, rt->year, rt->month));
	case ROUTE_TAGS:
		pages_tags(d, x);
		return PAGES_OK;
	case ROUTE_TAG:
		return found(pages_tag(d, x, rt->name));
	case ROUTE_POST:
		if ((i = index_find_post(x, rt->name)) < 0)
			return PAGES_NOT_FOUND;
		switch (store_load(store, &x->posts[i], &full)) {
		case STORE_GONE:
			return PAGES_NOT_FOUND;
		case STORE_BUSY:
			return PAGES_BUSY;
		case STORE_LOADED:
			break;
		}
		pages_post(d, site, x, (size_t)i, &full);
		post_free(&full);
		return PAGES_OK;
	default:
		return PAGES_NOT_FOUND;
	}
}

int
pages_search_words(struct doc *d, const struct store *store, const char *words, size_t max,
    long budget_ms)
{
	const struct index *x = store_index(store);
	size_t found[PAGES_SEARCH_MAX], n, searched;
	struct search_terms t;

	if (search_terms_parse(&t, words, strlen(words)) == 0)
		return -1;
	if (max > PAGES_SEARCH_MAX)
		max = PAGES_SEARCH_MAX;
	n = store_search(store, &t, found, max, budget_ms, &searched);
	pages_search(d, x, words, found, n, searched);
	return 0;
}
