#include "pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "text.h"
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

/*
 * Which part of a long list a page shows: page 1 is the newest size entries
 * at the list's own path, page N at base/page/N/. Positions count from the
 * newest entry.
 */
struct pager {
	size_t from, to;	/* [from, to) of the list, newest first */
	long page, pages;
};

/* false when the list has no such page (page 1 always exists). */
static bool
pager_init(struct pager *pg, size_t n, int size, long page)
{
	size_t per = size > 0 ? (size_t)size : 1;

	pg->pages = n == 0 ? 1 : (long)((n - 1) / per + 1);
	if (page < 1 || page > pg->pages)
		return false;
	pg->page = page;
	pg->from = (size_t)(page - 1) * per;
	pg->to = n - pg->from < per ? n : pg->from + per;
	return true;
}

/* The list's title, which names a later page; page 1 keeps its own. */
static const char *
pager_title(struct doc *d, const char *title, const struct pager *pg)
{
	return pg->page == 1 ? title :
	    doc_printf(d, "%s, page %ld of %ld", title, pg->page, pg->pages);
}

/* base is a folder ("/tags/x/" gives "/tags/x/page/2/") or a search ("/search"). */
static const char *
pager_href(struct doc *d, const char *base, long page)
{
	size_t n = strlen(base);

	if (page == 1)
		return base;
	return base[n - 1] == '/' ? doc_printf(d, "%spage/%ld/", base, page) :
	    doc_printf(d, "%s/page/%ld", base, page);
}

/*
 * "Newer" and "Older" links to the neighbouring pages, when there are any,
 * after a blank line; words, for search results, go with each link.
 */
static void
pager_links(struct doc *d, const struct pager *pg, const char *base, const char *what,
    const char *words)
{
	/* Results are ranked, not dated. */
	static const char *const dated[2] = { "Newer", "Older" }, *const ranked[2] = {
		"Previous", "More" };
	const char *const *dir = words != NULL ? ranked : dated;
	int k;

	if (pg->pages == 1)
		return;
	doc_blank(d);
	for (k = 0; k < 2; k++) {
		long to = pg->page + (k == 0 ? -1 : 1);
		const char *href, *label;
		if (to < 1 || to > pg->pages)
			continue;
		href = pager_href(d, base, to);
		label = doc_printf(d, "%s %s: page %ld of %ld", dir[k], what, to, pg->pages);
		if (words != NULL)
			doc_link_results(d, href, label, words);
		else
			doc_link(d, DOC_TO_MENU, href, label);
	}
}

static void link_here(struct doc *d, const char *url, const struct pages_site *site);

/* A link the author wrote: as written for Gemini; a relative one is from the root. */
static void
intro_link(struct doc *d, const char *url, const char *label, const struct pages_site *site)
{
	size_t scheme = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789+-.");

	doc_link(d, DOC_TO_URL, url, label);
	if (scheme > 0 && url[scheme] == ':')
		link_here(d, url, site);
	else if (url[0] == '/' && url[1] == '/')
		link_here(d, doc_printf(d, "gemini:%s", url), site);
	else
		link_here(d, doc_printf(d, "gemini://%s:%d%s%s", site->host ? site->host : "",
		    site->gemini_port, url[0] == '/' ? "" : "/", url), site);
}

/* Skips spaces and tabs. */
static const char *
skip_blanks(const char *s)
{
	return s + strspn(s, " \t");
}

/*
 * The author's gemtext (the root's index.gmi) as blocks of the home page:
 * headings (a level-1 one becomes level 2: the page keeps one title), text,
 * links, list items, quotes, preformatted text. Each line is cleaned first
 * (valid UTF-8, no control characters), so any file gives a sound page.
 */
static void
intro(struct doc *d, const char *s, size_t len, const struct pages_site *site)
{
	const char *p = s, *end = s + len, *nl, *rest;
	char *line, *pre = NULL, *alt = NULL, *grown;
	size_t n, pre_len = 0, level;

	for (; p < end; p = nl != NULL ? nl + 1 : end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if ((line = text_clean(p, n, &n)) == NULL)
			break;
		if (alt != NULL && strncmp(line, "```", 3) != 0) {
			if ((grown = realloc(pre, pre_len + n + 2)) != NULL) {
				pre = grown;
				memcpy(pre + pre_len, line, n);
				pre_len += n;
				pre[pre_len++] = '\n';
			}
		} else if (alt != NULL) {
			doc_pre(d, alt, pre != NULL ? pre : "", pre_len > 0 ? (long)pre_len - 1 : 0);
			free(alt);
			alt = NULL;
			pre_len = 0;
		} else if (strncmp(line, "```", 3) == 0)
			alt = strdup(skip_blanks(line + 3));
		else if (strncmp(line, "=>", 2) == 0) {
			rest = skip_blanks(line + 2);
			n = strcspn(rest, " \t");
			if (n > 0)
				intro_link(d, doc_printf(d, "%.*s", (int)n, rest),
				    skip_blanks(rest + n), site);
		} else if (line[0] == '#') {
			level = strspn(line, "#");
			doc_heading(d, level < 2 ? 2 : level > 3 ? 3 : (int)level,
			    skip_blanks(line + level));
		} else if (strncmp(line, "* ", 2) == 0)
			doc_item(d, line + 2, -1);
		else if (line[0] == '>')
			doc_quote(d, skip_blanks(line + 1), -1);
		else if (line[0] == '\0')
			doc_blank(d);
		else
			doc_text(d, line, -1);
		free(line);
	}
	/* An unclosed fence closes at the end, as clients do. */
	if (alt != NULL)
		doc_pre(d, alt, pre != NULL ? pre : "", pre_len > 0 ? (long)pre_len - 1 : 0);
	free(alt);
	free(pre);
}

/* The Atom feed, linked from every page a reader may want to follow the capsule from. */
static void
feed_link(struct doc *d)
{
	doc_link(d, DOC_TO_FEED, "/atom.xml", "Atom feed");
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
	if (site->intro != NULL) {
		doc_blank(d);
		intro(d, site->intro, site->intro_len, site);
	}
	doc_blank(d);
	doc_heading(d, 2, "Latest posts");
	if (n == 0)
		doc_text(d, "Nothing has been posted yet.", -1);
	post_links(d, x, x->nposts - n, n);
	doc_blank(d);
	doc_heading(d, 2, "More");
	if (site->about)
		doc_link(d, DOC_TO_FILE, "/about.gmi", "About");
	doc_link(d, DOC_TO_MENU, "/archive/", "Archive: every month");
	doc_link(d, DOC_TO_MENU, "/tags/", "Tags and sources");
	doc_link(d, DOC_TO_SEARCH, "/search", "Search");
	feed_link(d);
	if (site->titan != NULL)
		doc_link(d, DOC_TO_MENU, "/write/", "Write a post");
}

void
pages_write(struct doc *d, const struct pages_site *site, const char *name)
{
	doc_heading(d, 1, "Write a post");
	doc_blank(d);
	doc_text(d, "A post is one UTF-8 text file in posts/, named YYYY-MM-DD-slug.txt: a "
	    "header block, a blank line, then the text.", -1);
	doc_pre(d, "A post", "Title: What happened today\nDate: 2026-12-05\n"
	    "Tags: city, council\nSource: The Gazette\n\nParagraphs are separated by blank "
	    "lines.\n\n> A quotation.\n\n* a list item\n", -1);
	doc_text(d, "Every header is optional: without Title the first line is the title, "
	    "without Date the name gives it. A line that is only a URL becomes a link; lines "
	    "indented by a tab or four spaces are kept as they are.", -1);
	doc_blank(d);
	doc_text(d, "Upload with Titan to a post's name to write it, again to replace it (the "
	    "earlier version is kept), and empty to delete it.", -1);
	doc_blank(d);
	if (name != NULL) {
		doc_heading(d, 2, doc_printf(d, "Ready: %s", name));
		doc_link(d, DOC_TO_URL, doc_printf(d, "%s/posts/%s", site->titan, name),
		    doc_printf(d, "Upload %s", name));
		doc_blank(d);
	}
	doc_link(d, DOC_TO_SEARCH, "/write/new", name != NULL ? "Another new post" :
	    "A new post: choose its name");
	doc_link(d, DOC_TO_MENU, "/", "Home");
}

static void
nav_home(struct doc *d)
{
	doc_link(d, DOC_TO_MENU, "/archive/", "Archive");
	doc_link(d, DOC_TO_MENU, "/", "Home");
}

/* The months, newest first, under a heading for each year; paged by months. */
/* "=> /archive/YYYY/MM/ January 2020: 4 posts" */
static void
month_link(struct doc *d, const struct index_month *m)
{
	doc_link(d, DOC_TO_MENU, month_href(d, m), doc_printf(d, "%s %04d: %s",
	    pages_month_name(m->month), m->year, count_label(d, m->count)));
}

static int
pages_archive(struct doc *d, const struct index *x, int size, long page)
{
	struct pager pg;
	size_t k, total;
	long i, y;

	if (!pager_init(&pg, x->nmonths, size, page))
		return -1;
	doc_heading(d, 1, pager_title(d, "Archive", &pg));
	if (x->nmonths == 0) {
		doc_blank(d);
		doc_text(d, "Nothing has been posted yet.", -1);
	}
	for (k = pg.from; k < pg.to; k++) {
		const struct index_month *m = &x->months[i = (long)(x->nmonths - 1 - k)];
		if (k == pg.from || x->months[i + 1].year != m->year) {
			/* A year's months are contiguous: sum them for its heading. */
			total = 0;
			for (y = i; y >= 0 && x->months[y].year == m->year; y--)
				total += x->months[y].count;
			for (y = i + 1; (size_t)y < x->nmonths && x->months[y].year == m->year; y++)
				total += x->months[y].count;
			doc_blank(d);
			doc_heading(d, 2, doc_printf(d, "%04d", m->year));
			doc_link(d, DOC_TO_MENU, doc_printf(d, "/archive/%04d/", m->year),
			    doc_printf(d, "All of %04d: %s", m->year, count_label(d, total)));
		}
		month_link(d, m);
	}
	pager_links(d, &pg, "/archive/", "months", NULL);
	doc_blank(d);
	doc_link(d, DOC_TO_MENU, "/", "Home");
	return 0;
}

static int
pages_year(struct doc *d, const struct index *x, int year, int size, long page)
{
	long first = index_find_year(x, year);
	size_t i, last, lo, hi, a, b;
	struct pager pg;

	if (first < 0)
		return -1;
	for (last = first; last + 1 < x->nmonths && x->months[last + 1].year == year; last++)
		;
	/* A year's posts are contiguous in the index, as its months are. */
	lo = x->months[first].first;
	hi = x->months[last].first + x->months[last].count;
	if (!pager_init(&pg, hi - lo, size, page))
		return -1;
	doc_heading(d, 1, pager_title(d, doc_printf(d, "Yearly Archives: %04d", year), &pg));
	for (i = last + 1; i-- > (size_t)first;) {
		const struct index_month *m = &x->months[i];
		a = m->first > hi - pg.to ? m->first : hi - pg.to;
		b = m->first + m->count < hi - pg.from ? m->first + m->count : hi - pg.from;
		if (a >= b)
			continue;
		doc_blank(d);
		doc_heading(d, 2, doc_printf(d, "%s %04d", pages_month_name(m->month), year));
		/* Gemtext headings cannot be links: the month's page is the first line. */
		month_link(d, m);
		post_links(d, x, a, b - a);
	}
	pager_links(d, &pg, doc_printf(d, "/archive/%04d/", year), "posts", NULL);
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
pages_month(struct doc *d, const struct index *x, int year, int month, int size, long page)
{
	long i = index_find_month(x, year, month);
	const struct index_month *m;
	struct pager pg;
	size_t end;

	if (i < 0)
		return -1;
	m = &x->months[i];
	if (!pager_init(&pg, m->count, size, page))
		return -1;
	doc_heading(d, 1, pager_title(d, doc_printf(d, "Monthly Archives: %s %04d",
	    pages_month_name(month), year), &pg));
	doc_blank(d);
	end = m->first + m->count;
	post_links(d, x, end - pg.to, pg.to - pg.from);
	pager_links(d, &pg, month_href(d, m), "posts", NULL);
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
	feed_link(d);
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
pages_tag(struct doc *d, const struct index *x, const char *name, int size, long page)
{
	long ti = index_find_tag(x, name);
	const struct index_tag *t;
	const char *tname;
	struct pager pg;
	size_t k;

	if (ti < 0)
		return -1;
	t = &x->tags[ti];
	if (!pager_init(&pg, t->n, size, page))
		return -1;
	tname = index_str(x, t->name);
	doc_heading(d, 1, pager_title(d, t->as_source == t->n ?
	    doc_printf(d, "Posts from %s", tname) : doc_printf(d, "Posts tagged %s", tname),
	    &pg));
	doc_blank(d);
	for (k = pg.from; k < pg.to; k++)
		post_link(d, x, x->pool[t->posts + t->n - 1 - k]);
	pager_links(d, &pg, doc_printf(d, "/tags/%s/", index_str(x, t->key)), "posts", NULL);
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

/* What the link just added is to Gopher (pages_link_url), for url. */
static void
link_here(struct doc *d, const char *url, const struct pages_site *site)
{
	struct url u;

	if (url_parse(url, strlen(url), &u) != NULL || !gemini_here(d, &u, site))
		gopher_there(d, url);
}

void
pages_link_url(struct doc *d, const char *url, const char *label,
    const struct pages_site *site)
{
	doc_link(d, DOC_TO_URL, url, label);
	link_here(d, url, site);
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
			/* A gemtext link to a path of this capsule works on Gopher too. */
			if (b->text[0] == '/' && b->text[1] != '/')
				doc_link(d, DOC_TO_FILE, b->text, b->label ? b->label : b->text);
			else
				pages_link_url(d, b->text, b->label ? b->label : b->text, site);
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
	if (site->titan != NULL)
		doc_link(d, DOC_TO_URL, doc_printf(d, "%s/posts/%s.txt", site->titan,
		    index_str(x, sp->stem)), "Edit this post (Titan)");
	feed_link(d);
	doc_link(d, DOC_TO_MENU, "/", "Home");
}

int
pages_search(struct doc *d, const struct pages_site *site, const char *words, long page,
    const struct fts_result *r)
{
	struct pager pg;
	size_t k;

	/* The result holds this page's hits alone; the pager needs where they start. */
	if (!pager_init(&pg, (size_t)r->total, site->page_size, page))
		return -1;
	doc_heading(d, 1, pager_title(d, doc_printf(d, "Search: %s", words), &pg));
	doc_blank(d);
	if (r->total == 0)
		doc_text(d, "No post matches every word.", -1);
	else
		doc_text(d, doc_printf(d, "%s match%s.", count_label(d, (size_t)r->total),
		    r->total == 1 ? "es" : ""), -1);
	doc_blank(d);
	for (k = 0; k < r->n; k++) {
		const struct fts_hit *h = &r->hits[k];
		doc_link(d, DOC_TO_POST, doc_printf(d, "/posts/%s", h->stem),
		    doc_printf(d, "%s %s", h->date, h->title));
		if (h->snippet[0] != '\0')
			doc_text(d, h->snippet, -1);
	}
	pager_links(d, &pg, "/search", "results", words);
	if (r->n > 0)
		doc_blank(d);
	doc_link(d, DOC_TO_SEARCH, "/search", "Search again");
	doc_link(d, DOC_TO_MENU, "/", "Home");
	return 0;
}

void
pages_search_rebuilding(struct doc *d)
{
	doc_heading(d, 1, "Search");
	doc_blank(d);
	doc_text(d, "The search index is being built; try again in a minute.", -1);
	doc_blank(d);
	doc_link(d, DOC_TO_MENU, "/archive/", "Archive");
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
	case ROUTE_ARCHIVE:
		return found(pages_archive(d, x, site->page_size, rt->page));
	case ROUTE_YEAR:
		return found(pages_year(d, x, rt->year, site->page_size, rt->page));
	case ROUTE_MONTH:
		return found(pages_month(d, x, rt->year, rt->month, site->page_size, rt->page));
	case ROUTE_TAG:
		return found(pages_tag(d, x, rt->name, site->page_size, rt->page));
	default:
		break;
	}
	/* The rest are one page each. */
	if (rt->page != 1)
		return PAGES_NOT_FOUND;
	switch (rt->kind) {
	case ROUTE_HOME:
		pages_home(d, site, x);
		return PAGES_OK;
	case ROUTE_TAGS:
		pages_tags(d, x);
		return PAGES_OK;
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
