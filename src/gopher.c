/*
 * Gopher requests: frame, parse, route, answer. The URL map is Gemini's
 * (route_match), the pages are the same documents rendered as menus, posts
 * are served as wrapped text, and everything else comes from the content
 * root of the first configured host, which is the one Gopher serves (Gopher
 * has no Host header; under TLS, SNI only picks the certificate).
 *
 * Answers follow RFC 1436: menus end with a lone "." line; generated text
 * has CRLF line ends. Type-0 text ends at close, as Gophernicus and geomyidae
 * send it, since clients show a terminator as text; gopher_text_terminator =
 * yes adds the lone "." line and dot-stuffing (static text files included, by
 * a filter while they stream, so their size does not matter). Anything else
 * is sent raw until close. Errors are one type-3 line in a menu. Gopher has no
 * status codes, so the access log shows the Gemini equivalent (20 served,
 * 51 not found, 59 bad selector, 40 temporary failure).
 *
 * Selectors are the Gemini paths, raw bytes: "/archive/2020/01/",
 * "/posts/NAME.txt". A selector that names nothing raw but holds '%' is tried
 * once more percent-decoded, for clients that send URL-encoded selectors and
 * for the names our menus encode (beyond ASCII: lynx cuts a selector at the
 * first such byte; control characters; '?').
 */
#include "gopher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "doc.h"
#include "files.h"
#include "gateway.h"
#include "gophermap.h"
#include "log.h"
#include "mime.h"
#include "resolve.h"
#include "text.h"
#include "url.h"
#include "utf8.h"

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

static bool
has_controls(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
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
	/*
	 * curl sends gopher://host/7/search?words as "/search?words"; our menus
	 * percent-encode words that hold '%' or bytes beyond ASCII.
	 */
	if (!rq->has_words && (q = memchr(sel, '?', sel_len)) != NULL) {
		rq->has_words = true;
		n = sel_len - (q + 1 - sel);
		memcpy(rq->words, q + 1, n);
		rq->words[n] = '\0';
		sel_len = q - sel;
		if ((d = url_decode(q + 1, n, dec, sizeof(dec), false)) >= 0 &&
		    !has_controls(dec, (size_t)d))
			memcpy(rq->words, dec, (size_t)d + 1);
	}
	rq->encoded = !decode && memchr(sel, '%', sel_len) != NULL;
	if (decode) {
		if ((d = url_decode(sel, sel_len, dec, sizeof(dec), false)) < 0)
			return "bad percent-escape in selector";
		sel = dec;
		sel_len = (size_t)d;
	}
	if (url_path_resolve(sel, sel_len, rq->path, sizeof(rq->path)) < 0)
		return "selector climbs above the root";
	return NULL;
}

void
gopher_text(unsigned *state, const char *in, size_t len, struct evbuffer *out)
{
	unsigned strict = *state & GOPHER_TEXT_TERMINATOR;
	size_t i = 0, run;

	if (in == NULL) {
		if ((*state & TEXT_MIDLINE) && strict)
			evbuffer_add(out, "\r\n", 2);
		if (strict)
			evbuffer_add(out, ".\r\n", 3);
		*state = strict;
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
			*state = strict | (in[i] == '\r' ? TEXT_AFTER_CR : 0);
			i++;
			continue;
		}
		if (!(*state & TEXT_MIDLINE) && in[i] == '.' && strict)
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

/* GOPHER_TEXT_TERMINATOR when the configuration asks for RFC 1436's text end. */
static unsigned
text_mode(const struct server *srv)
{
	return srv->cfg->gopher_text_terminator ? GOPHER_TEXT_TERMINATOR : 0;
}

static void
send_text(const struct server *srv, struct response *r, struct evbuffer *text)
{
	unsigned state = text_mode(srv);
	size_t n = evbuffer_get_length(text);

	gopher_text(&state, (const char *)evbuffer_pullup(text, -1), n, r->out);
	gopher_text(&state, NULL, 0, r->out);
	r->status = 20;
}

/* What a menu is rendered for: the server and the site. */
struct menu_arg {
	const struct server *srv;
	const struct site *site;
	bool may_wait;		/* for a fresher post index (request_ctx) */
	const char *client;	/* the client's address (request_ctx) */
};

static void
menu_ctx(const struct menu_arg *a, struct gophermap_ctx *gc)
{
	const struct config *cfg = a->srv->cfg;

	gc->host = cfg->gopher_host[0] != '\0' ? cfg->gopher_host : a->site->cfg->name;
	gc->port = cfg->gopher_public_port != 0 ? cfg->gopher_public_port : cfg->gopher_port;
}

static void
send_menu(const struct menu_arg *a, const struct doc *d, struct response *r)
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

static void
send_gophermap(const struct menu_arg *a, const struct answer *an, struct response *r)
{
	struct gophermap_ctx gc;

	menu_ctx(a, &gc);
	gophermap_parse(an->map, an->map_len, an->path, &gc, an->has_doc ? &an->doc : NULL,
	    r->out);
	gophermap_end(r->out);
	r->status = 20;
}

/* The post as wrapped text. */
static void
send_post(const struct server *srv, const struct post *p, struct response *r)
{
	struct evbuffer *text;

	if ((text = evbuffer_new()) == NULL || text_post(p, text) == -1)
		send_error(r, 40, "Temporary failure");
	else
		send_text(srv, r, text);
	if (text != NULL)
		evbuffer_free(text);
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

/* What Gopher serves of the URL map (resolve.h). */
static const struct resolve_proto gopher_proto = {
	.cache_prefix = 'o',
	.post_text = true,
	.caps = true,
	.gophermaps = true,
	.item_types = true,
};

/* A selector for a FastCGI application: the call the connection will make. */
static void
fastcgi(const struct menu_arg *a, const struct gopher_request *rq, int app,
    struct response *r)
{
	const struct config_fastcgi *f = &a->site->cfg->fastcgi[app];
	const struct config *cfg = a->srv->cfg;
	struct gateway_request g = { false, a->site->cfg->name, cfg->gopher_port, f->prefix,
	    f->script, rq->path, rq->has_words ? rq->words : NULL, NULL, a->client, NULL };

	if ((r->fcgi = gateway_call((int)(a->site - a->srv->sites), app, &g)) == NULL)
		send_error(r, 42, "CGI error");
}

/*
 * Renders what the selector names (resolve.c) as a Gopher answer. Returns
 * -1, having sent nothing, when it names nothing (the caller may try the
 * selector percent-decoded).
 */
static int
serve(const struct menu_arg *a, const struct gopher_request *rq, struct response *r)
{
	struct resolve_request req = { a->srv, a->site, &gopher_proto, rq->path,
	    rq->has_words ? rq->words : NULL, a->may_wait, &r->index_ticket, r->out,
	    AUTHOR_NO_CERT };
	struct answer an;
	int rc = 0;

	/* Gopher has no client certificates: what needs one names nothing here. */
	if (config_cert_path(a->site->cfg, rq->path) != NULL)
		return -1;
	resolve(&req, &an);
	switch (an.kind) {
	case ANSWER_CACHED:
		r->status = an.status;
		break;
	case ANSWER_DOC:
		send_menu(a, &an.doc, r);
		break;
	case ANSWER_POST:
		send_post(a->srv, &an.post, r);
		break;
	case ANSWER_FILE:
		/* Text is sent as it is on disk unless it needs the terminator. */
		if (an.item == '0' && text_mode(a->srv) != 0) {
			r->filter = gopher_text;
			r->filter_state = text_mode(a->srv);
		}
		r->status = 20;
		r->fd = an.file.fd;
		r->file_left = an.file.st.st_size;
		an.file.fd = -1;
		break;
	case ANSWER_GOPHERMAP:
		send_gophermap(a, &an, r);
		break;
	case ANSWER_TEXT:
		send_text(a->srv, r, an.text);
		break;
	case ANSWER_STATUS:
		if (an.status == 51)
			rc = -1;
		else
			send_error(r, an.status, an.message);
		break;
	case ANSWER_WAIT:
		r->wait = an.wait;
		break;
	case ANSWER_FASTCGI:
		fastcgi(a, rq, an.status, r);
		break;
	case ANSWER_FEED:
	case ANSWER_REDIRECT:
	case ANSWER_INPUT:
		/* Not what gopher_proto asks for. */
		rc = -1;
		break;
	}
	resolve_keep(&an, r->status, r->out);
	answer_clear(&an);
	return rc;
}

static void
gopher_handle(struct server *s, const struct request_ctx *ctx, const char *line,
    size_t len, struct response *r)
{
	struct menu_arg a = { s, &s->sites[0], ctx->may_wait, ctx->client };
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
	.tls_name = "gophers",
	.max_line = GOPHER_SELECTOR_MAX + 2,
	.frame = gopher_frame,
	.handle = gopher_handle,
};
