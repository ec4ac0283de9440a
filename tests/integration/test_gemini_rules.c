/*
 * The Gemini specification's rules as gazette keeps them (gazette(8), URL MAP),
 * one test (or table) per rule,
 * against the real binary over real TLS on loopback, checked byte for byte.
 *
 * Every reply any test here receives also goes through check_framing: a status
 * the specification defines, a header that is exactly "NN META\r\n" with META
 * at most 1024 bytes, a body only after 2x, and close_notify at the end. So the
 * rules on statuses, headers and close_notify are checked on every request.
 *
 * Requests are written as templates: "PORT" stands for the server's Gemini
 * port and "{NUL}" for a NUL byte; CRLF is appended unless a test says not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "harness.h"
#include "test.h"

#define URL_LIMIT 1024		/* the specification's cap on a request URL */
#define META_LIMIT 1024		/* and on a header's META */
#define REQ_MAX 8192

/*
 * The home page is generated (from the posts: none here), so it is not spelt
 * out: the tests take it as the server gives it for "gemini://localhost:PORT/",
 * after checking how it begins, and then hold every other way of asking for it
 * to those bytes. HOME and OTHER_HOME stand for the two hosts' home pages.
 */
#define HOME "<home of localhost>"
#define OTHER_HOME "<home of other.test>"
#define GEMTEXT_EN "20 text/gemini; charset=utf-8; lang=en\r\n"
#define HOME_START GEMTEXT_EN "# Rules first\n"
#define OTHER_HOME_START GEMTEXT_EN "# Rules other\n"
#define NOTE "20 text/plain; charset=utf-8\r\na note\n"
#define PAGE_BODY "# Page\n\nA page.\n"
#define SUB GEMTEXT_EN "# Sub\n"
#define NOT_FOUND "51 Not found\r\n"
#define PROXY "53 Proxy request refused\r\n"
#define CLIMBS "59 path climbs above the root\r\n"
#define TOO_LONG "59 Request too long\r\n"

struct row {
	const char *req;	/* a template (see the top) */
	const char *want;	/* the whole reply */
};

static const struct gazette_opts site = {
	.fixture = "rules-site",
	.host = "title = Rules first\n",
};

/* A short request_timeout, for the rules that wait for one. */
static const struct gazette_opts site_quick = {
	.fixture = "rules-site",
	.global = "request_timeout = 500ms\n",
	.host = "title = Rules first\n",
};
#define QUICK_TIMEOUT_MS 500

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Expands a template into out; returns the length. */
static size_t
build(char *out, size_t size, const char *tmpl, int port, bool crlf)
{
	char portstr[16];
	size_t o = 0, n;
	const char *p = tmpl;

	snprintf(portstr, sizeof(portstr), "%d", port);
	while (*p && o + 16 < size) {
		if (strncmp(p, "PORT", 4) == 0) {
			n = strlen(portstr);
			memcpy(out + o, portstr, n);
			o += n;
			p += 4;
		} else if (strncmp(p, "{NUL}", 5) == 0) {
			out[o++] = '\0';
			p += 5;
		} else
			out[o++] = *p++;
	}
	if (crlf) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o] = '\0';
	return o;
}

/*
 * What every reply must be, whatever the request: returns its status, or -1
 * after recording what is wrong.
 */
static int
check_framing(const struct reply *r)
{
	static const int defined[] = { 10, 11, 20, 30, 31, 40, 41, 42, 43, 44, 50, 51, 52,
	    53, 59, 60, 61, 62 };
	const char *d = r->data, *crlf, *meta;
	size_t head, meta_len, i;
	int status;
	bool known = false;

	if (!r->handshake || r->len == 0) {
		test_fail(__FILE__, __LINE__, "no reply (%s)", r->error);
		return -1;
	}
	if (!r->close_notify || r->reset || r->timed_out)
		test_fail(__FILE__, __LINE__, "the reply did not end with close_notify "
		    "(reset %d, timed out %d)", r->reset, r->timed_out);
	if ((crlf = memmem(d, r->len, "\r\n", 2)) == NULL) {
		test_fail(__FILE__, __LINE__, "no CRLF after the header");
		return -1;
	}
	head = crlf - d;
	if (head < 3 || d[0] < '1' || d[0] > '6' || d[1] < '0' || d[1] > '9' || d[2] != ' ') {
		test_fail_mem(__FILE__, __LINE__, "header is not \"NN META\"", d, head, "NN META", 7);
		return -1;
	}
	status = (d[0] - '0') * 10 + (d[1] - '0');
	for (i = 0; i < sizeof(defined) / sizeof(defined[0]); i++)
		known |= defined[i] == status;
	if (!known)
		test_fail(__FILE__, __LINE__, "status %d is not one the specification defines",
		    status);
	meta = d + 3;
	meta_len = head - 3;
	if (meta_len > META_LIMIT)
		test_fail(__FILE__, __LINE__, "META of %zu bytes", meta_len);
	for (i = 0; i < meta_len; i++)
		if (meta[i] == '\r' || meta[i] == '\n' || meta[i] == '\0')
			test_fail(__FILE__, __LINE__, "control byte 0x%02x in META",
			    (unsigned char)meta[i]);
	if (status / 10 == 2) {
		if (meta_len == 0)
			test_fail(__FILE__, __LINE__, "20 without a media type");
		if (strncmp(meta, "text/gemini", 11) == 0 &&
		    memmem(meta, meta_len, "; charset=utf-8", 15) == NULL)
			test_fail(__FILE__, __LINE__, "text/gemini without charset=utf-8");
	} else if (r->len != head + 2)
		test_fail(__FILE__, __LINE__, "status %d with a body of %zu bytes", status,
		    r->len - head - 2);
	return status;
}

/*
 * Sends len bytes of req with SNI sni (NULL: none) and checks the framing;
 * returns the status, or -1.
 */
static int
fetch(int port, const char *sni, const void *req, size_t len, struct reply *r)
{
	struct client_opts o = { .sni = sni };

	gemini_fetch(port, &o, req, len, r);
	return check_framing(r);
}

static char home[16384], other_home[16384];

/* The reply want stands for: itself, or a home page as fetched by load_homes. */
static const char *
wanted(const char *want)
{
	if (strcmp(want, HOME) == 0)
		return home;
	if (strcmp(want, OTHER_HOME) == 0)
		return other_home;
	return want;
}

/* Fetches url (a template) and keeps the reply in out, checking its start. */
static void
load_home(const struct gazette *g, const char *sni, const char *url, const char *start,
    char *out, size_t size)
{
	char req[256];
	size_t len = build(req, sizeof(req), url, g->gemini_port, true);
	struct reply r;

	test_context("%s", url);
	fetch(g->gemini_port, sni, req, len, &r);
	if (strncmp(r.data, start, strlen(start)) != 0)
		test_fail_mem(__FILE__, __LINE__, "home page", r.data, r.len, start,
		    strlen(start));
	snprintf(out, size, "%s", r.data);
	reply_free(&r);
	test_context("%s", "");
}

static void
load_homes(const struct gazette *g, bool other)
{
	load_home(g, "localhost", "gemini://localhost:PORT/", HOME_START, home, sizeof(home));
	if (other)
		load_home(g, "other.test", "gemini://other.test:PORT/", OTHER_HOME_START,
		    other_home, sizeof(other_home));
}

/* Sends the template (with CRLF) and checks the whole reply against want. */
static void
expect_sni(const struct gazette *g, const char *sni, const char *tmpl, const char *want)
{
	char req[REQ_MAX];
	size_t len = build(req, sizeof(req), tmpl, g->gemini_port, true);
	struct reply r;

	want = wanted(want);
	test_context("%s (SNI %s)", tmpl, sni ? sni : "none");
	fetch(g->gemini_port, sni, req, len, &r);
	CHECK_MEM(r.data, r.len, want, strlen(want));
	reply_free(&r);
	test_context("%s", "");
}

static void
expect(const struct gazette *g, const char *tmpl, const char *want)
{
	expect_sni(g, "localhost", tmpl, want);
}

static void
expect_rows(const struct gazette *g, const char *sni, const struct row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		expect_sni(g, sni, rows[i].req, rows[i].want);
}
#define EXPECT_ROWS(g, sni, rows) expect_rows(g, sni, rows, sizeof(rows) / sizeof(rows[0]))

/*
 * A second host, other.test, for the rules about which host answers: its root
 * is a fixture read in place, its certificate goes to the scratch folder.
 */
static void
other_host(char *out, size_t size)
{
	snprintf(out, size,
	    "[host other.test]\n"
	    "root = %s/fixtures/rules-other\n"
	    "title = Rules other\n"
	    "cert = %s/rules-other-%d.crt\n"
	    "key = %s/rules-other-%d.key\n",
	    test_source_dir(), test_tmp_dir(), (int)getpid(), test_tmp_dir(), (int)getpid());
}

/* SHA-256 of the PEM certificate at path as "AB:CD:...", or "" when unreadable. */
static void
file_fingerprint(const char *path, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n, i;
	X509 *x;
	FILE *f;

	out[0] = '\0';
	if ((f = fopen(path, "r")) == NULL)
		return;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x != NULL && X509_digest(x, EVP_sha256(), md, &n) && size >= 3 * n)
		for (i = 0; i < n; i++)
			snprintf(out + 3 * i, size - 3 * i, "%02X%s", md[i], i + 1 < n ? ":" : "");
	X509_free(x);
}

/* Walks the lines of a log: first_line(log), then next_line until NULL. */
static const char *
first_line(const char *log)
{
	return *log ? log : NULL;
}

static const char *
next_line(const char *line)
{
	const char *nl = strchr(line, '\n');

	return nl && nl[1] ? nl + 1 : NULL;
}

/* Counts the lines of text that contain needle. */
static int
count_lines(const char *text, const char *needle)
{
	const char *line, *end;
	int n = 0;

	for (line = first_line(text); line; line = next_line(line)) {
		end = line + strcspn(line, "\n");
		n += memmem(line, end - line, needle, strlen(needle)) != NULL;
	}
	return n;
}

/* The fields of an access-log line. */
struct access_line {
	char time[32], client[64], proto[16], host[256], request[4200];
	int status;
	unsigned long long bytes;
	long ms;
	char cert[100];
	char rest[64];
};

/*
 * Splits an access-log line, TIME CLIENT PROTO HOST "REQUEST" STATUS BYTES
 * DURATIONms CERT [NOTE], into a (the request still escaped, NOTE with its
 * space in rest); false when the line does not have that shape.
 */
static bool
parse_access(const char *line, struct access_line *a)
{
	char status[16];
	const char *p;
	size_t o = 0;
	int n = 0;

	memset(a, 0, sizeof(*a));
	if (sscanf(line, "%31s %63s %15s %255s \"%n", a->time, a->client, a->proto, a->host,
	    &n) != 4 || n == 0)
		return false;
	for (p = line + n; *p && *p != '"' && o + 2 < sizeof(a->request); p++) {
		if (*p == '\\' && p[1] != '\0')
			a->request[o++] = *p++;
		a->request[o++] = *p;
	}
	if (*p != '"')
		return false;
	n = 0;
	if (sscanf(p + 1, " %15s %llu %ldms %99s%n", status, &a->bytes, &a->ms, a->cert, &n) !=
	    4 || n == 0)
		return false;
	a->status = strcmp(status, "-") == 0 ? 0 : atoi(status);
	snprintf(a->rest, sizeof(a->rest), "%.*s", (int)strcspn(p + 1 + n, "\n"), p + 1 + n);
	return true;
}

/*
 * The log's access lines for requests: those parse_access takes, less the
 * ones for connections that sent none (the harness's readiness probe, say).
 */
static int
count_request_lines(const struct gazette *g)
{
	struct access_line a;
	char *log = gazette_log(g);
	const char *line;
	int n = 0;

	for (line = first_line(log); line; line = next_line(line))
		n += parse_access(line, &a) && strcmp(a.request, "-") != 0;
	free(log);
	return n;
}

static int
count_log_lines(const struct gazette *g, const char *needle)
{
	char *log = gazette_log(g);
	int n = count_lines(log, needle);

	free(log);
	return n;
}

/*
 * Polls the log until it holds want lines with needle (needle NULL: request
 * lines), for up to a few seconds: access lines are written as connections
 * end, which may be just after the client saw its reply.
 */
static bool
wait_lines(const struct gazette *g, const char *needle, int want)
{
	long deadline = now_ms() + 5000;

	while ((needle ? count_log_lines(g, needle) : count_request_lines(g)) < want) {
		if (now_ms() > deadline)
			return false;
		usleep(2000);
	}
	return true;
}

/* ---- TLS ---------------------------------------------------------------- */

TEST(gemini_rules_tls_versions)
{
	static const struct {
		int min, max;
		bool ok;
	} rows[] = {
		{ TLS1_2_VERSION, TLS1_2_VERSION, true },
		{ TLS1_3_VERSION, TLS1_3_VERSION, true },
		{ 0, 0, true },
		{ TLS1_VERSION, TLS1_1_VERSION, false },
		{ TLS1_1_VERSION, TLS1_1_VERSION, false },
		{ TLS1_VERSION, TLS1_VERSION, false },
	};
	struct gazette g;
	struct reply r;
	char req[128];
	size_t i;
	int refused = 0;

	if (gazette_start(&g, &site) == -1)
		return;
	load_homes(&g, false);
	snprintf(req, sizeof(req), "gemini://localhost:%d/\r\n", g.gemini_port);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct client_opts o = { .sni = "localhost", .min_version = rows[i].min,
		    .max_version = rows[i].max };
		test_context("TLS versions 0x%x-0x%x", rows[i].min, rows[i].max);
		gemini_fetch(g.gemini_port, &o, req, strlen(req), &r);
		if (rows[i].ok) {
			check_framing(&r);
			CHECK_STR(r.data, home);
			CHECK_INT(r.version, rows[i].max ? rows[i].max : TLS1_3_VERSION);
		} else {
			refused++;
			CHECK(r.connected);
			CHECK(!r.handshake);
			CHECK_INT(r.len, 0);
		}
		reply_free(&r);
	}
	test_context("%s", "");
	/*
	 * Refused for the version, not by accident (say for want of a common
	 * cipher): the server says so in its log, once per attempt.
	 */
	CHECK(wait_lines(&g, "tls:unsupported_protocol", refused));
	gazette_stop(&g);
}

TEST(gemini_rules_sni)
{
	char hosts[1024], fp_local[100], fp_other[100], path[1200];
	struct gazette_opts o = site;
	struct gazette g;
	struct reply r;
	char req[128];
	static const struct {
		const char *sni;
		const char *req;
		const char *want;
		bool other_cert;
	} rows[] = {
		{ "localhost", "gemini://localhost:PORT/", HOME, false },
		{ NULL, "gemini://localhost:PORT/", HOME, false },
		{ "LocalHost", "gemini://localhost:PORT/", HOME, false },
		{ "other.test", "gemini://other.test:PORT/", OTHER_HOME, true },
		{ "OTHER.test", "gemini://other.test:PORT/", OTHER_HOME, true },
		/* The TLS session belongs to the host SNI named: no other may answer. */
		{ "other.test", "gemini://localhost:PORT/", PROXY, true },
		{ "localhost", "gemini://other.test:PORT/", PROXY, false },
		{ "unknown.example", "gemini://localhost:PORT/", PROXY, false },
	};
	size_t i, len;

	other_host(hosts, sizeof(hosts));
	o.hosts = hosts;
	if (gazette_start(&g, &o) == -1)
		return;
	load_homes(&g, true);
	snprintf(path, sizeof(path), "%s/certs/localhost.crt", g.dir);
	file_fingerprint(path, fp_local, sizeof(fp_local));
	snprintf(path, sizeof(path), "%s/rules-other-%d.crt", test_tmp_dir(), (int)getpid());
	file_fingerprint(path, fp_other, sizeof(fp_other));
	CHECK(fp_local[0] != '\0' && fp_other[0] != '\0' && strcmp(fp_local, fp_other) != 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s (SNI %s)", rows[i].req, rows[i].sni ? rows[i].sni : "none");
		len = build(req, sizeof(req), rows[i].req, g.gemini_port, true);
		fetch(g.gemini_port, rows[i].sni, req, len, &r);
		CHECK_STR(r.data, wanted(rows[i].want));
		/* SNI picks the certificate; without it, the first host's. */
		CHECK_STR(r.fingerprint, rows[i].other_cert ? fp_other : fp_local);
		reply_free(&r);
	}
	gazette_stop(&g);
}

/* ---- The request line --------------------------------------------------- */

/* "gemini://localhost:PORT/docs/note.txt?aaa..." of exactly n bytes. */
static size_t
padded_url(char *out, size_t size, int port, const char *path, size_t n)
{
	int len = snprintf(out, size, "gemini://localhost:%d%s", port, path);

	while ((size_t)len < n && (size_t)len + 1 < size)
		out[len++] = 'a';
	out[len] = '\0';
	return (size_t)len;
}

TEST(gemini_rules_request_length)
{
	char req[REQ_MAX];
	struct gazette g;
	struct reply r;
	size_t len;

	if (gazette_start(&g, &site) == -1)
		return;

	/* 1024 bytes is a request, answered as any other. */
	test_context("1024 bytes + CRLF");
	len = padded_url(req, sizeof(req), g.gemini_port, "/docs/note.txt?", URL_LIMIT);
	CHECK_INT(len, URL_LIMIT);
	memcpy(req + len, "\r\n", 3);
	fetch(g.gemini_port, "localhost", req, len + 2, &r);
	CHECK_STR(r.data, NOTE);
	reply_free(&r);

	test_context("1024 bytes of path + CRLF");
	len = padded_url(req, sizeof(req), g.gemini_port, "/", URL_LIMIT);
	memcpy(req + len, "\r\n", 3);
	fetch(g.gemini_port, "localhost", req, len + 2, &r);
	CHECK_STR(r.data, NOT_FOUND);
	reply_free(&r);

	/* The same, with CR and LF in separate records. */
	test_context("1024 bytes + CR, then LF");
	{
		struct client_opts o = { .sni = "localhost" };
		struct gemini_conn *c;
		len = padded_url(req, sizeof(req), g.gemini_port, "/docs/note.txt?", URL_LIMIT);
		req[len++] = '\r';
		if ((c = gemini_connect(g.gemini_port, &o, &r)) != NULL) {
			if (gemini_send(c, req, len, &r) == 0 && gemini_send(c, "\n", 1, &r) == 0)
				gemini_read(c, SIZE_MAX, &r);
			gemini_disconnect(c);
		}
		check_framing(&r);
		CHECK_STR(r.data, NOTE);
		reply_free(&r);
	}

	/* One byte more is too long, however the rest looks. */
	test_context("1025 bytes + CRLF");
	len = padded_url(req, sizeof(req), g.gemini_port, "/docs/note.txt?", URL_LIMIT + 1);
	memcpy(req + len, "\r\n", 3);
	fetch(g.gemini_port, "localhost", req, len + 2, &r);
	CHECK_STR(r.data, TOO_LONG);
	reply_free(&r);

	/* The server need not wait for a CRLF that can no longer make it valid. */
	test_context("1025 bytes, no CRLF");
	len = padded_url(req, sizeof(req), g.gemini_port, "/docs/note.txt?", URL_LIMIT + 1);
	fetch(g.gemini_port, "localhost", req, len, &r);
	CHECK_STR(r.data, TOO_LONG);
	reply_free(&r);

	test_context("1024 bytes + CR + x");
	len = padded_url(req, sizeof(req), g.gemini_port, "/docs/note.txt?", URL_LIMIT);
	memcpy(req + len, "\rx\r\n", 5);
	fetch(g.gemini_port, "localhost", req, len + 4, &r);
	CHECK_STR(r.data, TOO_LONG);
	reply_free(&r);

	test_context("6000 bytes + CRLF");
	len = padded_url(req, sizeof(req), g.gemini_port, "/docs/note.txt?", 6000);
	memcpy(req + len, "\r\n", 3);
	fetch(g.gemini_port, "localhost", req, len + 2, &r);
	CHECK_STR(r.data, TOO_LONG);
	reply_free(&r);
	test_context("%s", "");
	gazette_stop(&g);
}

/* The request ends at its first CRLF, however it arrives. */
TEST(gemini_rules_request_framing)
{
	struct client_opts o = { .sni = "localhost" };
	struct gemini_conn *c;
	char req[REQ_MAX];
	struct gazette g;
	struct reply r;
	size_t i, len;

	if (gazette_start(&g, &site) == -1)
		return;
	/* One byte per TLS record. */
	test_context("byte by byte");
	len = build(req, sizeof(req), "gemini://localhost:PORT/docs/note.txt", g.gemini_port, true);
	if ((c = gemini_connect(g.gemini_port, &o, &r)) != NULL) {
		for (i = 0; i < len && gemini_send(c, req + i, 1, &r) == 0; i++)
			;
		gemini_read(c, SIZE_MAX, &r);
		gemini_disconnect(c);
	}
	check_framing(&r);
	CHECK_STR(r.data, NOTE);
	reply_free(&r);
	test_context("%s", "");
	/* Whatever follows the CRLF is not part of the request, nor another one. */
	expect(&g, "gemini://localhost:PORT/docs/note.txt\r\ngemini://localhost:PORT/docs",
	    NOTE);
	expect(&g, "gemini://localhost:PORT/docs/note.txt\r\n\xff{NUL}junk", NOTE);
	gazette_stop(&g);
}

TEST(gemini_rules_malformed_59)
{
	static const struct row rows[] = {
		/* Relative references. */
		{ "/", "59 not an absolute URL\r\n" },
		{ "/docs/note.txt", "59 not an absolute URL\r\n" },
		{ "docs/note.txt", "59 not an absolute URL\r\n" },
		{ "//localhost:PORT/", "59 not an absolute URL\r\n" },
		{ "?q", "59 not an absolute URL\r\n" },
		{ "", "59 not an absolute URL\r\n" },
		{ "gemini:/docs/note.txt", "59 missing host\r\n" },
		{ "gemini:", "59 missing host\r\n" },
		{ "gemini://", "59 missing host\r\n" },
		{ "gemini:///docs/note.txt", "59 missing host\r\n" },
		/* Userinfo. */
		{ "gemini://user@localhost:PORT/", "59 userinfo not allowed\r\n" },
		{ "gemini://user:pass@localhost:PORT/", "59 userinfo not allowed\r\n" },
		{ "gemini://@localhost:PORT/", "59 userinfo not allowed\r\n" },
		/* Fragments, even empty ones. */
		{ "gemini://localhost:PORT/docs/note.txt#top", "59 fragment not allowed\r\n" },
		{ "gemini://localhost:PORT/#", "59 fragment not allowed\r\n" },
		{ "gemini://localhost:PORT/docs/note.txt?q#top", "59 fragment not allowed\r\n" },
		/* Bad percent-escapes, wherever they are. */
		{ "gemini://localhost:PORT/%zz", "59 bad percent-escape\r\n" },
		{ "gemini://localhost:PORT/docs/note.txt%4", "59 bad percent-escape\r\n" },
		{ "gemini://localhost:PORT/%", "59 bad percent-escape\r\n" },
		{ "gemini://localhost:PORT/%g0", "59 bad percent-escape\r\n" },
		{ "gemini://localhost:PORT/docs/note.txt?%zz", "59 bad percent-escape\r\n" },
		{ "gemini://local%host:PORT/", "59 bad percent-escape\r\n" },
		/* Bytes no URL holds raw. */
		{ "gemini://localhost:PORT/docs/note.txt ", "59 bad character in URL\r\n" },
		{ " gemini://localhost:PORT/", "59 bad character in URL\r\n" },
		{ "gemini://localhost:PORT/a b", "59 bad character in URL\r\n" },
		{ "gemini://localhost:PORT/\tx", "59 bad character in URL\r\n" },
		{ "gemini://localhost:PORT/\rx", "59 bad character in URL\r\n" },
		{ "gemini://localhost:PORT/\nx", "59 bad character in URL\r\n" },
		{ "gemini://localhost:PORT/<x>", "59 bad character in URL\r\n" },
		{ "gemini://localhost:PORT/..\\gazette.conf", "59 bad character in URL\r\n" },
		{ "gemini://localhost:PORTx/", "59 bad port\r\n" },
		{ "gemini://localhost:99999/", "59 bad port\r\n" },
		{ "gemini://[::1/", "59 bad IPv6 literal\r\n" },
		/* Look-alikes that are fine: '@' in a path, a valid escape. */
		{ "gemini://localhost:PORT/docs/a@b", NOT_FOUND },
		{ "gemini://localhost:PORT/docs/not%65.txt", NOTE },
	};
	struct gazette g;

	if (gazette_start(&g, &site) == -1)
		return;
	EXPECT_ROWS(&g, "localhost", rows);
	gazette_stop(&g);
}

TEST(gemini_rules_not_utf8_or_nul_59)
{
	static const struct row rows[] = {
		{ "gemini://localhost:PORT/\xff", "59 Request is not valid UTF-8\r\n" },
		{ "gemini://localhost:PORT/docs/note.txt?\xfe", "59 Request is not valid UTF-8\r\n" },
		{ "gemini://local\xe9host:PORT/", "59 Request is not valid UTF-8\r\n" },
		/* Overlong "/", a surrogate, beyond U+10FFFF, a truncated sequence. */
		{ "gemini://localhost:PORT/\xc0\xaf", "59 Request is not valid UTF-8\r\n" },
		{ "gemini://localhost:PORT/\xe0\x80\xaf", "59 Request is not valid UTF-8\r\n" },
		{ "gemini://localhost:PORT/\xed\xa0\x80", "59 Request is not valid UTF-8\r\n" },
		{ "gemini://localhost:PORT/\xf4\x90\x80\x80", "59 Request is not valid UTF-8\r\n" },
		{ "gemini://localhost:PORT/\xe2\x82", "59 Request is not valid UTF-8\r\n" },
		{ "gemini://localhost:PORT/docs/note.txt?\xe2\x82", "59 Request is not valid UTF-8\r\n" },
		/* NUL anywhere. */
		{ "gemini://localhost:PORT/{NUL}", "59 NUL byte in request\r\n" },
		{ "gemini://localhost:PORT/docs/note.txt{NUL}", "59 NUL byte in request\r\n" },
		{ "gemini://localhost:PORT/docs/note.txt{NUL}.gmi", "59 NUL byte in request\r\n" },
		{ "gemini://localhost:PORT/docs/note.txt?{NUL}", "59 NUL byte in request\r\n" },
		{ "gemini://local{NUL}host:PORT/", "59 NUL byte in request\r\n" },
		{ "{NUL}", "59 NUL byte in request\r\n" },
		/* Valid UTF-8 is a request like any other. */
		{ "gemini://localhost:PORT/caf\xc3\xa9", NOT_FOUND },
		{ "gemini://localhost:PORT/docs/note.txt?\xf0\x9f\x98\x80", NOTE },
	};
	struct gazette g;

	if (gazette_start(&g, &site) == -1)
		return;
	EXPECT_ROWS(&g, "localhost", rows);
	gazette_stop(&g);
}

TEST(gemini_rules_proxy_53)
{
	static const struct row rows[] = {
		{ "https://localhost:PORT/", PROXY },
		{ "HTTPS://localhost:PORT/docs/note.txt", PROXY },
		{ "http://localhost:PORT/", PROXY },
		{ "gopher://localhost:PORT/", PROXY },
		{ "titan://localhost:PORT/", PROXY },
		{ "mailto:someone@example.org", PROXY },
		{ "gemini://example.org:PORT/", PROXY },
		{ "gemini://example.org/", PROXY },
		{ "gemini://localhost.example:PORT/", PROXY },
		{ "gemini://local:PORT/", PROXY },
		/* Another port, and the default port 1965 when none is named. */
		{ "gemini://localhost:1/", PROXY },
		{ "gemini://localhost/", PROXY },
		{ "gemini://localhost:/", PROXY },
		{ "gemini://localhost:1965/", PROXY },
	};
	struct gazette g;

	if (gazette_start(&g, &site) == -1)
		return;
	EXPECT_ROWS(&g, "localhost", rows);
	gazette_stop(&g);
}

TEST(gemini_rules_missing_51)
{
	static const struct row rows[] = {
		{ "gemini://localhost:PORT/nope", NOT_FOUND },
		{ "gemini://localhost:PORT/nope/", NOT_FOUND },
		{ "gemini://localhost:PORT/docs/nope.gmi", NOT_FOUND },
		{ "gemini://localhost:PORT/docs/note.txt/", NOT_FOUND },
		{ "gemini://localhost:PORT/index.gmi/x", NOT_FOUND },
		{ "gemini://localhost:PORT/nope?q", NOT_FOUND },
	};
	struct gazette g;

	if (gazette_start(&g, &site) == -1)
		return;
	EXPECT_ROWS(&g, "localhost", rows);
	gazette_stop(&g);
}

TEST(gemini_rules_folder_redirect_31)
{
	static const struct row rows[] = {
		{ "gemini://localhost:PORT/docs", "31 /docs/\r\n" },
		{ "gemini://localhost:PORT/docs?x=1", "31 /docs/?x=1\r\n" },
		{ "gemini://localhost:PORT/docs?a%20b&c", "31 /docs/?a%20b&c\r\n" },
		{ "gemini://localhost:PORT/docs?", "31 /docs/?\r\n" },
		{ "gemini://localhost:PORT/docs/sub", "31 /docs/sub/\r\n" },
		{ "gemini://localhost:PORT/docs/./sub", "31 /docs/sub/\r\n" },
		{ "gemini://localhost:PORT/docs/sub/", SUB },
		{ "gemini://localhost:PORT/docs/sub/?x=1", SUB },
		{ "gemini://localhost:PORT/docs/sub/index.gmi", SUB },
	};
	struct gazette g;

	if (gazette_start(&g, &site) == -1)
		return;
	EXPECT_ROWS(&g, "localhost", rows);
	gazette_stop(&g);
}

TEST(gemini_rules_home_without_redirect)
{
	static const struct row rows[] = {
		{ "gemini://localhost:PORT", HOME },
		{ "gemini://localhost:PORT/", HOME },
		{ "gemini://localhost:PORT?q", HOME },
		{ "gemini://localhost:PORT/?q", HOME },
	};
	struct gazette g;

	if (gazette_start(&g, &site) == -1)
		return;
	load_homes(&g, false);
	EXPECT_ROWS(&g, "localhost", rows);
	gazette_stop(&g);
}

/*
 * The server's own account of the timeouts: n access lines without request,
 * status or bytes, noted "timeout", each after request_timeout.
 */
static void
check_timeouts(const struct gazette *g, int n)
{
	struct access_line a;
	const char *line;
	int seen = 0;
	char *log;

	CHECK(wait_lines(g, "ms - timeout", n));
	log = gazette_log(g);
	for (line = first_line(log); line; line = next_line(line)) {
		if (!parse_access(line, &a) || strcmp(a.rest, " timeout") != 0)
			continue;
		CHECK_STR(a.request, "-");
		CHECK_INT(a.status, 0);
		CHECK_INT(a.bytes, 0);
		/* libevent times from its cached loop time, a little before accept. */
		CHECK(a.ms >= QUICK_TIMEOUT_MS - 20 && a.ms < QUICK_TIMEOUT_MS + 3000);
		seen++;
	}
	CHECK_INT(seen, n);
	free(log);
}

/*
 * A request that does not end in CRLF is not finished: the server waits, says
 * nothing, and closes (with close_notify) at request_timeout.
 */
TEST(gemini_rules_bare_lf_gets_no_answer)
{
	static const char *const rows[] = {
		"gemini://localhost:PORT/\n",
		"gemini://localhost:PORT/docs/note.txt\n\n",
		"gemini://localhost:PORT/\r",
	};
	struct client_opts o = { .sni = "localhost", .timeout_ms = 4000 };
	struct gemini_conn *c;
	char req[256];
	struct gazette g;
	struct reply r;
	size_t i, len;
	long t0, took;

	if (gazette_start(&g, &site_quick) == -1)
		return;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%zu", i);
		len = build(req, sizeof(req), rows[i], g.gemini_port, false);
		t0 = now_ms();
		if ((c = gemini_connect(g.gemini_port, &o, &r)) == NULL) {
			test_fail(__FILE__, __LINE__, "connect: %s", r.error);
			continue;
		}
		if (gemini_send(c, req, len, &r) == 0)
			gemini_read(c, SIZE_MAX, &r);
		took = now_ms() - t0;
		gemini_disconnect(c);
		CHECK_INT(r.len, 0);
		CHECK(r.close_notify);
		CHECK(!r.timed_out);
		if (took < QUICK_TIMEOUT_MS - 50 || took > QUICK_TIMEOUT_MS + 3000)
			test_fail(__FILE__, __LINE__, "closed after %ld ms, want about %d", took,
			    QUICK_TIMEOUT_MS);
		reply_free(&r);
	}
	test_context("%s", "");
	check_timeouts(&g, 3);
	gazette_stop(&g);
}

/* ---- Replies ------------------------------------------------------------ */

/* A fixed sequence, so a failure replays. */
static unsigned
next_random(unsigned *seed)
{
	*seed = *seed * 1103515245 + 12345;
	return *seed >> 16;
}

/*
 * Whatever arrives, the reply is well-framed with a defined status: a few
 * hundred requests assembled from the pieces that trouble URL parsers.
 */
TEST(gemini_rules_only_defined_statuses)
{
	static const char *const pieces[] = {
		"gemini://", "GEMINI://", "https://", "localhost", "LOCALHOST.", "127.0.0.1",
		"[::1]", ":PORT", ":", "/", "//", "docs", "sub", "note.txt", "index.gmi",
		".", "..", "%2e", "%2E%2e", "%2f", "%00", "%", "%zz", "?", "#", "@", "&",
		"\xff", "\xc3\xa9", "\xe2\x82", " ", "\t", "{NUL}", "a", "=", "+", "%252e",
	};
	const size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
	char tmpl[512], req[REQ_MAX];
	unsigned seed = 1965;
	struct gazette g;
	struct reply r;
	int i, j, n, status, seen[100] = { 0 };
	size_t len;

	if (gazette_start(&g, &site) == -1)
		return;
	for (i = 0; i < 300; i++) {
		/* Most start like a URL of ours, so parsing goes deep. */
		snprintf(tmpl, sizeof(tmpl), "%s", i % 3 ? "gemini://localhost:PORT" : "");
		n = 1 + (int)(next_random(&seed) % 6);
		for (j = 0; j < n; j++)
			strcat(tmpl, pieces[next_random(&seed) % npieces]);
		test_context("%s", tmpl);
		len = build(req, sizeof(req), tmpl, g.gemini_port, true);
		if ((status = fetch(g.gemini_port, i % 5 ? "localhost" : NULL, req, len, &r)) > 0)
			seen[status]++;
		reply_free(&r);
	}
	test_context("%s", "");
	/* The pieces go deep enough to reach each kind of answer. */
	CHECK(seen[20] > 0);
	CHECK(seen[51] > 0);
	CHECK(seen[53] > 0);
	CHECK(seen[59] > 0);
	gazette_stop(&g);
}

/* The longest META a request can cause: a redirect that carries its query. */
TEST(gemini_rules_header_format)
{
	char req[REQ_MAX], want[REQ_MAX];
	const char *q;
	struct gazette g;
	struct reply r;
	size_t len;

	if (gazette_start(&g, &site) == -1)
		return;
	len = padded_url(req, sizeof(req), g.gemini_port, "/docs?", URL_LIMIT);
	q = strchr(req, '?');
	snprintf(want, sizeof(want), "31 /docs/%s\r\n", q);
	memcpy(req + len, "\r\n", 3);
	fetch(g.gemini_port, "localhost", req, len + 2, &r);
	CHECK_STR(r.data, want);
	reply_free(&r);
	/* And each kind of answer, framed the same way: "NN", one space, META, CRLF. */
	expect(&g, "gemini://localhost:PORT/docs/page.gmi",
	    "20 text/gemini; charset=utf-8; lang=en\r\n" PAGE_BODY);
	expect(&g, "gemini://localhost:PORT/docs", "31 /docs/\r\n");
	expect(&g, "gemini://localhost:PORT/nope", NOT_FOUND);
	expect(&g, "gopher://localhost:PORT/", PROXY);
	expect(&g, "nope", "59 not an absolute URL\r\n");
	gazette_stop(&g);
}

TEST(gemini_rules_charset_and_lang)
{
	static const struct {
		const char *config;	/* lines of the [host localhost] section */
		const char *gemtext;	/* the header of every text/gemini reply */
	} langs[] = {
		{ "lang = en,fr\n", "20 text/gemini; charset=utf-8; lang=\"en,fr\"\r\n" },
		{ "lang = de-CH\n", "20 text/gemini; charset=utf-8; lang=de-CH\r\n" },
		{ "lang = en\n", GEMTEXT_EN },
		{ "lang = \"\"\n", "20 text/gemini; charset=utf-8\r\n" },
	};
	struct gazette_opts o = site;
	char config[256], want[1024], start[256];
	struct gazette g;
	size_t i;

	for (i = 0; i < sizeof(langs) / sizeof(langs[0]); i++) {
		snprintf(config, sizeof(config), "title = Rules first\n%s", langs[i].config);
		o.host = config;
		if (gazette_start(&g, &o) == -1)
			return;
		/* The generated home page, a .gmi file, a generated listing. */
		snprintf(start, sizeof(start), "%s# Rules first\n", langs[i].gemtext);
		load_home(&g, "localhost", "gemini://localhost:PORT/", start, home, sizeof(home));
		snprintf(want, sizeof(want), "%s" PAGE_BODY, langs[i].gemtext);
		expect(&g, "gemini://localhost:PORT/docs/page.gmi", want);
		snprintf(want, sizeof(want), "%s# Index of /docs/\n\n=> / ..\n"
		    "=> /docs/sub/ sub/\n=> /docs/note.txt note.txt\n"
		    "=> /docs/page.gmi page.gmi\n", langs[i].gemtext);
		expect(&g, "gemini://localhost:PORT/docs/", want);
		/* lang belongs to text/gemini only. */
		expect(&g, "gemini://localhost:PORT/docs/note.txt", NOTE);
		gazette_stop(&g);
	}
}

TEST(gemini_rules_close_notify)
{
	static const struct row rows[] = {
		{ "gemini://localhost:PORT/", HOME },
		{ "gemini://localhost:PORT/docs", "31 /docs/\r\n" },
		{ "gemini://localhost:PORT/nope", NOT_FOUND },
		{ "https://localhost:PORT/", PROXY },
		{ "gemini://localhost:PORT/#x", "59 fragment not allowed\r\n" },
		{ "gemini://localhost:PORT/{NUL}", "59 NUL byte in request\r\n" },
	};
	char req[REQ_MAX];
	struct gazette g;
	struct reply r;
	size_t i, len;

	if (gazette_start(&g, &site) == -1)
		return;
	load_homes(&g, false);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].req);
		len = build(req, sizeof(req), rows[i].req, g.gemini_port, true);
		gemini_fetch(g.gemini_port, &(struct client_opts){ .sni = "localhost" }, req,
		    len, &r);
		CHECK_STR(r.data, wanted(rows[i].want));
		CHECK(r.close_notify);
		CHECK(!r.reset);
		reply_free(&r);
	}
	/* A too-long request too, though its tail is still unread. */
	test_context("too long");
	len = padded_url(req, sizeof(req), g.gemini_port, "/", 4000);
	memcpy(req + len, "\r\n", 3);
	gemini_fetch(g.gemini_port, &(struct client_opts){ .sni = "localhost" }, req, len + 2,
	    &r);
	CHECK_STR(r.data, TOO_LONG);
	CHECK(r.close_notify);
	CHECK(!r.reset);
	reply_free(&r);
	test_context("%s", "");
	gazette_stop(&g);
}

/* ---- Hosts -------------------------------------------------------------- */

/* Clients send no SNI for an IP literal; the first host answers it. */
TEST(gemini_rules_ip_literal_first_host)
{
	static const struct row rows[] = {
		{ "gemini://127.0.0.1:PORT/", HOME },
		{ "gemini://[::1]:PORT/", HOME },
		{ "gemini://[0:0:0:0:0:0:0:1]:PORT/", HOME },
		{ "gemini://127.0.0.1:PORT/docs/note.txt", NOTE },
		{ "gemini://[::1]:PORT/docs/note.txt", NOTE },
		{ "gemini://[::1]:PORT/docs", "31 /docs/\r\n" },
		{ "gemini://127.0.0.1:PORT", HOME },
		{ "gemini://127.0.0.1:1/", PROXY },
		{ "gemini://[::1]/", PROXY },
	};
	struct gazette_opts o = site;
	char hosts[1024];
	struct gazette g;

	other_host(hosts, sizeof(hosts));
	o.hosts = hosts;
	if (gazette_start(&g, &o) == -1)
		return;
	load_homes(&g, true);
	EXPECT_ROWS(&g, NULL, rows);
	/* SNI must not hold an IP address (RFC 6066), but some clients send one. */
	expect_sni(&g, "127.0.0.1", "gemini://127.0.0.1:PORT/", HOME);
	gazette_stop(&g);
}

TEST(gemini_rules_case_and_trailing_dot)
{
	static const struct row rows[] = {
		{ "GEMINI://LOCALHOST:PORT/", HOME },
		{ "Gemini://LocalHost:PORT/docs/note.txt", NOTE },
		{ "gemini://localhost.:PORT/", HOME },
		{ "gemini://LOCALHOST.:PORT/docs/note.txt", NOTE },
		{ "gEmInI://localhost.:PORT/docs", "31 /docs/\r\n" },
		/* Paths keep their case. */
		{ "gemini://localhost:PORT/DOCS/note.txt", NOT_FOUND },
		/* One dot only. */
		{ "gemini://localhost..:PORT/", "59 bad host\r\n" },
	};
	struct gazette g;

	if (gazette_start(&g, &site) == -1)
		return;
	load_homes(&g, false);
	EXPECT_ROWS(&g, "localhost", rows);
	/* A client may put the URL's host into SNI as it is, dot and case included. */
	expect_sni(&g, "localhost.", "gemini://localhost.:PORT/", HOME);
	expect_sni(&g, "LOCALHOST.", "gemini://LOCALHOST.:PORT/docs/note.txt", NOTE);
	expect_sni(&g, "localhost.", "gemini://localhost:PORT/docs/note.txt", NOTE);
	gazette_stop(&g);
}

/* ---- Paths -------------------------------------------------------------- */

TEST(gemini_rules_dot_segments)
{
	static const struct row rows[] = {
		/* Resolved inside the path. */
		{ "gemini://localhost:PORT/docs/../docs/note.txt", NOTE },
		{ "gemini://localhost:PORT/docs/./note.txt", NOTE },
		{ "gemini://localhost:PORT/docs/sub/../note.txt", NOTE },
		{ "gemini://localhost:PORT/./docs/sub/./.././note.txt", NOTE },
		{ "gemini://localhost:PORT/nope/../docs/note.txt", NOTE },
		{ "gemini://localhost:PORT/docs/..", HOME },
		{ "gemini://localhost:PORT/docs/../", HOME },
		{ "gemini://localhost:PORT/.", HOME },
		{ "gemini://localhost:PORT/docs/sub/..", "20 text/gemini; charset=utf-8; lang=en\r\n"
		    "# Index of /docs/\n\n=> / ..\n=> /docs/sub/ sub/\n"
		    "=> /docs/note.txt note.txt\n=> /docs/page.gmi page.gmi\n" },
		/* Climbing above the root is an error, never the home page. */
		{ "gemini://localhost:PORT/..", CLIMBS },
		{ "gemini://localhost:PORT/../", CLIMBS },
		{ "gemini://localhost:PORT/../gazette.conf", CLIMBS },
		{ "gemini://localhost:PORT/./../", CLIMBS },
		{ "gemini://localhost:PORT/docs/../../", CLIMBS },
		{ "gemini://localhost:PORT/docs/../..", CLIMBS },
		{ "gemini://localhost:PORT/docs/sub/../../../content/index.gmi", CLIMBS },
		{ "gemini://localhost:PORT/../content/docs/note.txt", CLIMBS },
		{ "gemini://localhost:PORT/..?q", CLIMBS },
		{ "gemini://localhost:PORT/docs/../../docs/", CLIMBS },
	};
	struct gazette g;

	if (gazette_start(&g, &site) == -1)
		return;
	load_homes(&g, false);
	EXPECT_ROWS(&g, "localhost", rows);
	gazette_stop(&g);
}

/*
 * Escapes decode once, inside one segment: an encoded dot-dot is a dot-dot
 * (and may not climb either), an encoded slash or NUL is refused, and a
 * double-encoded one is just a strange name. None reaches gazette.conf,
 * beside the root, nor falls back to the home page.
 */
TEST(gemini_rules_percent_tricks)
{
	static const struct row rows[] = {
		{ "gemini://localhost:PORT/%2e%2e/gazette.conf", CLIMBS },
		{ "gemini://localhost:PORT/%2E%2e/gazette.conf", CLIMBS },
		{ "gemini://localhost:PORT/%2E%2E/", CLIMBS },
		{ "gemini://localhost:PORT/.%2e/gazette.conf", CLIMBS },
		{ "gemini://localhost:PORT/%2e./gazette.conf", CLIMBS },
		{ "gemini://localhost:PORT/docs/%2e%2e/%2e%2e/gazette.conf", CLIMBS },
		{ "gemini://localhost:PORT/%2e%2e", CLIMBS },
		{ "gemini://localhost:PORT/docs/%2e%2e/note.txt", NOT_FOUND },
		{ "gemini://localhost:PORT/docs/%2e%2e/docs/note.txt", NOTE },
		{ "gemini://localhost:PORT/%2e/docs/note.txt", NOTE },
		{ "gemini://localhost:PORT/..%2fgazette.conf", "59 encoded slash in path\r\n" },
		{ "gemini://localhost:PORT/%2e%2e%2fgazette.conf", "59 encoded slash in path\r\n" },
		{ "gemini://localhost:PORT/%2e%2e%2Fgazette.conf", "59 encoded slash in path\r\n" },
		{ "gemini://localhost:PORT/docs%2fnote.txt", "59 encoded slash in path\r\n" },
		{ "gemini://localhost:PORT/%2f", "59 encoded slash in path\r\n" },
		{ "gemini://localhost:PORT/%00", "59 bad percent-escape in path\r\n" },
		{ "gemini://localhost:PORT/docs/note.txt%00", "59 bad percent-escape in path\r\n" },
		{ "gemini://localhost:PORT/docs/note.txt%00.gmi", "59 bad percent-escape in path\r\n" },
		{ "gemini://localhost:PORT/%0a", "59 control character in path\r\n" },
		{ "gemini://localhost:PORT/%252e%252e/gazette.conf", NOT_FOUND },
		{ "gemini://localhost:PORT/%252e%252e/", NOT_FOUND },
		{ "gemini://localhost:PORT/docs%252fnote.txt", NOT_FOUND },
		{ "gemini://localhost:PORT/%2500", NOT_FOUND },
		{ "gemini://localhost:PORT/%c0%ae%c0%ae/gazette.conf", "59 path is not UTF-8\r\n" },
		{ "gemini://localhost:PORT/%2e%2e%5cgazette.conf", NOT_FOUND },
	};
	struct gazette g;

	if (gazette_start(&g, &site) == -1)
		return;
	EXPECT_ROWS(&g, "localhost", rows);
	gazette_stop(&g);
}

/* ---- Certificates ------------------------------------------------------- */

/* Checks the generated certificate at path for host (IP SANs for localhost). */
static void
check_generated_cert(const char *path, const char *host)
{
	GENERAL_NAMES *names = NULL;
	bool dns = false, ip4 = false, ip6 = false, other_ip = false;
	char cn[256] = "";
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	char group[64] = "";
	time_t decades;
	FILE *f;
	int i;

	test_context("%s", path);
	if ((f = fopen(path, "r")) == NULL) {
		test_fail(__FILE__, __LINE__, "cannot open %s", path);
		return;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		test_fail(__FILE__, __LINE__, "%s holds no certificate", path);
		return;
	}
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	CHECK_STR(cn, host);
	CHECK(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0);
	names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	CHECK(names != NULL);
	for (i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *n = sk_GENERAL_NAME_value(names, i);
		if (n->type == GEN_DNS)
			dns |= ASN1_STRING_length(n->d.dNSName) == (int)strlen(host) &&
			    memcmp(ASN1_STRING_get0_data(n->d.dNSName), host, strlen(host)) == 0;
		else if (n->type == GEN_IPADD) {
			const unsigned char *a = ASN1_STRING_get0_data(n->d.iPAddress);
			int len = ASN1_STRING_length(n->d.iPAddress);
			static const unsigned char v4[4] = { 127, 0, 0, 1 };
			static const unsigned char v6[16] = { [15] = 1 };
			if (len == 4 && memcmp(a, v4, 4) == 0)
				ip4 = true;
			else if (len == 16 && memcmp(a, v6, 16) == 0)
				ip6 = true;
			else
				other_ip = true;
		}
	}
	GENERAL_NAMES_free(names);
	CHECK(dns);
	CHECK_INT(ip4, strcmp(host, "localhost") == 0);
	CHECK_INT(ip6, strcmp(host, "localhost") == 0);
	CHECK(!other_ip);
	/* An EC P-256 key, valid for decades (TOFU clients keep trusting it). */
	key = X509_get0_pubkey(x);
	CHECK(key != NULL && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC);
	if (key != NULL)
		EVP_PKEY_get_group_name(key, group, sizeof(group), NULL);
	CHECK_STR(group, "prime256v1");
	decades = time(NULL) + 20 * 366 * 24 * 3600L;
	CHECK(X509_cmp_time(X509_get0_notAfter(x), &decades) > 0);
	CHECK(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	X509_free(x);
	test_context("%s", "");
}

static bool
same_file(const char *path, const char *want, size_t wantlen)
{
	char buf[16384];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return n == wantlen && memcmp(buf, want, n) == 0;
}

TEST(gemini_rules_certificate_generated_once)
{
	char hosts[1024], crt[1200], key[1200], other[1200], fp[100], fp_other[100];
	char logged[1500], saved[16384], dir[512];
	const struct client_opts lo = { .sni = "localhost" };
	struct gazette_opts o = site;
	struct gazette g;
	struct reply r;
	struct stat st;
	size_t saved_len = 0;
	char *log;
	FILE *f;

	other_host(hosts, sizeof(hosts));
	o.hosts = hosts;
	if (gazette_start(&g, &o) == -1)
		return;
	snprintf(crt, sizeof(crt), "%s/certs/localhost.crt", g.dir);
	snprintf(key, sizeof(key), "%s/certs/localhost.key", g.dir);
	snprintf(other, sizeof(other), "%s/rules-other-%d.crt", test_tmp_dir(), (int)getpid());
	CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
	check_generated_cert(crt, "localhost");
	check_generated_cert(other, "other.test");

	/* The fingerprint is logged, and it is the one clients see. */
	file_fingerprint(crt, fp, sizeof(fp));
	file_fingerprint(other, fp_other, sizeof(fp_other));
	snprintf(logged, sizeof(logged), "generated certificate for localhost (%s), SHA-256 %s",
	    crt, fp);
	CHECK(gazette_wait_log(&g, logged, 0));
	snprintf(logged, sizeof(logged), "generated certificate for other.test (%s), "
	    "SHA-256 %s", other, fp_other);
	CHECK(gazette_wait_log(&g, logged, 0));
	load_homes(&g, true);
	gemini_disconnect(gemini_connect(g.gemini_port, &lo, &r));
	CHECK_STR(r.fingerprint, fp);
	reply_free(&r);
	if ((f = fopen(crt, "r")) != NULL) {
		saved_len = fread(saved, 1, sizeof(saved), f);
		fclose(f);
	}
	if (gazette_stop_keep(&g, dir, sizeof(dir)) == -1)
		return;

	/* Started again on the same folder: loaded as it is, never regenerated. */
	o.dir = dir;
	if (gazette_start(&g, &o) == -1)
		return;
	snprintf(logged, sizeof(logged), "loaded certificate for localhost (%s), SHA-256 %s",
	    crt, fp);
	CHECK(gazette_wait_log(&g, logged, 0));
	snprintf(logged, sizeof(logged), "loaded certificate for other.test (%s), SHA-256 %s",
	    other, fp_other);
	CHECK(gazette_wait_log(&g, logged, 0));
	/* This run's log: nothing generated. */
	log = gazette_log(&g);
	CHECK_INT(count_lines(log, "generated certificate for localhost"), 0);
	free(log);
	CHECK(same_file(crt, saved, saved_len));
	CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
	gemini_disconnect(gemini_connect(g.gemini_port, &lo, &r));
	CHECK_STR(r.fingerprint, fp);
	reply_free(&r);
	load_homes(&g, true);
	gazette_stop(&g);
}

/* ---- Logging, timeouts, signals ----------------------------------------- */

/* True when t is a UTC time "2026-01-31T12:34:56Z" from since to now. */
static bool
utc_time_since(const char *t, time_t since)
{
	struct tm tm = { 0 };
	const char *end = strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm);
	time_t when;

	if (end == NULL || *end != '\0')
		return false;
	when = timegm(&tm);
	return when >= since - 1 && when <= time(NULL) + 1;
}

TEST(gemini_rules_access_log)
{
	static const struct {
		const char *req;
		const char *logged;	/* the request as the log shows it */
		const char *host;
		int status;
	} rows[] = {
		{ "gemini://localhost:PORT/", "gemini://localhost:PORT/", "localhost", 20 },
		{ "gemini://localhost:PORT/docs", "gemini://localhost:PORT/docs", "localhost", 31 },
		{ "gemini://localhost:PORT/nope", "gemini://localhost:PORT/nope", "localhost", 51 },
		{ "https://localhost:PORT/", "https://localhost:PORT/", "-", 53 },
		{ "docs/note.txt", "docs/note.txt", "-", 59 },
		/* A request cannot forge a line of its own, nor break out of its quotes. */
		{ "gemini://localhost:PORT/\n2000-01-01T00:00:00Z 6.6.6.6 gemini x \"/\" 20 1 1ms",
		    "gemini://localhost:PORT/\\x0a2000-01-01T00:00:00Z 6.6.6.6 gemini x "
		    "\\\"/\\\" 20 1 1ms", "-", 59 },
	};
	const size_t nrows = sizeof(rows) / sizeof(rows[0]);
	unsigned long long bytes[sizeof(rows) / sizeof(rows[0])];
	char req[REQ_MAX], want[REQ_MAX];
	struct access_line a;
	struct gazette g;
	struct reply r;
	time_t started = time(NULL);
	const char *line;
	size_t i, len;
	char *log;
	int found;

	if (gazette_start(&g, &site) == -1)
		return;
	for (i = 0; i < nrows; i++) {
		len = build(req, sizeof(req), rows[i].req, g.gemini_port, true);
		fetch(g.gemini_port, "localhost", req, len, &r);
		bytes[i] = r.len;
		reply_free(&r);
	}
	CHECK(wait_lines(&g, NULL, (int)nrows));
	if (gazette_stop(&g) == -1)
		return;
	log = gazette_log(&g);
	/* One line per request: no more, no less, even after the server stopped. */
	CHECK_INT(count_request_lines(&g), nrows);
	/*
	 * Each request's line: time, client, protocol, host, request, status,
	 * bytes, ms, and "-" for the client certificate these requests come without.
	 */
	for (i = 0; i < nrows; i++) {
		test_context("%s", rows[i].req);
		build(want, sizeof(want), rows[i].logged, g.gemini_port, false);
		found = 0;
		for (line = first_line(log); line; line = next_line(line)) {
			if (!parse_access(line, &a) || strcmp(a.request, want) != 0)
				continue;
			found++;
			CHECK(utc_time_since(a.time, started));
			CHECK_STR(a.client, "127.0.0.1");
			CHECK_STR(a.proto, "gemini");
			CHECK_STR(a.host, rows[i].host);
			CHECK_INT(a.status, rows[i].status);
			CHECK_INT(a.bytes, bytes[i]);
			CHECK(a.ms >= 0 && a.ms < 5000);
			CHECK_STR(a.cert, "-");
			CHECK_STR(a.rest, "");
		}
		CHECK_INT(found, 1);
	}
	test_context("%s", "");
	free(log);
}

/* A client that sends nothing, or not all of a request, is closed at request_timeout. */
TEST(gemini_rules_request_timeout)
{
	struct client_opts o = { .sni = "localhost", .timeout_ms = 4000 };
	struct gemini_conn *tls_idle, *partial;
	struct reply r_idle, r_partial, r_tcp;
	struct gazette g;
	char req[128];
	long t0, took;
	size_t len;

	if (gazette_start(&g, &site_quick) == -1)
		return;
	/* All three at once, so the test waits for one timeout only. */
	t0 = now_ms();
	tls_idle = gemini_connect(g.gemini_port, &o, &r_idle);
	partial = gemini_connect(g.gemini_port, &o, &r_partial);
	len = build(req, sizeof(req), "gemini://localhost:PORT/docs/note.tx", g.gemini_port,
	    false);
	if (partial)
		gemini_send(partial, req, len, &r_partial);
	tcp_fetch(g.gemini_port, NULL, 0, 4000, &r_tcp);
	took = now_ms() - t0;
	CHECK(r_tcp.connected);
	CHECK_INT(r_tcp.len, 0);
	CHECK(!r_tcp.timed_out);
	if (took < QUICK_TIMEOUT_MS - 50 || took > QUICK_TIMEOUT_MS + 3000)
		test_fail(__FILE__, __LINE__, "TCP closed after %ld ms, want about %d", took,
		    QUICK_TIMEOUT_MS);
	CHECK(tls_idle != NULL && partial != NULL);
	if (tls_idle) {
		gemini_read(tls_idle, SIZE_MAX, &r_idle);
		CHECK_INT(r_idle.len, 0);
		CHECK(r_idle.close_notify);
		gemini_disconnect(tls_idle);
	}
	if (partial) {
		gemini_read(partial, SIZE_MAX, &r_partial);
		CHECK_INT(r_partial.len, 0);
		CHECK(r_partial.close_notify);
		gemini_disconnect(partial);
	}
	reply_free(&r_idle);
	reply_free(&r_partial);
	reply_free(&r_tcp);
	check_timeouts(&g, 3);
	gazette_stop(&g);
}

/* SIGTERM stops accepting but lets a response being sent finish. */
TEST(gemini_rules_sigterm_finishes_response)
{
	enum { BIG = 16 * 1024 * 1024 };
	static const char head[] = "20 text/plain; charset=utf-8\r\n";
	struct client_opts o = { .sni = "localhost", .timeout_ms = 15000 };
	struct client_opts late_opts = { .sni = "localhost", .timeout_ms = 2000 };
	struct gemini_conn *c;
	struct gazette g;
	struct reply r, late;
	char req[128], *big;
	size_t i, len;
	pid_t pids[8];
	int status, nworkers;

	if ((big = malloc(BIG)) == NULL)
		abort();
	for (i = 0; i < BIG; i++)
		big[i] = "gazette\n"[i % 8];
	if (gazette_start(&g, &site) == -1) {
		free(big);
		return;
	}
	CHECK(gazette_write(&g, "big.txt", big, BIG) == 0);
	len = build(req, sizeof(req), "gemini://localhost:PORT/big.txt", g.gemini_port, true);
	if ((c = gemini_connect(g.gemini_port, &o, &r)) == NULL) {
		test_fail(__FILE__, __LINE__, "connect: %s", r.error);
		free(big);
		gazette_stop(&g);
		return;
	}
	gemini_send(c, req, len, &r);
	/* The response has begun; the rest waits for the client to read. */
	gemini_read(c, 1, &r);
	CHECK(r.len > 0 && r.len < BIG);
	nworkers = gazette_workers(&g, pids, 8);
	gazette_signal(&g, SIGTERM);
	CHECK(gazette_wait_log(&g, "SIGTERM: finishing 1 connection(s)", 5000));
	/* No new connection is taken meanwhile, once every worker has heard the signal. */
	CHECK(gazette_wait_logs(&g, "SIGTERM: finishing ", nworkers, 5000));
	gemini_fetch(g.gemini_port, &late_opts, req, len, &late);
	CHECK(!late.handshake);
	CHECK_INT(late.len, 0);
	reply_free(&late);
	gemini_read(c, SIZE_MAX, &r);
	gemini_disconnect(c);
	CHECK(r.close_notify);
	CHECK_INT(r.len, strlen(head) + BIG);
	CHECK(r.len >= strlen(head) && memcmp(r.data, head, strlen(head)) == 0);
	CHECK(r.len == strlen(head) + BIG && memcmp(r.data + strlen(head), big, BIG) == 0);
	reply_free(&r);
	free(big);
	/* Then it exits on its own, with status 0. */
	CHECK(gazette_wait_log(&g, "gazette stopped", 5000));
	CHECK(waitpid(g.pid, &status, 0) == g.pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	g.pid = 0;
}

/* ---- The command line --------------------------------------------------- */

/* Writes a configuration file into the scratch folder; returns its path. */
static const char *
write_conf(const char *name, const char *text)
{
	static char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%d.conf", test_tmp_dir(), name, (int)getpid());
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF || fclose(f) != 0)
		test_fail(__FILE__, __LINE__, "cannot write %s", path);
	return path;
}

TEST(gemini_rules_check_config)
{
	static const struct {
		const char *text;	/* "TMP" is the scratch folder */
		int line;		/* 0: the configuration is good */
		const char *message;
	} rows[] = {
		{ "listen = 127.0.0.1\ngemini_port = 1965\n\n[host localhost]\nroot = TMP\n"
		    "cert = TMP/rules-check.crt\nkey = TMP/rules-check.key\nlang = en,fr\n",
		    0, NULL },
		{ "listen = 127.0.0.1\n\nfrobnicate = 1\n[host localhost]\nroot = TMP\n",
		    3, "unknown key frobnicate; the keys are in gazette.conf(5)" },
		{ "[host localhost]\nroot = TMP\ncolour = blue\n", 3,
		    "unknown key colour; the keys are in gazette.conf(5)" },
		{ "[host localhost]\nroot = TMP\ntitel = Mine\n", 3,
		    "unknown key titel; did you mean title?" },
		{ "gopher_prot = 70\n[host localhost]\nroot = TMP\n", 1,
		    "unknown key gopher_prot; did you mean gopher_port?" },
		{ "gemini_port = many\n[host localhost]\nroot = TMP\n", 1, "expected a number" },
		{ "# ports\ngemini_port = 70000\n[host localhost]\nroot = TMP\n", 2,
		    "gemini_port = 70000 is out of range: 1 to 65535" },
		{ "request_timeout = 2h\n[host localhost]\nroot = TMP\n", 1,
		    "request_timeout = 2h is out of range: 100ms to 1h" },
		{ "[host localhost]\nroot = TMP\nmax_post_size = 1\n", 3,
		    "max_post_size = 1 is out of range: 1k to 64M" },
		/* What start-up checks, -n checks too, short of binding. */
		{ "listen = 999.1.1.1\n[host localhost]\nroot = TMP\n", 1,
		    "listen takes * or IP addresses, such as 127.0.0.1 ::1" },
		{ "\nlisten = nonsense\n[host localhost]\nroot = TMP\n", 2,
		    "listen takes * or IP addresses, such as 127.0.0.1 ::1" },
		{ "log_clients = full\nuser = nosuchuser\n[host localhost]\nroot = TMP\n", 2,
		    "user nosuchuser does not exist" },
		{ "request_timeout = soon\n[host localhost]\nroot = TMP\n", 1,
		    "expected a duration such as 10s or 500ms" },
		{ "access_log = maybe\n[host localhost]\nroot = TMP\n", 1,
		    "expected yes or no" },
		{ "[host localhost]\nroot = TMP\nlang = en fr\n", 3,
		    "lang takes BCP 47 tags separated by commas, such as en or en,fr" },
		{ "[host localhost]\nroot = TMP\n\ngemini_port = 1966\n", 4,
		    "global key inside a [host] section; move it above the first one" },
		{ "root = TMP\n[host localhost]\n", 1, "host key outside a [host] section" },
		{ "[hosts localhost]\nroot = TMP\n", 1, "unknown section; expected [host NAME]" },
		{ "[host localhost]\nroot = TMP\ntitle = \"unterminated\n", 3,
		    "unterminated quoted value" },
		{ "[host localhost]\nroot = TMP\nfastcgi = /app/ tcp:example.org:9000\n", 3,
		    "fastcgi: tcp: takes an IP address (a name would need a lookup)" },
		{ "[host localhost]\nroot = TMP\nfastcgi = app/ unix:/run/app.sock\n", 3,
		    "fastcgi: the prefix must start with '/', such as /private/" },
		{ "[host localhost]\nroot = TMP\nfastcgi = /app/ unix:run/app.sock\n", 3,
		    "fastcgi: unix: takes an absolute path of at most 107 bytes" },
		{ "[host localhost]\nroot = TMP\nfastcgi = /app/ tcp:127.0.0.1:99999\n", 3,
		    "fastcgi: the port must be a number from 1 to 65535" },
		{ "[host localhost]\nroot = TMP\nfastcgi = /a/ tcp:[::1]:9000 x.sh\n", 3,
		    "fastcgi: expected PREFIX TARGET [SCRIPT], SCRIPT an absolute path" },
	};
	char text[1024], want[1200], cert[700];
	const char *path, *p;
	size_t i, o;
	char *out;
	int rc;

	snprintf(cert, sizeof(cert), "%s/rules-check.crt", test_tmp_dir());
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("row %zu", i);
		for (o = 0, p = rows[i].text; *p && o + 600 < sizeof(text); )
			if (strncmp(p, "TMP", 3) == 0) {
				o += snprintf(text + o, sizeof(text) - o, "%s", test_tmp_dir());
				p += 3;
			} else
				text[o++] = *p++;
		text[o] = '\0';
		path = write_conf("rules-check", text);
		rc = gazette_exec((const char *const[]){ "-n", "-c", path, NULL }, &out);
		if (rows[i].line == 0) {
			snprintf(want, sizeof(want), "gazette: %s: configuration OK\n", path);
			CHECK_INT(rc, 0);
		} else {
			snprintf(want, sizeof(want), "gazette: %s:%d: %s\n", path, rows[i].line,
			    rows[i].message);
			CHECK_INT(rc, 1);
		}
		CHECK_STR(out, want);
		free(out);
	}
	test_context("%s", "");
	/* Checking starts nothing: no certificate is generated. */
	CHECK(access(cert, F_OK) == -1);

	rc = gazette_exec((const char *const[]){ "-n", "-c", "/nonexistent/gazette.conf",
	    NULL }, &out);
	CHECK_INT(rc, 1);
	CHECK_STR(out, "gazette: /nonexistent/gazette.conf: No such file or directory\n");
	free(out);
	/* -o: the same messages, naming the option. */
	static const struct {
		const char *option, *message;
	} opts[] = {
		{ "nosuch=1", "gazette: -o nosuch=1: unknown key nosuch; the keys are in "
		    "gazette.conf(5)\n" },
		{ "workerz=2", "gazette: -o workerz=2: unknown key workerz; did you mean "
		    "workers?\n" },
		{ "title=Mine", "gazette: -o title=Mine: title is set per host, in a [host] "
		    "section; -o sets global keys only\n" },
		{ "listen=nonsense", "gazette: -o listen=nonsense: listen takes * or IP "
		    "addresses, such as 127.0.0.1 ::1\n" },
		{ "user=nosuchuser", "gazette: -o user: user nosuchuser does not exist\n" },
		{ "cache_size=2G", "gazette: -o cache_size=2G: cache_size = 2G is out of range: "
		    "0 to 1G\n" },
	};
	snprintf(text, sizeof(text), "[host localhost]\nroot = %s\ncert = %s/rules-check.crt\n"
	    "key = %s/rules-check.key\n", test_tmp_dir(), test_tmp_dir(), test_tmp_dir());
	path = write_conf("rules-check", text);
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		test_context("-o %s", opts[i].option);
		rc = gazette_exec((const char *const[]){ "-n", "-c", path, "-o", opts[i].option,
		    NULL }, &out);
		CHECK_INT(rc, 1);
		CHECK_STR(out, opts[i].message);
		free(out);
	}
}

/* A port another program has: the start fails, saying which key picks another. */
TEST(gemini_rules_busy_port_hint)
{
	struct sockaddr_in sin = { 0 };
	socklen_t len = sizeof(sin);
	const char *args[] = { "-f", "-c", NULL, "-o", "log_file=-", "-o", NULL, NULL };
	char port[40], want[200];
	struct gazette g;
	int fd, rc;
	char *out;

	if (gazette_start(&g, &(struct gazette_opts){ .fixture = NULL }) == -1)
		return;
	gazette_stop(&g);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(fd, 1) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		test_fail(__FILE__, __LINE__, "cannot hold a port: %s", strerror(errno));
		return;
	}
	snprintf(port, sizeof(port), "gemini_port=%d", ntohs(sin.sin_port));
	args[2] = g.conf;
	args[6] = port;
	rc = gazette_exec(args, &out);
	CHECK_INT(rc, 1);
	snprintf(want, sizeof(want), "127.0.0.1 port %d: Address already in use; another "
	    "program has port %d: stop it, or set another (gemini_port = N, or -o "
	    "gemini_port=N)\n", ntohs(sin.sin_port), ntohs(sin.sin_port));
	CHECK(strstr(out, want) != NULL);
	CHECK(strstr(out, "gazette started") == NULL);
	free(out);
	close(fd);
}

/*
 * A key gazette cannot read: the message says so (not OpenSSL's empty reason)
 * and what to do. Root reads anything: then gazette -n runs as nobody.
 */
TEST(gemini_rules_check_unreadable_key)
{
	const char *args[] = { "-n", "-c", NULL, NULL };
	struct gazette g;
	char path[700];
	long uid = geteuid() == 0 ? 65534 : -1;
	char *out;
	int rc;

	if (gazette_start(&g, &(struct gazette_opts){ .fixture = NULL }) == -1)
		return;
	gazette_stop(&g);
	args[2] = g.conf;
	snprintf(path, sizeof(path), "%s/certs/localhost.key", g.dir);
	if (uid == -1)
		chmod(path, 0);
	else {
		/* nobody may reach the configuration, the root and the certificate only. */
		chmod(test_tmp_dir(), 0711);
		chmod(g.dir, 0711);
		chmod(g.conf, 0644);
		snprintf(path, sizeof(path), "%s/certs", g.dir);
		chmod(path, 0711);
		chmod(g.root, 0755);
	}
	rc = gazette_exec_as(uid, args, &out);
	CHECK_INT(rc, 1);
	CHECK(strstr(out, "/certs/localhost.key: Permission denied: gazette reads it as the "
	    "user it is started as") != NULL);
	CHECK(strstr(out, "(null)") == NULL);
	if (rc != 1 || strstr(out, "Permission denied") == NULL)
		printf("    %s", out);
	free(out);
	chmod(test_tmp_dir(), 0700);
}

TEST(gemini_rules_usage)
{
	char *out;
	int rc;

	rc = gazette_exec((const char *const[]){ "-h", NULL }, &out);
	CHECK_INT(rc, 0);
	CHECK(strncmp(out, "usage: gazette ", 15) == 0);
	CHECK(strstr(out, "-c file") != NULL);
	CHECK(strstr(out, "-n ") != NULL);
	CHECK(strstr(out, "-f ") != NULL);
	CHECK(strstr(out, "-h, --help") != NULL);
	CHECK(strstr(out, "-V, --version") != NULL);
	free(out);
	rc = gazette_exec((const char *const[]){ "-x", NULL }, &out);
	CHECK_INT(rc, 1);
	CHECK(strstr(out, "usage: gazette ") != NULL);
	free(out);
}

/* The README's usage block is what the binary prints, line for line. */
TEST(gemini_rules_usage_in_readme)
{
	char path[600], line[300], *out, *readme = NULL, *block;
	size_t len = 0, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/../README.md", test_source_dir());
	if ((f = fopen(path, "r")) == NULL) {
		test_fail(__FILE__, __LINE__, "%s: cannot read", path);
		return;
	}
	/* The indented lines from "    usage: gazette", without their indent. */
	while (fgets(line, sizeof(line), f) != NULL) {
		if (readme == NULL && strncmp(line, "    usage: gazette ", 19) != 0)
			continue;
		if (strncmp(line, "    ", 4) != 0)
			break;
		block = realloc(readme, len + strlen(line) + 1);
		if (block == NULL)
			break;
		readme = block;
		memcpy(readme + len, line + 4, strlen(line + 4) + 1);
		len += strlen(line + 4);
		n++;
	}
	fclose(f);
	CHECK(n > 3);
	CHECK_INT(gazette_exec((const char *const[]){ "--help", NULL }, &out), 0);
	CHECK_STR(readme != NULL ? readme : "", out);
	free(out);
	free(readme);
	CHECK_INT(gazette_exec((const char *const[]){ "--version", NULL }, &out), 0);
	CHECK(strncmp(out, "gazette ", 8) == 0 && strchr(out, '\n') != NULL);
	free(out);
	CHECK_INT(gazette_exec((const char *const[]){ "-V", NULL }, &out), 0);
	CHECK(strncmp(out, "gazette ", 8) == 0);
	free(out);
}
