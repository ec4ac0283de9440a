/*
 * The connection state machine:
 *
 *   READ ──line──> WRITE ──all sent──> SHUTDOWN ──close_notify sent──> LINGER ──> close
 *
 * preceded, on a listener behind a load balancer, by PROXY ──header──> READ.
 * A request for a generated page while the indexer is behind the disk goes
 * READ ──> WAIT ──caught up, or INDEX_WAIT_MS──> WRITE, so that a post
 * saved before the request is in its answer; a search waits the same way
 * (up to SEARCH_WAIT_MS) for the worker's search thread.
 *
 * conn_step() runs the current state until it has to wait; it is entered from
 * the socket event and once right after accept. Every operation on the socket
 * goes through conn_read/conn_write, which hide TLS versus plain TCP and turn
 * "would block" (EAGAIN, SSL_ERROR_WANT_READ/WRITE) into an armed event: that
 * mapping lives in one place, io_tls_result().
 *
 * Timers: READ has one deadline for handshake plus request (request_timeout,
 * from accept; PROXY shares it); WRITE and SHUTDOWN close a connection that
 * makes no progress for write_timeout; LINGER waits briefly for the client's
 * own close, so that unread input does not make the kernel send a reset that
 * destroys the reply.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "ctl.h"
#include "fcgi.h"
#include "gateway.h"
#include "keys.h"
#include "log.h"
#include "proxy.h"
#include "quota.h"
#include "titan.h"
#include "tls.h"
#include "url.h"
#include "wbuf.h"

#define WRITE_CHUNK (16 * 1024)		/* one full TLS record */
#define FILE_CHUNK CONN_FILE_CHUNK
#define SENDFILE_CHUNK (1024 * 1024)	/* a call; the socket takes what it has room for */
#define LINGER_MS 2000
#define LINGER_MAX_BYTES (64 * 1024)
#define STOP_GRACE_MS 1000	/* on SIGTERM, a new connection's time to send its first bytes */
#define READ_BUF (URL_MAX + 2)
#define INDEX_WAIT_MS 1000	/* the longest a request waits for a fresher index */
#define SEARCH_WAIT_MS 10000	/* ... and for its search, queued behind others */
#define PUBLISH_WAIT_MS 10000	/* the longest an upload waits for the publisher */
#define UPLOAD_BYTES_MAX (64LL << 20)	/* bytes of bodies a worker holds at once */
#define UPLOAD_RATE_MIN (16 * 1024)	/* bytes a second a body must average */
#define FCGI_HELD (64 * 1024)	/* answer bytes held for a slow reader; beyond, the application waits */
#define FCGI_READ 16384
#define FCGI_SAID_MAX 8		/* an application's error messages logged a call */

enum { IO_WAIT = -1, IO_EOF = -2, IO_ERR = -3 };

/* The PROXY header is read into buf, before the request. */
_Static_assert(READ_BUF >= PROXY_MAX_LEN, "the read buffer holds a PROXY header");

enum fcgi_phase {
	FCGI_QUEUED,	/* for a connection to its application (fastcgi_connections) */
	FCGI_CONNECTING,
	FCGI_WAITING,	/* the request is going out: no answer yet */
	FCGI_HEADER,	/* a Gemini answer's header is coming */
	FCGI_STREAMING,	/* the answer goes out as it comes (CONN_WRITE) */
};

/* Why a call ended when its time ran out, by phase. */
static const char *const fcgi_late[] = {
	"no free connection in time (fastcgi_connections)",
	"cannot connect in time",
	"no answer in time",
	"no whole header in time",
	"silent in mid-answer",
};

enum conn_state {
	CONN_PROXY,	/* the load balancer's PROXY protocol header */
	CONN_READ,
	CONN_WAIT,
	CONN_UPLOAD,	/* a Titan upload's body */
	CONN_PUBLISH,	/* ... with the publisher, in the server's publishing list */
	CONN_FCGI,	/* a FastCGI application answers (gateway.h) */
	CONN_WRITE,
	CONN_SHUTDOWN,
	CONN_LINGER,
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	TAILQ_ENTRY(conn) waiting;	/* in the server's list, while CONN_WAIT */
	struct server *srv;
	const struct proto_ops *ops;
	int fd;
	SSL *ssl;
	bool tls_failed;	/* a fatal TLS error: no close_notify possible */
	bool key_wait;		/* its handshake waits for the key holder (keys.h) */
	bool notified;		/* close_notify is written (maybe still held) */
	bool tls_sniff;		/* its first byte tells whether it is TLS */
	bool sniffed;		/* ... and was looked at */
	enum conn_state state;
	struct event ev;	/* the socket, armed for read or write */
	short ev_what;		/* ... which (EV_READ, EV_WRITE), or 0: not armed */
	bool armed;		/* this step armed it */
	struct event timer;
	struct timespec start;
	char client[INET6_ADDRSTRLEN];
	char sni[256];
	char buf[READ_BUF];
	size_t len;
	enum frame_result frame;	/* how the request line ended */
	size_t frame_len;
	size_t line_len;	/* the request as logged */
	bool answered;
	bool logged;
	long quota_slot;	/* the client's entry in the quota table, or -1 */
	struct response resp;
	unsigned long long sent;
	unsigned long long lingered;
	const char *note;	/* why it ended early, for the log */
	char tls_note[96];
	char proxy_note[48];
	bool proxy_check;	/* a PROXY v2 LOCAL header: the balancer's own */
	unsigned long long upload_id;	/* its request to the publisher */
	long upload_deadline_ms;	/* since start: the body must be in by then */
	/*
	 * A FastCGI call: it waits for one of its application's connections,
	 * then for its socket (from the supervisor); its answer goes out as it
	 * comes (CONN_WRITE), read from the application only while the client
	 * takes it.
	 */
	unsigned long long call_id;
	enum fcgi_phase fcgi_phase;
	bool calling;		/* in the server's calling list: no socket yet */
	bool call_held;		/* counts in its application's fcgi_open */
	bool fcgi_cut;		/* the application failed after the header left */
	int fcgi_fd;
	struct event fcgi_ev;
	short fcgi_what;	/* what fcgi_ev waits for, or 0 */
	struct fcgi_parser fcgi;
	struct evbuffer *fcgi_in;
	char fcgi_tail[GATEWAY_TAIL];	/* a Gopher answer's last bytes, for its terminator */
	size_t fcgi_tail_len;
	int fcgi_tabs;		/* ... the tabs of its first line (a menu's has three) */
	bool fcgi_line_ended;	/* ... whose end came */
	bool fcgi_timing;	/* the timer is the application's (fcgi_timer) */
	bool fcgi_heard;	/* answer bytes came since fcgi_timer */
	int fcgi_said;		/* its error messages logged */
};

static void conn_step(struct conn *c);
static void conn_close(struct conn *c);
static bool count_client(struct conn *c, const struct sockaddr *sa);
static int answer(struct conn *c, bool may_wait);
static void upload_timeout(struct conn *c);
static void upload_done(struct conn *c);
static void fcgi_fail(struct conn *c, const char *why);
static void fcgi_release(struct conn *c);
static void arm_timer(struct conn *c, int ms);
static long elapsed_ms(const struct timespec *start);
static void format_addr(const struct sockaddr *sa, char *out, size_t size);

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_step(arg);
}

/*
 * The key holder answered c's handshake (from keys_hear): it steps again
 * from the loop, not from inside keys_hear, under its request deadline.
 */
static int
on_key_answer(SSL *ssl, void *arg)
{
	struct conn *c = arg;
	long left = c->srv->cfg->request_timeout_ms - elapsed_ms(&c->start);

	(void)ssl;
	c->key_wait = false;
	arm_timer(c, left > 0 ? (int)left : 0);
	event_active(&c->ev, EV_READ, 1);
	return 1;
}

/* No byte read yet, not even a ClientHello (or a PROXY header). */
static bool
conn_idle(const struct conn *c)
{
	return c->state <= CONN_READ && c->len == 0 && (c->ssl == NULL || SSL_in_before(c->ssl));
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	long left;

	(void)fd;
	(void)what;
	/* The key holder did not answer: conn_close gives the handshake up. */
	if (c->key_wait) {
		c->note = "key-holder-silent";
		conn_close(c);
		return;
	}
	if (c->state == CONN_UPLOAD || c->state == CONN_PUBLISH) {
		upload_timeout(c);
		return;
	}
	/* The application's time ran out, before its answer or in the middle (the client waits). */
	if (c->state == CONN_FCGI || (c->state == CONN_WRITE && c->fcgi_fd != -1 && c->fcgi_timing)) {
		fcgi_fail(c, fcgi_late[c->fcgi_phase]);
		return;
	}
	/* Waited long enough: answer from the index there is, or say the search is slow. */
	if (c->state == CONN_WAIT) {
		if (answer(c, false) == 0)
			conn_step(c);
		return;
	}
	/* The grace conn_close_idle gave is over; one that spoke since has its full time. */
	if (c->srv->stopping && c->state <= CONN_READ && !conn_idle(c) &&
	    (left = c->srv->cfg->request_timeout_ms - elapsed_ms(&c->start)) > 0) {
		arm_timer(c, (int)left);
		return;
	}
	if (c->state != CONN_LINGER)
		c->note = c->srv->stopping && conn_idle(c) ? "shutdown" :
		    c->state <= CONN_READ ? "timeout" : "stalled";
	conn_close(c);
}

static void
arm_timer(struct conn *c, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	c->fcgi_timing = false;
	evtimer_add(&c->timer, &tv);
}

/*
 * Times the application (fastcgi_timeout): its connection, its first byte,
 * then each silence, from the last bytes of its answer (its stderr and
 * padding do not count).
 */
static void
fcgi_timer(struct conn *c)
{
	arm_timer(c, c->srv->cfg->fastcgi_timeout_ms);
	c->fcgi_timing = true;
	c->fcgi_heard = false;
}

/*
 * Waits for the socket to become readable or writable, then conn_step. The
 * event persists: waiting the same way again (the next flight, the next
 * request bytes, the linger) costs no system call; conn_step quiets it when
 * a step waits for something else.
 */
static void
conn_wait(struct conn *c, short what)
{
	c->armed = true;
	if (c->ev_what != what) {
		event_del(&c->ev);
		event_assign(&c->ev, c->srv->base, c->fd, what | EV_PERSIST, on_event, c);
		event_add(&c->ev, NULL);
		c->ev_what = what;
	}
	if (c->state == CONN_WRITE || c->state == CONN_SHUTDOWN)
		arm_timer(c, c->srv->cfg->write_timeout_ms);
}

/*
 * Sends the TLS records held for c (wbuf.h): 0 when all are out, IO_WAIT
 * (armed for writing) when the socket is full, IO_ERR.
 */
static long
tls_flush(struct conn *c)
{
	switch (wbuf_flush(SSL_get_wbio(c->ssl))) {
	case 1:
		return 0;
	case 0:
		conn_wait(c, EV_WRITE);
		return IO_WAIT;
	default:
		c->tls_failed = true;
		c->note = "reset";
		return IO_ERR;
	}
}

/* The one place that interprets OpenSSL's result codes. */
static long
io_tls_result(struct conn *c, int ret)
{
	unsigned long e;
	long f;

	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		/* What the peer waits for goes before we wait for the peer. */
		if ((f = tls_flush(c)) != 0)
			return f;
		conn_wait(c, EV_READ);
		return IO_WAIT;
	case SSL_ERROR_WANT_WRITE:
		conn_wait(c, EV_WRITE);
		return IO_WAIT;
	case SSL_ERROR_WANT_ASYNC:
		/* The socket can wait (conn_step quiets it): on_key_answer steps it again. */
		c->key_wait = true;
		arm_timer(c, KEYS_WAIT_MS);
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
	if ((r = SSL_read(c->ssl, buf, (int)n)) > 0) {
		/* Handshake done: nothing more to sign, no async job per call. */
		if (SSL_get_mode(c->ssl) & SSL_MODE_ASYNC)
			SSL_clear_mode(c->ssl, SSL_MODE_ASYNC);
		return r;
	}
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
	char masked[INET6_ADDRSTRLEN], cert[100];
	struct log_access a = {
		.client = log_client(c->client, c->srv->cfg->log_clients, masked,
		    sizeof(masked)),
		.proto = c->ssl ? c->ops->tls_name : c->ops->name,
		.host = c->resp.host,
		.request = c->answered ? c->buf : NULL,
		.request_len = c->line_len,
		.status = c->resp.status,
		.bytes = c->sent,
		.duration_ms = elapsed_ms(&c->start),
		.note = c->note,
	};

	/* A Titan request is logged without its parameters: the token is a secret. */
	if (a.request != NULL && c->line_len > 8 && strncasecmp(c->buf, "titan://", 8) == 0)
		a.request_len = titan_request_shown(c->buf, c->line_len);
	/* A balancer's health check is logged only if it makes a request. */
	if (c->srv->cfg->access_log && !c->logged && (!c->proxy_check || c->answered)) {
		/* A fingerprint names a client as well as an address does. */
		if (strcmp(c->srv->cfg->log_clients, "none") != 0)
			a.cert = tls_peer_fingerprint(c->ssl, cert, sizeof(cert));
		log_access(&a);
	}
	c->logged = true;
}

/*
 * The one way out, from any state. The caller must not touch c afterwards.
 */
static void
conn_close(struct conn *c)
{
	struct server *s = c->srv;

	/* A paused handshake is resumed to fail: its job ends, it leaks nothing. */
	if (c->key_wait) {
		keys_give_up(c->ssl);
		c->key_wait = false;
		SSL_do_handshake(c->ssl);
		c->tls_failed = true;
	}
	if (c->state < CONN_LINGER && c->ssl != NULL && !c->tls_failed &&
	    SSL_is_init_finished(c->ssl)) {
		/* Best effort: a timed-out client still hears close_notify. */
		ERR_clear_error();
		SSL_shutdown(c->ssl);
	}
	/* Best effort too: the alert of a failed handshake, or that close_notify. */
	if (c->ssl != NULL)
		wbuf_flush(SSL_get_wbio(c->ssl));
	conn_log(c);
	if (c->state == CONN_WAIT)
		TAILQ_REMOVE(&s->waiting, c, waiting);
	if (c->state == CONN_PUBLISH)
		TAILQ_REMOVE(&s->publishing, c, waiting);
	upload_done(c);
	fcgi_release(c);
	event_del(&c->ev);
	evtimer_del(&c->timer);
	if (c->resp.fd != -1)
		close(c->resp.fd);
	if (c->resp.out != NULL)
		evbuffer_free(c->resp.out);
	SSL_free(c->ssl);
	ERR_clear_error();
	close(c->fd);
	quota_close(s->quota, s->quota_ledger, c->quota_slot);
	TAILQ_REMOVE(&s->conns, c, entry);
	free(c);
	server_conn_closed(s);
}

/* c speaks TLS from now on: the server's side of a handshake to come. */
static int
tls_start(struct conn *c)
{
	BIO *rbio = NULL, *wbio = NULL;

	if ((c->ssl = SSL_new(c->srv->tls.ctx[0])) == NULL ||
	    (rbio = BIO_new_socket(c->fd, BIO_NOCLOSE)) == NULL ||
	    (wbio = wbuf_new(c->fd)) == NULL) {
		BIO_free(rbio);
		ERR_clear_error();
		c->note = "out of memory";
		return IO_ERR;
	}
	SSL_set_bio(c->ssl, rbio, wbio);
	SSL_set_accept_state(c->ssl);
	SSL_set_async_callback(c->ssl, on_key_answer);
	SSL_set_async_callback_arg(c->ssl, c);
	return 0;
}

/*
 * TLS may share a plain protocol's port (Gopher's, with gopher_tls): a TLS
 * ClientHello starts with the handshake record type 0x16, which no request
 * line does.
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
	return tls_start(c);
}

/*
 * The PROXY protocol header comes before anything else, the TLS handshake too.
 * Bytes are peeked and only the header's own taken off the socket, so the
 * ClientHello or request after it is read as if it came first. A partial
 * header is all header (proxy_parse promises it), so it is taken too, and the
 * next readable event means new bytes. The parsing is proxy.c's.
 */
static int
step_proxy(struct conn *c)
{
	struct proxy_header h;
	enum proxy_status st;
	size_t take;
	ssize_t n;

	n = recv(c->fd, c->buf + c->len, PROXY_MAX_LEN - c->len, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		conn_wait(c, EV_READ);
		return IO_WAIT;
	}
	if (n <= 0) {
		c->note = n == -1 ? "reset" : c->len ? "incomplete" : "closed";
		return IO_ERR;
	}
	if ((st = proxy_parse(c->buf, c->len + n, &h)) == PROXY_INVALID) {
		snprintf(c->proxy_note, sizeof(c->proxy_note), "proxy:%s", h.error);
		c->note = c->proxy_note;
		return IO_ERR;
	}
	take = st == PROXY_DONE ? h.len - c->len : (size_t)n;
	if (recv(c->fd, c->buf + c->len, take, 0) != (ssize_t)take) {
		c->note = "reset";
		return IO_ERR;
	}
	c->len += take;
	if (st == PROXY_MORE) {
		conn_wait(c, EV_READ);
		return IO_WAIT;
	}
	/* The real client is the one logged and limited (the balancer never is). */
	if (!h.local) {
		format_addr((struct sockaddr *)&h.src, c->client, sizeof(c->client));
		if (!count_client(c, (struct sockaddr *)&h.src))
			return IO_ERR;
	}
	c->proxy_check = h.check;
	c->len = 0;
	c->state = CONN_READ;
	return 0;
}

/* Ends an upload with status and meta as the answer, and the log line that says how it went. */
static void
upload_answer(struct conn *c, int status, const char *meta)
{
	const struct titan_upload *u = c->resp.upload;

	titan_log(c->resp.host, u, status, meta);
	c->ops->refuse(&c->resp, status, meta);
	upload_done(c);
	c->state = CONN_WRITE;
}

static void
upload_done(struct conn *c)
{
	struct titan_upload *u = c->resp.upload;

	if (u == NULL)
		return;
	if (u->body != NULL) {
		free(u->body);
		c->srv->upload_bytes -= u->size;
	}
	free(u);
	c->resp.upload = NULL;
}

/* request_timeout from now, or what is left until the body's deadline if less. */
static void
arm_upload_timer(struct conn *c)
{
	long left = c->upload_deadline_ms - elapsed_ms(&c->start);

	arm_timer(c, left < c->srv->cfg->request_timeout_ms ? (left > 0 ? (int)left : 0) :
	    c->srv->cfg->request_timeout_ms);
}

/*
 * The handler took a Titan upload: its body comes next, what followed the
 * request line first. The state to go on in.
 */
static enum conn_state
start_upload(struct conn *c)
{
	struct titan_upload *u = c->resp.upload;
	size_t have = c->len - (c->frame_len + 2);

	if (c->srv->upload_bytes + u->size > UPLOAD_BYTES_MAX) {
		upload_answer(c, 44, "Too many uploads at once; try again in a few seconds");
		return c->state;
	}
	if ((u->body = malloc(u->size > 0 ? (size_t)u->size : 1)) == NULL) {
		upload_answer(c, 40, "Temporary failure");
		return c->state;
	}
	c->srv->upload_bytes += u->size;
	if (have > (size_t)u->size)
		have = (size_t)u->size;
	memcpy(u->body, c->buf + c->frame_len + 2, have);
	u->got = (long long)have;
	/* Each read gives request_timeout more, but a trickle cannot hold the body forever. */
	c->upload_deadline_ms = elapsed_ms(&c->start) + c->srv->cfg->request_timeout_ms +
	    (long)(u->size * 1000 / UPLOAD_RATE_MIN);
	arm_upload_timer(c);
	return CONN_UPLOAD;
}

/*
 * Reads the body (each read gives it request_timeout more), checks it is a
 * post, and hands it to the publisher.
 */
static int
step_upload(struct conn *c)
{
	struct titan_upload *u = c->resp.upload;
	struct server *s = c->srv;
	long n;

	while (u->got < u->size) {
		n = conn_read(c, u->body + u->got, (size_t)(u->size - u->got));
		if (n == IO_WAIT)
			return IO_WAIT;
		if (n < 0) {
			if (n == IO_EOF && c->note == NULL)
				c->note = "upload cut short";
			return IO_ERR;
		}
		u->got += n;
		arm_upload_timer(c);
	}
	evtimer_del(&c->timer);
	/* The publisher checks it is a post: parsing a large one here would hold the loop. */
	c->upload_id = ++s->upload_ids;
	if (s->publisher == -1 || titan_send(s->publisher, u, c->upload_id) == -1) {
		upload_answer(c, 40, "Publishing is not available now; try again later");
		return 0;
	}
	c->state = CONN_PUBLISH;
	TAILQ_INSERT_TAIL(&s->publishing, c, waiting);
	arm_timer(c, PUBLISH_WAIT_MS);
	return IO_WAIT;
}

/* No byte of the body for request_timeout, or no word from the publisher. */
static void
upload_timeout(struct conn *c)
{
	const struct titan_upload *u = c->resp.upload;
	char meta[128];

	if (c->state == CONN_PUBLISH) {
		TAILQ_REMOVE(&c->srv->publishing, c, waiting);
		upload_answer(c, 40, "The publisher did not answer in time; the post may not be "
		    "saved");
	} else {
		snprintf(meta, sizeof(meta), "Upload timed out after %lld of %lld bytes; nothing "
		    "was saved", u->got, u->size);
		upload_answer(c, 59, meta);
	}
	conn_step(c);
}

void
conn_published(struct server *s, const struct ctl_msg *m)
{
	struct conn *c;
	char meta[1100];
	int status;

	for (c = TAILQ_FIRST(&s->publishing); c != NULL && c->upload_id != m->version;
	    c = TAILQ_NEXT(c, waiting))
		;
	/* Given up on already (upload_timeout). */
	if (c == NULL)
		return;
	TAILQ_REMOVE(&s->publishing, c, waiting);
	evtimer_del(&c->timer);
	status = titan_result(c->resp.upload, m, c->resp.host, s->cfg->gemini_port, meta,
	    sizeof(meta));
	upload_answer(c, status, meta);
	conn_step(c);
}

static void fcgi_wake(struct server *s, int site, int app);

/*
 * Ends a FastCGI call: its socket closed, its connection given to the next
 * call waiting for one, what it held freed; safe twice. The answer already
 * in resp.out stays.
 */
static void
fcgi_release(struct conn *c)
{
	struct gateway_call *call = c->resp.fcgi;
	/* The supervisor is connecting for it: the connection counts until it comes (conn_fcgi_socket). */
	bool dialing = c->calling && c->fcgi_phase == FCGI_CONNECTING;

	if (c->calling) {
		TAILQ_REMOVE(&c->srv->calling, c, waiting);
		c->calling = false;
	}
	if (c->fcgi_fd != -1) {
		event_del(&c->fcgi_ev);
		close(c->fcgi_fd);
		c->fcgi_fd = -1;
	}
	c->fcgi_what = 0;
	if (c->fcgi_in != NULL)
		evbuffer_free(c->fcgi_in);
	c->fcgi_in = NULL;
	c->resp.fcgi = NULL;
	if (call != NULL && c->call_held) {
		c->call_held = false;
		if (!dialing) {
			c->srv->sites[call->site].fcgi_open[call->app]--;
			fcgi_wake(c->srv, call->site, call->app);
		}
	}
	gateway_free(call);
}

/*
 * The application cannot answer, and why goes to the log. Before the
 * header: 42 on Gemini, an error line on Gopher. After: what is held still
 * goes, then the connection ends without close_notify (fcgi_drained), so a
 * Gemini client can tell the answer is cut.
 */
static void
fcgi_fail(struct conn *c, const char *why)
{
	const struct site *site = c->resp.fcgi ? &c->srv->sites[c->resp.fcgi->site] : NULL;

	log_warn("%s: fastcgi %s: %s", c->resp.host ? c->resp.host : "-", site ?
	    site->cfg->fastcgi[c->resp.fcgi->app].target : "-", why);
	fcgi_release(c);
	if (c->state == CONN_WRITE) {
		c->fcgi_cut = true;
		if (c->ev_what == 0)
			conn_step(c);
		return;
	}
	evbuffer_drain(c->resp.out, evbuffer_get_length(c->resp.out));
	c->ops->refuse(&c->resp, 42, "CGI error");
	c->state = CONN_WRITE;
	conn_step(c);
}

/* Asks the supervisor to connect c to its application: false when it cannot be asked. */
static bool
fcgi_dial(struct conn *c)
{
	struct ctl_msg m = { .type = CTL_CONNECT };
	struct server *s = c->srv;
	const struct gateway_call *call = c->resp.fcgi;

	m.site = (uint8_t)call->site;
	m.status = (uint32_t)call->app;
	m.version = c->call_id;
	if (s->ctl == -1 || ctl_send(s->ctl, &m, -1) == -1)
		return false;
	s->sites[call->site].fcgi_open[call->app]++;
	c->call_held = true;
	c->fcgi_phase = FCGI_CONNECTING;
	fcgi_timer(c);
	return true;
}

/*
 * Calls queued for an application take its connections free now, first
 * come first served. One that cannot be dialled (no supervisor) stays
 * queued until its time runs out: failing it here, maybe inside another
 * connection's conn_close, would step it from there.
 */
static void
fcgi_wake(struct server *s, int site, int app)
{
	struct conn *c;
	bool woke = true;

	while (woke && s->sites[site].fcgi_open[app] < s->fcgi_share) {
		woke = false;
		TAILQ_FOREACH(c, &s->calling, waiting)
			if (c->fcgi_phase == FCGI_QUEUED && c->resp.fcgi->site == site &&
			    c->resp.fcgi->app == app) {
				woke = fcgi_dial(c);
				break;
			}
	}
}

/*
 * Reads from the application only while less than FCGI_HELD of its answer
 * waits for the client: a slow reader makes the application wait, never
 * gazette hold the whole answer.
 */
static void
fcgi_pace(struct conn *c)
{
	bool full = evbuffer_get_length(c->resp.out) >= FCGI_HELD;

	/* Still sending the request: the answer is read as it comes, as ever. */
	if (c->fcgi_fd == -1 || (c->fcgi_what & EV_WRITE))
		return;
	if (full && c->fcgi_what != 0) {
		event_del(&c->fcgi_ev);
		c->fcgi_what = 0;
	} else if (!full && c->fcgi_what == 0) {
		event_add(&c->fcgi_ev, NULL);
		c->fcgi_what = EV_READ;
	}
}

/*
 * The client has all of the answer there is so far (step_write): the rest is
 * waited for, or, when the application failed, the connection ends.
 */
static int
fcgi_drained(struct conn *c)
{
	long n;

	/* What is held in TLS records goes now: the application may be a while, or be cut. */
	if (c->ssl != NULL && (n = tls_flush(c)) != 0)
		return (int)n;
	if (c->fcgi_fd == -1) {
		c->note = "cgi-cut";
		c->tls_failed = true;	/* no close_notify: the answer is not whole */
		return IO_ERR;
	}
	fcgi_pace(c);
	/* The client waited for the application, or the application spoke: its silence is timed anew. */
	if (!c->fcgi_timing || c->fcgi_heard)
		fcgi_timer(c);
	return IO_WAIT;
}

/*
 * Bytes of the answer: held for the client, which they go to as soon as
 * the answer starts (a Gemini one once its header is whole and valid).
 * false: the call failed.
 */
static bool
fcgi_out(struct conn *c, const char *data, size_t len)
{
	struct evbuffer *out = c->resp.out;
	size_t n;
	long head;

	if (evbuffer_add(out, data, len) == -1) {
		fcgi_fail(c, "out of memory");
		return false;
	}
	c->fcgi_heard |= len > 0;
	if (!c->resp.fcgi->gemini) {
		c->fcgi_tail_len = gateway_tail(c->fcgi_tail, c->fcgi_tail_len, data, len);
		if (!c->fcgi_line_ended)
			gateway_first_line(data, len, &c->fcgi_tabs, &c->fcgi_line_ended);
	}
	if (c->state == CONN_WRITE)
		return true;
	if (c->resp.fcgi->gemini) {
		n = evbuffer_get_length(out);
		n = n < GATEWAY_HEADER_MAX ? n : GATEWAY_HEADER_MAX;
		data = (const char *)evbuffer_pullup(out, (ssize_t)n);
		if ((head = gateway_gemini_header(data, n)) <= 0) {
			c->fcgi_phase = FCGI_HEADER;
			if (head < 0)
				fcgi_fail(c, "not a Gemini response header");
			return head == 0;
		}
		c->resp.status = (data[0] - '0') * 10 + (data[1] - '0');
	} else
		c->resp.status = 20;
	c->fcgi_phase = FCGI_STREAMING;
	c->state = CONN_WRITE;
	return true;
}

/*
 * The application said all. A Gopher menu gets its "." line when it lacks
 * one; text is left as the application wrote it (the "." line and the
 * doubled dots RFC 1436 asks of text are its to write).
 */
static void
fcgi_end(struct conn *c)
{
	bool gemini = c->resp.fcgi->gemini;

	if (c->state != CONN_WRITE && gemini) {
		fcgi_fail(c, "no whole Gemini response header");
		return;
	}
	if (!gemini && c->fcgi_tabs >= GATEWAY_MENU_TABS &&
	    gateway_gopher_unterminated(c->fcgi_tail, c->fcgi_tail_len))
		evbuffer_add(c->resp.out, ".\r\n", 3);
	c->resp.status = gemini ? c->resp.status : 20;
	c->state = CONN_WRITE;
	fcgi_release(c);
	if (c->ev_what == 0)
		conn_step(c);
}

/* Error messages of the application, a few a call: a chatty one cannot flood the log. */
static void
fcgi_said(struct conn *c, const char *data, size_t len)
{
	const char *host = c->resp.host ? c->resp.host : "-";

	if (c->fcgi_said > FCGI_SAID_MAX)
		return;
	if (c->fcgi_said < FCGI_SAID_MAX)
		log_warn("%s: fastcgi said: %.*s", host, (int)(len < 200 ? len : 200), data);
	else
		log_warn("%s: fastcgi said more: not logged", host);
	/* Counted no further: a stream may carry messages without end. */
	c->fcgi_said++;
}

/* Reads what the application sent; false when the call is over (answered or failed). */
static bool
fcgi_read(struct conn *c)
{
	const char *data;
	size_t len, used, dlen;
	int n;

	if ((n = evbuffer_read(c->fcgi_in, c->fcgi_fd, FCGI_READ)) == 0 ||
	    (n < 0 && errno != EAGAIN && errno != EINTR)) {
		fcgi_fail(c, n == 0 ? "closed before the end of its answer" : strerror(errno));
		return false;
	}
	while ((len = evbuffer_get_length(c->fcgi_in)) > 0) {
		data = (const char *)evbuffer_pullup(c->fcgi_in, -1);
		switch (fcgi_parse(&c->fcgi, data, len, &used, &data, &dlen)) {
		case FCGI_STDOUT:
			if (!fcgi_out(c, data, dlen))
				return false;
			break;
		case FCGI_STDERR:
			fcgi_said(c, data, dlen);
			break;
		case FCGI_END:
			fcgi_end(c);
			return false;
		case FCGI_ERROR:
			fcgi_fail(c, c->fcgi.why);
			return false;
		case FCGI_MORE:
			break;
		}
		evbuffer_drain(c->fcgi_in, used);
		if (used == 0)
			break;
	}
	return true;
}

static void
on_fcgi(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct gateway_call *call = c->resp.fcgi;
	enum fcgi_phase was = c->fcgi_phase;
	int n = 0;

	(void)fd;
	if ((what & EV_WRITE) && evbuffer_get_length(call->records) > 0 &&
	    (n = evbuffer_write(call->records, c->fcgi_fd)) == -1 && errno != EAGAIN &&
	    errno != EINTR) {
		fcgi_fail(c, strerror(errno));
		return;
	}
	if (n > 0 && c->fcgi_phase == FCGI_CONNECTING)
		c->fcgi_phase = FCGI_WAITING;
	/* The request is out: only the answer is waited for now. */
	if ((c->fcgi_what & EV_WRITE) && evbuffer_get_length(call->records) == 0) {
		event_del(&c->fcgi_ev);
		event_assign(&c->fcgi_ev, c->srv->base, c->fcgi_fd, EV_READ | EV_PERSIST, on_fcgi,
		    c);
		event_add(&c->fcgi_ev, NULL);
		c->fcgi_what = EV_READ;
	}
	if ((what & EV_READ) && !fcgi_read(c))
		return;
	/* Each phase has its time: the whole header too, from its first byte. */
	if (c->state != CONN_WRITE) {
		if (c->fcgi_phase != was || (c->fcgi_heard && c->fcgi_phase != FCGI_HEADER))
			fcgi_timer(c);
		return;
	}
	fcgi_pace(c);
	/* The client waited for the application: it has bytes to take now. */
	if (c->ev_what == 0)
		conn_step(c);
}

void
conn_fcgi_socket(struct server *s, const struct ctl_msg *m, int fd)
{
	struct conn *c;
	char why[100];

	for (c = TAILQ_FIRST(&s->calling); c != NULL && c->call_id != m->version;
	    c = TAILQ_NEXT(c, waiting))
		;
	if (c == NULL || c->fcgi_phase != FCGI_CONNECTING) {
		if (fd != -1)
			close(fd);
		/* A call given up while the supervisor connected: its connection is free only now. */
		if (c == NULL && m->len == 1 && m->site < s->nsites &&
		    (uint8_t)m->data[0] < CONFIG_MAX_FASTCGI &&
		    s->sites[m->site].fcgi_open[(uint8_t)m->data[0]] > 0) {
			s->sites[m->site].fcgi_open[(uint8_t)m->data[0]]--;
			fcgi_wake(s, m->site, (uint8_t)m->data[0]);
		}
		return;
	}
	TAILQ_REMOVE(&s->calling, c, waiting);
	c->calling = false;
	if (fd == -1 || m->status != 0) {
		if (fd != -1)
			close(fd);
		snprintf(why, sizeof(why), "cannot connect: %s", m->status ? strerror((int)m->status) :
		    "no socket");
		fcgi_fail(c, why);
		return;
	}
	c->fcgi_fd = fd;
	c->fcgi_what = EV_READ | EV_WRITE;
	event_assign(&c->fcgi_ev, s->base, fd, EV_READ | EV_WRITE | EV_PERSIST, on_fcgi, c);
	event_add(&c->fcgi_ev, NULL);
	fcgi_timer(c);
}

/*
 * The handler made a FastCGI call: the supervisor is asked for its socket
 * at once, or when one of the application's connections is free.
 */
static enum conn_state
start_fcgi(struct conn *c)
{
	struct server *s = c->srv;
	const struct gateway_call *call = c->resp.fcgi;

	fcgi_parser_init(&c->fcgi, 1);
	c->call_id = ++s->call_ids;
	c->fcgi_tail[0] = '\n';	/* the answer starts a line */
	c->fcgi_tail_len = 1;
	c->fcgi_phase = FCGI_QUEUED;
	if ((c->fcgi_in = evbuffer_new()) == NULL ||
	    (s->sites[call->site].fcgi_open[call->app] < s->fcgi_share && !fcgi_dial(c))) {
		log_warn("%s: fastcgi: cannot start a call", c->resp.host ? c->resp.host : "-");
		fcgi_release(c);
		c->ops->refuse(&c->resp, 42, "CGI error");
		return CONN_WRITE;
	}
	TAILQ_INSERT_TAIL(&s->calling, c, waiting);
	c->calling = true;
	fcgi_timer(c);
	return CONN_FCGI;
}

/*
 * Has the protocol answer the request; 0 when there is an answer to send,
 * IO_WAIT when it waits for a fresher post index (never when !may_wait).
 */
static int
answer(struct conn *c, bool may_wait)
{
	struct request_ctx ctx;
	struct server *s = c->srv;
	enum response_wait was;

	ctx.client = c->client;
	ctx.ssl = c->ssl;
	ctx.sni = c->ssl ? tls_servername(c->ssl, c->sni, sizeof(c->sni)) : NULL;
	ctx.may_wait = may_wait;
	was = c->state == CONN_WAIT ? c->resp.wait : WAIT_NONE;
	c->resp.wait = WAIT_NONE;
	c->ops->handle(s, &ctx, c->frame == FRAME_LINE ? c->buf : NULL, c->frame_len,
	    &c->resp);
	if (c->resp.wait != WAIT_NONE && may_wait) {
		if (c->state != CONN_WAIT) {
			c->state = CONN_WAIT;
			TAILQ_INSERT_TAIL(&s->waiting, c, waiting);
		}
		/* Each wait has its own time: the index's, then perhaps the search's. */
		if (c->resp.wait != was)
			arm_timer(c, c->resp.wait == WAIT_INDEX ? INDEX_WAIT_MS : SEARCH_WAIT_MS);
		if (c->resp.wait == WAIT_INDEX)
			server_wait_index(s);
		return IO_WAIT;
	}
	if (c->state == CONN_WAIT) {
		TAILQ_REMOVE(&s->waiting, c, waiting);
		evtimer_del(&c->timer);
	}
	c->state = c->resp.upload != NULL ? start_upload(c) : c->resp.fcgi != NULL ?
	    start_fcgi(c) : CONN_WRITE;
	return 0;
}

void
conn_resume_waiting(struct server *s)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&s->waiting); c != NULL; c = next) {
		next = TAILQ_NEXT(c, waiting);
		if (answer(c, true) == 0)
			conn_step(c);
	}
}

/* Reads until the protocol has a complete request line; then answers it. */
static int
step_read(struct conn *c)
{
	enum frame_result fr;
	size_t linelen = 0;
	long n;
	int r;

	if (!c->sniffed && c->tls_sniff &&
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
	if ((c->resp.out = evbuffer_new()) == NULL) {
		c->note = "out of memory";
		return IO_ERR;
	}
	c->answered = true;
	c->frame = fr;
	c->frame_len = linelen;
	c->line_len = fr == FRAME_LINE ? linelen : c->len;
	/* Over its rate: the protocol's "slow down", and the request is not served. */
	if (!quota_request(c->srv->quota, &c->srv->limits, c->quota_slot))
		c->ops->refuse(&c->resp, 44, "Slow down: too many requests from your "
		    "address; try again in a few seconds");
	else
		return answer(c, true);
	c->state = CONN_WRITE;
	return 0;
}

/*
 * Tops up the output from the file being streamed; bounded by FILE_CHUNK. Raw
 * bytes go straight into the output; a filter reads them into the server's
 * scratch buffer first (one will do: its event loop runs one refill at a time).
 */
static int
refill(struct conn *c)
{
	char *raw = c->srv->scratch;
	struct response *r = &c->resp;
	struct evbuffer_iovec v;
	size_t want = r->file_left < FILE_CHUNK ? (size_t)r->file_left : FILE_CHUNK;
	ssize_t n;

	if (r->filter != NULL)
		n = raw != NULL ? read(r->fd, raw, want) : -1;
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

/*
 * Streams the rest of the response's file with sendfile: 0 when it is all
 * out (or the file shrank: what there was is sent), IO_WAIT, IO_ERR.
 */
static long
send_file(struct conn *c)
{
	struct response *r = &c->resp;
	ssize_t n;

	while (r->file_left > 0) {
		n = sendfile(c->fd, r->fd, NULL, r->file_left < SENDFILE_CHUNK ?
		    (size_t)r->file_left : SENDFILE_CHUNK);
		if (n > 0) {
			r->file_left -= n;
			c->sent += (unsigned long long)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			conn_wait(c, EV_WRITE);
			return IO_WAIT;
		}
		if (n == -1) {
			c->note = errno == EPIPE || errno == ECONNRESET ? "reset" : "file read error";
			return IO_ERR;
		}
		break;
	}
	close(r->fd);
	r->fd = -1;
	return 0;
}

static int
step_write(struct conn *c)
{
	struct evbuffer *out = c->resp.out;
	size_t len;
	long n;

	/* A raw file over plain TCP, nothing before it to send: no copy through us. */
	if (c->ssl == NULL && c->resp.filter == NULL && c->resp.fd != -1 &&
	    evbuffer_get_length(out) == 0 && (n = send_file(c)) != 0)
		return (int)n;
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
		if (n < 0) {
			if (n == IO_WAIT)
				fcgi_pace(c);
			return (int)n;
		}
		evbuffer_drain(out, n);
		c->sent += n;
	}
	if (c->fcgi_fd != -1 || c->fcgi_cut)
		return fcgi_drained(c);
	c->state = CONN_SHUTDOWN;
	return 0;
}

static int
step_shutdown(struct conn *c)
{
	long n;
	int r;

	if (c->ssl != NULL && !c->notified) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_shutdown(c->ssl)) < 0) {
			n = io_tls_result(c, r);
			if (n == IO_WAIT)
				return IO_WAIT;
			/* The peer left first; what it missed is its loss. */
			return IO_ERR;
		}
		c->notified = true;
	}
	/* The reply's last records and close_notify, held until now, leave together. */
	if (c->ssl != NULL && (n = tls_flush(c)) != 0)
		return (int)n;
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

	c->armed = false;
	while (r == 0) {
		switch (c->state) {
		case CONN_PROXY:
			r = step_proxy(c);
			break;
		case CONN_READ:
			r = step_read(c);
			break;
		case CONN_WAIT:
		case CONN_PUBLISH:
		case CONN_FCGI:
			r = IO_WAIT;
			break;
		case CONN_UPLOAD:
			r = step_upload(c);
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
	if (r != IO_WAIT) {
		conn_close(c);
		return;
	}
	/* It waits for something else (the index, a signature): the socket stays quiet. */
	if (!c->armed && c->ev_what != 0) {
		event_del(&c->ev);
		c->ev_what = 0;
	}
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

/*
 * Counts the connection against its client's share, across every worker;
 * false (with a note for the log) when the client already has its share open.
 */
static bool
count_client(struct conn *c, const struct sockaddr *sa)
{
	struct server *s = c->srv;
	bool over;

	c->quota_slot = quota_open(s->quota, s->quota_ledger, &s->limits, sa, &over);
	if (over)
		c->note = "over-client_connections";
	return !over;
}

void
conn_accept(struct server *s, struct listener *l, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct conn *c;

	(void)salen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->fcgi_fd = -1;
	c->ops = l->ops;
	c->tls_sniff = l->tls_sniff;
	c->state = l->proxy ? CONN_PROXY : CONN_READ;
	c->resp.fd = -1;
	c->quota_slot = -1;
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	format_addr(sa, c->client, sizeof(c->client));
	event_assign(&c->ev, s->base, fd, EV_READ | EV_PERSIST, on_event, c);
	c->ev_what = EV_READ;
	evtimer_assign(&c->timer, s->base, on_timeout, c);
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	server_conn_opened(s);
	/* Only a trusted load balancer may name another client: refuse the rest. */
	if (l->proxy && s->nproxy_from > 0 &&
	    !proxy_nets_match(s->proxy_from, s->nproxy_from, sa)) {
		c->note = "proxy:untrusted-peer";
		conn_close(c);
		return;
	}
	/*
	 * Over its client's share: closed now, before it holds a slot for
	 * request_timeout or costs a handshake. Behind a balancer, the client
	 * is known once its PROXY header is read.
	 */
	if (!l->proxy && !count_client(c, sa)) {
		conn_close(c);
		return;
	}
	if (l->tls && tls_start(c) == IO_ERR) {
		conn_close(c);
		return;
	}
	arm_timer(c, s->cfg->request_timeout_ms);
	/* Wait for the first bytes rather than try a read that cannot succeed yet. */
	event_add(&c->ev, NULL);
}

void
conn_close_idle(struct server *s)
{
	struct conn *c, *next;
	long age, left;
	char b;

	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!conn_idle(c))
			continue;
		/*
		 * Idle as far as this process has read; but the request may be in
		 * the socket already, or on its way from a client that has just
		 * connected (a reload's SIGTERM can land between its connect and
		 * its first write). Such a request is served, not dropped: one
		 * waiting is left alone, a young connection gets a moment to
		 * speak (on_timeout closes it if it does not), the rest close.
		 */
		if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
			continue;
		age = elapsed_ms(&c->start);
		left = STOP_GRACE_MS - age;
		if (left > s->cfg->request_timeout_ms - age)
			left = s->cfg->request_timeout_ms - age;
		if (left > 0) {
			arm_timer(c, (int)left);
			continue;
		}
		c->note = "shutdown";
		conn_close(c);
	}
}

void
conn_close_all(struct server *s)
{
	struct conn *c, *next;

	/*
	 * Not "while ((c = TAILQ_FIRST()))": the same, but the analyzer cannot
	 * see that TAILQ_REMOVE moved the head on and reports a use after free.
	 */
	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		c->note = "shutdown";
		conn_close(c);
	}
}
