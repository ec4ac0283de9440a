#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "fcgi.h"
#include "tls.h"
#include "url.h"
#include "utf8.h"

#define META_MAX 1024
#define REQUEST_ID 1

static int
param(struct evbuffer *out, const char *name, const char *value)
{
	return fcgi_param(out, REQUEST_ID, name, value != NULL ? value : "");
}

/* One of the certificate's times, as gmid sends it: "2026-12-05T21:00:00Z". */
static int
cert_time(struct evbuffer *out, const char *name, const ASN1_TIME *t)
{
	char when[32];
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return param(out, name, when);
}

/* What a client certificate tells: who (as gmid: "/CN=name"), by whom, for when. */
static int
cert_params(struct evbuffer *out, SSL *ssl)
{
	char hash[100], subject[META_MAX], issuer[META_MAX];
	X509 *peer = SSL_get0_peer_certificate(ssl);
	int bad = 0;

	if (peer == NULL || tls_peer_fingerprint(ssl, hash, sizeof(hash)) == NULL)
		return 0;
	bad |= param(out, "AUTH_TYPE", "CERTIFICATE");
	bad |= param(out, "TLS_CLIENT_HASH", hash);
	if (X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof(subject)) != NULL) {
		bad |= param(out, "TLS_CLIENT_SUBJECT", subject);
		bad |= param(out, "REMOTE_USER", subject);
	}
	if (X509_NAME_oneline(X509_get_issuer_name(peer), issuer, sizeof(issuer)) != NULL)
		bad |= param(out, "TLS_CLIENT_ISSUER", issuer);
	bad |= cert_time(out, "TLS_CLIENT_NOT_BEFORE", X509_get0_notBefore(peer));
	bad |= cert_time(out, "TLS_CLIENT_NOT_AFTER", X509_get0_notAfter(peer));
	return bad;
}

struct gateway_call *
gateway_call(int site, int app, const struct gateway_request *rq)
{
	char port[16], script[1100], words[URL_MAX + 1];
	const char *info;
	struct gateway_call *c;
	size_t n = strlen(rq->prefix);
	int bad = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL || (c->records = evbuffer_new()) == NULL) {
		free(c);
		return NULL;
	}
	c->site = site;
	c->app = app;
	c->gemini = rq->gemini;
	/* SCRIPT_NAME is the prefix without its '/'; PATH_INFO what follows it. */
	snprintf(script, sizeof(script), "%.*s", (int)(n > 1 && rq->prefix[n - 1] == '/' ?
	    n - 1 : n), rq->prefix);
	info = strlen(rq->path) > strlen(script) ? rq->path + strlen(script) : "";
	snprintf(port, sizeof(port), "%d", rq->port);
	fcgi_begin(c->records, REQUEST_ID);
	bad |= param(c->records, "GATEWAY_INTERFACE", "CGI/1.1");
	bad |= param(c->records, "SERVER_SOFTWARE", "gazette");
	bad |= param(c->records, "SERVER_PROTOCOL", rq->gemini ? "GEMINI" : "GOPHER");
	bad |= param(c->records, "SERVER_NAME", rq->server_name);
	bad |= param(c->records, "SERVER_PORT", port);
	bad |= param(c->records, "REQUEST_METHOD", "");
	bad |= param(c->records, "SCRIPT_NAME", script);
	bad |= param(c->records, "PATH_INFO", info);
	bad |= param(c->records, "QUERY_STRING", rq->query);
	bad |= param(c->records, "GEMINI_URL_PATH", rq->path);
	/* gmid's: the query decoded, unless it is name=value pairs; Gopher's words are decoded. */
	if (rq->query != NULL && (!rq->gemini || (strchr(rq->query, '=') == NULL &&
	    url_decode(rq->query, strlen(rq->query), words, sizeof(words), false) >= 0)))
		bad |= param(c->records, "GEMINI_SEARCH_STRING", rq->gemini ? words : rq->query);
	bad |= param(c->records, "REMOTE_ADDR", rq->client);
	bad |= param(c->records, "REMOTE_HOST", rq->client);
	if (rq->script[0] != '\0')
		bad |= param(c->records, "SCRIPT_FILENAME", rq->script);
	if (rq->url != NULL)
		bad |= param(c->records, "GEMINI_URL", rq->url);
	if (rq->ssl != NULL) {
		bad |= param(c->records, "TLS_VERSION", SSL_get_version(rq->ssl));
		bad |= param(c->records, "TLS_CIPHER", SSL_get_cipher_name(rq->ssl));
		bad |= cert_params(c->records, rq->ssl);
	}
	fcgi_finish(c->records, REQUEST_ID, NULL, 0);
	if (bad || evbuffer_get_length(c->records) > FCGI_PARAMS_MAX) {
		gateway_free(c);
		return NULL;
	}
	return c;
}

void
gateway_free(struct gateway_call *c)
{
	if (c == NULL)
		return;
	evbuffer_free(c->records);
	free(c);
}

long
gateway_gemini_header(const char *data, size_t len)
{
	const char *cr;
	size_t meta, i;

	for (i = 0; i < len && i < 2; i++)
		if (data[i] < '0' || data[i] > '9' || (i == 0 && (data[0] < '1' || data[0] > '6')))
			return -1;
	if (len < 3)
		return 0;
	cr = memchr(data, '\r', len < META_MAX + 4 ? len : META_MAX + 4);
	if (cr == NULL)
		return len >= META_MAX + 4 ? -1 : 0;
	if ((size_t)(cr - data) + 1 >= len)
		return 0;
	if (cr[1] != '\n')
		return -1;
	/* "NN\r\n", or "NN META\r\n". */
	if (cr - data == 2)
		return 4;
	if (data[2] != ' ')
		return -1;
	meta = (size_t)(cr - data) - 3;
	if (meta > META_MAX || !utf8_valid(data + 3, meta))
		return -1;
	for (i = 3; i < (size_t)(cr - data); i++)
		if ((unsigned char)data[i] < 0x20 || data[i] == 0x7f)
			return -1;
	return (long)(cr - data) + 2;
}

size_t
gateway_tail(char *tail, size_t tail_len, const char *data, size_t len)
{
	size_t keep;

	if (len >= GATEWAY_TAIL) {
		memcpy(tail, data + len - GATEWAY_TAIL, GATEWAY_TAIL);
		return GATEWAY_TAIL;
	}
	keep = tail_len + len > GATEWAY_TAIL ? GATEWAY_TAIL - len : tail_len;
	memmove(tail, tail + tail_len - keep, keep);
	memcpy(tail + keep, data, len);
	return keep + len;
}

void
gateway_first_line(const char *data, size_t len, int *tabs, bool *ended)
{
	for (size_t i = 0; i < len && !*ended; i++) {
		*tabs += data[i] == '\t';
		*ended = data[i] == '\n';
	}
}

bool
gateway_gopher_unterminated(const char *tail, size_t n)
{
	if (n == 0 || tail[n - 1] != '\n')
		return false;
	return !((n >= 4 && memcmp(tail + n - 4, "\n.\r\n", 4) == 0) ||
	    (n >= 3 && memcmp(tail + n - 3, "\n.\n", 3) == 0));
}
