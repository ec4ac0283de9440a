/*
 * The PROXY protocol against the real binary: behind a real HAProxy (Debian's
 * haproxy, started here in TCP mode on loopback with send-proxy and
 * send-proxy-v2), and with hand-made headers sent straight to gazette.
 *
 * So that the logged address means something, clients connect from 127.0.0.2
 * while HAProxy connects to gazette from 127.0.0.1: the access log must name
 * 127.0.0.2. The checks read the CLIENT field of the access-log line that
 * holds a request made unique for the purpose.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "client.h"
#include "harness.h"
#include "test.h"

#define CLIENT_ADDR "127.0.0.2"	/* where test clients connect from */
#define HAPROXY_START_MS 10000

/* A byte string that may hold NULs. */
#define B(s) s, sizeof(s) - 1
#define SIG "\r\n\r\n\0\r\nQUIT\n"

static const struct gazette_opts behind_haproxy = {
	.fixture = "static",
	.global = "proxy_protocol = yes\nproxy_from = 127.0.0.1\n",
	.gopher = true,
};

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The CLIENT field of the first access-log line that holds needle (and also,
 * unless NULL), waiting up to 5 s for one; "" when none came.
 */
static const char *
logged_client(const struct gazette *g, const char *needle, const char *also, char *out,
    size_t size)
{
	char *log, *line, *next, *sp, *end;
	long waited = 0;

	out[0] = '\0';
	for (;;) {
		log = gazette_log(g);
		for (line = log; *line != '\0'; line = next) {
			next = strchr(line, '\n');
			next = next ? next + 1 : line + strlen(line);
			if (memmem(line, next - line, needle, strlen(needle)) == NULL ||
			    (also && memmem(line, next - line, also, strlen(also)) == NULL))
				continue;
			/* TIME CLIENT PROTO HOST "REQUEST" ... */
			if ((sp = memchr(line, ' ', next - line)) != NULL &&
			    (end = memchr(sp + 1, ' ', next - sp - 1)) != NULL)
				snprintf(out, size, "%.*s", (int)(end - sp - 1), sp + 1);
			free(log);
			return out;
		}
		free(log);
		if (waited >= 5000)
			return out;
		sleep_ms(20);
		waited += 20;
	}
}

/* Whether the log holds text at all (no waiting). */
static bool
log_has(const struct gazette *g, const char *text)
{
	char *log = gazette_log(g);
	bool found = strstr(log, text) != NULL;

	free(log);
	return found;
}

/* ---- HAProxy ---------------------------------------------------------- */

enum { FE_GEMINI_V1, FE_GEMINI_V2, FE_GOPHER_V1, FE_GOPHER_V2, FE_COUNT };

struct haproxy {
	pid_t pid;
	int port[FE_COUNT];	/* its frontends, on 127.0.0.1 */
	char log[600];
};

/* $HAPROXY, else haproxy where test_tool_path() finds it. */
static const char *
haproxy_binary(char *buf, size_t size)
{
	const char *env = getenv("HAPROXY");

	return env != NULL && *env ? env : test_tool_path("haproxy", buf, size);
}

static bool
accepting(int port)
{
	struct sockaddr_in sin = { 0 };
	int fd, ok;

	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

static void
haproxy_dump(const struct haproxy *hp)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(hp->log, "r");

	if (f == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	printf("    --- haproxy output ---\n%s    ---\n", buf);
}

static void
haproxy_stop(struct haproxy *hp)
{
	if (hp->pid <= 0)
		return;
	kill(hp->pid, SIGTERM);
	while (waitpid(hp->pid, NULL, 0) == -1 && errno == EINTR)
		;
	hp->pid = 0;
}

/*
 * Starts HAProxy in front of g: a TCP frontend for each of Gemini and Gopher
 * with PROXY v1 and v2 (v2 with a CRC32C TLV on Gopher, for the checksum).
 */
static int
haproxy_start(struct haproxy *hp, const struct gazette *g)
{
	static const char *const names[FE_COUNT] = { "gemini_v1", "gemini_v2", "gopher_v1",
	    "gopher_v2" };
	/* v2 with health checks too: a LOCAL header every 200 ms, then a reset. */
	static const char *const sends[FE_COUNT] = { "send-proxy",
	    "send-proxy-v2 check inter 200", "send-proxy",
	    "send-proxy-v2 proxy-v2-options crc32c check inter 200" };
	char bin[600], conf[700], text[4096];
	const char *exe;
	size_t o;
	long waited = 0;
	int i, fd, backend;
	FILE *f;

	memset(hp, 0, sizeof(*hp));
	if ((exe = haproxy_binary(bin, sizeof(bin))) == NULL) {
		test_skip("haproxy is not installed (Debian package haproxy, or set HAPROXY)");
		return -1;
	}
	snprintf(conf, sizeof(conf), "%s/haproxy.cfg", g->dir);
	snprintf(hp->log, sizeof(hp->log), "%s/haproxy.log", g->dir);
	o = (size_t)snprintf(text, sizeof(text),
	    "global\n"
	    "\tmaxconn 256\n"
	    "defaults\n"
	    "\tmode tcp\n"
	    "\ttimeout connect 5s\n"
	    "\ttimeout client 10s\n"
	    "\ttimeout server 10s\n");
	for (i = 0; i < FE_COUNT; i++) {
		hp->port[i] = free_port();
		backend = i < FE_GOPHER_V1 ? g->gemini_port : g->gopher_port;
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "frontend %s\n"
		    "\tbind 127.0.0.1:%d\n"
		    "\tdefault_backend %s\n"
		    "backend %s\n"
		    "\tserver g 127.0.0.1:%d %s\n",
		    names[i], hp->port[i], names[i], names[i], backend, sends[i]);
	}
	if ((f = fopen(conf, "w")) == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		test_fail(__FILE__, __LINE__, "cannot write %s", conf);
		return -1;
	}
	fflush(stdout);
	if ((hp->pid = fork()) == -1) {
		test_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
		return -1;
	}
	if (hp->pid == 0) {
		if ((fd = open(hp->log, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		/* -db: in the foreground, so that this process is HAProxy itself. */
		execl(exe, exe, "-db", "-f", conf, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	for (i = 0; i < FE_COUNT; i++)
		while (!accepting(hp->port[i])) {
			if (waitpid(hp->pid, NULL, WNOHANG) == hp->pid || waited >= HAPROXY_START_MS) {
				test_fail(__FILE__, __LINE__, "haproxy did not start");
				haproxy_dump(hp);
				if (waitpid(hp->pid, NULL, WNOHANG) == 0)
					haproxy_stop(hp);
				hp->pid = 0;
				return -1;
			}
			sleep_ms(20);
			waited += 20;
		}
	return 0;
}

/* ---- requests --------------------------------------------------------- */

/* A Gemini request through port from source; returns the header line. */
static const char *
gemini_via(int port, const char *source, const void *prefix, size_t prefix_len,
    const char *req, char *head, size_t size)
{
	struct client_opts o = { .sni = "localhost", .source = source, .prefix = prefix,
	    .prefix_len = prefix_len };
	struct reply r;

	gemini_fetch(port, &o, req, strlen(req), &r);
	reply_header(&r, head, size);
	reply_free(&r);
	return head;
}

TEST(proxy_haproxy_client_address)
{
	static const struct {
		int fe;
		const char *name;
	} rows[] = {
		{ FE_GEMINI_V1, "gemini-v1" },
		{ FE_GEMINI_V2, "gemini-v2" },
		{ FE_GOPHER_V1, "gopher-v1" },
		{ FE_GOPHER_V2, "gopher-v2" },
	};
	struct haproxy hp;
	struct gazette g;
	struct reply r;
	char req[300], needle[300], head[1100], client[64];
	size_t i;

	if (gazette_start(&g, &behind_haproxy) == -1)
		return;
	if (haproxy_start(&hp, &g) == -1) {
		gazette_stop(&g);
		return;
	}
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int port = hp.port[rows[i].fe];
		test_context("%s", rows[i].name);
		if (rows[i].fe <= FE_GEMINI_V2) {
			/* Pages are served as usual (the URL names gazette's own port)... */
			snprintf(req, sizeof(req), "gemini://localhost:%d/docs/note.txt\r\n",
			    g.gemini_port);
			CHECK_STR(gemini_via(port, CLIENT_ADDR, NULL, 0, req, head, sizeof(head)),
			    "20 text/plain; charset=utf-8");
			/* ...and one unique request shows whom the log names. */
			snprintf(req, sizeof(req), "gemini://localhost:%d/%s\r\n", g.gemini_port,
			    rows[i].name);
			CHECK_STR(gemini_via(port, CLIENT_ADDR, NULL, 0, req, head, sizeof(head)),
			    "51 Not found");
			snprintf(needle, sizeof(needle), " gemini localhost \"gemini://localhost:%d/%s\"",
			    g.gemini_port, rows[i].name);
		} else {
			tcp_fetch_from(port, CLIENT_ADDR, "/docs/note.txt\r\n", 16, 5000, &r);
			CHECK_STR(r.data, "plain text\n");
			reply_free(&r);
			snprintf(req, sizeof(req), "/%s\r\n", rows[i].name);
			tcp_fetch_from(port, CLIENT_ADDR, req, strlen(req), 5000, &r);
			CHECK(strncmp(r.data, "3Not found", 10) == 0);
			reply_free(&r);
			snprintf(needle, sizeof(needle), " gopher localhost \"/%s\"", rows[i].name);
		}
		CHECK_STR(logged_client(&g, needle, NULL, client, sizeof(client)), CLIENT_ADDR);
	}
	test_context("%s", "");
	/* HAProxy's own address never stands for a client that made a request. */
	CHECK(!log_has(&g, "127.0.0.1 gemini localhost \"gemini:"));
	CHECK(!log_has(&g, "127.0.0.1 gopher localhost \"/"));
	CHECK(!log_has(&g, "proxy:v"));
	haproxy_stop(&hp);
	gazette_stop(&g);
}

/* With the option on, a connection without a header is refused at once. */
TEST(proxy_required)
{
	static const struct gazette_opts o = {
		.fixture = "static",
		.global = "proxy_protocol = yes\nrequest_timeout = 500ms\n",
		.gopher = true,
	};
	struct gazette g;
	struct reply r;
	char req[300], client[64];
	long start;

	if (gazette_start(&g, &o) == -1)
		return;
	snprintf(req, sizeof(req), "gemini://localhost:%d/docs/note.txt\r\n", g.gemini_port);
	start = now_ms();
	gemini_fetch(g.gemini_port, &(struct client_opts){ .sni = "localhost",
	    .source = CLIENT_ADDR }, req, strlen(req), &r);
	CHECK(r.connected && !r.handshake && r.len == 0);
	CHECK(now_ms() - start < 400);
	reply_free(&r);
	CHECK_STR(logged_client(&g, " gemini - \"-\" - ", " proxy:not-proxy-protocol\n", client,
	    sizeof(client)), CLIENT_ADDR);

	start = now_ms();
	tcp_fetch_from(g.gopher_port, CLIENT_ADDR, "/docs/note.txt\r\n", 16, 3000, &r);
	CHECK(r.connected && r.len == 0 && !r.timed_out);
	CHECK(now_ms() - start < 400);
	reply_free(&r);
	CHECK_STR(logged_client(&g, " gopher - \"-\" - ", " proxy:not-proxy-protocol\n", client,
	    sizeof(client)), CLIENT_ADDR);

	/* A header that never ends waits no longer than a request would. */
	start = now_ms();
	tcp_fetch_from(g.gopher_port, CLIENT_ADDR, "PROXY TCP4 192.0.2.1", 20, 3000, &r);
	CHECK(r.len == 0 && !r.timed_out);
	CHECK(now_ms() - start < 2000);
	reply_free(&r);
	CHECK_STR(logged_client(&g, " gopher - ", " timeout\n", client, sizeof(client)),
	    CLIENT_ADDR);
	CHECK(!log_has(&g, "192.0.2.1"));
	gazette_stop(&g);
}

/* Only proxy_from may send a header: anyone else could claim any address. */
TEST(proxy_untrusted_peer)
{
	static const char spoof[] = "PROXY TCP4 203.0.113.9 127.0.0.1 5555 70\r\n";
	struct gazette g;
	struct reply r;
	char req[300], client[64], head[1100];

	if (gazette_start(&g, &behind_haproxy) == -1)
		return;
	snprintf(req, sizeof(req), "%s/docs/note.txt\r\n", spoof);
	tcp_fetch_from(g.gopher_port, CLIENT_ADDR, req, strlen(req), 3000, &r);
	CHECK(r.connected && r.len == 0 && !r.timed_out);
	reply_free(&r);
	snprintf(req, sizeof(req), "gemini://localhost:%d/docs/note.txt\r\n", g.gemini_port);
	CHECK_STR(gemini_via(g.gemini_port, CLIENT_ADDR, B(spoof), req, head, sizeof(head)),
	    "");
	CHECK_STR(logged_client(&g, " gopher - ", " proxy:untrusted-peer\n", client,
	    sizeof(client)), CLIENT_ADDR);
	CHECK_STR(logged_client(&g, " gemini - ", " proxy:untrusted-peer\n", client,
	    sizeof(client)), CLIENT_ADDR);
	CHECK(!log_has(&g, "203.0.113.9"));
	/* The trusted peer, with the same header, is believed. */
	snprintf(req, sizeof(req), "%s/trusted\r\n", spoof);
	tcp_fetch(g.gopher_port, req, strlen(req), 3000, &r);
	CHECK(strncmp(r.data, "3Not found", 10) == 0);
	reply_free(&r);
	CHECK_STR(logged_client(&g, "\"/trusted\"", NULL, client, sizeof(client)), "203.0.113.9");
	gazette_stop(&g);
}

/* Hand-made headers, from the trusted 127.0.0.1: every form HAProxy may send. */
TEST(proxy_headers_direct)
{
	static const char v2_tcp6_tlvs[] = SIG "\x21\x21\x00\x38"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x08"	/* 2001:db8::8 */
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"		/* ::1 */
	    "\x9c\x40" "\x07\xad"
	    "\x04\x00\x00" "\x02\x00\x09" "localhost" "\x05\x00\x02" "id";
	static const char v2_mapped[] = SIG "\x21\x21\x00\x24"
	    "\0\0\0\0\0\0\0\0\0\0\xff\xff\xc6\x33\x64\x14"	/* ::ffff:198.51.100.20 */
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" "\x9c\x40" "\x00\x46";
	static const char v2_local[] = SIG "\x20\x00\x00\x00";
	static const struct {
		const char *header;
		size_t len;
		const char *name;	/* the selector or path, made unique */
		const char *client;	/* the logged address; NULL: refused */
		const char *note;
	} rows[] = {
		{ B("PROXY TCP6 2001:db8::7 ::1 40000 70\r\n"), "tcp6", "2001:db8::7", NULL },
		{ B("PROXY TCP4 192.0.2.44 127.0.0.1 40000 70\r\n"), "tcp4", "192.0.2.44", NULL },
		{ B(v2_tcp6_tlvs), "v2-tlvs", "2001:db8::8", NULL },
		/* The IPv4 client of a dual-stack balancer is logged as IPv4. */
		{ B(v2_mapped), "v2-mapped", "198.51.100.20", NULL },
		/* Health checks and unknown families keep the connection's own address. */
		{ B(v2_local), "v2-local", "127.0.0.1", NULL },
		{ B("PROXY UNKNOWN\r\n"), "v1-unknown", "127.0.0.1", NULL },
		{ B("PROXY TCP4 192.0.2.044 127.0.0.1 40000 70\r\n"), "bad-v1", NULL,
		    "proxy:v1-bad-address" },
		{ B("PROXY TCP4 192.0.2.44 127.0.0.1 40000 70\n"), "bare-lf", NULL,
		    "proxy:v1-bad-line-end" },
		{ B(SIG "\x31\x11\x00\x0c"), "bad-v2", NULL, "proxy:v2-bad-version" },
	};
	struct gazette g;
	struct reply r;
	char req[600], head[1100], needle[300], client[64];
	size_t i;

	if (gazette_start(&g, &behind_haproxy) == -1)
		return;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].name);
		/* Gopher: header and request in one segment. */
		memcpy(req, rows[i].header, rows[i].len);
		snprintf(req + rows[i].len, sizeof(req) - rows[i].len, "/%s\r\n", rows[i].name);
		tcp_fetch(g.gopher_port, req, rows[i].len + strlen(rows[i].name) + 3, 3000, &r);
		if (rows[i].client != NULL) {
			CHECK(strncmp(r.data, "3Not found", 10) == 0);
			snprintf(needle, sizeof(needle), " gopher localhost \"/%s\"", rows[i].name);
			CHECK_STR(logged_client(&g, needle, NULL, client, sizeof(client)),
			    rows[i].client);
		} else {
			CHECK(r.len == 0 && !r.timed_out);
			CHECK(gazette_wait_log(&g, rows[i].note, 2000));
		}
		reply_free(&r);
		/* Gemini: the header, then the TLS handshake. */
		snprintf(req, sizeof(req), "gemini://localhost:%d/%s\r\n", g.gemini_port,
		    rows[i].name);
		gemini_via(g.gemini_port, NULL, rows[i].header, rows[i].len, req, head,
		    sizeof(head));
		if (rows[i].client != NULL) {
			CHECK_STR(head, "51 Not found");
			snprintf(needle, sizeof(needle), " gemini localhost \"%.*s\"",
			    (int)strlen(req) - 2, req);
			CHECK_STR(logged_client(&g, needle, NULL, client, sizeof(client)),
			    rows[i].client);
		} else
			CHECK_STR(head, "");
	}
	test_context("%s", "");
	gazette_stop(&g);
}

/* Connects from source, sends len bytes of data and closes. */
static void
send_and_close(int port, const char *source, const void *data, size_t len)
{
	struct sockaddr_in sin = { 0 }, from = { 0 };
	int fd;

	sin.sin_family = from.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	inet_pton(AF_INET, source, &from.sin_addr);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&from, sizeof(from)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    write(fd, data, len) != (ssize_t)len)
		test_fail(__FILE__, __LINE__, "send from %s: %s", source, strerror(errno));
	if (fd != -1)
		close(fd);
}

/*
 * A balancer's health checks (v2 LOCAL, then close) stay out of the access
 * log, unless they make a request; other connections without one do not.
 */
TEST(proxy_health_checks_not_logged)
{
	static const struct gazette_opts o = {
		.fixture = "static",
		.global = "proxy_protocol = yes\nproxy_from = 127.0.0.0/8\nworkers = 1\n",
		.gopher = true,
	};
	static const char local[] = SIG "\x20\x00\x00\x00";
	struct gazette g;
	struct reply r;
	char req[300], client[64];

	if (gazette_start(&g, &o) == -1)
		return;
	send_and_close(g.gemini_port, "127.0.0.3", B(local));
	send_and_close(g.gopher_port, "127.0.0.3", B(local));
	sleep_ms(200);
	/* A LOCAL connection that asks for something is logged as usual. */
	memcpy(req, local, sizeof(local) - 1);
	memcpy(req + sizeof(local) - 1, "/docs/note.txt\r\n", 16);
	tcp_fetch_from(g.gopher_port, "127.0.0.3", req, sizeof(local) - 1 + 16, 3000, &r);
	CHECK_STR(r.data, "plain text\n");
	reply_free(&r);
	CHECK_STR(logged_client(&g, " gopher localhost \"/docs/note.txt\"", NULL, client,
	    sizeof(client)), "127.0.0.3");
	/* A v1 header (HAProxy's checks with send-proxy) is not known for a check. */
	send_and_close(g.gopher_port, "127.0.0.4", B("PROXY UNKNOWN\r\n"));
	CHECK_STR(logged_client(&g, " gopher - \"-\" - 0 ", " closed\n", client, sizeof(client)),
	    "127.0.0.4");
	CHECK(!log_has(&g, "Z 127.0.0.3 gemini"));
	CHECK(!log_has(&g, "Z 127.0.0.3 gopher - "));
	gazette_stop(&g);
}

/* TCP may cut a header anywhere: the rest is waited for, then served. */
TEST(proxy_header_in_pieces)
{
	static const char msg[] = SIG "\x21\x11\x00\x0c" "\xc0\x00\x02\x63" "\x7f\x00\x00\x01"
	    "\x9c\x40" "\x00\x46" "/pieces\r\n";
	static const size_t cuts[] = { 1, 5, 13, 16, 20, 28, 30 };
	struct sockaddr_in sin = { 0 };
	char buf[256], client[64];
	size_t i, at = 0, got = 0;
	struct gazette g;
	ssize_t n;
	int fd;

	if (gazette_start(&g, &behind_haproxy) == -1)
		return;
	sin.sin_family = AF_INET;
	sin.sin_port = htons(g.gopher_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd != -1 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	for (i = 0; i <= sizeof(cuts) / sizeof(cuts[0]); i++) {
		size_t end = i < sizeof(cuts) / sizeof(cuts[0]) ? cuts[i] : sizeof(msg) - 1;
		CHECK(write(fd, msg + at, end - at) == (ssize_t)(end - at));
		at = end;
		sleep_ms(30);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ 3, 0 }, sizeof(struct timeval));
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	CHECK(strncmp(buf, "3Not found", 10) == 0);
	CHECK_STR(logged_client(&g, "\"/pieces\"", NULL, client, sizeof(client)), "192.0.2.99");
	gazette_stop(&g);
}

/* Limits count the real client: one client's bucket is not another's. */
TEST(proxy_quota_real_client)
{
	static const struct gazette_opts o = {
		.fixture = "static",
		.global = "proxy_protocol = yes\nproxy_from = 127.0.0.1\nworkers = 1\n"
		    "client_rate = 1\nclient_burst = 2\n",
		.gopher = true,
	};
	static const char one[] = "PROXY TCP4 198.51.100.1 127.0.0.1 40000 70\r\n"
	    "/docs/note.txt\r\n";
	static const char two[] = "PROXY TCP4 198.51.100.2 127.0.0.1 40000 70\r\n"
	    "/docs/note.txt\r\n";
	struct gazette g;
	struct reply r;
	int i;

	if (gazette_start(&g, &o) == -1)
		return;
	for (i = 0; i < 2; i++) {
		tcp_fetch(g.gopher_port, B(one), 3000, &r);
		CHECK_STR(r.data, "plain text\n");
		reply_free(&r);
	}
	tcp_fetch(g.gopher_port, B(one), 3000, &r);
	CHECK(strncmp(r.data, "3Slow down", 10) == 0);
	reply_free(&r);
	/* Through the same balancer, another client still has its whole burst. */
	tcp_fetch(g.gopher_port, B(two), 3000, &r);
	CHECK_STR(r.data, "plain text\n");
	reply_free(&r);
	gazette_stop(&g);
}

/* With the option off (the default), a PROXY header is just a bad request. */
TEST(proxy_off_header_is_a_request)
{
	static const char header[] = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965\r\n";
	struct gazette g;
	struct reply r;
	char req[300], head[1100], client[64];

	if (gazette_start(&g, &(struct gazette_opts){ .fixture = "static", .gopher = true }) == -1)
		return;
	/* As a Gemini request line: not an absolute URL. */
	CHECK(strncmp(gemini_via(g.gemini_port, NULL, NULL, 0, header, head, sizeof(head)),
	    "59 ", 3) == 0);
	/* Before the handshake: not TLS, so no handshake and no reply at all. */
	snprintf(req, sizeof(req), "gemini://localhost:%d/docs/note.txt\r\n", g.gemini_port);
	CHECK_STR(gemini_via(g.gemini_port, NULL, B(header), req, head, sizeof(head)), "");
	/* As a Gopher selector: nothing of that name. */
	tcp_fetch(g.gopher_port, B(header), 3000, &r);
	CHECK(strncmp(r.data, "3", 1) == 0);
	reply_free(&r);
	CHECK_STR(logged_client(&g, " gopher localhost \"PROXY TCP4", NULL, client,
	    sizeof(client)), "127.0.0.1");
	CHECK_STR(logged_client(&g, " gemini - \"PROXY TCP4", NULL, client, sizeof(client)),
	    "127.0.0.1");
	/* OpenSSL says what it saw instead of a ClientHello. */
	CHECK_STR(logged_client(&g, " gemini - \"-\" - 0 ", " tls:wrong_version_number\n", client,
	    sizeof(client)), "127.0.0.1");
	CHECK(!log_has(&g, "Z 192.0.2.1 "));
	gazette_stop(&g);
}

/* The two keys, as gazette -n checks them. */
TEST(proxy_config_keys)
{
	static const struct {
		const char *global;
		const char *message;	/* NULL: accepted */
	} rows[] = {
		{ "proxy_protocol = yes\nproxy_from = 127.0.0.1 10.0.0.0/8, ::1 fd00::/8\n", NULL },
		{ "proxy_protocol = no\nproxy_from =\n", NULL },
		{ "proxy_protocol = maybe\n", "1: expected yes or no" },
		{ "proxy_protocol = yes\nproxy_from = localhost\n",
		    "2: proxy_from: not an IPv4 address" },
		{ "proxy_from = 10.0.0.0/33\n", "1: proxy_from: bad prefix length after /" },
		{ "proxy_from = ::1/129\n", "1: proxy_from: bad prefix length after /" },
		{ "proxy_from = 2001:db8::g\n", "1: proxy_from: not an IPv6 address" },
	};
	char path[600], text[1024], want[1200];
	char *out;
	size_t i;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/proxy-check.conf", test_tmp_dir());
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("row %zu", i);
		snprintf(text, sizeof(text), "%s[host localhost]\nroot = %s\n", rows[i].global,
		    test_tmp_dir());
		if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
			test_fail(__FILE__, __LINE__, "cannot write %s", path);
			return;
		}
		rc = gazette_exec((const char *const[]){ "-n", "-c", path, NULL }, &out);
		if (rows[i].message == NULL) {
			snprintf(want, sizeof(want), "gazette: %s: configuration OK\n", path);
			CHECK_INT(rc, 0);
		} else {
			snprintf(want, sizeof(want), "gazette: %s:%s\n", path, rows[i].message);
			CHECK_INT(rc, 1);
		}
		CHECK_STR(out, want);
		free(out);
	}
	test_context("%s", "");
}
