/*
 * The connection state machine:
 *
 *   READ ──line──> WRITE ──all sent──> SHUTDOWN ──close_notify sent──> LINGER ──> close
 *
 * conn_step() runs the current state until it has to wait; it is entered from
 * the socket event and once right after accept. Every operation on the socket
 * goes through conn_read/conn_write, which hide TLS versus plain TCP and turn
 * "would block" (EAGAIN, SSL_ERROR_WANT_READ/WRITE) into an armed event: that
 * mapping lives in one place, io_tls_result().
 *
 * Timers: READ has one deadline for handshake plus request (request_timeout,
 * from accept); WRITE and SHUTDOWN close a connection that makes no progress
 * for write_timeout; LINGER waits briefly for the client's own close, so that
 * unread input does not make the kernel send a reset that destroys the reply.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "gemini.h"
#include "gopher.h"
#include "quota.h"
#include "log.h"
#include "tls.h"
#include "url.h"

#define WRITE_CHUNK (16 * 1024)		/* one full TLS record */
#define FILE_CHUNK (32 * 1024)
#define LINGER_MS 2000
#define LINGER_MAX_BYTES (64 * 1024)
#define READ_BUF (URL_MAX + 2)

enum { IO_WAIT = -1, IO_EOF = -2, IO_ERR = -3 };

enum conn_state {
	CONN_READ,
	CONN_WRITE,
	CONN_SHUTDOWN,
	CONN_LINGER,
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct server *srv;
	const struct proto_ops *ops;
	int fd;
	SSL *ssl;
	bool tls_failed;	/* a fatal TLS error: no close_notify possible */
	bool sniffed;		/* Gopher: the first byte was looked at for TLS */
	enum conn_state state;
	struct event ev;	/* the socket, armed for read or write */
	struct event timer;
	struct timespec start;
	char client[INET6_ADDRSTRLEN];
	char sni[256];
	char buf[READ_BUF];
	size_t len;
	size_t line_len;	/* the request as logged */
	bool answered;
	bool logged;
	long quota_slot;	/* the client's entry in the quota table, or -1 */
	bool over_conns;	/* opened beyond the client's share of connections */
	struct response resp;
	unsigned long long sent;
	unsigned long long lingered;
	const char *note;	/* why it ended early, for the log */
	char tls_note[96];
};

static void conn_step(struct conn *c);
static void conn_close(struct conn *c);

static const struct proto_ops *const protos[] = {
	[PROTO_GEMINI] = &gemini_ops,
	[PROTO_GOPHER] = &gopher_ops,
};

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_step(arg);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state != CONN_LINGER)
		c->note = c->state == CONN_READ ? "timeout" : "stalled";
	conn_close(c);
}

static void
arm_timer(struct conn *c, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(&c->timer, &tv);
}

/* Waits for the socket to become readable or writable, then conn_step. */
static void
conn_wait(struct conn *c, short what)
{
	event_del(&c->ev);
	event_assign(&c->ev, c->srv->base, c->fd, what, on_event, c);
	event_add(&c->ev, NULL);
	if (c->state == CONN_WRITE || c->state == CONN_SHUTDOWN)
		arm_timer(c, c->srv->cfg->write_timeout_ms);
}

/* The one place that interprets OpenSSL's result codes. */
static long
io_tls_result(struct conn *c, int ret)
{
	unsigned long e;

	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		conn_wait(c, EV_READ);
		return IO_WAIT;
	case SSL_ERROR_WANT_WRITE:
		conn_wait(c, EV_WRITE);
		return IO_WAIT;
	case SSL_ERROR_ZERO_RETURN:
		return IO_EOF;
	case SSL_ERROR_SYSCALL:
		c->tls_failed = true;
		c->note = errno == 0 ? "closed" : "reset";
		return IO_ERR;
	default:
		c->tls_failed = true;
		e = ERR_peek_error();
		snprintf(c->tls_note, sizeof(c->tls_note), "tls:%s",
		    e ? ERR_reason_error_string(e) : "error");
		for (char *p = c->tls_note; *p; p++)
			if (*p == ' ')
				*p = '_';
		c->note = c->tls_note;
		ERR_clear_error();
		return IO_ERR;
	}
}

static long
io_plain_result(struct conn *c, ssize_t n, short what)
{
	if (n > 0)
		return n;
	if (n == 0)
		return IO_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		conn_wait(c, what);
		return IO_WAIT;
	}
	c->note = "reset";
	return IO_ERR;
}

static long
conn_read(struct conn *c, void *buf, size_t n)
{
	int r;

	if (c->ssl == NULL)
		return io_plain_result(c, read(c->fd, buf, n), EV_READ);
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_read(c->ssl, buf, (int)n)) > 0)
		return r;
	return io_tls_result(c, r);
}

static long
conn_write(struct conn *c, const void *buf, size_t n)
{
	int r;

	if (c->ssl == NULL)
		return io_plain_result(c, write(c->fd, buf, n), EV_WRITE);
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_write(c->ssl, buf, (int)n)) > 0)
		return r;
	return io_tls_result(c, r);
}

static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static void
conn_log(struct conn *c)
{
	struct log_access a = {
		.client = c->client,
		.proto = c->ssl && c->ops == &gopher_ops ? "gophers" : c->ops->name,
		.host = c->resp.host,
		.request = c->answered ? c->buf : NULL,
		.request_len = c->line_len,
		.status = c->resp.status,
		.bytes = c->sent,
		.duration_ms = elapsed_ms(&c->start),
		.note = c->note,
	};

	if (c->srv->cfg->access_log && !c->logged)
		log_access(&a);
	c->logged = true;
}

/*
 * The one way out, from any state. The caller must not touch c afterwards.
 */
static void
conn_close(struct conn *c)
{
	struct server *s = c->srv;

	if (c->state < CONN_LINGER && c->ssl != NULL && !c->tls_failed &&
	    SSL_is_init_finished(c->ssl)) {
		/* Best effort: a timed-out client still hears close_notify. */
		ERR_clear_error();
		SSL_shutdown(c->ssl);
	}
	conn_log(c);
	event_del(&c->ev);
	evtimer_del(&c->timer);
	if (c->resp.fd != -1)
		close(c->resp.fd);
	if (c->resp.out != NULL)
		evbuffer_free(c->resp.out);
	SSL_free(c->ssl);
	ERR_clear_error();
	close(c->fd);
	quota_close(s->quota, c->quota_slot);
	TAILQ_REMOVE(&s->conns, c, entry);
	free(c);
	server_conn_closed(s);
}

/*
 * Gopher over TLS shares the Gopher port: a TLS ClientHello starts with the
 * handshake record type 0x16, which no Gopher selector does.
 */
static int
sniff_tls(struct conn *c)
{
	unsigned char b;
	ssize_t n;

	n = recv(c->fd, &b, 1, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		conn_wait(c, EV_READ);
		return IO_WAIT;
	}
	if (n <= 0) {
		c->note = n == 0 ? "closed" : "reset";
		return IO_ERR;
	}
	c->sniffed = true;
	if (b != 0x16)
		return 0;
	if ((c->ssl = SSL_new(c->srv->tls.ctx[0])) == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		ERR_clear_error();
		c->note = "out of memory";
		return IO_ERR;
	}
	SSL_set_accept_state(c->ssl);
	return 0;
}

/* Reads until the protocol has a complete request line; then answers it. */
static int
step_read(struct conn *c)
{
	struct request_ctx ctx;
	enum frame_result fr;
	size_t linelen = 0;
	long n;
	int r;

	if (!c->sniffed && c->ops == &gopher_ops && c->srv->cfg->gopher_tls &&
	    (r = sniff_tls(c)) != 0)
		return r;
	for (;;) {
		if (c->len == sizeof(c->buf))
			fr = FRAME_TOO_LONG;
		else {
			n = conn_read(c, c->buf + c->len, sizeof(c->buf) - c->len);
			if (n == IO_WAIT)
				return IO_WAIT;
			if (n < 0) {
				if (n == IO_EOF && c->note == NULL)
					c->note = c->len ? "incomplete" : "closed";
				return IO_ERR;
			}
			c->len += n;
			fr = c->ops->frame(c->buf, c->len, &linelen);
		}
		if (fr != FRAME_MORE)
			break;
	}
	evtimer_del(&c->timer);
	ctx.client = c->client;
	ctx.ssl = c->ssl;
	ctx.sni = c->ssl ? tls_servername(c->ssl, c->sni, sizeof(c->sni)) : NULL;
	if ((c->resp.out = evbuffer_new()) == NULL) {
		c->note = "out of memory";
		return IO_ERR;
	}
	c->answered = true;
	c->line_len = fr == FRAME_LINE ? linelen : c->len;
	/* Over a limit: the protocol's "slow down", and the request is not served. */
	if (c->over_conns)
		c->ops->refuse(&c->resp, 44, "Too many connections from your address; "
		    "close some and try again");
	else if (!quota_request(c->srv->quota, c->quota_slot))
		c->ops->refuse(&c->resp, 44, "Slow down: too many requests from your "
		    "address; try again in a few seconds");
	else
		c->ops->handle(c->srv, &ctx, fr == FRAME_LINE ? c->buf : NULL, linelen,
		    &c->resp);
	c->state = CONN_WRITE;
	return 0;
}

/*
 * Tops up the output from the file being streamed; bounded by FILE_CHUNK. Raw
 * bytes go straight into the output; a filter reads them into raw first (one
 * buffer will do: a single event loop runs one refill at a time).
 */
static int
refill(struct conn *c)
{
	static char raw[FILE_CHUNK];
	struct response *r = &c->resp;
	struct evbuffer_iovec v;
	size_t want = r->file_left < FILE_CHUNK ? (size_t)r->file_left : FILE_CHUNK;
	ssize_t n;

	if (r->filter != NULL)
		n = read(r->fd, raw, want);
	else if (evbuffer_reserve_space(r->out, want, &v, 1) < 1)
		return -1;
	else
		n = read(r->fd, v.iov_base, want);
	if (n > 0) {
		if (r->filter != NULL)
			r->filter(&r->filter_state, raw, n, r->out);
		else {
			v.iov_len = n;
			evbuffer_commit_space(r->out, &v, 1);
		}
		r->file_left -= n;
	}
	/* At the end, or the file shrank under us: send what there was. */
	if (n <= 0 || r->file_left == 0) {
		close(r->fd);
		r->fd = -1;
		if (r->filter != NULL)
			r->filter(&r->filter_state, NULL, 0, r->out);
	}
	return n < 0 ? -1 : 0;
}

static int
step_write(struct conn *c)
{
	struct evbuffer *out = c->resp.out;
	size_t len;
	long n;

	for (;;) {
		if (c->resp.fd != -1 && evbuffer_get_length(out) < WRITE_CHUNK &&
		    refill(c) == -1) {
			c->note = "file read error";
			return IO_ERR;
		}
		if ((len = evbuffer_get_length(out)) == 0)
			break;
		if (len > WRITE_CHUNK)
			len = WRITE_CHUNK;
		/* Header and body leave in one TLS record where they fit. */
		n = conn_write(c, evbuffer_pullup(out, len), len);
		if (n < 0)
			return (int)n;
		evbuffer_drain(out, n);
		c->sent += n;
	}
	c->state = CONN_SHUTDOWN;
	return 0;
}

static int
step_shutdown(struct conn *c)
{
	int r;

	if (c->ssl != NULL) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_shutdown(c->ssl)) < 0) {
			long n = io_tls_result(c, r);
			if (n == IO_WAIT)
				return IO_WAIT;
			/* The peer left first; what it missed is its loss. */
			return IO_ERR;
		}
	}
	shutdown(c->fd, SHUT_WR);
	/* The response is out: its duration ends here, not after the linger. */
	conn_log(c);
	c->state = CONN_LINGER;
	evtimer_del(&c->timer);
	arm_timer(c, LINGER_MS);
	return 0;
}

/* Drains what the client still sends until it closes, within bounds. */
static int
step_linger(struct conn *c)
{
	char sink[4096];
	ssize_t n;

	for (;;) {
		n = read(c->fd, sink, sizeof(sink));
		if (n > 0) {
			c->lingered += n;
			if (c->lingered > LINGER_MAX_BYTES)
				return IO_ERR;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			conn_wait(c, EV_READ);
			return IO_WAIT;
		}
		return IO_EOF;
	}
}

static void
conn_step(struct conn *c)
{
	int r = 0;

	while (r == 0) {
		switch (c->state) {
		case CONN_READ:
			r = step_read(c);
			break;
		case CONN_WRITE:
			r = step_write(c);
			break;
		case CONN_SHUTDOWN:
			r = step_shutdown(c);
			break;
		case CONN_LINGER:
			r = step_linger(c);
			if (r != IO_WAIT)
				r = IO_EOF;
			break;
		}
	}
	if (r != IO_WAIT)
		conn_close(c);
}

static void
format_addr(const struct sockaddr *sa, char *out, size_t size)
{
	const void *addr;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		addr = &s6->sin6_addr;
		/* ::ffff:192.0.2.1 is logged as the IPv4 address it is. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out, size);
			return;
		}
	} else
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
	if (inet_ntop(sa->sa_family, addr, out, size) == NULL)
		snprintf(out, size, "?");
}

void
conn_accept(struct server *s, struct listener *l, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct conn *c;
	int one = 1;

	(void)salen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->ops = protos[l->proto];
	c->resp.fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	format_addr(sa, c->client, sizeof(c->client));
	c->quota_slot = quota_open(s->quota, sa, &c->over_conns);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (l->proto == PROTO_GEMINI) {
		if ((c->ssl = SSL_new(s->tls.ctx[0])) == NULL ||
		    SSL_set_fd(c->ssl, fd) != 1) {
			ERR_clear_error();
			SSL_free(c->ssl);
			quota_close(s->quota, c->quota_slot);
			close(fd);
			free(c);
			return;
		}
		SSL_set_accept_state(c->ssl);
	}
	event_assign(&c->ev, s->base, fd, EV_READ, on_event, c);
	evtimer_assign(&c->timer, s->base, on_timeout, c);
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	server_conn_opened(s);
	arm_timer(c, s->cfg->request_timeout_ms);
	/* Wait for the first bytes rather than try a read that cannot succeed yet. */
	event_add(&c->ev, NULL);
}

void
conn_close_idle(struct server *s)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		/* No byte read yet, not even a ClientHello: nothing is in flight. */
		if (c->state == CONN_READ && c->len == 0 &&
		    (c->ssl == NULL || SSL_in_before(c->ssl))) {
			c->note = "shutdown";
			conn_close(c);
		}
	}
}

void
conn_close_all(struct server *s)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&s->conns)) != NULL) {
		c->note = "shutdown";
		conn_close(c);
	}
}
