#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
connect_loopback(int port, struct reply *r)
{
	struct sockaddr_in sin = { 0 };
	int fd;

	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		snprintf(r->error, sizeof(r->error), "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	r->connected = true;
	return fd;
}

static void
append(struct reply *r, const char *buf, size_t n)
{
	char *grown = realloc(r->data, r->len + n + 1);

	if (grown == NULL)
		abort();
	r->data = grown;
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

static void
reply_init(struct reply *r)
{
	memset(r, 0, sizeof(*r));
	append(r, "", 0);
}

int
gemini_fetch(int port, const struct client_opts *o, const void *req, size_t len,
    struct reply *r)
{
	SSL_CTX *ctx;
	SSL *ssl = NULL;
	char buf[16384];
	long deadline;
	int fd, n, err;

	reply_init(r);
	deadline = now_ms() + (o->timeout_ms ? o->timeout_ms : 5000);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	/* Let tests offer old protocol versions the server must refuse. */
	SSL_CTX_set_security_level(ctx, 0);
	if (o->min_version)
		SSL_CTX_set_min_proto_version(ctx, o->min_version);
	if (o->max_version)
		SSL_CTX_set_max_proto_version(ctx, o->max_version);
	if (o->cert && (SSL_CTX_use_certificate_file(ctx, o->cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1)) {
		snprintf(r->error, sizeof(r->error), "client certificate");
		SSL_CTX_free(ctx);
		return -1;
	}
	if ((fd = connect_loopback(port, r)) == -1) {
		SSL_CTX_free(ctx);
		return -1;
	}
	set_timeout(fd, deadline - now_ms());
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (o->sni)
		SSL_set_tlsext_host_name(ssl, o->sni);
	if (SSL_connect(ssl) != 1) {
		snprintf(r->error, sizeof(r->error), "handshake: %s",
		    ERR_reason_error_string(ERR_get_error()));
		r->reset = true;
		goto done;
	}
	r->handshake = true;
	if (len > 0 && SSL_write(ssl, req, (int)len) <= 0) {
		snprintf(r->error, sizeof(r->error), "write failed");
		r->reset = true;
		goto done;
	}
	for (;;) {
		if (now_ms() >= deadline) {
			r->timed_out = true;
			break;
		}
		set_timeout(fd, deadline - now_ms());
		ERR_clear_error();
		n = SSL_read(ssl, buf, sizeof(buf));
		if (n > 0) {
			append(r, buf, n);
			continue;
		}
		err = SSL_get_error(ssl, n);
		if (err == SSL_ERROR_ZERO_RETURN)
			r->close_notify = true;
		else if ((err == SSL_ERROR_SYSCALL || err == SSL_ERROR_WANT_READ) &&
		    (errno == EAGAIN || errno == EWOULDBLOCK))
			r->timed_out = true;
		else
			r->reset = true;
		break;
	}
done:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	ERR_clear_error();
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
	char buf[16384];
	long deadline;
	ssize_t n;
	int fd;

	reply_init(r);
	deadline = now_ms() + (timeout_ms ? timeout_ms : 5000);
	if ((fd = connect_loopback(port, r)) == -1)
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
			append(r, buf, n);
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
