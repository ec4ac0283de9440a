/*
 * Fault tests: what a capsule on a public VPS meets (floods of idle
 * connections, clients that vanish at every step, garbage, churning posts,
 * reloads and shutdowns under load), against the real binary on loopback.
 *
 * Every test is bounded in time: waits poll with a deadline, never sleep for
 * a fixed while. Load comes from fork()ed client processes (no -pthread),
 * which share a small MAP_SHARED block for counters and the stop flag. Each
 * test prints one or two "faults:" lines with what it measured.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "client.h"
#include "harness.h"
#include "load.h"
#include "test.h"

#define BIG_SIZE (10 << 20)	/* the large file clients abandon */
#define MAX_PROCS 16		/* supervisor plus workers, any generation */
#define IDLE_CONNS 2000


/* ---- a lean TLS client: one context per process, raw access to the socket ---- */

static SSL_CTX *
client_ctx(void)
{
	static SSL_CTX *ctx;

	if (ctx == NULL) {
		if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			abort();
		/* Old protocol versions must be offerable to be refused. */
		SSL_CTX_set_security_level(ctx, 0);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	return ctx;
}

static void
set_timeouts(int fd, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ms < 1)
		tv.tv_usec = 1000;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in sin = { 0 };

	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

/* A blocking TCP connection to 127.0.0.1:port; rcvbuf > 0 shrinks its window. */
static int
tcp_open(int port, int rcvbuf, long timeout_ms)
{
	struct sockaddr_in sin = loopback(port);
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	set_timeouts(fd, timeout_ms);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Closes fd with a reset rather than a FIN. */
static void
close_rst(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

struct tconn {
	int fd;
	SSL *ssl;
	long idle_ms;
	long deadline;		/* moves on with every byte received */
};

/*
 * Clients that resume: every other handshake of gem() offers the session of
 * an earlier one (so a load mixes full and abbreviated handshakes, and costs
 * less), when a process sets resume_every.
 */
static int resume_every;
static SSL_SESSION *resume_session;
static unsigned long handshakes, resumed;

static bool
tls_open(struct tconn *c, int port, int rcvbuf, long timeout_ms)
{
	c->ssl = NULL;
	c->idle_ms = timeout_ms;
	c->deadline = now_ms() + timeout_ms;
	if ((c->fd = tcp_open(port, rcvbuf, timeout_ms)) == -1)
		return false;
	if ((c->ssl = SSL_new(client_ctx())) == NULL)
		abort();
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	if (resume_every && resume_session && handshakes++ % resume_every == 0)
		SSL_set_session(c->ssl, resume_session);
	ERR_clear_error();
	if (SSL_connect(c->ssl) != 1) {
		ERR_clear_error();
		SSL_free(c->ssl);
		close(c->fd);
		return false;
	}
	return true;
}

/* Leaves without close_notify: a FIN, or a reset when rst. */
static void
tls_abandon(struct tconn *c, bool rst)
{
	SSL_free(c->ssl);
	ERR_clear_error();
	if (rst)
		close_rst(c->fd);
	else
		close(c->fd);
}

static bool
tls_send(struct tconn *c, const void *buf, size_t len)
{
	ERR_clear_error();
	return len == 0 || SSL_write(c->ssl, buf, (int)len) == (int)len;
}

/*
 * Reads until r holds want bytes, close_notify, EOF, an error, or the server
 * is silent for the connection's timeout.
 */
static void
tls_read(struct tconn *c, struct reply *r, size_t want)
{
	char buf[16384];
	int n, err;

	while (r->len < want && !r->close_notify && !r->reset && !r->timed_out) {
		long left = c->deadline - now_ms();
		if (left <= 0) {
			r->timed_out = true;
			break;
		}
		set_timeouts(c->fd, left);
		ERR_clear_error();
		if ((n = SSL_read(c->ssl, buf, sizeof(buf))) > 0) {
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
			r->reset = true;	/* EOF without close_notify, or an error */
	}
	ERR_clear_error();
}

static void
tls_close(struct tconn *c)
{
	SSL_free(c->ssl);
	ERR_clear_error();
	close(c->fd);
}

/* One whole Gemini exchange: req (CRLF included) to port, the reply into r. */
static void
gem(int port, const char *req, struct reply *r)
{
	struct tconn c;

	reply_init(r);
	if (!tls_open(&c, port, 0, 10000)) {
		r->reset = true;
		return;
	}
	r->connected = r->handshake = true;
	if (!tls_send(&c, req, strlen(req)))
		r->reset = true;
	else
		tls_read(&c, r, SIZE_MAX);
	resumed += SSL_session_reused(c.ssl) == 1;
	/*
	 * By now the session tickets have come: keep one to resume. Our own
	 * close_notify first: freeing an SSL that did not send one marks its
	 * session not resumable.
	 */
	if (resume_every && r->close_notify)
		SSL_shutdown(c.ssl);
	if (resume_every && !SSL_session_reused(c.ssl)) {
		SSL_SESSION *sess = SSL_get1_session(c.ssl);
		if (sess != NULL && SSL_SESSION_is_resumable(sess)) {
			SSL_SESSION_free(resume_session);
			resume_session = sess;
		} else
			SSL_SESSION_free(sess);
	}
	tls_close(&c);
}

static void
gem_path(const struct gazette *g, const char *path, struct reply *r)
{
	char req[1100];

	snprintf(req, sizeof(req), "gemini://localhost:%d%s\r\n", g->gemini_port, path);
	gem(g->gemini_port, req, r);
}

/* The reply is a whole Gemini response with this status: header, close_notify. */
static bool
gem_ok(const struct reply *r, const char *status)
{
	return r->close_notify && r->len >= 5 && strncmp(r->data, status, 2) == 0 &&
	    r->data[2] == ' ' && strstr(r->data, "\r\n") != NULL;
}

static void
gopher(const struct gazette *g, const char *line, struct reply *r)
{
	tcp_fetch(g->gopher_port, line, strlen(line), 10000, r);
}

/* ---- the server's processes, from /proc ---- */

/*
 * The supervisor first, then its workers; returns how many. The server
 * accepts as soon as one worker runs: waits (up to 10 s) for all of them.
 */
static int
server_procs(const struct gazette *g, int workers, pid_t *pids, int max)
{
	long deadline = now_ms() + 10000;
	int n;

	pids[0] = g->pid;
	while ((n = gazette_workers(g, pids + 1, max - 1)) < workers && now_ms() < deadline)
		sleep_ms(10);
	return 1 + n;
}

/* The same workers as at the start, none died, none restarted. */
static void
check_same_workers(const struct gazette *g, const pid_t *before, int n)
{
	pid_t now[MAX_PROCS];
	char *log;
	int m, i, j;

	m = gazette_workers(g, now, MAX_PROCS);
	CHECK_INT(m, n);
	for (i = 0; i < n; i++) {
		for (j = 0; j < m && now[j] != before[i]; j++)
			;
		if (j == m)
			test_fail(__FILE__, __LINE__, "worker %d is gone", (int)before[i]);
	}
	log = gazette_log(g);
	CHECK(strstr(log, " died: ") == NULL);
	CHECK(strstr(log, "exited with status") == NULL);
	free(log);
}

/* ---- load from child processes ---- */

/* ---- the log ---- */

static size_t
log_size(const struct gazette *g)
{
	char *log = gazette_log(g);
	size_t n = strlen(log);

	free(log);
	return n;
}

/* Polls until the log holds what at least n times. */
static bool
wait_log_count(const struct gazette *g, const char *what, int n, long ms)
{
	long deadline = now_ms() + ms;
	char *log;
	int got;

	for (;;) {
		log = gazette_log(g);
		got = count_str(log, what);
		free(log);
		if (got >= n)
			return true;
		if (now_ms() >= deadline) {
			test_fail(__FILE__, __LINE__, "\"%s\" logged %d times, want %d", what, got,
			    n);
			return false;
		}
		sleep_ms(20);
	}
}

/* Raises the soft descriptor limit to at least want (the server inherits it). */
static rlim_t
raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 0;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want :
		    rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

/* A big file of a known pattern, for the downloads. */
static void
write_big(const struct gazette *g, const char *path, size_t size)
{
	char *big = malloc(size);
	size_t i;

	if (big == NULL)
		abort();
	for (i = 0; i < size; i++)
		big[i] = (char)('a' + i % 23);
	CHECK(gazette_write(g, path, big, (long)size) == 0);
	free(big);
}

/* ================================================================== */

/*
 * 2,000 connections that never send a byte cost the others nothing, and each
 * is closed at request_timeout, counted from its accept.
 */
TEST(faults_idle_connections)
{
	static const struct gazette_opts o = {
		.fixture = "archive",
		.gopher = true,
		.global = "workers = 2\nmax_connections = 3000\nrequest_timeout = 2s\n",
	};
	enum { SAMPLES = 40, TIMEOUT_MS = 2000 };
	static int fds[IDLE_CONNS];
	static long opened[IDLE_CONNS], closed[IDLE_CONNS];
	static struct pollfd pfd[IDLE_CONNS];
	long base[SAMPLES], loaded[SAMPLES], t, deadline, sampled, connected;
	long base_med, load_med, min_life = -1, max_life = 0;
	int nbase = 0, nload = 0, i, n, open_left, still_open = 0, failed = 0;
	pid_t pids[MAX_PROCS];
	int fd0[MAX_PROCS], fd1[MAX_PROCS], np;
	struct gazette g;
	struct reply r;
	rlim_t lim;

	lim = raise_nofile(IDLE_CONNS * 2 + 256);
	if (lim < IDLE_CONNS + 100) {
		test_fail(__FILE__, __LINE__, "descriptor limit %llu: too low for %d connections",
		    (unsigned long long)lim, IDLE_CONNS);
		return;
	}
	if (gazette_start(&g, &o) == -1)
		return;
	np = server_procs(&g, 2, pids, MAX_PROCS);
	CHECK_INT(np, 3);
	/* Warm: every worker has rendered the home page before the clock runs. */
	for (i = 0; i < 10; i++) {
		gem_path(&g, "/", &r);
		CHECK(gem_ok(&r, "20"));
		reply_free(&r);
	}
	settled_fds(pids, np, fd0);
	for (i = 0; i < SAMPLES; i++) {
		t = now_us();
		gem_path(&g, "/", &r);
		base[nbase++] = now_us() - t;
		CHECK(gem_ok(&r, "20"));
		reply_free(&r);
	}
	base_med = median(base, nbase);

	/* Open them all without waiting on any: non-blocking connects. */
	for (i = 0; i < IDLE_CONNS; i++) {
		/* A fifth on the Gopher port: its idle ones time out the same way. */
		struct sockaddr_in sin = loopback(i % 5 == 4 ? g.gopher_port : g.gemini_port);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[i] == -1) {
			test_fail(__FILE__, __LINE__, "socket %d: %s", i, strerror(errno));
			break;
		}
		opened[i] = now_ms();
		if (connect(fds[i], (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
		    errno != EINPROGRESS) {
			test_fail(__FILE__, __LINE__, "connect %d: %s", i, strerror(errno));
			close(fds[i]);
			break;
		}
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLOUT };
	}
	n = i;
	/* Every one connected (writable) before the clock runs. */
	for (deadline = now_ms() + 2000, i = 0; i < n && now_ms() < deadline; ) {
		if (poll(pfd + i, n - i, 100) < 0)
			break;
		while (i < n && (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP)) == POLLOUT)
			i++;
	}
	CHECK_INT(i, n);
	connected = now_ms() - opened[0];
	for (i = 0; i < n; i++)
		pfd[i].events = POLLIN;
	/*
	 * Requests while they are open: for at most 1.5 s from the first
	 * connect, so that none can have timed out yet (checked below: each
	 * lived longer than the sampling took).
	 */
	deadline = opened[0] + 1500;
	while (nload < SAMPLES && (nload < 10 || now_ms() < deadline)) {
		t = now_us();
		gem_path(&g, "/", &r);
		loaded[nload++] = now_us() - t;
		CHECK(gem_ok(&r, "20"));
		reply_free(&r);
	}
	sampled = now_ms() - opened[0];
	load_med = median(loaded, nload);
	CHECK(load_med < 5 * base_med + 50000);
	/* And the Gopher port answers too. */
	gopher(&g, "/\r\n", &r);
	CHECK(r.len > 3 && strcmp(r.data + r.len - 3, ".\r\n") == 0);
	reply_free(&r);

	/* Each closes at its timeout: EOF (or a reset), 2 s after its accept. */
	open_left = n;
	deadline = now_ms() + 3 * TIMEOUT_MS + 2000;
	while (open_left > 0 && now_ms() < deadline) {
		if (poll(pfd, n, 100) <= 0)
			continue;
		t = now_ms();
		for (i = 0; i < n; i++) {
			char b;
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if (read(pfd[i].fd, &b, 1) > 0)
				failed++;	/* the server said something: it must not */
			closed[i] = t;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			open_left--;
		}
	}
	for (i = 0; i < n; i++) {
		long life;
		if (pfd[i].fd >= 0) {
			still_open++;
			close(pfd[i].fd);
			continue;
		}
		life = closed[i] - opened[i];
		if (min_life < 0 || life < min_life)
			min_life = life;
		if (life > max_life)
			max_life = life;
	}
	CHECK_INT(n, IDLE_CONNS);
	CHECK_INT(still_open, 0);
	CHECK_INT(failed, 0);
	/* The timer runs from accept, a moment after connect; libevent's clock is coarse. */
	CHECK(min_life >= TIMEOUT_MS - 100);
	/* So every idle connection was open while the loaded samples were taken. */
	CHECK(sampled < min_life);
	CHECK(max_life <= 3 * TIMEOUT_MS);
	printf("    faults: %d idle connections (all connected in %ld ms): request median "
	    "%.2f ms before, %.2f ms with them open (%d samples); closed after %ld..%ld ms\n",
	    n, connected, base_med / 1000.0, load_med / 1000.0, nload, min_life, max_life);
	/* Every one logged as timed out; the workers' descriptors are back. */
	CHECK(wait_log_count(&g, " timeout\n", IDLE_CONNS, 5000));
	CHECK(wait_fds(pids, fd0, np, fd1, 5000));
	check_same_workers(&g, pids + 1, np - 1);
	gazette_stop(&g);
}

/* ---- clients that vanish ---- */

/* The bytes of a ClientHello (TLS versions min..max, 0: defaults) into out. */
static size_t
client_hello(unsigned char *out, size_t size, int min, int max)
{
	SSL *ssl = SSL_new(client_ctx());
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	int n;

	if (ssl == NULL || rb == NULL || wb == NULL)
		abort();
	SSL_set_bio(ssl, rb, wb);
	if (min)
		SSL_set_min_proto_version(ssl, min);
	if (max)
		SSL_set_max_proto_version(ssl, max);
	SSL_set_tlsext_host_name(ssl, "localhost");
	SSL_connect(ssl);	/* wants to read the ServerHello: the hello is written */
	n = BIO_read(wb, out, (int)size);
	SSL_free(ssl);
	ERR_clear_error();
	return n > 0 ? (size_t)n : 0;
}

static void
expect_served(const struct gazette *g, const char *when)
{
	struct reply r;

	test_context("after %s", when);
	gem_path(g, "/about.gmi", &r);
	CHECK(gem_ok(&r, "20"));
	reply_free(&r);
	gopher(g, "/archive/\r\n", &r);
	CHECK(r.len > 3 && strcmp(r.data + r.len - 3, ".\r\n") == 0);
	reply_free(&r);
	test_context("%s", "");
}

/*
 * Clients leave mid-handshake, mid-request and mid-response, with a FIN or a
 * reset; one never reads its 10 MiB and is dropped at write_timeout while the
 * others are served. Nothing crashes, nothing leaks a descriptor.
 */
TEST(faults_vanishing_clients)
{
	static const struct gazette_opts o = {
		.fixture = "archive",
		.gopher = true,
		.global = "workers = 2\nwrite_timeout = 2s\n",
	};
	unsigned char hello[4096];
	char req[200];
	pid_t pids[MAX_PROCS];
	int fd0[MAX_PROCS], fd1[MAX_PROCS], np, i, fd;
	long t0, stalled_ms, served_max = 0;
	size_t hlen, body;
	struct gazette g;
	struct tconn c;
	struct reply r;

	if (gazette_start(&g, &o) == -1)
		return;
	write_big(&g, "big.bin", BIG_SIZE);
	np = server_procs(&g, 2, pids, MAX_PROCS);
	CHECK_INT(np, 3);
	expect_served(&g, "start");
	settled_fds(pids, np, fd0);

	/* Mid-handshake: half a ClientHello, then a FIN or a reset. */
	hlen = client_hello(hello, sizeof(hello), 0, 0);
	CHECK(hlen > 100);
	for (i = 0; i < 20; i++) {
		if ((fd = tcp_open(g.gemini_port, 0, 5000)) == -1) {
			test_fail(__FILE__, __LINE__, "connect failed");
			continue;
		}
		CHECK(write(fd, hello, hlen / 2) == (ssize_t)(hlen / 2));
		if (i % 2)
			close_rst(fd);
		else
			close(fd);
	}
	expect_served(&g, "half handshakes");

	/* Mid-request: part of a URL, then gone; on both ports. */
	snprintf(req, sizeof(req), "gemini://localhost:%d/archive/20", g.gemini_port);
	for (i = 0; i < 20; i++) {
		if (!tls_open(&c, g.gemini_port, 0, 5000)) {
			test_fail(__FILE__, __LINE__, "handshake failed");
			continue;
		}
		CHECK(tls_send(&c, req, strlen(req)));
		tls_abandon(&c, i % 2);
		if ((fd = tcp_open(g.gopher_port, 0, 5000)) != -1) {
			CHECK(write(fd, "/archive/20", 11) == 11);
			if (i % 2)
				close_rst(fd);
			else
				close(fd);
		}
	}
	expect_served(&g, "half requests");

	/* Mid-response: a few bytes of 10 MiB read, then gone. */
	snprintf(req, sizeof(req), "gemini://localhost:%d/big.bin\r\n", g.gemini_port);
	for (i = 0; i < 10; i++) {
		if (!tls_open(&c, g.gemini_port, 0, 5000)) {
			test_fail(__FILE__, __LINE__, "handshake failed");
			continue;
		}
		reply_init(&r);
		CHECK(tls_send(&c, req, strlen(req)));
		tls_read(&c, &r, 100);
		CHECK(r.len >= 100);
		reply_free(&r);
		tls_abandon(&c, i % 2);
		if ((fd = tcp_open(g.gopher_port, 0, 5000)) != -1) {
			char buf[100];
			CHECK(write(fd, "/big.bin\r\n", 10) == 10);
			CHECK(read(fd, buf, sizeof(buf)) > 0);
			if (i % 2)
				close_rst(fd);
			else
				close(fd);
		}
	}
	expect_served(&g, "abandoned downloads");
	/* All of them are gone from the server already: no write_timeout needed. */
	CHECK(wait_fds(pids, fd0, np, fd1, 1500));

	/*
	 * A reader that never reads: a small window, 10 MiB asked for. The
	 * server fills the socket, stalls, and drops it at write_timeout; the
	 * others are served meanwhile, promptly.
	 */
	t0 = now_ms();
	if (tls_open(&c, g.gemini_port, 4096, 20000)) {
		CHECK(tls_send(&c, req, strlen(req)));
		for (i = 0; i < 20; i++) {
			long t = now_ms();
			expect_served(&g, "a stalled reader");
			if (now_ms() - t > served_max)
				served_max = now_ms() - t;
		}
		CHECK(gazette_wait_log(&g, " stalled\n", 10000));
		stalled_ms = now_ms() - t0;
		CHECK(stalled_ms >= 1900);
		CHECK(stalled_ms <= 8000);
		/* Reading now: what was in the pipes, then the end; never all of it. */
		reply_init(&r);
		tls_read(&c, &r, SIZE_MAX);
		reply_body(&r, &body);
		CHECK(!r.timed_out);
		CHECK(body < BIG_SIZE);
		printf("    faults: stalled reader dropped after %ld ms with %zu of %d bytes "
		    "received; 40 requests meanwhile, slowest %ld ms\n", stalled_ms, body,
		    BIG_SIZE, served_max);
		reply_free(&r);
		tls_close(&c);
	} else
		test_fail(__FILE__, __LINE__, "handshake failed");
	expect_served(&g, "the stalled reader");
	CHECK(wait_fds(pids, fd0, np, fd1, 5000));
	for (i = 0; i < np; i++)
		if (fd1[i] != fd0[i])
			test_fail(__FILE__, __LINE__, "pid %d: %d descriptors, %d before",
			    (int)pids[i], fd1[i], fd0[i]);
	check_same_workers(&g, pids + 1, np - 1);
	gazette_stop(&g);
}

/* ---- garbage ---- */

static unsigned
rnd(unsigned *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* The access log's lines in s (the server's own, such as the indexer's news, left out). */
static int
count_access_lines(const char *s)
{
	const char *line, *end;
	int n = 0;

	for (line = s; *line != '\0'; line = *end ? end + 1 : end) {
		end = line + strcspn(line, "\n");
		n += memmem(line, (size_t)(end - line), " 127.0.0.1 gemini ", 18) != NULL;
	}
	return n;
}

/*
 * After something bad on the Gemini port: the server logged exactly one line
 * for it (checked against a marker request that follows) and serves on.
 */
static void
expect_one_line(const struct gazette *g, size_t before, int seq, const char *what)
{
	char path[64], *log, *nl;
	const char *added, *first;
	struct reply r;

	test_context("%s", what);
	snprintf(path, sizeof(path), "/fault-marker-%d", seq);
	gem_path(g, path, &r);
	CHECK(gem_ok(&r, "51"));
	reply_free(&r);
	CHECK(gazette_wait_log(g, path, 5000));
	log = gazette_log(g);
	added = strlen(log) >= before ? log + before : "";
	CHECK_INT(count_access_lines(added), 2);
	/* The first access line is the bad one's. */
	if ((first = strstr(added, " 127.0.0.1 gemini ")) != NULL) {
		while (first > added && first[-1] != '\n')
			first--;
		added = first;
	}
	if ((nl = strchr(added, '\n')) != NULL) {
		*nl = '\0';
		CHECK(strstr(added, " 127.0.0.1 gemini ") != NULL);
		CHECK(strstr(added, "fault-marker") == NULL);
		printf("    faults: %s: %s\n", what, strchr(added, ' ') ? strchr(added, ' ') + 1 :
		    added);
	}
	free(log);
	test_context("%s", "");
}

/*
 * Garbage, HTTP and TLS 1.0/1.1 on the Gemini port; binary junk and a 100 KiB
 * line on the Gopher port. Each is turned away at once, the server survives.
 */
TEST(faults_garbage)
{
	static const struct gazette_opts o = {
		.fixture = "archive",
		.gopher = true,
		/* One worker: log lines come in the order of the connections. */
		.global = "workers = 1\n",
	};
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static char junk[4096], line[100 * 1024 + 2];
	struct client_opts old = { .sni = "localhost", .min_version = TLS1_VERSION,
	    .max_version = TLS1_1_VERSION };
	unsigned state = 2463534242u;
	pid_t pids[MAX_PROCS];
	struct gazette g;
	struct reply r;
	size_t before;
	long t;
	int i, np, seq = 0;

	if (gazette_start(&g, &o) == -1)
		return;
	np = server_procs(&g, 1, pids, MAX_PROCS);
	CHECK_INT(np, 2);
	/* Every start-up line is in the log before the counting starts. */
	gem_path(&g, "/fault-sync", &r);
	CHECK(gem_ok(&r, "51"));
	reply_free(&r);
	CHECK(gazette_wait_log(&g, "/fault-sync", 5000));
	for (i = 0; i < (int)sizeof(junk); i++)
		junk[i] = (char)rnd(&state);
	junk[0] = 0x01;		/* no TLS record type */

	/* Binary junk: a fatal TLS error at once, not a wait for the timeout. */
	before = log_size(&g);
	t = now_ms();
	tcp_fetch(g.gemini_port, junk, sizeof(junk), 5000, &r);
	CHECK(!r.timed_out);
	CHECK(now_ms() - t < 2000);
	reply_free(&r);
	expect_one_line(&g, before, seq++, "junk on the Gemini port");

	/* Junk that starts like a TLS handshake record. */
	junk[0] = 0x16;
	junk[1] = 0x03;
	junk[2] = 0x01;
	before = log_size(&g);
	tcp_fetch(g.gemini_port, junk, sizeof(junk), 5000, &r);
	CHECK(!r.timed_out);
	reply_free(&r);
	expect_one_line(&g, before, seq++, "a bogus handshake record");

	/* Plain HTTP. */
	before = log_size(&g);
	t = now_ms();
	tcp_fetch(g.gemini_port, http, strlen(http), 5000, &r);
	CHECK(!r.timed_out);
	CHECK(now_ms() - t < 2000);
	CHECK(strncmp(r.data, "HTTP/", 5) != 0);
	reply_free(&r);
	expect_one_line(&g, before, seq++, "HTTP on the Gemini port");

	/* A client that offers only TLS 1.0 and 1.1. */
	before = log_size(&g);
	gemini_fetch(g.gemini_port, &old, "gemini://localhost/\r\n", 21, &r);
	CHECK(r.connected);
	CHECK(!r.handshake);
	CHECK(!r.timed_out);
	reply_free(&r);
	expect_one_line(&g, before, seq++, "a TLS 1.0/1.1-only client");

	/* Gopher: junk with and without a line end; each gets a type-3 line. */
	for (i = 0; i < 2; i++) {
		test_context("gopher junk %d", i);
		if (i == 1)
			junk[600] = '\n';
		tcp_fetch(g.gopher_port, junk, i ? 601 : sizeof(junk), 5000, &r);
		CHECK(!r.timed_out);
		CHECK(r.len > 5 && r.data[0] == '3' && strcmp(r.data + r.len - 5, "\r\n.\r\n") == 0);
		reply_free(&r);
	}
	/* A 100 KiB line: answered, though the server reads only the first KiB of it. */
	memset(line, 'x', sizeof(line) - 2);
	line[0] = '/';
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	for (i = 0; i < 5; i++) {
		test_context("100 KiB gopher line %d", i);
		tcp_fetch(g.gopher_port, line, sizeof(line), 5000, &r);
		CHECK_STR(r.data, "3Selector too long\t\terror.host\t1\r\n.\r\n");
		reply_free(&r);
	}
	test_context("%s", "");
	expect_served(&g, "garbage");
	check_same_workers(&g, pids + 1, np - 1);
	gazette_stop(&g);
}

/* ---- 10,000 requests, nothing kept ---- */

struct kind {
	bool gopher;
	char req[200];
	char status[3];		/* Gemini: the expected status */
	struct reply ref;	/* the reply of the warm-up round: every later one equals it */
};

static struct kind kinds[24];
static int nkinds;

static void
add_kind(const struct gazette *g, bool gopher_port, const char *status, const char *fmt)
{
	struct kind *k = &kinds[nkinds++];

	k->gopher = gopher_port;
	snprintf(k->status, sizeof(k->status), "%s", status);
	/* "%d" in fmt is the Gemini port (only Gemini requests carry it). */
	snprintf(k->req, sizeof(k->req), fmt, g->gemini_port);
}

static bool
same_reply(const struct reply *a, const struct reply *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static void
one_request(int port_gem, int port_goph, const struct kind *k, struct reply *r)
{
	if (k->gopher)
		tcp_fetch(port_goph, k->req, strlen(k->req), 10000, r);
	else
		gem(port_gem, k->req, r);
}

struct mix_arg {
	int gemini_port, gopher_port;
	int count;		/* requests per client process */
};

static void
mix_child(int id, void *arg, struct shared *s)
{
	const struct mix_arg *a = arg;
	struct reply r;
	int i, shown = 0;

	resume_every = 2;
	for (i = 0; i < a->count; i++) {
		const struct kind *k = &kinds[(i + id * 7) % nkinds];
		one_request(a->gemini_port, a->gopher_port, k, &r);
		if (!same_reply(&r, &k->ref) || (!k->gopher && !r.close_notify) ||
		    (k->gopher && (r.timed_out || r.reset)))
			child_fail(s, &shown, k->req, &r);
		shared_add(&s->requests, 1);
		reply_free(&r);
	}
	shared_add(&s->resumed, (long)resumed);
}

static void
run_mix(struct mix_arg *a, int procs, struct shared *s)
{
	pid_t kids[8];
	int i;

	for (i = 0; i < procs; i++)
		kids[i] = spawn_child(mix_child, i, a, s);
	for (i = 0; i < procs; i++)
		reap_child(kids[i]);
}

/*
 * 10,000 requests of every kind, four clients at a time: the supervisor's and
 * each worker's descriptors are exactly what they were, their RSS within
 * 2 MiB, after a warm-up round that filled the caches.
 */
TEST(faults_mixed_requests_leak_nothing)
{
	static const struct gazette_opts o = {
		.fixture = "archive",
		.gopher = true,
		.global = "workers = 2\n",
	};
	enum { PROCS = 4, TOTAL = 10000, WARM = 1200 };
	/* ASan keeps a stack trace of every allocation site it meets, for good. */
	const long rss_slack_kb = UNDER_ASAN ? 4096 : 2048;
	pid_t pids[MAX_PROCS];
	int fd0[MAX_PROCS], fd1[MAX_PROCS], fd2[MAX_PROCS], np, i;
	long rss1[MAX_PROCS], rss2[MAX_PROCS], t;
	struct mix_arg a;
	struct shared *s = shared_new();
	struct gazette g;
	char blob[100 * 1024];

#if UNDER_ASAN
	/*
	 * ASan's quarantine keeps freed memory (up to 256 MiB) out of reuse, by
	 * design: RSS would grow without a leak. This test's server does without.
	 */
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[1024];
	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=0", asan ? asan : "",
	    asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
#endif
	if (gazette_start(&g, &o) == -1)
		return;
	for (i = 0; i < (int)sizeof(blob); i++)
		blob[i] = (char)(i * 7 + i / 251);
	CHECK(gazette_write(&g, "files/blob.bin", blob, sizeof(blob)) == 0);
	np = server_procs(&g, 2, pids, MAX_PROCS);
	CHECK_INT(np, 3);
	settled_fds(pids, np, fd0);
	nkinds = 0;
	add_kind(&g, false, "20", "gemini://localhost:%d/\r\n");
	add_kind(&g, false, "20", "gemini://localhost:%d/archive/\r\n");
	add_kind(&g, false, "20", "gemini://localhost:%d/archive/2020/01/\r\n");
	add_kind(&g, false, "20", "gemini://localhost:%d/posts/2020-01-05-new-year.gmi\r\n");
	add_kind(&g, false, "20", "gemini://localhost:%d/posts/2019-12-25-christmas.txt\r\n");
	add_kind(&g, false, "20", "gemini://localhost:%d/tags/\r\n");
	add_kind(&g, false, "20", "gemini://localhost:%d/atom.xml\r\n");
	add_kind(&g, false, "20", "gemini://localhost:%d/search?zebra\r\n");
	add_kind(&g, false, "20", "gemini://localhost:%d/about.gmi\r\n");
	add_kind(&g, false, "20", "gemini://localhost:%d/files/blob.bin\r\n");
	add_kind(&g, false, "51", "gemini://localhost:%d/no/such/page.gmi\r\n");
	add_kind(&g, false, "51", "gemini://localhost:%d/posts/2020-01-01-nothing.gmi\r\n");
	add_kind(&g, false, "59", "gemini://localhost:%d/%%zz\r\n");
	add_kind(&g, false, "59", "relative/path\r\n");
	add_kind(&g, true, "", "/\r\n");
	add_kind(&g, true, "", "/archive/2020/\r\n");
	add_kind(&g, true, "", "/search\tzebra\r\n");
	add_kind(&g, true, "", "/posts/2020-01-20-later.txt\r\n");
	add_kind(&g, true, "", "/files/blob.bin\r\n");
	add_kind(&g, true, "", "/no/such/thing\r\n");
	/* The reference replies, each checked for what it must be. */
	for (i = 0; i < nkinds; i++) {
		struct kind *k = &kinds[i];
		test_context("%s", k->req);
		one_request(g.gemini_port, g.gopher_port, k, &k->ref);
		if (k->gopher)
			CHECK(!k->ref.timed_out && !k->ref.reset && k->ref.len > 0);
		else
			CHECK(gem_ok(&k->ref, k->status));
	}
	test_context("%s", "");

	/* Warm-up: both workers render and cache everything once or more. */
	a = (struct mix_arg){ g.gemini_port, g.gopher_port, WARM / PROCS };
	run_mix(&a, PROCS, s);
	CHECK_INT(shared_get(&s->failures), 0);
	settled_fds(pids, np, fd1);
	for (i = 0; i < np; i++)
		rss1[i] = rss_kb(pids[i]);

	s->requests = s->failures = s->resumed = 0;
	a.count = TOTAL / PROCS;
	t = now_ms();
	run_mix(&a, PROCS, s);
	t = now_ms() - t;
	CHECK_INT(shared_get(&s->requests), TOTAL);
	CHECK_INT(shared_get(&s->failures), 0);
	CHECK(wait_fds(pids, fd1, np, fd2, 5000));
	for (i = 0; i < np; i++) {
		rss2[i] = rss_kb(pids[i]);
		test_context("%s %d", i == 0 ? "supervisor" : "worker", (int)pids[i]);
		CHECK_INT(fd2[i], fd1[i]);
		CHECK(rss2[i] >= 0 && rss2[i] <= rss1[i] + rss_slack_kb);
		printf("    faults: %s %d: descriptors %d at start, %d after warm-up, %d after "
		    "%d requests; VmRSS %ld kB -> %ld kB\n", i == 0 ? "supervisor" : "worker",
		    (int)pids[i], fd0[i], fd1[i], fd2[i], TOTAL, rss1[i], rss2[i]);
	}
	test_context("%s", "");
	/* Half the Gemini handshakes were abbreviated: both kinds were served. */
	CHECK(shared_get(&s->resumed) > 0);
	printf("    faults: %d mixed requests (%d kinds, %d clients, %ld resumed TLS "
	    "sessions) in %ld ms\n", TOTAL, nkinds, PROCS, shared_get(&s->resumed), t);
	check_same_workers(&g, pids + 1, np - 1);
	for (i = 0; i < nkinds; i++)
		reply_free(&kinds[i].ref);
	gazette_stop(&g);
}

/* ---- a post rewritten and deleted while it is read ---- */

#define CHURN_POST "posts/2020-01-15-churn.txt"
#define CHURN_SLUG "2020-01-15-churn"

static size_t
churn_text(char *buf, size_t size, unsigned v)
{
	size_t n;
	int i;

	n = (size_t)snprintf(buf, size, "Title: Churn version %u\nDate: 2020-01-15\n\n", v);
	for (i = 0; i < 40 && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n,
		    "Line %d of version %u, long enough to make the file span a few writes.\n",
		    i, v);
	n += (size_t)snprintf(buf + n, size - n, "\nEnd of version %u.\n", v);
	return n;
}

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0 && (n = write(fd, buf, len)) > 0) {
		buf += n;
		len -= (size_t)n;
	}
}

/* Rewrites, deletes and recreates the post, in every way an author might. */
static void
churn_child(int id, void *arg, struct shared *s)
{
	const struct gazette *g = arg;
	char path[700], tmp[720], buf[8192];
	unsigned v = 1000;
	size_t len;
	int fd;

	(void)id;
	snprintf(path, sizeof(path), "%s/" CHURN_POST, g->root);
	snprintf(tmp, sizeof(tmp), "%s/posts/.churn.tmp", g->root);
	while (!s->stop) {
		switch (v % 4) {
		case 0:	/* an editor's save: a new file renamed over the old */
			len = churn_text(buf, sizeof(buf), v);
			if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1) {
				write_all(fd, buf, len);
				close(fd);
				rename(tmp, path);
			}
			break;
		case 1:	/* rewritten in place, in two writes */
		case 3:	/* created anew, in two writes */
			len = churn_text(buf, sizeof(buf), v);
			if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1) {
				write_all(fd, buf, len / 2);
				sched_yield();
				write_all(fd, buf + len / 2, len - len / 2);
				close(fd);
			}
			break;
		case 2:
			unlink(path);
			break;
		}
		shared_add(&s->requests, 1);
		v++;
		sleep_ms(1);	/* an author's pace, not a synchronisation */
	}
}

#define BEING_UPDATED "40 This post is being updated; try again in a moment\r\n"

/* A reply for the post page: 51, "being updated", or one whole version. */
static const char *
check_post_page(const struct reply *r)
{
	char want[64];
	const char *p;
	unsigned v;

	if (!r->close_notify)
		return "no close_notify";
	if (strncmp(r->data, "51 ", 3) == 0)
		return strcmp(r->data + r->len - 2, "\r\n") == 0 ? NULL : "bad 51";
	if (strncmp(r->data, "40 ", 3) == 0)
		return strcmp(r->data, BEING_UPDATED) == 0 ? NULL : "bad 40";
	if (strncmp(r->data, "20 text/gemini", 14) != 0)
		return "neither 20, 40 nor 51";
	if ((p = strstr(r->data, "# Churn version ")) == NULL || sscanf(p + 16, "%u", &v) != 1)
		return "no title";
	snprintf(want, sizeof(want), "End of version %u.", v);
	if (strstr(r->data, want) == NULL)
		return "truncated";
	/* Every line that names a version names this one. */
	for (p = r->data; (p = strstr(p, "version ")) != NULL; p += 8) {
		unsigned w;
		if (sscanf(p + 8, "%u", &w) == 1 && w != v)
			return "mixed versions";
	}
	return NULL;
}

/* A reply for a list page: whole, ending as it did before, the post at most once. */
static const char *
check_list_page(const struct reply *r, const struct reply *ref)
{
	const char *tail, *p;
	size_t tl;
	int n = 0;

	if (!r->close_notify)
		return "no close_notify";
	if (strncmp(r->data, "20 text/gemini", 14) != 0)
		return "not 20";
	/* The reference's last 40 bytes: the links after the list. */
	tl = ref->len < 40 ? ref->len : 40;
	tail = ref->data + ref->len - tl;
	if (r->len < tl || memcmp(r->data + r->len - tl, tail, tl) != 0)
		return "truncated";
	for (p = r->data; (p = strstr(p, CHURN_SLUG)) != NULL; p++)
		n++;
	if (n > 1)
		return "the post listed twice";
	return NULL;
}

struct read_arg {
	const struct gazette *g;
	const char *path;
	const struct reply *ref;	/* for list pages; NULL for the post */
	int count;
};

static void
reader_child(int id, void *arg, struct shared *s)
{
	const struct read_arg *a = (const struct read_arg *)arg + id;
	const char *why;
	struct reply r;
	int i, shown = 0;

	resume_every = 2;
	for (i = 0; i < a->count; i++) {
		gem_path(a->g, a->path, &r);
		why = a->ref ? check_list_page(&r, a->ref) : check_post_page(&r);
		if (why == NULL && a->ref == NULL)
			shared_add(strncmp(r.data, "20", 2) == 0 ? &s->n20 :
			    strncmp(r.data, "40", 2) == 0 ? &s->n40 : &s->n51, 1);
		if (why != NULL) {
			char what[200];
			snprintf(what, sizeof(what), "%s: %s", a->path, why);
			child_fail(s, &shown, what, &r);
		}
		reply_free(&r);
	}
}

/*
 * A post rewritten (renamed over, in place), deleted and recreated without a
 * pause while its page, its month and the home page are requested 500 times
 * each: every reply is a whole 20 or 51 of one version, or 40 "being
 * updated", never a half page.
 *
 * Bug guarded against: store_load() read the post's file at request time
 * whatever state it was in, so a post being rewritten in place (or recreated)
 * was served cut in the middle, and that half page was cached until the next
 * change of the index. It now reads only the very file the index was built
 * from, and discards a read a writer touched (40 for that moment).
 */
TEST(faults_post_churn)
{
	static const struct gazette_opts o = {
		.fixture = "archive",
		.global = "workers = 2\n",
	};
	enum { READS = 500 };
	static const char *const paths[3] = { "/posts/" CHURN_SLUG ".gmi",
	    "/archive/2020/01/", "/" };
	struct shared *s = shared_new(), *w = shared_new();
	struct reply refs[3], r;
	struct read_arg ra[3];
	char buf[8192], want[64];
	pid_t pids[MAX_PROCS], writer, readers[3];
	struct gazette g;
	long t, deadline;
	size_t len;
	int i, np;
	bool seen = false;

	if (gazette_start(&g, &o) == -1)
		return;
	np = server_procs(&g, 2, pids, MAX_PROCS);
	CHECK_INT(np, 3);
	len = churn_text(buf, sizeof(buf), 1);
	CHECK(gazette_write(&g, CHURN_POST, buf, (long)len) == 0);
	/* The list pages as they are with the post: their ends do not change. */
	deadline = now_ms() + 5000;
	for (seen = false; !seen && now_ms() < deadline; ) {
		gem_path(&g, paths[0], &r);
		seen = strstr(r.data, "# Churn version 1\n") != NULL;
		reply_free(&r);
		if (!seen)
			sleep_ms(20);
	}
	CHECK(seen);
	for (i = 0; i < 3; i++) {
		gem_path(&g, paths[i], &refs[i]);
		CHECK(gem_ok(&refs[i], "20"));
		ra[i] = (struct read_arg){ &g, paths[i], i == 0 ? NULL : &refs[i], READS };
	}
	t = now_ms();
	writer = spawn_child(churn_child, 0, &g, w);
	for (i = 0; i < 3; i++)
		readers[i] = spawn_child(reader_child, i, ra, s);
	for (i = 0; i < 3; i++)
		reap_child(readers[i]);
	w->stop = 1;
	reap_child(writer);
	t = now_ms() - t;
	CHECK_INT(shared_get(&s->failures), 0);
	CHECK(shared_get(&w->requests) > 100);
	/* Both answers happen: the post is there most of the time, not never. */
	CHECK(shared_get(&s->n20) > 0);
	CHECK(shared_get(&s->n51) > 0);
	printf("    faults: %d reads of 3 pages while the post changed %ld times, in %ld ms; "
	    "the post page: %ld times 20, %ld times 40 (being written), %ld times 51\n",
	    3 * READS, shared_get(&w->requests), t, shared_get(&s->n20), shared_get(&s->n40),
	    shared_get(&s->n51));

	/* At rest, the last version shows; nothing stuck on an old one. */
	len = churn_text(buf, sizeof(buf), 7);
	CHECK(gazette_write(&g, CHURN_POST, buf, (long)len) == 0);
	snprintf(want, sizeof(want), "# Churn version 7\n");
	deadline = now_ms() + 5000;
	for (seen = false; !seen && now_ms() < deadline; ) {
		gem_path(&g, paths[0], &r);
		seen = strstr(r.data, want) != NULL && check_post_page(&r) == NULL;
		reply_free(&r);
		if (!seen)
			sleep_ms(20);
	}
	CHECK(seen);
	for (i = 0; i < 3; i++)
		reply_free(&refs[i]);
	check_same_workers(&g, pids + 1, np - 1);
	gazette_stop(&g);
}

/* ---- signals under load ---- */

struct steady_arg {
	int gemini_port, gopher_port;
	struct reply ref[3];	/* what each request must get, byte for byte */
	char req[3][200];
};

/* Requests until told to stop; every reply whole and the same as before. */
static void
steady_child(int id, void *arg, struct shared *s)
{
	const struct steady_arg *a = arg;
	struct reply r;
	int shown = 0, k = id % 3;

	resume_every = 2;
	while (!s->stop) {
		if (k == 2)
			tcp_fetch(a->gopher_port, a->req[k], strlen(a->req[k]), 10000, &r);
		else
			gem(a->gemini_port, a->req[k], &r);
		if (!same_reply(&r, &a->ref[k]) || (k < 2 && !r.close_notify) ||
		    (k == 2 && (r.timed_out || r.reset)))
			child_fail(s, &shown, a->req[k], &r);
		shared_add(&s->requests, 1);
		reply_free(&r);
	}
}

/* Waits until the clients have made n more requests. */
static bool
wait_requests(struct shared *s, long n, long ms)
{
	long target = shared_get(&s->requests) + n, deadline = now_ms() + ms;

	while (shared_get(&s->requests) < target && now_ms() < deadline)
		sleep_ms(2);
	return shared_get(&s->requests) >= target;
}

/*
 * SIGHUP five times while six clients request without a pause: every request
 * gets its whole reply, across every change of generation.
 *
 * Bug guarded against: an old worker told to stop closed at once every
 * connection it had not read a byte from, although the request was often in
 * the socket already (or a moment away): clients of a reload got an empty
 * reply or a reset. conn_close_idle() now serves what is waiting and gives a
 * connection that has just been accepted a moment to speak.
 */
TEST(faults_sighup_under_load)
{
	static const struct gazette_opts o = {
		.fixture = "archive",
		.gopher = true,
		.global = "workers = 2\n",
	};
	enum { CLIENTS = 6, RELOADS = 5 };
	struct shared *s = shared_new();
	struct steady_arg *a;
	struct gazette g;
	pid_t kids[CLIENTS], pids[MAX_PROCS];
	char want[64];
	long t;
	int i, n;

	if (gazette_start(&g, &o) == -1)
		return;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		abort();
	a->gemini_port = g.gemini_port;
	a->gopher_port = g.gopher_port;
	snprintf(a->req[0], sizeof(a->req[0]), "gemini://localhost:%d/\r\n", g.gemini_port);
	snprintf(a->req[1], sizeof(a->req[1]), "gemini://localhost:%d/about.gmi\r\n",
	    g.gemini_port);
	snprintf(a->req[2], sizeof(a->req[2]), "/archive/\r\n");
	gem(g.gemini_port, a->req[0], &a->ref[0]);
	CHECK(gem_ok(&a->ref[0], "20"));
	gem(g.gemini_port, a->req[1], &a->ref[1]);
	CHECK(gem_ok(&a->ref[1], "20"));
	tcp_fetch(g.gopher_port, a->req[2], strlen(a->req[2]), 5000, &a->ref[2]);
	CHECK(a->ref[2].len > 3 && strcmp(a->ref[2].data + a->ref[2].len - 3, ".\r\n") == 0);

	t = now_ms();
	for (i = 0; i < CLIENTS; i++)
		kids[i] = spawn_child(steady_child, i, a, s);
	CHECK(wait_requests(s, 50, 10000));
	for (i = 0; i < RELOADS; i++) {
		gazette_signal(&g, SIGHUP);
		snprintf(want, sizeof(want), "reloaded: generation %d", i + 2);
		CHECK(gazette_wait_log(&g, want, 10000));
		/* Load on the new generation while the old one drains. */
		CHECK(wait_requests(s, 50, 10000));
	}
	s->stop = 1;
	for (i = 0; i < CLIENTS; i++)
		reap_child(kids[i]);
	t = now_ms() - t;
	CHECK_INT(shared_get(&s->failures), 0);
	printf("    faults: %ld requests across %d reloads in %ld ms, %ld failed\n",
	    shared_get(&s->requests), RELOADS, t, shared_get(&s->failures));
	/* The old generations are gone; two workers remain. */
	for (t = now_ms() + 5000; (n = gazette_workers(&g, pids, MAX_PROCS)) != 2 &&
	    now_ms() < t; )
		sleep_ms(10);
	CHECK_INT(n, 2);
	for (i = 0; i < 3; i++)
		reply_free(&a->ref[i]);
	free(a);
	gazette_stop(&g);
}

/* Connecting gets ECONNREFUSED (polls up to ms for it). */
static bool
refused(int port, long ms)
{
	long deadline = now_ms() + ms;
	struct sockaddr_in sin = loopback(port);
	int fd, rc, e;

	for (;;) {
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			return false;
		rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		e = errno;
		close(fd);
		if (rc == -1 && e == ECONNREFUSED)
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(10);
	}
}

/*
 * SIGTERM while 8 MiB are on their way: the download completes with
 * close_notify, new connections are refused meanwhile, the exit status is 0.
 */
TEST(faults_sigterm_finishes_in_flight)
{
	static const struct gazette_opts o = {
		.fixture = "archive",
		.gopher = true,
		.global = "workers = 2\n",
	};
	enum { SIZE = 8 << 20 };
	struct gazette g;
	struct tconn c;
	struct reply r;
	char req[200];
	size_t body;
	char *log;

	if (gazette_start(&g, &o) == -1)
		return;
	write_big(&g, "big.bin", SIZE);
	snprintf(req, sizeof(req), "gemini://localhost:%d/big.bin\r\n", g.gemini_port);
	if (!tls_open(&c, g.gemini_port, 0, 20000)) {
		test_fail(__FILE__, __LINE__, "handshake failed");
		gazette_stop(&g);
		return;
	}
	reply_init(&r);
	CHECK(tls_send(&c, req, strlen(req)));
	/* The response has begun. */
	tls_read(&c, &r, 1000);
	CHECK(r.len >= 1000);
	gazette_signal(&g, SIGTERM);
	CHECK(gazette_wait_log(&g, "SIGTERM: stopping", 5000));
	/*
	 * Bug guarded against: the supervisor kept its copies of the listening
	 * sockets open until it exited, so during the drain new clients were
	 * accepted by the kernel and then left hanging instead of refused.
	 */
	CHECK(refused(g.gemini_port, 3000));
	CHECK(refused(g.gopher_port, 3000));
	tls_read(&c, &r, SIZE_MAX);
	CHECK(r.close_notify);
	CHECK(strncmp(r.data, "20 ", 3) == 0);
	reply_body(&r, &body);
	CHECK_INT(body, SIZE);
	reply_free(&r);
	tls_close(&c);
	/* Exit status 0, no sanitizer report (checked by gazette_stop). */
	gazette_stop(&g);
	log = gazette_log(&g);
	CHECK(strstr(log, "gazette stopped") != NULL);
	free(log);
}

/* Reads fd to its end into buf (at most size); the count, or -1 on an error or timeout. */
static long
read_to_end(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n = 0;

	while (got < size && (n = read(fd, buf + got, size - got)) > 0)
		got += (size_t)n;
	return got < size && n != 0 ? -1 : (long)got;
}

/* buf holds the first n bytes of write_big's pattern. */
static bool
is_big_prefix(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != (char)('a' + i % 23))
			return false;
	return true;
}

/*
 * A raw file over plain Gopher goes by sendfile: it arrives whole; and a
 * file cut short on disk while it is sent ends the download cleanly with
 * what there was (no reset, no hang, no worker lost).
 */
TEST(faults_gopher_file_cut_while_sent)
{
	static const struct gazette_opts o = {
		.fixture = "archive",
		.gopher = true,
		.global = "workers = 2\n",
	};
	char path[700], *buf;
	struct gazette g;
	long got;
	int fd;

	if ((buf = malloc(BIG_SIZE + 1)) == NULL || gazette_start(&g, &o) == -1) {
		free(buf);
		return;
	}
	write_big(&g, "big.bin", BIG_SIZE);
	if ((fd = tcp_open(g.gopher_port, 0, 10000)) != -1) {
		CHECK(write(fd, "/big.bin\r\n", 10) == 10);
		got = read_to_end(fd, buf, BIG_SIZE + 1);
		CHECK_INT(got, BIG_SIZE);
		CHECK(got > 0 && is_big_prefix(buf, (size_t)got));
		close(fd);
	}
	/* A small window: the server is mid-file when the file is cut. */
	if ((fd = tcp_open(g.gopher_port, 8192, 10000)) != -1) {
		CHECK(write(fd, "/big.bin\r\n", 10) == 10);
		CHECK(read(fd, buf, 65536) > 0);
		snprintf(path, sizeof(path), "%s/big.bin", g.root);
		CHECK(truncate(path, 100 * 1024) == 0);
		got = read_to_end(fd, buf, BIG_SIZE + 1);
		CHECK(got > 0 && got < BIG_SIZE);
		close(fd);
		printf("    faults: a 10 MiB file cut to 100 KiB while sent: the download ended "
		    "cleanly after %ld more bytes\n", got);
	}
	expect_served(&g, "a file cut while sent");
	free(buf);
	gazette_stop(&g);
}
