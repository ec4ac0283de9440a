/*
 * Gopher requests: frame, parse, route, answer. The URL map is Gemini's
 * (route_match), the pages are the same documents rendered as menus, posts
 * are served as wrapped text, and everything else comes from the content
 * root of the first configured host, which is the one Gopher serves (Gopher
 * has no Host header; under TLS, SNI only picks the certificate).
 *
 * Answers follow RFC 1436: menus and type-0 text end with a lone "." line,
 * text is dot-stuffed with CRLF line ends (static text files included, by a
 * filter while they stream, so their size does not matter), anything else is
 * sent raw until close. Errors are one type-3 line in a menu. Gopher has no
 * status codes, so the access log shows the Gemini equivalent (20 served,
 * 51 not found, 59 bad selector, 40 temporary failure).
 *
 * Selectors are the Gemini paths, raw bytes: "/archive/2020/01/",
 * "/posts/NAME.txt". A selector that names nothing raw but holds '%' is tried
 * once more percent-decoded, for clients that send URL-encoded selectors and
 * for the odd file names our menus encode.
 */
#include "gopher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cache.h"
#include "doc.h"
#include "files.h"
#include "gophermap.h"
#include "log.h"
#include "mime.h"
#include "pages.h"
#include "route.h"
#include "search.h"
#include "store.h"
#include "text.h"
#include "url.h"
#include "utf8.h"

#define GOPHERMAP_MAX (256 * 1024)	/* bytes of a gophermap file read */

#define TEXT_MIDLINE 1u		/* gopher_text: inside a line */
#define TEXT_AFTER_CR 2u	/* gopher_text: a CR ended the line; skip an LF */

enum frame_result
gopher_frame(const char *buf, size_t len, size_t *linelen)
{
	size_t scan = len < GOPHER_SELECTOR_MAX + 2 ? len : GOPHER_SELECTOR_MAX + 2;
	const char *lf = memchr(buf, '\n', scan);

	if (lf == NULL) {
		/* No LF within the longest line plus CRLF: it can only be too long. */
		if (len >= GOPHER_SELECTOR_MAX + 2 || (len == GOPHER_SELECTOR_MAX + 1 &&
		    buf[GOPHER_SELECTOR_MAX] != '\r'))
			return FRAME_TOO_LONG;
		return FRAME_MORE;
	}
	*linelen = lf - buf;
	if (*linelen > 0 && buf[*linelen - 1] == '\r')
		(*linelen)--;
	return *linelen <= GOPHER_SELECTOR_MAX ? FRAME_LINE : FRAME_TOO_LONG;
}

/* "+", "$", "!", "+type/subtype", "!+ATTR", "$+ATTR": Gopher+, not words. */
static bool
is_plus(const char *s, size_t n)
{
	return n > 0 && (s[0] == '+' || s[0] == '$' || s[0] == '!') &&
	    (n == 1 || s[1] == '+' || (s[0] == '+' && memchr(s, '/', n) != NULL));
}

const char *
gopher_parse(const char *line, size_t len, bool decode, struct gopher_request *rq)
{
	char dec[GOPHER_SELECTOR_MAX + 1];
	const char *sel = line, *tab, *f, *q;
	size_t n, i, u, sel_len;
	long d;

	memset(rq, 0, sizeof(*rq));
	if (len > GOPHER_SELECTOR_MAX)
		return "selector too long";
	for (i = 0; i < len; i++)
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
			return "control character in selector";
	tab = memchr(line, '\t', len);
	sel_len = tab ? (size_t)(tab - line) : len;
	if (tab != NULL) {
		f = tab + 1;
		tab = memchr(f, '\t', line + len - f);
		n = (tab ? tab : line + len) - f;
		if (is_plus(f, n))
			rq->plus = f[0];
		else {
			rq->has_words = true;
			memcpy(rq->words, f, n);
			rq->words[n] = '\0';
			/* A third field is Gopher+ (or an ask block's flag): not words. */
			if (tab != NULL && is_plus(tab + 1, line + len - tab - 1))
				rq->plus = tab[1];
		}
	}
	/* "URL:<url>", or "/URL:<url>" as curl sends gopher://host/h/URL:<url>. */
	u = sel_len > 0 && sel[0] == '/';
	if (sel_len >= u + 4 && memcmp(sel + u, "URL:", 4) == 0) {
		rq->is_url = true;
		memcpy(rq->path, sel + u + 4, sel_len - u - 4);
		rq->path[sel_len - u - 4] = '\0';
		return NULL;
	}
	/* curl sends gopher://host/7/search?words as "/search?words". */
	if (!rq->has_words && (q = memchr(sel, '?', sel_len)) != NULL) {
		rq->has_words = true;
		n = sel_len - (q + 1 - sel);
		memcpy(rq->words, q + 1, n);
		rq->words[n] = '\0';
		sel_len = q - sel;
	}
	rq->encoded = !decode && memchr(sel, '%', sel_len) != NULL;
	if (decode) {
		if ((d = url_decode(sel, sel_len, dec, sizeof(dec), false)) < 0)
			return "bad percent-escape in selector";
		sel = dec;
		sel_len = (size_t)d;
	}
	if (gophermap_path(sel, sel_len, rq->path, sizeof(rq->path)) < 0)
		return "selector climbs above the root";
	return NULL;
}

void
gopher_text(unsigned *state, const char *in, size_t len, struct evbuffer *out)
{
	size_t i = 0, run;

	if (in == NULL) {
		if (*state & TEXT_MIDLINE)
			evbuffer_add(out, "\r\n", 2);
		evbuffer_add(out, ".\r\n", 3);
		*state = 0;
		return;
	}
	while (i < len) {
		if (*state & TEXT_AFTER_CR) {
			*state &= ~TEXT_AFTER_CR;
			if (in[i] == '\n') {
				i++;
				continue;
			}
		}
		if (in[i] == '\r' || in[i] == '\n') {
			evbuffer_add(out, "\r\n", 2);
			*state = in[i] == '\r' ? TEXT_AFTER_CR : 0;
			i++;
			continue;
		}
		if (!(*state & TEXT_MIDLINE) && in[i] == '.')
			evbuffer_add(out, ".", 1);
		*state |= TEXT_MIDLINE;
		for (run = i; run < len && in[run] != '\r' && in[run] != '\n'; run++)
			;
		evbuffer_add(out, in + i, run - i);
		i = run;
	}
}

static void
send_error(struct response *r, int status, const char *message)
{
	r->status = status;
	gophermap_info(r->out, '3', message);
	gophermap_end(r->out);
}

static void
send_text(struct response *r, struct evbuffer *text)
{
	unsigned state = 0;
	size_t n = evbuffer_get_length(text);

	gopher_text(&state, (const char *)evbuffer_pullup(text, -1), n, r->out);
	gopher_text(&state, NULL, 0, r->out);
	r->status = 20;
}

/* What the menu callbacks need: the site, and the folder being listed. */
struct menu_arg {
	const struct server *srv;
	const struct site *site;
	const char *folder;	/* for "*" in a gophermap */
	int dirfd;
	bool may_wait;		/* for a fresher post index (request_ctx) */
};

/* The item type of an open file: by extension, else by libmagic. */
static char
entry_type(const struct site *site, const struct files_entry *e)
{
	char t = gophermap_type_by_name(e->name);

	if (e->is_dir)
		return '1';
	return t != 0 ? t : gophermap_type_by_mime(mime_type(site->mime, e->name, e->fd,
	    &e->st));
}

static char
file_type(void *arg, const char *path)
{
	const struct menu_arg *a = arg;
	struct files_entry e;
	char t;

	if ((t = gophermap_type_by_name(path)) != 0)
		return t;
	switch (files_open(a->site->rootfd, path, &e)) {
	case FILES_OK:
		t = entry_type(a->site, &e);
		close(e.fd);
		return t;
	case FILES_NEEDS_SLASH:
		return '1';
	default:
		return '9';
	}
}

static void listing(void *arg, const struct gophermap_hidden *h, struct evbuffer *out);

static void
menu_ctx(struct menu_arg *a, struct gophermap_ctx *gc)
{
	const struct config *cfg = a->srv->cfg;

	gc->host = cfg->gopher_host[0] != '\0' ? cfg->gopher_host : a->site->cfg->name;
	gc->port = cfg->gopher_public_port != 0 ? cfg->gopher_public_port : cfg->gopher_port;
	gc->gemini_host = a->site->cfg->name;
	gc->gemini_port = cfg->gemini_port;
	gc->file_type = file_type;
	gc->listing = listing;
	gc->arg = a;
}

/* A gophermap's "*": the folder's entries but those it hides, and itself. */
static void
listing(void *arg, const struct gophermap_hidden *h, struct evbuffer *out)
{
	struct menu_arg *a = arg;
	struct gophermap_ctx gc;
	struct files_item *items;
	struct doc d;
	size_t n, i;

	if (files_list(a->site->rootfd, a->folder, a->dirfd, &items, &n) == -1)
		return;
	doc_init(&d);
	for (i = 0; i < n; i++)
		if (!gophermap_hides(h, items[i].name) && strcmp(items[i].name, "gophermap") != 0)
			doc_link(&d, items[i].is_dir ? DOC_TO_MENU : DOC_TO_FILE,
			    doc_printf(&d, "%s%s%s", a->folder, items[i].name,
			    items[i].is_dir ? "/" : ""), doc_printf(&d, "%s%s", items[i].name,
			    items[i].is_dir ? "/" : ""));
	menu_ctx(a, &gc);
	gophermap_render(&d, &gc, out);
	doc_clear(&d);
	files_list_free(items, n);
}

static void
send_menu(struct menu_arg *a, const struct doc *d, struct response *r)
{
	struct gophermap_ctx gc;

	menu_ctx(a, &gc);
	if (gophermap_render(d, &gc, r->out) == -1) {
		send_error(r, 40, "Temporary failure");
		return;
	}
	gophermap_end(r->out);
	r->status = 20;
}

/* Reads at most GOPHERMAP_MAX bytes of the open file fd. */
static char *
read_map(int fd, size_t *len)
{
	char *buf;
	ssize_t n;

	if ((buf = malloc(GOPHERMAP_MAX)) == NULL)
		return NULL;
	*len = 0;
	while (*len < GOPHERMAP_MAX && (n = read(fd, buf + *len, GOPHERMAP_MAX - *len)) > 0)
		*len += (size_t)n;
	return buf;
}

/* A folder: its gophermap when it has one, else the generated listing. */
static void
send_folder(struct menu_arg *a, struct response *r)
{
	struct gophermap_ctx gc;
	struct files_item *items;
	struct files_entry map;
	char path[GOPHER_SELECTOR_MAX + 16];
	struct doc d;
	size_t n;
	char *data;

	snprintf(path, sizeof(path), "%sgophermap", a->folder);
	if (files_open(a->site->rootfd, path, &map) == FILES_OK && !map.is_dir &&
	    (data = read_map(map.fd, &n)) != NULL) {
		close(map.fd);
		menu_ctx(a, &gc);
		gophermap_parse(data, n, a->folder, &gc, r->out);
		gophermap_end(r->out);
		r->status = 20;
		free(data);
		return;
	}
	if (map.fd != -1)
		close(map.fd);
	if (files_list(a->site->rootfd, a->folder, a->dirfd, &items, &n) == -1) {
		log_warn("cannot list %s: %m", a->folder);
		send_error(r, 51, "Not found");
		return;
	}
	doc_init(&d);
	pages_folder(&d, a->folder, items, n);
	send_menu(a, &d, r);
	doc_clear(&d);
	files_list_free(items, n);
}

/* A file or folder under the root; -1 (nothing sent) when there is none. */
static int
serve_static(struct menu_arg *a, const char *path, struct response *r)
{
	char folder[GOPHER_SELECTOR_MAX + 4];
	struct files_entry e;
	enum files_status st;

	/* Gopher has no redirects: a folder named without its '/' is served. */
	if ((st = files_open(a->site->rootfd, path, &e)) == FILES_NEEDS_SLASH) {
		snprintf(folder, sizeof(folder), "%s/", path);
		st = files_open(a->site->rootfd, folder, &e);
		path = folder;
	}
	if (st != FILES_OK)
		return -1;
	if (e.is_dir) {
		a->folder = path;
		a->dirfd = e.fd;
		send_folder(a, r);
		close(e.fd);
		/* path may be folder[], gone on return; e.fd is closed. */
		a->folder = NULL;
		a->dirfd = -1;
		return 0;
	}
	if (entry_type(a->site, &e) == '0')
		r->filter = gopher_text;
	r->status = 20;
	r->fd = e.fd;
	r->file_left = e.st.st_size;
	return 0;
}

/* Post stem as wrapped text; -1 (nothing sent) when there is no such post. */
static int
send_post(const struct site *site, const char *stem, struct response *r)
{
	const struct index *x = store_index(site->store);
	struct evbuffer *text;
	struct post full;
	long i;

	if ((i = index_find_post(x, stem)) < 0)
		return -1;
	switch (store_load(site->store, &x->posts[i], &full)) {
	case STORE_GONE:
		/* Indexed a moment ago, gone now: not a file to serve as it is. */
		send_error(r, 51, "Not found");
		return 0;
	case STORE_BUSY:
		send_error(r, 40, "This post is being updated; try again in a moment");
		return 0;
	case STORE_LOADED:
		break;
	}
	if ((text = evbuffer_new()) == NULL || text_post(&full, text) == -1)
		send_error(r, 40, "Temporary failure");
	else
		send_text(r, text);
	if (text != NULL)
		evbuffer_free(text);
	post_free(&full);
	return 0;
}

/* The results for rq's words, or a page that asks for words. */
static void
search_page(const struct server *s, const struct site *site,
    const struct gopher_request *rq, struct doc *d)
{
	size_t len = strlen(rq->words);

	if (rq->has_words && utf8_valid(rq->words, len) &&
	    pages_search_words(d, site->store, rq->words, (size_t)s->cfg->search_results,
	    s->cfg->search_time_ms) == 0)
		return;
	doc_heading(d, 1, "Search");
	doc_blank(d);
	doc_text(d, len == 0 ? "Send the words to search the posts for." :
	    "Search words are made of letters or digits.", -1);
	doc_link(d, DOC_TO_SEARCH, "/search", "Search posts");
	doc_link(d, DOC_TO_MENU, "/", "Home");
}

/* caps.txt, as Gophernicus and geomyidae write it, from the configuration. */
static void
send_caps(const struct menu_arg *a, struct response *r)
{
	const struct config *cfg = a->srv->cfg;
	const char *title = a->site->cfg->title;
	struct evbuffer *b;
	char *clean;
	size_t n;

	if ((b = evbuffer_new()) == NULL ||
	    (clean = text_clean(title, strlen(title), &n)) == NULL) {
		if (b != NULL)
			evbuffer_free(b);
		send_error(r, 40, "Temporary failure");
		return;
	}
	evbuffer_add_printf(b, "CAPS\n\n"
	    "##\n## This is an automatically generated caps file.\n##\n\n"
	    "CapsVersion=1\nExpireCapsAfter=3600\n\n"
	    "PathDelimeter=/\nPathIdentity=.\nPathParent=..\nPathParentDouble=FALSE\n"
	    "PathEscapeCharacter=\\\nPathKeepPreDelimeter=FALSE\n\n"
	    "ServerSoftware=gazette\nServerDescription=%s\nServerDefaultEncoding=utf-8\n",
	    clean);
	if (cfg->gopher_tls)
		evbuffer_add_printf(b, "ServerTLSPort=%d\n", cfg->gopher_public_port != 0 ?
		    cfg->gopher_public_port : cfg->gopher_port);
	send_text(r, b);
	evbuffer_free(b);
	free(clean);
}

static void
add_html(struct evbuffer *out, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&':
			evbuffer_add(out, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(out, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(out, "&gt;", 4);
			break;
		case '"':
			evbuffer_add(out, "&quot;", 6);
			break;
		case '\'':
			evbuffer_add(out, "&#39;", 5);
			break;
		default:
			evbuffer_add(out, s, 1);
		}
}

/*
 * The page for a "URL:" selector (Bucktooth's convention), for clients that
 * fetch an h item instead of opening its URL: a refresh and a link. Only a
 * URL with a scheme that cannot run script is passed on.
 */
static void
send_redirect(struct response *r, const char *url)
{
	size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789+-.");

	if (n == 0 || url[n] != ':' || !utf8_valid(url, strlen(url)) ||
	    strncasecmp(url, "javascript:", 11) == 0 || strncasecmp(url, "data:", 5) == 0 ||
	    strncasecmp(url, "vbscript:", 9) == 0) {
		send_error(r, 59, "Not a URL this server links to");
		return;
	}
	evbuffer_add_printf(r->out, "<!DOCTYPE html>\n<html>\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta http-equiv=\"refresh\" content=\"2; url=");
	add_html(r->out, url);
	evbuffer_add_printf(r->out, "\">\n<title>Leaving Gopher</title>\n</head>\n<body>\n"
	    "<p>This link leads out of Gopherspace, to <a href=\"");
	add_html(r->out, url);
	evbuffer_add(r->out, "\">", 2);
	add_html(r->out, url);
	evbuffer_add_printf(r->out, "</a>. If your client does not take you there in a "
	    "moment, follow the link.</p>\n</body>\n</html>\n");
	r->status = 20;
}

/*
 * Answers rq from the URL map: generated pages, post text, caps.txt, then
 * files. Returns -1, having sent nothing, when rq names nothing.
 */
static int
serve(struct menu_arg *a, const struct gopher_request *rq, struct response *r)
{
	const struct site *site = a->site;
	struct pages_site ps = { site->cfg->title, site->cfg->description,
	    site->cfg->home_posts };
	const struct index *x;
	char key[GOPHER_SELECTOR_MAX + 4];
	enum pages_result built = PAGES_OK;
	struct route rt;
	struct doc d;
	int status;

	/* Gopher has no client certificates: what needs one names nothing here. */
	if (config_cert_path(site->cfg, rq->path) != NULL)
		return -1;
	route_match(rq->path, &rt);
	switch (rt.kind) {
	case ROUTE_STATIC:
		return serve_static(a, rq->path, r);
	case ROUTE_NOT_FOUND:
	case ROUTE_POST:
	case ROUTE_FEED:
		/* Gemini's alone: Gopher reads posts as text and has no feeds. */
		return -1;
	case ROUTE_CAPS:
		send_caps(a, r);
		return 0;
	default:
		break;
	}
	if (a->may_wait && store_behind(site->store, &r->index_ticket)) {
		r->wait_index = true;
		return 0;
	}
	x = store_index(site->store);
	/* Rendered once per index version; searches depend on their words. */
	snprintf(key, sizeof(key), "o%s", rq->path);
	if (rt.kind != ROUTE_SEARCH &&
	    (status = cache_send(site->cache, x->version, key, r->out)) >= 0) {
		r->status = status;
		return 0;
	}
	if (rt.kind == ROUTE_POST_TEXT) {
		/* Not a post (a skipped file, say): the file, as Gemini serves it. */
		if (send_post(site, rt.name, r) == -1) {
			switch (store_check(site->store, rt.name)) {
			case STORE_LOADED:
				return serve_static(a, rq->path, r);
			case STORE_GONE:
				return -1;
			case STORE_BUSY:
				send_error(r, 40, "This post is being updated; try again in a moment");
				return 0;
			}
		}
	} else {
		doc_init(&d);
		if (rt.kind == ROUTE_SEARCH)
			search_page(a->srv, site, rq, &d);
		else
			built = pages_build(&d, &ps, site->store, &rt);
		if (built == PAGES_OK)
			send_menu(a, &d, r);
		else if (built == PAGES_BUSY)
			send_error(r, 40, "This post is being updated; try again in a moment");
		doc_clear(&d);
	}
	if (built == PAGES_NOT_FOUND)
		return -1;
	/* A file streamed from disk is not a page to keep. */
	if (rt.kind != ROUTE_SEARCH && r->status == 20 && r->fd == -1)
		cache_put(site->cache, x->version, key, r->status, r->out);
	return 0;
}

static void
gopher_handle(struct server *s, const struct request_ctx *ctx, const char *line,
    size_t len, struct response *r)
{
	struct menu_arg a = { s, &s->sites[0], NULL, -1, ctx->may_wait };
	struct gopher_request rq;
	const char *err;

	r->host = a.site->cfg->name;
	if (line == NULL) {
		log_warn("gopher: %s sent a selector longer than %d bytes", ctx->client,
		    GOPHER_SELECTOR_MAX);
		send_error(r, 59, "Selector too long");
		return;
	}
	if ((err = gopher_parse(line, len, false, &rq)) != NULL) {
		send_error(r, 59, err);
		return;
	}
	if (rq.is_url) {
		send_redirect(r, rq.path);
		return;
	}
	if (serve(&a, &rq, r) == 0)
		return;
	if (rq.encoded && gopher_parse(line, len, true, &rq) == NULL && serve(&a, &rq, r) == 0)
		return;
	send_error(r, 51, "Not found");
}

const struct proto_ops gopher_ops = {
	.refuse = send_error,
	.name = "gopher",
	.max_line = GOPHER_SELECTOR_MAX + 2,
	.frame = gopher_frame,
	.handle = gopher_handle,
};
