/*
 * Gemini requests: frame, check, route, answer. Every answer is one header
 * "NN META\r\n" (META at most 1024 bytes) and, for 20, a body. Only statuses
 * the specification defines are sent.
 */
#include "gemini.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atom.h"
#include "cache.h"
#include "doc.h"
#include "files.h"
#include "gemtext.h"
#include "log.h"
#include "mime.h"
#include "pages.h"
#include "route.h"
#include "search.h"
#include "store.h"
#include "url.h"
#include "utf8.h"

#define META_MAX 1024

enum frame_result
gemini_frame(const char *buf, size_t len, size_t *linelen)
{
	const char *cr;
	size_t scan = len < URL_MAX + 2 ? len : URL_MAX + 2;

	for (cr = buf; (cr = memchr(cr, '\r', scan - (cr - buf))) != NULL; cr++)
		if ((size_t)(cr - buf) + 1 < len && cr[1] == '\n') {
			*linelen = cr - buf;
			return *linelen <= URL_MAX ? FRAME_LINE : FRAME_TOO_LONG;
		}
	/* No CRLF within URL_MAX + 2 bytes: it can only be too long. */
	if (len >= URL_MAX + 2 || (len == URL_MAX + 1 && buf[URL_MAX] != '\r'))
		return FRAME_TOO_LONG;
	return FRAME_MORE;
}

static void
header(struct response *r, int status, const char *meta)
{
	size_t n = strlen(meta);

	if (n > META_MAX)
		n = META_MAX;
	r->status = status;
	evbuffer_add_printf(r->out, "%d %.*s\r\n", status, (int)n, meta);
}

/* "text/gemini; charset=utf-8; lang=en", quoting a list of languages. */
static void
gemini_type(const struct site *site, char *out, size_t size)
{
	const char *lang = site->cfg->lang;

	if (lang[0] == '\0')
		snprintf(out, size, "%s; charset=utf-8", MIME_GEMINI);
	else if (strchr(lang, ',') != NULL)
		snprintf(out, size, "%s; charset=utf-8; lang=\"%s\"", MIME_GEMINI, lang);
	else
		snprintf(out, size, "%s; charset=utf-8; lang=%s", MIME_GEMINI, lang);
}

static void
send_doc(struct response *r, const struct site *site, struct doc *d)
{
	struct evbuffer *body;
	char type[128];

	if ((body = evbuffer_new()) == NULL || gemtext_render(d, body) == -1) {
		if (body)
			evbuffer_free(body);
		header(r, 40, "Temporary failure");
		return;
	}
	gemini_type(site, type, sizeof(type));
	header(r, 20, type);
	evbuffer_add_buffer(r->out, body);
	evbuffer_free(body);
}

static void
send_file(struct response *r, const struct site *site, struct files_entry *e)
{
	const char *type = mime_type(site->mime, e->name, e->fd, &e->st);
	char gemtype[128];

	if (strcmp(type, MIME_GEMINI) == 0) {
		gemini_type(site, gemtype, sizeof(gemtype));
		type = gemtype;
	}
	header(r, 20, type);
	r->fd = e->fd;
	r->file_left = e->st.st_size;
	e->fd = -1;
}

static void
redirect_slash(struct response *r, const struct url *u)
{
	char meta[META_MAX + 2];
	size_t q = u->has_query ? strlen(u->query) : 0;
	long n;

	n = url_encode_path(u->path, strlen(u->path), meta, sizeof(meta) - 1);
	if (n < 0 || (size_t)n + 1 + (u->has_query ? 1 + q : 0) > META_MAX) {
		header(r, 51, "Not found");
		return;
	}
	meta[n++] = '/';
	if (u->has_query) {
		meta[n++] = '?';
		memcpy(meta + n, u->query, q);
		n += q;
	}
	meta[n] = '\0';
	header(r, 31, meta);
}

static void
send_folder(struct response *r, const struct site *site, const struct url *u, int dirfd)
{
	struct files_item *items;
	struct files_entry idx;
	char path[URL_MAX + 16];
	struct doc d;
	size_t n;

	snprintf(path, sizeof(path), "%sindex.gmi", u->path);
	if (files_open(site->rootfd, path, &idx) == FILES_OK && !idx.is_dir) {
		send_file(r, site, &idx);
		return;
	}
	if (idx.fd != -1)
		close(idx.fd);
	if (files_list(site->rootfd, u->path, dirfd, &items, &n) == -1) {
		log_warn("cannot list %s: %m", u->path);
		header(r, 51, "Not found");
		return;
	}
	doc_init(&d);
	pages_folder(&d, u->path, items, n);
	send_doc(r, site, &d);
	doc_clear(&d);
	files_list_free(items, n);
}

/* Serves a file or folder under the root, as the URL map's last resort. */
static void
serve_static(const struct site *site, const struct url *u, struct response *r)
{
	struct files_entry e;

	switch (files_open(site->rootfd, u->path, &e)) {
	case FILES_NOT_FOUND:
		header(r, 51, "Not found");
		break;
	case FILES_NEEDS_SLASH:
		redirect_slash(r, u);
		break;
	case FILES_OK:
		if (e.is_dir)
			send_folder(r, site, u, e.fd);
		else
			send_file(r, site, &e);
		break;
	}
	if (e.fd != -1)
		close(e.fd);
}

/* "gemini://host" or "gemini://host:port": the base of absolute links. */
static void
base_url(const struct server *s, const struct site *site, char *out, size_t size)
{
	if (s->cfg->gemini_port == 1965)
		snprintf(out, size, "gemini://%s", site->cfg->name);
	else
		snprintf(out, size, "gemini://%s:%d", site->cfg->name, s->cfg->gemini_port);
}

static void
send_feed(const struct server *s, const struct site *site, struct response *r)
{
	const struct index *x = store_index(site->store);
	size_t want = (size_t)site->cfg->feed_posts, n = 0, i;
	struct index_meta *metas;
	struct atom_entry *e;
	struct post *full;
	struct atom_feed f;
	bool busy = false;
	char base[300];

	if (want > x->nposts)
		want = x->nposts;
	e = calloc(want + 1, sizeof(*e));
	full = calloc(want + 1, sizeof(*full));
	metas = calloc(want + 1, sizeof(*metas));
	if (e == NULL || full == NULL || metas == NULL) {
		free(e);
		free(full);
		free(metas);
		header(r, 40, "Temporary failure");
		return;
	}
	base_url(s, site, base, sizeof(base));
	f.base = base;
	f.title = site->cfg->title;
	f.description = site->cfg->description;
	f.lang = site->cfg->lang;
	for (n = 0; n < want; n++) {
		const struct index_post *sp = &x->posts[x->nposts - 1 - n];
		e[n].stem = index_str(x, sp->stem);
		e[n].meta = index_post_meta(x, sp, &metas[n]);
		switch (store_load(site->store, sp, &full[n])) {
		case STORE_LOADED:
			e[n].full = &full[n];
			break;
		case STORE_BUSY:
			busy = true;
			break;
		case STORE_GONE:
			break;
		}
	}
	/* A feed reader polls again: better later than with a post half written. */
	if (busy)
		header(r, 40, "A post is being updated; try again in a moment");
	else {
		header(r, 20, "application/atom+xml");
		atom_render(r->out, &f, e, n);
	}
	for (i = 0; i < n; i++)
		if (e[i].full != NULL)
			post_free(&full[i]);
	free(e);
	free(full);
	free(metas);
}

/* /search: asks for words (10), or lists the posts that have them all. */
static void
send_search(const struct server *s, const struct site *site, const struct url *u,
    struct response *r)
{
	char query[URL_MAX + 1];
	struct doc d;

	if (!u->has_query || u->query[0] == '\0') {
		header(r, 10, "Search posts for these words");
		return;
	}
	if (url_decode(u->query, strlen(u->query), query, sizeof(query), false) < 0 ||
	    !utf8_valid(query, strlen(query))) {
		header(r, 59, "bad query");
		return;
	}
	doc_init(&d);
	if (pages_search_words(&d, site->store, query, (size_t)s->cfg->search_results,
	    s->cfg->search_time_ms) == -1)
		header(r, 10, "Search posts for these words (letters or digits)");
	else
		send_doc(r, site, &d);
	doc_clear(&d);
}

/*
 * The URL map: generated pages first, then files under the root. Only a
 * generated page looks at the post index, which the indexer keeps in step
 * with the disk. A generated page is rendered once per index version, then
 * sent from the cache.
 */
static void
route(const struct server *s, const struct site *site, const struct request_ctx *ctx,
    const struct url *u, struct response *r)
{
	struct pages_site ps = { site->cfg->title, site->cfg->description,
	    site->cfg->home_posts };
	const struct index *x;
	char key[URL_MAX + 4];
	struct route rt;
	struct doc d;
	int status;

	route_match(u->path, &rt);
	if (rt.kind == ROUTE_STATIC || rt.kind == ROUTE_CAPS) {
		serve_static(site, u, r);
		return;
	}
	if (rt.kind == ROUTE_NOT_FOUND) {
		header(r, 51, "Not found");
		return;
	}
	if (rt.needs_slash) {
		redirect_slash(r, u);
		return;
	}
	if (ctx->may_wait && store_behind(site->store, &r->index_ticket)) {
		r->wait_index = true;
		return;
	}
	x = store_index(site->store);
	if (rt.kind == ROUTE_SEARCH) {
		send_search(s, site, u, r);
		return;
	}
	/* A post's file, as it is: only the one the index knows, never one half written. */
	if (rt.kind == ROUTE_POST_TEXT) {
		switch (store_check(site->store, rt.name)) {
		case STORE_LOADED:
			serve_static(site, u, r);
			break;
		case STORE_GONE:
			header(r, 51, "Not found");
			break;
		case STORE_BUSY:
			header(r, 40, "This post is being updated; try again in a moment");
			break;
		}
		return;
	}
	/* The query plays no part in these pages: the path alone is the key. */
	snprintf(key, sizeof(key), "g%s", u->path);
	if ((status = cache_send(site->cache, x->version, key, r->out)) >= 0) {
		r->status = status;
		return;
	}
	if (rt.kind == ROUTE_FEED)
		send_feed(s, site, r);
	else {
		doc_init(&d);
		switch (pages_build(&d, &ps, site->store, &rt)) {
		case PAGES_OK:
			send_doc(r, site, &d);
			break;
		case PAGES_NOT_FOUND:
			header(r, 51, "Not found");
			break;
		case PAGES_BUSY:
			header(r, 40, "This post is being updated; try again in a moment");
			break;
		}
		doc_clear(&d);
	}
	if (r->status == 20)
		cache_put(site->cache, x->version, key, r->status, r->out);
}

/*
 * Which site answers: the URL's host must be served. An IP literal (for which
 * clients send no SNI) goes to the host SNI named, else the first host. A
 * name that differs from SNI is refused: the TLS session belongs to the other.
 */
static const struct site *
pick_site(const struct server *s, const struct request_ctx *ctx, const struct url *u)
{
	const struct site *site;

	if (u->host_kind != URL_HOST_NAME) {
		if (ctx->sni != NULL && (site = server_find_site(s, ctx->sni)) != NULL)
			return site;
		return &s->sites[0];
	}
	if ((site = server_find_site(s, u->host)) == NULL)
		return NULL;
	if (ctx->sni != NULL && server_find_site(s, ctx->sni) != site)
		return NULL;
	return site;
}

int
gemini_check(const struct server *s, const struct request_ctx *ctx, const char *line,
    size_t len, struct url *u, const struct site **site, const char **meta)
{
	const char *err;
	int port;

	*site = NULL;
	if (line == NULL) {
		*meta = "Request too long";
		return 59;
	}
	if (memchr(line, '\0', len) != NULL) {
		*meta = "NUL byte in request";
		return 59;
	}
	if (!utf8_valid(line, len)) {
		*meta = "Request is not valid UTF-8";
		return 59;
	}
	if ((err = url_parse(line, len, u)) != NULL) {
		*meta = err;
		return 59;
	}
	if (strcmp(u->scheme, "gemini") != 0) {
		*meta = "Proxy request refused";
		return 53;
	}
	if (!u->has_authority) {
		*meta = "missing host";
		return 59;
	}
	if ((*site = pick_site(s, ctx, u)) == NULL) {
		*meta = "Proxy request refused";
		return 53;
	}
	port = u->port == -1 ? 1965 : u->port;
	if (port != s->cfg->gemini_port) {
		*meta = "Proxy request refused";
		return 53;
	}
	return 0;
}

/*
 * require_cert: a path under a protected prefix needs a client certificate
 * (60), a valid one (62, which comes first: a listed but expired certificate
 * is to be renewed, not swapped), and one of the prefix's fingerprints when
 * it lists some (61). Returns 0 when the request may be routed.
 */
static int
check_client_cert(const struct site *site, const struct request_ctx *ctx,
    const struct url *u, const char **meta)
{
	const struct config_cert_path *p;
	unsigned char sha256[CONFIG_FP_SIZE];

	if ((p = config_cert_path(site->cfg, u->path)) == NULL)
		return 0;
	switch (tls_peer(ctx->ssl, sha256)) {
	case TLS_PEER_NONE:
		*meta = "Client certificate required";
		return 60;
	case TLS_PEER_INVALID:
		*meta = "Certificate not valid";
		return 62;
	case TLS_PEER_VALID:
		break;
	}
	if (!config_cert_allowed(site->cfg, p, sha256)) {
		*meta = "Certificate not authorised";
		return 61;
	}
	return 0;
}

static void
gemini_handle(struct server *s, const struct request_ctx *ctx, const char *line,
    size_t len, struct response *r)
{
	const struct site *site;
	const char *meta;
	struct url u;
	int status;

	status = gemini_check(s, ctx, line, len, &u, &site, &meta);
	if (status == 0)
		status = check_client_cert(site, ctx, &u, &meta);
	r->host = site ? site->cfg->name : NULL;
	if (status != 0) {
		header(r, status, meta);
		return;
	}
	route(s, site, ctx, &u, r);
}

static void
gemini_refuse(struct response *r, int status, const char *message)
{
	header(r, status, message);
}

const struct proto_ops gemini_ops = {
	.refuse = gemini_refuse,
	.name = "gemini",
	.max_line = URL_MAX + 2,
	.frame = gemini_frame,
	.handle = gemini_handle,
};
