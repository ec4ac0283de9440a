#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "load.h"

/* Connects to 127.0.0.1:port, from source when given; rcvbuf > 0 shrinks its window. */
static int
connect_loopback(int port, const char *source, int rcvbuf, struct reply *r)
{
	struct sockaddr_in sin = { 0 }, from = { 0 };
	int fd;

	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	from.sin_family = AF_INET;
	if (source != NULL && (inet_pton(AF_INET, source, &from.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&from, sizeof(from)) == -1)) {
		snprintf(r->error, sizeof(r->error), "bind %s: %s", source, strerror(errno));
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		snprintf(r->error, sizeof(r->error), "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	r->connected = true;
	return fd;
}

void
reply_append(struct reply *r, const void *buf, size_t n)
{
	size_t cap = r->cap ? r->cap : 256;
	char *grown;

	/* Doubling: a 16 MiB body costs a few copies, not one per chunk. */
	while (cap < r->len + n + 1)
		cap *= 2;
	if (cap != r->cap) {
		if ((grown = realloc(r->data, cap)) == NULL)
			abort();
		r->data = grown;
		r->cap = cap;
	}
	memcpy(r->data + r->len, buf, n);
	r->len += n;
	r->data[r->len] = '\0';
}

static void
set_timeout(int fd, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ms < 1)
		tv.tv_usec = 1000;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void
reply_init(struct reply *r)
{
	memset(r, 0, sizeof(*r));
	reply_append(r, "", 0);
}

struct gemini_conn {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	long idle_ms;		/* how long the server may stay silent */
	long deadline;		/* moves on with every byte received */
};

void
gemini_disconnect(struct gemini_conn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd != -1)
		close(c->fd);
	free(c);
	ERR_clear_error();
}

/* "AB:CD:..." of the certificate the server presented. */
static void
peer_fingerprint(SSL *ssl, char *out, size_t size)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n, i;

	out[0] = '\0';
	if (x == NULL || !X509_digest(x, EVP_sha256(), md, &n) || size < 3 * n)
		return;
	for (i = 0; i < n; i++)
		snprintf(out + 3 * i, size - 3 * i, "%02X%s", md[i], i + 1 < n ? ":" : "");
}

struct gemini_conn *
gemini_connect(int port, const struct client_opts *o, struct reply *r)
{
	struct gemini_conn *c;

	reply_init(r);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		abort();
	c->fd = -1;
	c->idle_ms = o->timeout_ms ? o->timeout_ms : 5000;
	c->deadline = now_ms() + c->idle_ms;
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	/* Let tests offer old protocol versions the server must refuse. */
	SSL_CTX_set_security_level(c->ctx, 0);
	if (o->min_version)
		SSL_CTX_set_min_proto_version(c->ctx, o->min_version);
	if (o->max_version)
		SSL_CTX_set_max_proto_version(c->ctx, o->max_version);
	if (o->cert && (SSL_CTX_use_certificate_file(c->ctx, o->cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(c->ctx, o->key, SSL_FILETYPE_PEM) != 1)) {
		snprintf(r->error, sizeof(r->error), "client certificate");
		goto fail;
	}
	if ((c->fd = connect_loopback(port, o->source, o->rcvbuf, r)) == -1)
		goto fail;
	set_timeout(c->fd, c->deadline - now_ms());
	if (o->prefix_len > 0 &&
	    write(c->fd, o->prefix, o->prefix_len) != (ssize_t)o->prefix_len) {
		snprintf(r->error, sizeof(r->error), "prefix: %s", strerror(errno));
		goto fail;
	}
	c->ssl = SSL_new(c->ctx);
	SSL_set_fd(c->ssl, c->fd);
	if (o->sni)
		SSL_set_tlsext_host_name(c->ssl, o->sni);
	if (o->session && *o->session)
		SSL_set_session(c->ssl, *o->session);
	if (SSL_connect(c->ssl) != 1) {
		snprintf(r->error, sizeof(r->error), "handshake: %s",
		    ERR_reason_error_string(ERR_get_error()));
		r->reset = true;
		goto fail;
	}
	r->handshake = true;
	r->version = SSL_version(c->ssl);
	r->resumed = SSL_session_reused(c->ssl);
	peer_fingerprint(c->ssl, r->fingerprint, sizeof(r->fingerprint));
	return c;
fail:
	gemini_disconnect(c);
	return NULL;
}

int
gemini_send(struct gemini_conn *c, const void *req, size_t len, struct reply *r)
{
	if (len > 0 && SSL_write(c->ssl, req, (int)len) <= 0) {
		snprintf(r->error, sizeof(r->error), "write failed");
		r->reset = true;
		return -1;
	}
	return 0;
}

void
gemini_read(struct gemini_conn *c, size_t want, struct reply *r)
{
	char buf[16384];
	int n, err;

	while (r->len < want && !r->close_notify && !r->timed_out && !r->reset) {
		if (now_ms() >= c->deadline) {
			r->timed_out = true;
			break;
		}
		set_timeout(c->fd, c->deadline - now_ms());
		ERR_clear_error();
		n = SSL_read(c->ssl, buf, sizeof(buf));
		if (n > 0) {
			reply_append(r, buf, n);
			c->deadline = now_ms() + c->idle_ms;
			continue;
		}
		err = SSL_get_error(c->ssl, n);
		if (err == SSL_ERROR_ZERO_RETURN)
			r->close_notify = true;
		else if ((err == SSL_ERROR_SYSCALL || err == SSL_ERROR_WANT_READ) &&
		    (errno == EAGAIN || errno == EWOULDBLOCK))
			r->timed_out = true;
		else
			r->reset = true;
	}
}

int
gemini_fetch(int port, const struct client_opts *o, const void *req, size_t len,
    struct reply *r)
{
	struct gemini_conn *c;

	if ((c = gemini_connect(port, o, r)) == NULL)
		return r->connected ? 0 : -1;
	if (gemini_send(c, req, len, r) == 0)
		gemini_read(c, SIZE_MAX, r);
	/*
	 * TLS 1.3 tickets arrive after the handshake, so the session is taken
	 * last; and copied, since SSL_free marks the connection's own one not
	 * resumable (this client sends no close_notify).
	 */
	if (o->session) {
		SSL_SESSION_free(*o->session);
		*o->session = SSL_SESSION_dup(SSL_get0_session(c->ssl));
	}
	gemini_disconnect(c);
	return 0;
}

int
gemini_get(int port, const char *req, struct reply *r)
{
	struct client_opts o = { .sni = "localhost" };

	return gemini_fetch(port, &o, req, strlen(req), r);
}

int
tcp_fetch(int port, const void *req, size_t len, int timeout_ms, struct reply *r)
{
	return tcp_fetch_from(port, NULL, req, len, timeout_ms, r);
}

int
tcp_fetch_from(int port, const char *source, const void *req, size_t len, int timeout_ms,
    struct reply *r)
{
	char buf[16384];
	long idle = timeout_ms ? timeout_ms : 5000, deadline;
	ssize_t n;
	int fd;

	reply_init(r);
	deadline = now_ms() + idle;
	if ((fd = connect_loopback(port, source, 0, r)) == -1)
		return -1;
	set_timeout(fd, deadline - now_ms());
	if (len > 0 && write(fd, req, len) != (ssize_t)len)
		r->reset = true;
	for (;;) {
		if (now_ms() >= deadline) {
			r->timed_out = true;
			break;
		}
		set_timeout(fd, deadline - now_ms());
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			reply_append(r, buf, n);
			deadline = now_ms() + idle;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			r->timed_out = true;
		else if (n == -1)
			r->reset = true;
		break;
	}
	close(fd);
	return 0;
}

void
reply_free(struct reply *r)
{
	free(r->data);
	memset(r, 0, sizeof(*r));
}

const char *
reply_header(const struct reply *r, char *buf, size_t size)
{
	const char *crlf = r->data ? strstr(r->data, "\r\n") : NULL;
	size_t n = crlf ? (size_t)(crlf - r->data) : 0;

	if (n >= size)
		n = size - 1;
	memcpy(buf, r->data ? r->data : "", n);
	buf[n] = '\0';
	return buf;
}

const char *
reply_body(const struct reply *r, size_t *len)
{
	const char *crlf = r->data ? strstr(r->data, "\r\n") : NULL;

	if (crlf == NULL) {
		*len = 0;
		return "";
	}
	*len = r->len - (crlf + 2 - r->data);
	return crlf + 2;
}
