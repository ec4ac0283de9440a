/*
 * loadgen: a closed-loop load generator for gazette's benchmark.
 *
 * One process, one epoll loop, no threads: the caller pins it to one core
 * (taskset) and the server to another, so what it measures is the server.
 * Each of -c slots runs one request at a time, back to back:
 *
 *   CONNECT ──> HANDSHAKE ──> WRITE ──> READ ──EOF──> (next request)
 *                (TLS only)
 *
 * A slot's request ends at EOF (close_notify, or TCP close for Gopher), on
 * an error, or at its deadline; then the slot starts the next one at once.
 * Sockets are registered once, edge-triggered for both directions, so a step
 * simply runs until OpenSSL or the kernel says "would block".
 *
 * Timers need no heap: every request has the same timeout and every backoff
 * the same length, so both queues are sorted by insertion order.
 *
 * Statistics cover what completes between the end of the warm-up and the end
 * of the run; requests still in flight at the end are dropped, not counted.
 */
#include <sys/queue.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_CONCURRENCY 100000
#define REQUEST_MAX (1024 + 2)		/* a Gemini URL plus CRLF; selectors fit too */
#define HEAD_MAX 64			/* response bytes kept for the prefix check */
#define BACKOFF_NS (50 * 1000000ULL)	/* after a failed connect: never spin */
#define MAX_EVENTS 512
#define READ_BUF (256 * 1024)
#define READ_BUDGET (1024 * 1024)	/* per turn, so a big file cannot hog the loop */
#define NS 1000000000ULL
#define WATCH_MAX 1024			/* server processes followed by -P */
#define SAMPLE_NS NS			/* server memory, once a second */

enum mode { MODE_FULL, MODE_RESUME, MODE_PLAIN };

enum slot_state { S_IDLE, S_SLEEP, S_CONNECT, S_HANDSHAKE, S_WRITE, S_READ };

static const char *const state_names[] = {
	"idle", "asleep", "connect", "handshake", "write", "read",
};

enum err_kind {
	E_SOCKET,	/* socket() or bind() failed: descriptors, source address */
	E_ADDR,		/* EADDRNOTAVAIL: out of ephemeral ports */
	E_CONNECT,	/* refused or unreachable */
	E_RESET,	/* ECONNRESET or EPIPE after connecting */
	E_HANDSHAKE,
	E_WRITE,
	E_READ,		/* a TLS error while reading the response */
	E_UNCLEAN,	/* TLS: TCP closed without close_notify (maybe truncated) */
	E_EMPTY,	/* closed without a byte */
	E_STATUS,	/* the response does not start with the expected prefix */
	E_TIMEOUT,
	E__COUNT
};

static const char *const err_names[E__COUNT] = {
	"socket", "addr", "connect", "reset", "handshake", "write", "read",
	"unclean_eof", "empty", "status", "timeout",
};

struct slot {
	TAILQ_ENTRY(slot) queue;	/* in flight, or asleep */
	uint64_t deadline;	/* timeout, or end of backoff */
	uint64_t start;		/* connect() called */
	uint64_t connected;
	uint64_t handshaken;
	uint64_t first_byte;
	int fd;
	SSL *ssl;
	SSL_SESSION *session;	/* the latest ticket this slot received */
	enum slot_state state;
	uint32_t idx;
	uint32_t gen;		/* tells a stale epoll event from a current one */
	size_t written;		/* of the request, over plain TCP */
	uint64_t bytes;		/* of the response */
	char head[HEAD_MAX];
	size_t head_len;
	bool head_ok;
	bool yielded;		/* in g.ready */
};

TAILQ_HEAD(slot_queue, slot);

static struct {
	const char *host;
	const char *port;
	const char *sni;
	const char *request;
	const char *prefix;
	const char *bind_range;
	const char *watch;
	const char *ciphers;
	enum mode mode;
	int concurrency;
	double duration;
	double warmup;
	double timeout;
	uint64_t count;		/* 0: no limit */
	int tls_max;
	bool json;
	bool shared_session;
	bool send_close_notify;
	bool linger_zero;
} opt = {
	.host = "127.0.0.1",
	.sni = "localhost",
	.concurrency = 1,
	.timeout = 10,
	.mode = MODE_FULL,
};

static struct {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	uint32_t bind_first, bind_last, bind_next;	/* host order */
	char req[REQUEST_MAX];
	size_t req_len;
	size_t prefix_len;
	SSL_CTX *ctx;
	SSL_SESSION *shared;
	int ep;
	struct slot *slots;
	uint32_t *ready;	/* slots that yielded with data left */
	size_t nready;
	struct slot_queue inflight;
	struct slot_queue asleep;
	unsigned char *rbuf;
	uint64_t timeout_ns;
	uint64_t measure_start;	/* 0 while warming up */
	uint64_t measure_end;
	uint64_t warm_end;
	uint64_t end;		/* UINT64_MAX: until -n requests */
	struct rusage ru_start;
	int active;		/* slots neither idle nor asleep */
	volatile sig_atomic_t interrupted;
	bool stopping;
	const char *tls_version;
	const char *cipher;
} g;

static struct {
	uint64_t done;		/* finished, well or not */
	uint64_t ok;
	uint64_t bytes;
	uint64_t handshakes;
	uint64_t resumed;
	uint64_t errors[E__COUNT];
	char first_error[E__COUNT][160];
	uint32_t *lat_us;	/* every successful request's latency */
	size_t lat_len, lat_cap;
	uint64_t connect_ns, handshake_ns, ttfb_ns;	/* sums, for means */
	uint64_t connect_max_ns;
} st;

/* The server's processes (-P): CPU time over the window, memory at peak. */
static struct {
	pid_t roots[16];
	int nroots;
	pid_t pids[WATCH_MAX];
	int npids;
	double cpu_start, cpu_end;	/* seconds */
	uint64_t rss_idle_kb, pss_idle_kb;
	uint64_t rss_max_kb, pss_max_kb;
	uint64_t next_sample;
} srv;

static void slot_start(struct slot *s);

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void __attribute__((noreturn))
usage(void)
{
	fputs("usage: loadgen [-m full|resume|plain] [-H host] [-p port] [-s sni|-]\n"
	    "               [-r request] [-e prefix] [-c concurrency] [-d seconds]\n"
	    "               [-n requests] [-w seconds] [-T timeout] [-t 1.2|1.3]\n"
	    "               [-b first[-last]] [-P pid[,pid...]] [-o table|json]\n"
	    "               [-A ciphers] [-S] [-C] [-L]\n", stderr);
	exit(2);
}

static bool
measuring(void)
{
	return g.measure_start != 0;
}

/* The OpenSSL error behind a failure, or errno's, for the report. */
static void
describe(char *buf, size_t size, const char *what, int ssl_err, int saved_errno)
{
	unsigned long e = ERR_peek_error();

	if (e != 0) {
		char tmp[120];

		ERR_error_string_n(e, tmp, sizeof(tmp));
		snprintf(buf, size, "%s: %s", what, tmp);
	} else if (ssl_err == SSL_ERROR_SYSCALL && saved_errno != 0)
		snprintf(buf, size, "%s: %s", what, strerror(saved_errno));
	else if (ssl_err == SSL_ERROR_SYSCALL)
		snprintf(buf, size, "%s: EOF", what);
	else
		snprintf(buf, size, "%s: SSL error %d", what, ssl_err);
}

/* Ends the slot's connection; the slot keeps its session for the next one. */
static void
slot_close(struct slot *s)
{
	if (s->ssl != NULL) {
		if (opt.send_close_notify && s->state == S_READ)
			SSL_shutdown(s->ssl);
		else {
			/*
			 * Like most Gemini clients we just close. But OpenSSL
			 * marks the session not resumable when an SSL is freed
			 * without a shutdown: say it had one.
			 */
			SSL_set_shutdown(s->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		}
		SSL_free(s->ssl);
		s->ssl = NULL;
		ERR_clear_error();
	}
	if (s->fd != -1) {
		close(s->fd);	/* also leaves the epoll set */
		s->fd = -1;
	}
	s->gen++;
	TAILQ_REMOVE(&g.inflight, s, queue);
	g.active--;
	s->state = S_IDLE;
}

static void
slot_sleep(struct slot *s)
{
	s->state = S_SLEEP;
	s->deadline = now_ns() + BACKOFF_NS;
	TAILQ_INSERT_TAIL(&g.asleep, s, queue);
}

static void
check_limit(void)
{
	if (opt.count != 0 && measuring() && st.done >= opt.count)
		g.stopping = true;
}

/* Counts a failed request, then starts the next one (after a pause if asked). */
static void
slot_fail(struct slot *s, enum err_kind kind, const char *detail, bool backoff)
{
	if (measuring()) {
		if (st.errors[kind]++ == 0)
			snprintf(st.first_error[kind], sizeof(st.first_error[kind]),
			    "%s", detail);
		st.done++;
		check_limit();
	}
	ERR_clear_error();
	slot_close(s);
	if (backoff && !g.stopping)
		slot_sleep(s);
	else
		slot_start(s);
}

static void
record_latency(uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (st.lat_len == st.lat_cap) {
		size_t cap = st.lat_cap ? st.lat_cap * 2 : 65536;
		uint32_t *p = realloc(st.lat_us, cap * sizeof(*p));

		if (p == NULL)
			die("out of memory for latency samples");
		st.lat_us = p;
		st.lat_cap = cap;
	}
	st.lat_us[st.lat_len++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void
slot_done(struct slot *s)
{
	uint64_t t = now_ns();

	if (s->bytes == 0) {
		slot_fail(s, E_EMPTY, "closed without a response", false);
		return;
	}
	if (!s->head_ok) {
		char line[HEAD_MAX + 32];

		snprintf(line, sizeof(line), "short response (%zu bytes)", s->head_len);
		slot_fail(s, E_STATUS, line, false);
		return;
	}
	if (measuring()) {
		st.done++;
		st.ok++;
		st.bytes += s->bytes;
		record_latency(t - s->start);
		st.connect_ns += s->connected - s->start;
		if (s->connected - s->start > st.connect_max_ns)
			st.connect_max_ns = s->connected - s->start;
		if (s->ssl != NULL)
			st.handshake_ns += s->handshaken - s->connected;
		st.ttfb_ns += s->first_byte - s->start;
		check_limit();
	}
	slot_close(s);
	slot_start(s);
}

/* Takes response bytes: counts them and checks the prefix. */
static bool
slot_got(struct slot *s, const unsigned char *buf, size_t n)
{
	if (s->bytes == 0)
		s->first_byte = now_ns();
	s->bytes += n;
	if (s->head_ok)
		return true;
	if (s->head_len < HEAD_MAX) {
		size_t k = HEAD_MAX - s->head_len < n ? HEAD_MAX - s->head_len : n;

		memcpy(s->head + s->head_len, buf, k);
		s->head_len += k;
	}
	if (s->head_len < g.prefix_len)
		return true;
	if (memcmp(s->head, opt.prefix, g.prefix_len) != 0) {
		char line[HEAD_MAX + 16];
		size_t len = 0;

		while (len < s->head_len && s->head[len] != '\r' && s->head[len] != '\n')
			len++;
		snprintf(line, sizeof(line), "got \"%.*s\"", (int)len, s->head);
		/* Control bytes would garble the report. */
		for (char *p = line; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
				*p = '?';
		slot_fail(s, E_STATUS, line, false);
		return false;
	}
	s->head_ok = true;
	return true;
}

static void
tls_failed(struct slot *s, int r, const char *what, enum err_kind kind)
{
	int saved = errno;
	int e = SSL_get_error(s->ssl, r);
	char detail[160];

	if (e == SSL_ERROR_SYSCALL && (saved == ECONNRESET || saved == EPIPE))
		kind = E_RESET;
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
	if (kind == E_READ && ERR_GET_REASON(ERR_peek_error()) ==
	    SSL_R_UNEXPECTED_EOF_WHILE_READING)
		kind = E_UNCLEAN;
#endif
	if (kind == E_READ && e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 &&
	    saved == 0)
		kind = E_UNCLEAN;	/* OpenSSL 1.1 says it this way */
	describe(detail, sizeof(detail), what, e, saved);
	slot_fail(s, kind, detail, false);
}

static void
step_connect(struct slot *s, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0)
		return;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		char detail[96];

		snprintf(detail, sizeof(detail), "connect: %s", strerror(err));
		slot_fail(s, err == EADDRNOTAVAIL ? E_ADDR : E_CONNECT, detail, true);
		return;
	}
	s->connected = now_ns();
	if (opt.mode == MODE_PLAIN) {
		s->handshaken = s->connected;
		s->state = S_WRITE;
		return;
	}
	if ((s->ssl = SSL_new(g.ctx)) == NULL)
		die("SSL_new failed");
	SSL_set_fd(s->ssl, s->fd);
	SSL_set_app_data(s->ssl, s);
	if (strcmp(opt.sni, "-") != 0)
		SSL_set_tlsext_host_name(s->ssl, opt.sni);
	if (opt.mode == MODE_RESUME) {
		SSL_SESSION *sess = opt.shared_session ? g.shared : s->session;

		if (sess != NULL)
			SSL_set_session(s->ssl, sess);
	}
	s->state = S_HANDSHAKE;
}

static void
step_handshake(struct slot *s)
{
	int r;

	errno = 0;
	if ((r = SSL_connect(s->ssl)) != 1) {
		int e = SSL_get_error(s->ssl, r);

		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			tls_failed(s, r, "handshake", E_HANDSHAKE);
		return;
	}
	s->handshaken = now_ns();
	if (g.tls_version == NULL) {
		g.tls_version = SSL_get_version(s->ssl);
		g.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(s->ssl));
	}
	if (measuring()) {
		st.handshakes++;
		if (SSL_session_reused(s->ssl))
			st.resumed++;
	}
	s->state = S_WRITE;
}

/* Returns whether the request is all out. */
static bool
step_write(struct slot *s)
{
	char detail[160];

	if (s->ssl != NULL) {
		int r;

		/* Without partial writes a retry must repeat the same call. */
		errno = 0;
		if ((r = SSL_write(s->ssl, g.req, (int)g.req_len)) <= 0) {
			int e = SSL_get_error(s->ssl, r);

			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				tls_failed(s, r, "write", E_WRITE);
			return false;
		}
		return true;
	}
	while (s->written < g.req_len) {
		ssize_t n = send(s->fd, g.req + s->written, g.req_len - s->written,
		    MSG_NOSIGNAL);

		if (n >= 0) {
			s->written += n;
			continue;
		}
		if (errno == EAGAIN || errno == EINTR)
			return false;
		snprintf(detail, sizeof(detail), "write: %s", strerror(errno));
		slot_fail(s, errno == ECONNRESET || errno == EPIPE ? E_RESET : E_WRITE,
		    detail, false);
		return false;
	}
	return true;
}

/* Leaves a slot that still has data for the next turn of the loop. */
static void
slot_yield(struct slot *s)
{
	if (!s->yielded) {
		s->yielded = true;
		g.ready[g.nready++] = s->idx;
	}
}

static void
step_read(struct slot *s)
{
	char detail[160];
	size_t budget = READ_BUDGET;

	for (;;) {
		/* Edge-triggered: no new event will come, so queue ourselves. */
		if (budget == 0) {
			slot_yield(s);
			return;
		}
		if (s->ssl != NULL) {
			int r;

			errno = 0;
			if ((r = SSL_read(s->ssl, g.rbuf, READ_BUF)) > 0) {
				if (!slot_got(s, g.rbuf, r))
					return;
				budget -= (size_t)r < budget ? (size_t)r : budget;
				continue;
			}
			switch (SSL_get_error(s->ssl, r)) {
			case SSL_ERROR_ZERO_RETURN:
				slot_done(s);
				return;
			case SSL_ERROR_WANT_READ:
			case SSL_ERROR_WANT_WRITE:
				return;
			default:
				tls_failed(s, r, "read", E_READ);
				return;
			}
		} else {
			ssize_t n = read(s->fd, g.rbuf, READ_BUF);

			if (n > 0) {
				if (!slot_got(s, g.rbuf, n))
					return;
				budget -= (size_t)n < budget ? (size_t)n : budget;
				continue;
			}
			if (n == 0) {
				slot_done(s);
				return;
			}
			if (errno == EAGAIN || errno == EINTR)
				return;
			snprintf(detail, sizeof(detail), "read: %s", strerror(errno));
			slot_fail(s, errno == ECONNRESET ? E_RESET : E_READ, detail, false);
			return;
		}
	}
}

/* Runs the slot's request until it would block or ends. */
static void
slot_step(struct slot *s, uint32_t events)
{
	uint32_t gen = s->gen;

	/* A finished request starts the next one: stop when gen moves on. */
	while (s->gen == gen) {
		switch (s->state) {
		case S_CONNECT:
			step_connect(s, events);
			if (s->gen == gen && s->state == S_CONNECT)
				return;
			break;
		case S_HANDSHAKE:
			step_handshake(s);
			if (s->gen == gen && s->state == S_HANDSHAKE)
				return;
			break;
		case S_WRITE:
			if (!step_write(s))
				return;
			s->state = S_READ;
			s->head_ok = g.prefix_len == 0;
			break;
		case S_READ:
			step_read(s);
			return;
		case S_IDLE:
		case S_SLEEP:
			return;
		}
	}
}

static int
open_socket(struct slot *s, char *detail, size_t size, enum err_kind *kind)
{
	int fd, one = 1;

	*kind = E_SOCKET;
	fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(detail, size, "socket: %s", strerror(errno));
		return -1;
	}
	/* TLS 1.3 sends Finished and the request as separate writes: no Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (opt.linger_zero) {
		struct linger l = { 1, 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	if (opt.bind_range != NULL) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		/* The port is picked at connect(), knowing the whole 4-tuple. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		src.sin_addr.s_addr = htonl(g.bind_next);
		g.bind_next = g.bind_next == g.bind_last ? g.bind_first : g.bind_next + 1;
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			snprintf(detail, size, "bind: %s", strerror(errno));
			if (errno == EADDRNOTAVAIL || errno == EADDRINUSE)
				*kind = E_ADDR;
			close(fd);
			return -1;
		}
	}
	s->fd = fd;
	s->start = now_ns();
	if (connect(fd, (struct sockaddr *)&g.addr, g.addr_len) == -1 &&
	    errno != EINPROGRESS) {
		snprintf(detail, size, "connect: %s", strerror(errno));
		*kind = errno == EADDRNOTAVAIL || errno == EAGAIN ? E_ADDR : E_CONNECT;
		s->fd = -1;
		close(fd);
		return -1;
	}
	return fd;
}

/* Starts the slot's next request, unless the run is ending. */
static void
slot_start(struct slot *s)
{
	struct epoll_event ev;
	enum err_kind kind;
	char detail[160];

	if (g.stopping)
		return;
	/* With -n, never start more than can still count. */
	if (opt.count != 0 && measuring() && st.done + (uint64_t)g.active >= opt.count)
		return;
	s->written = 0;
	s->bytes = 0;
	s->head_len = 0;
	s->head_ok = false;
	s->state = S_CONNECT;
	s->gen++;
	s->deadline = now_ns() + g.timeout_ns;
	TAILQ_INSERT_TAIL(&g.inflight, s, queue);
	g.active++;
	if (open_socket(s, detail, sizeof(detail), &kind) == -1) {
		s->start = now_ns();
		slot_fail(s, kind, detail, true);
		return;
	}
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
	ev.data.u64 = (uint64_t)s->idx << 32 | s->gen;
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, s->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	/* Loopback may connect at once; the EPOLLOUT edge still comes. */
}

static int
new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct slot *s = SSL_get_app_data(ssl);
	SSL_SESSION **keep = opt.shared_session ? &g.shared : &s->session;

	SSL_SESSION_free(*keep);
	*keep = sess;
	return 1;	/* the reference is ours now */
}

/* Accepts any chain without building it: the signature is still checked. */
static int
skip_verify(X509_STORE_CTX *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return 1;
}

static void
tls_init(void)
{
	if ((g.ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("SSL_CTX_new failed");
	/*
	 * Certificates are self-signed and we measure, we do not verify: skip
	 * even the chain building OpenSSL does when told not to verify.
	 */
	SSL_CTX_set_verify(g.ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_cert_verify_callback(g.ctx, skip_verify, NULL);
	SSL_CTX_set_min_proto_version(g.ctx, TLS1_2_VERSION);
	if (opt.tls_max != 0)
		SSL_CTX_set_max_proto_version(g.ctx, opt.tls_max);
	/*
	 * The server picks the cipher; offering fewer lets one compare them
	 * (TLS 1.3 suite names and TLS 1.2 cipher strings may be mixed).
	 */
	if (opt.ciphers != NULL) {
		int ok13 = SSL_CTX_set_ciphersuites(g.ctx, opt.ciphers);
		int ok12 = SSL_CTX_set_cipher_list(g.ctx, opt.ciphers);

		ERR_clear_error();
		if (!ok13 && !ok12)
			die("-A: no cipher known in \"%s\"", opt.ciphers);
	}
	/* Fewer read() calls per record: matters for big files. */
	SSL_CTX_set_read_ahead(g.ctx, 1);
	SSL_CTX_set_mode(g.ctx, SSL_MODE_RELEASE_BUFFERS);
	if (opt.mode == MODE_RESUME) {
		SSL_CTX_set_session_cache_mode(g.ctx,
		    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(g.ctx, new_session);
	} else
		SSL_CTX_set_session_cache_mode(g.ctx, SSL_SESS_CACHE_OFF);
}

static void
resolve(void)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai;
	int r;

	if ((r = getaddrinfo(opt.host, opt.port, &hints, &ai)) != 0)
		die("%s: %s", opt.host, gai_strerror(r));
	memcpy(&g.addr, ai->ai_addr, ai->ai_addrlen);
	g.addr_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (opt.bind_range != NULL && g.addr.ss_family != AF_INET)
		die("-b needs an IPv4 target");
}

static void
parse_bind_range(const char *arg)
{
	char first[INET_ADDRSTRLEN], *dash;
	struct in_addr a, b;

	snprintf(first, sizeof(first), "%s", arg);
	if ((dash = strchr(first, '-')) != NULL)
		*dash = '\0';
	if (inet_pton(AF_INET, first, &a) != 1)
		die("-b: bad address %s", first);
	b = a;
	if ((dash = strchr(arg, '-')) != NULL && inet_pton(AF_INET, dash + 1, &b) != 1)
		die("-b: bad address %s", dash + 1);
	g.bind_first = g.bind_next = ntohl(a.s_addr);
	g.bind_last = ntohl(b.s_addr);
	if (g.bind_last < g.bind_first)
		die("-b: empty range");
	opt.bind_range = arg;
}

static double
parse_num(const char *s, char flag, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
		die("-%c: expected a number from %g to %g, got \"%s\"", flag, min, max, s);
	return v;
}

/*
 * -P: the server's own figures, over the same window as ours. A process tree
 * (supervisor and workers) is found by scanning /proc for descendants; the
 * roots' cutime/cstime keep the time of children reaped during the run.
 */
static bool
read_stat(pid_t pid, pid_t *ppid, double *self, double *reaped)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st_, cut, cst;
	int ppid_i;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip to the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
	    &ppid_i, &ut, &st_, &cut, &cst) != 5)
		return false;
	if (ppid != NULL)
		*ppid = ppid_i;
	if (self != NULL)
		*self = (double)(ut + st_) / sysconf(_SC_CLK_TCK);
	if (reaped != NULL)
		*reaped = (double)(cut + cst) / sysconf(_SC_CLK_TCK);
	return true;
}

static bool
watched(pid_t pid)
{
	for (int i = 0; i < srv.npids; i++)
		if (srv.pids[i] == pid)
			return true;
	return false;
}

/* The roots and all their descendants, as they are now. */
static void
watch_scan(void)
{
	struct { pid_t pid, ppid; } *all = NULL;
	size_t nall = 0, cap = 0;
	struct dirent *de;
	bool grew = true;
	DIR *d;
	int i;

	srv.npids = 0;
	for (i = 0; i < srv.nroots; i++)
		if (read_stat(srv.roots[i], NULL, NULL, NULL))
			srv.pids[srv.npids++] = srv.roots[i];
	if ((d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		pid_t pid, ppid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		if (!read_stat(pid, &ppid, NULL, NULL))
			continue;
		if (nall == cap) {
			cap = cap ? cap * 2 : 512;
			if ((all = realloc(all, cap * sizeof(*all))) == NULL)
				die("out of memory");
		}
		all[nall].pid = pid;
		all[nall++].ppid = ppid;
	}
	closedir(d);
	while (grew && srv.npids < WATCH_MAX) {
		grew = false;
		for (size_t k = 0; k < nall && srv.npids < WATCH_MAX; k++)
			if (watched(all[k].ppid) && !watched(all[k].pid)) {
				srv.pids[srv.npids++] = all[k].pid;
				grew = true;
			}
	}
	free(all);
}

static double
watch_cpu(void)
{
	double total = 0, self, reaped;
	int i, r;

	watch_scan();
	for (i = 0; i < srv.npids; i++) {
		if (!read_stat(srv.pids[i], NULL, &self, &reaped))
			continue;
		total += self;
		for (r = 0; r < srv.nroots; r++)
			if (srv.roots[r] == srv.pids[i])
				total += reaped;
	}
	return total;
}

/* Sums Rss and Pss (shared pages divided among sharers) over the tree, in KiB. */
static void
watch_memory(uint64_t *rss, uint64_t *pss)
{
	char path[64], line[128];
	unsigned long long kb;
	FILE *f;

	*rss = *pss = 0;
	for (int i = 0; i < srv.npids; i++) {
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)srv.pids[i]);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "Rss: %llu kB", &kb) == 1)
				*rss += kb;
			else if (sscanf(line, "Pss: %llu kB", &kb) == 1)
				*pss += kb;
		}
		fclose(f);
	}
}

static void
watch_sample(uint64_t t)
{
	uint64_t rss, pss;

	watch_memory(&rss, &pss);
	if (rss > srv.rss_max_kb)
		srv.rss_max_kb = rss;
	if (pss > srv.pss_max_kb)
		srv.pss_max_kb = pss;
	srv.next_sample = t + SAMPLE_NS;
}

static void
parse_watch(const char *arg)
{
	char *copy, *tok, *save = NULL;

	if ((copy = strdup(arg)) == NULL)
		die("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (srv.nroots == (int)(sizeof(srv.roots) / sizeof(srv.roots[0])))
			die("-P: too many processes");
		srv.roots[srv.nroots++] = (pid_t)parse_num(tok, 'P', 1, INT_MAX);
	}
	free(copy);
	opt.watch = arg;
}

static void
parse_args(int argc, char **argv)
{
	bool prefix_set = false;
	int ch;

	while ((ch = getopt(argc, argv, "A:b:c:Cd:e:H:hLm:n:o:p:P:r:s:St:T:w:")) != -1) {
		switch (ch) {
		case 'A':
			opt.ciphers = optarg;
			break;
		case 'b':
			parse_bind_range(optarg);
			break;
		case 'c':
			opt.concurrency = (int)parse_num(optarg, ch, 1, MAX_CONCURRENCY);
			break;
		case 'C':
			opt.send_close_notify = true;
			break;
		case 'd':
			opt.duration = parse_num(optarg, ch, 0.001, 86400);
			break;
		case 'e':
			opt.prefix = optarg;
			prefix_set = true;
			break;
		case 'H':
			opt.host = optarg;
			break;
		case 'L':
			opt.linger_zero = true;
			break;
		case 'm':
			if (strcmp(optarg, "full") == 0)
				opt.mode = MODE_FULL;
			else if (strcmp(optarg, "resume") == 0)
				opt.mode = MODE_RESUME;
			else if (strcmp(optarg, "plain") == 0)
				opt.mode = MODE_PLAIN;
			else
				die("-m: full, resume or plain");
			break;
		case 'n':
			opt.count = (uint64_t)parse_num(optarg, ch, 1, 1e15);
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				opt.json = true;
			else if (strcmp(optarg, "table") == 0)
				opt.json = false;
			else
				die("-o: table or json");
			break;
		case 'p':
			parse_num(optarg, ch, 1, 65535);
			opt.port = optarg;
			break;
		case 'P':
			parse_watch(optarg);
			break;
		case 'r':
			opt.request = optarg;
			break;
		case 's':
			opt.sni = optarg;
			break;
		case 'S':
			opt.shared_session = true;
			break;
		case 't':
			if (strcmp(optarg, "1.2") == 0)
				opt.tls_max = TLS1_2_VERSION;
			else if (strcmp(optarg, "1.3") == 0)
				opt.tls_max = TLS1_3_VERSION;
			else
				die("-t: 1.2 or 1.3");
			break;
		case 'T':
			opt.timeout = parse_num(optarg, ch, 0.001, 3600);
			break;
		case 'w':
			opt.warmup = parse_num(optarg, ch, 0, 3600);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (opt.port == NULL)
		opt.port = opt.mode == MODE_PLAIN ? "70" : "1965";
	if (opt.duration == 0 && opt.count == 0)
		opt.duration = 10;
	if (!prefix_set)
		opt.prefix = opt.mode == MODE_PLAIN ? "" : "20 ";
	g.prefix_len = strlen(opt.prefix);
	if (g.prefix_len > HEAD_MAX)
		die("-e: at most %d bytes", HEAD_MAX);
	if (opt.request == NULL) {
		static char def[300];
		const char *h = strcmp(opt.sni, "-") != 0 ? opt.sni : opt.host;

		if (opt.mode == MODE_PLAIN)
			def[0] = '\0';
		else if (strcmp(opt.port, "1965") == 0)
			snprintf(def, sizeof(def), "gemini://%s/", h);
		else
			snprintf(def, sizeof(def), "gemini://%s:%s/", h, opt.port);
		opt.request = def;
	}
	if (strlen(opt.request) + 2 > REQUEST_MAX)
		die("-r: longer than %d bytes", REQUEST_MAX - 2);
	g.req_len = (size_t)snprintf(g.req, sizeof(g.req), "%s\r\n", opt.request);
	g.timeout_ns = (uint64_t)(opt.timeout * NS);
}

static void
on_signal(int sig)
{
	(void)sig;
	g.interrupted = 1;
}

/* Room for every slot's socket plus a margin, if the hard limit allows. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)opt.concurrency + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
		fprintf(stderr, "loadgen: warning: only %lu descriptors for -c %d\n",
		    (unsigned long)rl.rlim_cur, opt.concurrency);
}

static void
begin_measure(uint64_t t)
{
	g.measure_start = t;
	getrusage(RUSAGE_SELF, &g.ru_start);
	if (opt.watch != NULL) {
		srv.cpu_start = watch_cpu();
		watch_sample(t);
	}
}

static void
end_measure(uint64_t t)
{
	g.measure_end = t;
	if (opt.watch != NULL) {
		/* Still under load: the connections in flight are open. */
		srv.cpu_end = watch_cpu();
		watch_sample(t);
	}
}

/* Fails every request past its deadline and wakes slots whose backoff is over. */
static void
run_timers(uint64_t t)
{
	struct slot *s;
	char detail[96];

	while ((s = TAILQ_FIRST(&g.inflight)) != NULL && s->deadline <= t) {
		snprintf(detail, sizeof(detail), "no end within %g s, in %s after %llu bytes",
		    opt.timeout, state_names[s->state], (unsigned long long)s->bytes);
		slot_fail(s, E_TIMEOUT, detail, false);
	}
	while ((s = TAILQ_FIRST(&g.asleep)) != NULL && s->deadline <= t) {
		TAILQ_REMOVE(&g.asleep, s, queue);
		s->state = S_IDLE;
		slot_start(s);
	}
}

static int
wait_ms(uint64_t t)
{
	uint64_t next = g.end;
	struct slot *s;

	if (!measuring() && g.warm_end < next)
		next = g.warm_end;
	if (opt.watch != NULL && measuring() && srv.next_sample < next)
		next = srv.next_sample;
	if ((s = TAILQ_FIRST(&g.inflight)) != NULL && s->deadline < next)
		next = s->deadline;
	if ((s = TAILQ_FIRST(&g.asleep)) != NULL && s->deadline < next)
		next = s->deadline;
	if (next <= t)
		return 0;
	/* Round up: waking early would only spin until the time comes. */
	next = (next - t + 999999) / 1000000;
	return next > 1000 ? 1000 : (int)next;
}

/*
 * Gives the slots that yielded before this turn their next go. Whatever
 * request a slot runs by now, a step with no event is harmless.
 */
static void
run_ready(size_t k)
{
	for (size_t i = 0; i < k && !g.stopping; i++) {
		struct slot *s = &g.slots[g.ready[i]];

		s->yielded = false;
		slot_step(s, 0);
	}
	if (g.stopping)
		return;
	memmove(g.ready, g.ready + k, (g.nready - k) * sizeof(*g.ready));
	g.nready -= k;
}

static void
run(void)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t t;
	size_t k;
	int i, n;

	if ((g.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	if ((g.slots = calloc(opt.concurrency, sizeof(*g.slots))) == NULL ||
	    /* A turn's old entries plus at most one new entry per slot. */
	    (g.ready = calloc(2 * (size_t)opt.concurrency, sizeof(*g.ready))) == NULL ||
	    (g.rbuf = malloc(READ_BUF)) == NULL)
		die("out of memory");
	TAILQ_INIT(&g.inflight);
	TAILQ_INIT(&g.asleep);
	if (opt.watch != NULL) {
		watch_scan();
		if (srv.npids == 0)
			die("-P: no such process");
		watch_memory(&srv.rss_idle_kb, &srv.pss_idle_kb);
	}
	t = now_ns();
	g.warm_end = t + (uint64_t)(opt.warmup * NS);
	g.end = opt.duration > 0 ? g.warm_end + (uint64_t)(opt.duration * NS) : UINT64_MAX;
	if (opt.warmup == 0)
		begin_measure(t);
	for (i = 0; i < opt.concurrency; i++) {
		g.slots[i].idx = (uint32_t)i;
		g.slots[i].fd = -1;
		slot_start(&g.slots[i]);
	}
	for (;;) {
		t = now_ns();
		if (!measuring() && t >= g.warm_end)
			begin_measure(t);
		if (t >= g.end || g.stopping || g.interrupted)
			break;
		run_timers(t);
		if (g.stopping)
			break;
		if (g.active == 0 && TAILQ_EMPTY(&g.asleep))
			break;	/* -n reached its last start and all ended */
		if (opt.watch != NULL && measuring() && t >= srv.next_sample)
			watch_sample(t);
		k = g.nready;
		n = epoll_wait(g.ep, evs, MAX_EVENTS, k > 0 ? 0 : wait_ms(t));
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n && !g.stopping; i++) {
			struct slot *s = &g.slots[evs[i].data.u64 >> 32];

			if ((uint32_t)evs[i].data.u64 == s->gen)
				slot_step(s, evs[i].events);
		}
		run_ready(k);
	}
	t = now_ns();
	if (!measuring())
		begin_measure(t);
	end_measure(t);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank, per mille, in milliseconds; integers so no libm is needed. */
static double
percentile(unsigned permille)
{
	size_t rank;

	if (st.lat_len == 0)
		return 0;
	rank = (permille * st.lat_len + 999) / 1000;
	if (rank < 1)
		rank = 1;
	return st.lat_us[rank - 1] / 1000.0;
}

static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *
mode_name(void)
{
	return opt.mode == MODE_FULL ? "full" : opt.mode == MODE_RESUME ? "resume" : "plain";
}

static void
report(void)
{
	struct rusage ru;
	double dur, cpu, scpu, rps, mbps, resumed, mean;
	uint64_t errors = 0;
	int i;

	getrusage(RUSAGE_SELF, &ru);
	cpu = (ru.ru_utime.tv_sec - g.ru_start.ru_utime.tv_sec) +
	    (ru.ru_stime.tv_sec - g.ru_start.ru_stime.tv_sec) +
	    (ru.ru_utime.tv_usec - g.ru_start.ru_utime.tv_usec) / 1e6 +
	    (ru.ru_stime.tv_usec - g.ru_start.ru_stime.tv_usec) / 1e6;
	dur = (g.measure_end - g.measure_start) / 1e9;
	/* Tick-based (10 ms): good to a few per cent over a few seconds. */
	scpu = srv.cpu_end - srv.cpu_start;
	for (i = 0; i < E__COUNT; i++)
		errors += st.errors[i];
	if (st.lat_len > 0)
		qsort(st.lat_us, st.lat_len, sizeof(*st.lat_us), cmp_u32);
	rps = dur > 0 ? st.ok / dur : 0;
	mbps = dur > 0 ? st.bytes / dur / 1e6 : 0;
	resumed = st.handshakes ? (double)st.resumed / st.handshakes : 0;
	mean = 0;
	for (size_t k = 0; k < st.lat_len; k++)
		mean += st.lat_us[k];
	mean = st.lat_len ? mean / st.lat_len / 1000.0 : 0;

	if (opt.json) {
		printf("{\"mode\":\"%s\",\"concurrency\":%d,\"requests\":%llu,"
		    "\"rps\":%.1f,\"bytes\":%llu,\"mbps\":%.2f,"
		    "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
		    "\"mean_ms\":%.3f,\"connect_mean_ms\":%.3f,\"connect_max_ms\":%.3f,"
		    "\"handshake_mean_ms\":%.3f,\"ttfb_mean_ms\":%.3f,\"errors\":%llu,",
		    mode_name(), opt.concurrency, (unsigned long long)st.ok, rps,
		    (unsigned long long)st.bytes, mbps, percentile(500),
		    percentile(900), percentile(990), percentile(1000), mean,
		    st.ok ? st.connect_ns / 1e6 / st.ok : 0, st.connect_max_ns / 1e6,
		    st.ok ? st.handshake_ns / 1e6 / st.ok : 0,
		    st.ok ? st.ttfb_ns / 1e6 / st.ok : 0, (unsigned long long)errors);
		printf("\"error_kinds\":{");
		for (i = 0; i < E__COUNT; i++)
			printf("%s\"%s\":%llu", i ? "," : "", err_names[i],
			    (unsigned long long)st.errors[i]);
		printf("},\"error_details\":{");
		for (i = 0, errors = 0; i < E__COUNT; i++) {
			if (st.errors[i] == 0)
				continue;
			printf("%s\"%s\":", errors++ ? "," : "", err_names[i]);
			json_string(stdout, st.first_error[i]);
		}
		printf("},\"handshakes\":%llu,", (unsigned long long)st.handshakes);
		if (opt.mode == MODE_PLAIN)
			printf("\"resumed\":null,");
		else
			printf("\"resumed\":%.4f,", resumed);
		printf("\"cpu_s\":%.3f,\"cpu_share\":%.3f,\"duration_s\":%.3f,"
		    "\"interrupted\":%s,", cpu, dur > 0 ? cpu / dur : 0, dur,
		    g.interrupted ? "true" : "false");
		if (opt.watch != NULL)
			printf("\"server_procs\":%d,\"server_cpu_s\":%.2f,"
			    "\"server_cpu_share\":%.3f,\"server_rps_per_core\":%.1f,"
			    "\"server_rss_idle_kb\":%llu,\"server_pss_idle_kb\":%llu,"
			    "\"server_rss_max_kb\":%llu,\"server_pss_max_kb\":%llu,",
			    srv.npids, scpu, dur > 0 ? scpu / dur : 0,
			    scpu > 0 ? st.ok / scpu : 0,
			    (unsigned long long)srv.rss_idle_kb,
			    (unsigned long long)srv.pss_idle_kb,
			    (unsigned long long)srv.rss_max_kb,
			    (unsigned long long)srv.pss_max_kb);
		printf("\"tls\":");
		json_string(stdout, g.tls_version ? g.tls_version : "");
		printf(",\"cipher\":");
		json_string(stdout, g.cipher ? g.cipher : "");
		printf("}\n");
		fflush(stdout);
		return;
	}
	printf("loadgen: %s %s -> %s port %s, request \"%s\"\n", mode_name(),
	    opt.mode == MODE_PLAIN ? "tcp" : g.tls_version ? g.tls_version : "tls",
	    opt.host, opt.port, opt.request);
	if (g.cipher != NULL)
		printf("  cipher       %s\n", g.cipher);
	printf("  concurrency  %d, %.2f s measured after %.1f s warm-up%s\n",
	    opt.concurrency, dur, opt.warmup, g.interrupted ? " (interrupted)" : "");
	printf("  requests     %llu  %.1f/s\n", (unsigned long long)st.ok, rps);
	printf("  received     %.2f MB  %.2f MB/s\n", st.bytes / 1e6, mbps);
	printf("  latency ms   p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n",
	    percentile(500), percentile(900), percentile(990), percentile(1000), mean);
	if (st.ok && opt.mode != MODE_PLAIN)
		printf("  phases ms    connect %.3f (max %.3f)  handshake %.3f  "
		    "first byte %.3f  (means)\n",
		    st.connect_ns / 1e6 / st.ok, st.connect_max_ns / 1e6,
		    st.handshake_ns / 1e6 / st.ok, st.ttfb_ns / 1e6 / st.ok);
	else if (st.ok)
		printf("  phases ms    connect %.3f (max %.3f)  first byte %.3f  (means)\n",
		    st.connect_ns / 1e6 / st.ok, st.connect_max_ns / 1e6,
		    st.ttfb_ns / 1e6 / st.ok);
	if (opt.mode != MODE_PLAIN)
		printf("  handshakes   %llu, resumed %llu (%.1f%%)\n",
		    (unsigned long long)st.handshakes, (unsigned long long)st.resumed,
		    resumed * 100);
	printf("  errors       %llu", (unsigned long long)errors);
	for (i = 0; i < E__COUNT; i++)
		if (st.errors[i] != 0)
			printf("  %s %llu", err_names[i], (unsigned long long)st.errors[i]);
	printf("\n");
	for (i = 0; i < E__COUNT; i++)
		if (st.errors[i] != 0)
			printf("    first %-11s %s\n", err_names[i], st.first_error[i]);
	printf("  loadgen cpu  %.2f s, %.0f%% of one core\n", cpu,
	    dur > 0 ? cpu / dur * 100 : 0);
	if (opt.watch != NULL) {
		printf("  server cpu   %.2f s, %.0f%% of one core (%d processes): "
		    "%.0f requests per server core-second\n", scpu,
		    dur > 0 ? scpu / dur * 100 : 0, srv.npids, scpu > 0 ? st.ok / scpu : 0);
		printf("  server mem   idle rss %.1f MiB (pss %.1f), "
		    "peak under load rss %.1f MiB (pss %.1f)\n",
		    srv.rss_idle_kb / 1024.0, srv.pss_idle_kb / 1024.0,
		    srv.rss_max_kb / 1024.0, srv.pss_max_kb / 1024.0);
	}
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };

	parse_args(argc, argv);
	/* OpenSSL writes with write(2): a peer's reset must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);	/* no SA_RESTART: epoll_wait returns */
	sigaction(SIGTERM, &sa, NULL);
	resolve();
	raise_fd_limit();
	if (opt.mode != MODE_PLAIN)
		tls_init();
	run();
	report();
	return st.ok > 0 ? 0 : 1;
}
