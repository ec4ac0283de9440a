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

#include <openssl/crypto.h>

#include "atom.h"
#include "doc.h"
#include "gateway.h"
#include "gemtext.h"
#include "mime.h"
#include "resolve.h"
#include "store.h"
#include "titan.h"
#include "tls.h"
#include "url.h"
#include "utf8.h"

#ifdef GAZETTE_TEST_HOOKS
#include "hooks/attempt.h"
#endif

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
send_file(struct response *r, const struct site *site, struct answer *a)
{
	const char *type = a->type;
	char gemtype[128];

	if (strcmp(type, MIME_GEMINI) == 0) {
		gemini_type(site, gemtype, sizeof(gemtype));
		type = gemtype;
	}
	header(r, 20, type);
	r->fd = a->file.fd;
	r->file_left = a->file.st.st_size;
	a->file.fd = -1;
}

/* 31 to the folder's path with its '/', the query kept. */
static void
redirect_slash(struct response *r, const char *to, const struct url *u)
{
	char meta[META_MAX + 2];
	size_t q = u->has_query ? strlen(u->query) : 0;
	long n;

	n = url_encode_path(to, strlen(to), meta, sizeof(meta) - 1);
	if (n < 0 || (size_t)n + (u->has_query ? 1 + q : 0) > META_MAX) {
		header(r, 51, "Not found");
		return;
	}
	if (u->has_query) {
		meta[n++] = '?';
		memcpy(meta + n, u->query, q);
		n += q;
	}
	meta[n] = '\0';
	header(r, 31, meta);
}

/* What Gemini serves of the URL map (resolve.h). */
static const struct resolve_proto gemini_proto = {
	.cache_prefix = 'g',
	.post_pages = true,
	.feed = true,
	.folder_index = true,
	.redirects = true,
	.asks_input = true,
	.query_encoded = true,
	.utf8_names = true,
	.titan = true,
};

/* Whether the request comes with a certificate of one of site's authors (titan.h). */
static enum resolve_author
author(const struct site *site, const struct request_ctx *ctx)
{
	unsigned char sha256[CONFIG_FP_SIZE];

	if (!site->cfg->titan)
		return AUTHOR_NO_CERT;
	switch (tls_peer(ctx->ssl, sha256)) {
	case TLS_PEER_NONE:
		return AUTHOR_NO_CERT;
	case TLS_PEER_VALID:
		return config_is_author(site->cfg, sha256) ? AUTHOR_YES : AUTHOR_OTHER;
	case TLS_PEER_INVALID:
		break;
	}
	return AUTHOR_OTHER;
}

/* A request for a FastCGI application: the call the connection will make. */
static void
fastcgi(const struct server *s, const struct site *site, const struct request_ctx *ctx,
    const struct url *u, int app, struct response *r)
{
	const struct config_fastcgi *f = &site->cfg->fastcgi[app];
	char url[URL_MAX * 2 + 300];
	struct gateway_request g = { true, site->cfg->name, s->cfg->gemini_port, f->prefix,
	    f->script, u->path, u->has_query ? u->query : NULL, url, ctx->client, ctx->ssl };

	snprintf(url, sizeof(url), "gemini://%s:%d%s%s%s", site->cfg->name,
	    s->cfg->gemini_port, u->path, u->has_query ? "?" : "", u->has_query ? u->query : "");
	if ((r->fcgi = gateway_call((int)(site - s->sites), app, &g)) == NULL)
		header(r, 42, "CGI error");
}

/* Renders what the URL names (resolve.c) as a Gemini response. */
static void
route(const struct server *s, const struct site *site, const struct request_ctx *ctx,
    const struct url *u, struct response *r)
{
	struct resolve_request rq = { s, site, &gemini_proto, u->path,
	    u->has_query ? u->query : NULL, ctx->may_wait, &r->index_ticket, r->out,
	    author(site, ctx) };
	struct answer a;

	resolve(&rq, &a);
	switch (a.kind) {
	case ANSWER_CACHED:
		r->status = a.status;
		break;
	case ANSWER_DOC:
		send_doc(r, site, &a.doc);
		break;
	case ANSWER_FEED:
		header(r, 20, "application/atom+xml");
		atom_render(r->out, &a.feed, a.entries, a.nentries);
		break;
	case ANSWER_FILE:
		send_file(r, site, &a);
		break;
	case ANSWER_REDIRECT:
		redirect_slash(r, a.path, u);
		break;
	case ANSWER_INPUT:
		header(r, 10, a.message);
		break;
	case ANSWER_STATUS:
		header(r, a.status, a.message);
		break;
	case ANSWER_WAIT:
		r->wait = a.wait;
		break;
	case ANSWER_FASTCGI:
		fastcgi(s, site, ctx, u, a.status, r);
		break;
	case ANSWER_POST:
	case ANSWER_GOPHERMAP:
	case ANSWER_TEXT:
		/* Not what gemini_proto asks for. */
		header(r, 51, "Not found");
		break;
	}
	resolve_keep(&a, r->status, r->out);
	answer_clear(&a);
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
	if (strcmp(u->scheme, "gemini") != 0 && strcmp(u->scheme, "titan") != 0) {
		*meta = "Proxy request refused";
		return 53;
	}
	if (!u->has_authority) {
		*meta = "missing host";
		return 59;
	}
	/* Titan only where the site takes uploads: elsewhere a scheme not served here. */
	if ((*site = pick_site(s, ctx, u)) == NULL ||
	    (strcmp(u->scheme, "titan") == 0 && !(*site)->cfg->titan)) {
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

/*
 * A Titan upload (titan.h), checked before a byte of its body is read: the
 * parameters, the certificate is an author's, the token, the path (a post
 * in /posts/, or a file in a folder of titan_files), the size, a post's
 * type. 0 with up filled in, or the status to refuse it with and *meta.
 */
static int
titan_accept(const struct site *site, const struct request_ctx *ctx, const struct url *u,
    struct titan_upload *up, char *meta, size_t size)
{
	const struct host_config *h = site->cfg;
	char folders[TITAN_FOLDERS_MAX + 1][TITAN_FOLDER_MAX];
	unsigned char sha256[CONFIG_FP_SIZE];
	struct titan_params p;
	int nfolders, f, max;
	const char *err;
	size_t pathlen, i, n;

	if ((err = titan_parse(u->path, &pathlen, &p)) != NULL) {
		snprintf(meta, size, "%s", err);
		return 59;
	}
	snprintf(up->path, sizeof(up->path), "%.*s", (int)pathlen, u->path);
	up->size = p.size;
	switch (tls_peer(ctx->ssl, sha256)) {
	case TLS_PEER_NONE:
		snprintf(meta, size, "Client certificate required to upload");
		return 60;
	case TLS_PEER_INVALID:
		snprintf(meta, size, "Certificate not valid");
		return 62;
	case TLS_PEER_VALID:
		break;
	}
	for (i = 0; i < CONFIG_FP_SIZE; i++)
		snprintf(up->author + 2 * i, 3, "%02x", sha256[i]);
	if (!config_is_author(h, sha256)) {
		snprintf(meta, size, "Certificate not authorised to upload");
		return 61;
	}
	/* Compared in constant time: how much of a guess is right must not show. */
	if (h->titan_token[0] != '\0' && (strlen(p.token) != strlen(h->titan_token) ||
	    CRYPTO_memcmp(p.token, h->titan_token, strlen(p.token)) != 0)) {
		snprintf(meta, size, "%s", p.has_token ? "Wrong token" : "Token required");
		return 61;
	}
	/* A file right inside posts/ or a folder of titan_files (checked at load). */
	nfolders = titan_folders(h->titan_files, folders, &err);
	for (f = 0; f < nfolders; f++) {
		n = strlen(folders[f]);
		if (pathlen > n + 2 && strncmp(u->path + 1, folders[f], n) == 0 &&
		    u->path[n + 1] == '/' && memchr(u->path + n + 2, '/', pathlen - n - 2) == NULL)
			break;
	}
	if (f >= nfolders) {
		snprintf(meta, size, "%s", nfolders > 1 ? "Uploads go to /posts/NAME.txt or a "
		    "folder titan_files lists" : "Only posts may be uploaded, as /posts/NAME.txt");
		return 59;
	}
	up->folder = f;
	/* A post is read up to max_post_size: more would be published and not shown. */
	max = f == 0 && h->max_post_size < h->titan_max_size ? h->max_post_size :
	    h->titan_max_size;
	if (p.size > max) {
		snprintf(meta, size, "Upload too large: at most %d bytes", max);
		return 59;
	}
	if (f == 0 && p.mime[0] != '\0' && strncmp(p.mime, "text/", 5) != 0) {
		snprintf(meta, size, "A post is text: mime=text/plain or text/gemini");
		return 59;
	}
	if (snprintf(up->name, sizeof(up->name), "%s", up->path + strlen(folders[f]) + 2) >=
	    (int)sizeof(up->name) || (f == 0 ? !titan_post_name(up->name) :
	    !titan_file_name(up->name))) {
		snprintf(meta, size, "%s", f == 0 ? "A post's name is up to 200 letters, digits, "
		    "'-', '_' and '.', ending in .txt" : "A file's name is up to 200 letters, "
		    "digits, '-', '_' and '.', not starting with '.'");
		return 59;
	}
	return 0;
}

/* Takes a Titan upload (r->upload: its body comes next), or refuses it. */
static void
titan_request(const struct server *s, const struct site *site, const struct request_ctx *ctx,
    const struct url *u, struct response *r)
{
	struct titan_upload *up;
	char meta[128];
	int status;

	if ((up = calloc(1, sizeof(*up))) == NULL) {
		header(r, 40, "Temporary failure");
		return;
	}
	up->site = (int)(site - s->sites);
	if ((status = titan_accept(site, ctx, u, up, meta, sizeof(meta))) != 0) {
		titan_log(site->cfg->name, up, status, meta);
		free(up);
		header(r, status, meta);
		return;
	}
	r->upload = up;
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
	if (strcmp(u.scheme, "titan") == 0) {
		titan_request(s, site, ctx, &u, r);
		return;
	}
#ifdef GAZETTE_TEST_HOOKS
	if (hooks_attempt(s, site, u.path, u.has_query ? u.query : NULL, r->out)) {
		r->status = 20;
		return;
	}
#endif
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
	.tls_name = "gemini",
	.max_line = URL_MAX + 2,
	.frame = gemini_frame,
	.handle = gemini_handle,
};
