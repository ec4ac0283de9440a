/*
 * Client certificates (require_cert) against the real binary, over real TLS:
 * every handshake takes any certificate or none; a protected path answers 60
 * without one, 62 for an expired, not yet valid or malformed one, 61 for one
 * its prefix does not list, and names nothing over Gopher; unprotected paths
 * answer as ever; the access log names the certificate's fingerprint.
 *
 * The certificates are made here with OpenSSL's API: `openssl req` cannot
 * make one that has already expired.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "client.h"
#include "harness.h"
#include "test.h"

#define GEMTEXT "20 text/gemini; charset=utf-8; lang=en\r\n"
#define PUBLIC GEMTEXT "# Public\n"
#define PRIVATE GEMTEXT "# Private\n"
#define INNER GEMTEXT "# Inner\n"
#define MEMBERS GEMTEXT "# Members\n"
#define NOTE "20 text/plain; charset=utf-8\r\na note\n"
#define REQUIRED "60 Client certificate required\r\n"
#define NOT_AUTHORISED "61 Certificate not authorised\r\n"
#define NOT_VALID "62 Certificate not valid\r\n"
#define NOT_FOUND "51 Not found\r\n"

/* Who connects: no certificate, or one of these. */
enum who { NOBODY, ALICE, BOB, ISSUED, OLD, FUTURE, FORGED, NWHO };

static const struct test_cert_kind kinds[NWHO] = {
	[ALICE] = { "alice", -DAY, 365 * DAY, false, false },
	[BOB] = { "bob", -DAY, 365 * DAY, false, false },
	[ISSUED] = { "issued", -DAY, 365 * DAY, false, true },
	[OLD] = { "old", -30 * DAY, -DAY, false, false },
	[FUTURE] = { "future", DAY, 30 * DAY, false, false },
	[FORGED] = { "forged", -DAY, 365 * DAY, true, false },
};
static struct test_cert ids[NWHO];

static void
make_idents(void)
{
	int w;

	for (w = ALICE; w < NWHO; w++)
		test_make_cert(&kinds[w], w + 1, &ids[w]);
}

static void
remove_idents(void)
{
	int w;

	for (w = ALICE; w < NWHO; w++) {
		unlink(ids[w].crt);
		unlink(ids[w].key);
	}
}

/*
 * /private/ takes any valid certificate, /private/inner/ only bob's, and
 * /members/ alice's and old's (two lines, the fingerprints written two ways).
 */
static void
start(struct gazette *g, bool gopher)
{
	static char host[2048];
	struct gazette_opts o = { .host = host, .gopher = gopher };
	static const struct {
		const char *path, *data;
	} files[] = {
		{ "public/index.gmi", "# Public\n" },
		{ "private/index.gmi", "# Private\n" },
		{ "private/note.txt", "a note\n" },
		{ "private/inner/index.gmi", "# Inner\n" },
		{ "members/index.gmi", "# Members\n" },
	};
	size_t i;

	make_idents();
	snprintf(host, sizeof(host),
	    "require_cert = /private/\n"
	    "require_cert = /private/inner/ %s\n"
	    "require_cert = /members/ %s\n"
	    "require_cert = /members/ %s\n",
	    ids[BOB].hex, ids[ALICE].fp, ids[OLD].hex);
	if (gopher)
		o.global = "gopher_tls = yes\n";
	if (gazette_start(g, &o) == -1)
		return;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (gazette_write(g, files[i].path, files[i].data, -1) == -1)
			test_fail(__FILE__, __LINE__, "cannot write %s", files[i].path);
}

static void
stop(struct gazette *g)
{
	gazette_stop(g);
	remove_idents();
}

static struct client_opts
opts_for(enum who w)
{
	struct client_opts o = { .sni = "localhost" };

	if (w != NOBODY) {
		o.cert = ids[w].crt;
		o.key = ids[w].key;
	}
	return o;
}

/* Requests path as w and checks the whole reply, and that it ends with close_notify. */
static void
expect_as(const struct gazette *g, const struct client_opts *o, const char *path,
    const char *want)
{
	char req[1100];
	struct reply r;
	int n;

	n = snprintf(req, sizeof(req), "gemini://localhost:%d%s\r\n", g->gemini_port, path);
	gemini_fetch(g->gemini_port, o, req, (size_t)n, &r);
	if (!r.handshake)
		test_fail(__FILE__, __LINE__, "no handshake: %s", r.error);
	CHECK_MEM(r.data, r.len, want, strlen(want));
	CHECK(r.close_notify && !r.reset && !r.timed_out);
	reply_free(&r);
}

static void
expect(const struct gazette *g, enum who w, const char *path, const char *want)
{
	struct client_opts o = opts_for(w);

	test_context("%s as %s", path, w == NOBODY ? "nobody" : kinds[w].name);
	expect_as(g, &o, path, want);
	test_context("%s", "");
}

/* Every status, byte for byte; protected paths tell nothing of what they hold. */
TEST(client_certs_statuses)
{
	static const struct {
		enum who who;
		const char *path;
		const char *want;
	} rows[] = {
		{ NOBODY, "/public/", PUBLIC },
		{ NOBODY, "/private/", REQUIRED },
		/* The folder without its slash: no 31 that would tell it exists. */
		{ NOBODY, "/private", REQUIRED },
		{ NOBODY, "/private/note.txt", REQUIRED },
		{ NOBODY, "/private/nothing", REQUIRED },
		{ NOBODY, "/public/../private/note.txt", REQUIRED },
		{ NOBODY, "/%70rivate/note.txt", REQUIRED },
		{ NOBODY, "/private/inner/", REQUIRED },
		{ NOBODY, "/members/", REQUIRED },
		{ ALICE, "/public/", PUBLIC },
		{ ALICE, "/private/", PRIVATE },
		{ ALICE, "/private", "31 /private/\r\n" },
		{ ALICE, "/private/note.txt", NOTE },
		{ ALICE, "/private/nothing", NOT_FOUND },
		/* The longest prefix decides: /private/inner/ is bob's alone. */
		{ ALICE, "/private/inner/", NOT_AUTHORISED },
		{ ALICE, "/members/", MEMBERS },
		{ BOB, "/private/", PRIVATE },
		{ BOB, "/private/inner/", INNER },
		{ BOB, "/members/", NOT_AUTHORISED },
		/* Issued by a CA nobody here knows: an identity like any other. */
		{ ISSUED, "/private/", PRIVATE },
		{ ISSUED, "/members/", NOT_AUTHORISED },
		{ OLD, "/public/", PUBLIC },
		{ OLD, "/private/", NOT_VALID },
		/* Listed, but expired: to be renewed, so 62 rather than 61. */
		{ OLD, "/members/", NOT_VALID },
		{ FUTURE, "/public/", PUBLIC },
		{ FUTURE, "/private/", NOT_VALID },
		{ FUTURE, "/members/", NOT_VALID },
		{ FORGED, "/public/", PUBLIC },
		{ FORGED, "/private/", NOT_VALID },
	};
	struct gazette g;
	size_t i;

	start(&g, false);
	if (g.pid <= 0)
		return;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		expect(&g, rows[i].who, rows[i].path, rows[i].want);
	stop(&g);
}

/* Asking for a certificate disturbs no client, on either TLS version. */
TEST(client_certs_tls_versions)
{
	static const int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };
	static const struct {
		enum who who;
		const char *path;
		const char *want;
	} rows[] = {
		{ NOBODY, "/", NULL },
		{ NOBODY, "/public/", PUBLIC },
		{ NOBODY, "/private/", REQUIRED },
		{ ALICE, "/public/", PUBLIC },
		{ ALICE, "/members/", MEMBERS },
		{ BOB, "/members/", NOT_AUTHORISED },
		{ OLD, "/private/", NOT_VALID },
	};
	char req[256];
	struct client_opts o;
	struct gazette g;
	struct reply r;
	size_t v, i;
	int n;

	start(&g, false);
	if (g.pid <= 0)
		return;
	for (v = 0; v < 2; v++)
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			test_context("%s as %s, TLS 0x%x", rows[i].path, rows[i].who == NOBODY ?
			    "nobody" : kinds[rows[i].who].name, versions[v]);
			o = opts_for(rows[i].who);
			o.min_version = o.max_version = versions[v];
			if (rows[i].want != NULL) {
				expect_as(&g, &o, rows[i].path, rows[i].want);
				continue;
			}
			/* The home page: generated, so only its start is known. */
			n = snprintf(req, sizeof(req), "gemini://localhost:%d/\r\n", g.gemini_port);
			gemini_fetch(g.gemini_port, &o, req, (size_t)n, &r);
			CHECK_INT(r.version, versions[v]);
			CHECK(strncmp(r.data, GEMTEXT "# ", strlen(GEMTEXT) + 2) == 0);
			CHECK(r.close_notify);
			reply_free(&r);
		}
	test_context("%s", "");
	stop(&g);
}

/*
 * A resumed session carries no certificate exchange: the server must still
 * know the certificate and what it is worth.
 */
TEST(client_certs_resumed_session)
{
	static const int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };
	static const struct {
		enum who who;
		const char *want;	/* for /members/ */
	} rows[] = {
		{ NOBODY, REQUIRED },
		{ ALICE, MEMBERS },
		{ BOB, NOT_AUTHORISED },
		{ OLD, NOT_VALID },
		{ FORGED, NOT_VALID },
	};
	struct ssl_session_st *session;
	struct client_opts o;
	struct gazette g;
	struct reply r;
	char req[256];
	size_t v, i;
	int n, k;

	start(&g, false);
	if (g.pid <= 0)
		return;
	n = snprintf(req, sizeof(req), "gemini://localhost:%d/members/\r\n", g.gemini_port);
	for (v = 0; v < 2; v++)
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			test_context("as %s, TLS 0x%x", rows[i].who == NOBODY ? "nobody" :
			    kinds[rows[i].who].name, versions[v]);
			o = opts_for(rows[i].who);
			o.min_version = o.max_version = versions[v];
			session = NULL;
			o.session = &session;
			for (k = 0; k < 2; k++) {
				gemini_fetch(g.gemini_port, &o, req, (size_t)n, &r);
				CHECK_INT(r.resumed, k == 1);
				CHECK_MEM(r.data, r.len, rows[i].want, strlen(rows[i].want));
				reply_free(&r);
			}
			SSL_SESSION_free(session);
		}
	test_context("%s", "");
	stop(&g);
}

/* The request, status and CERT fields of an access-log line; false for other lines. */
static bool
access_fields(const char *line, char *request, size_t size, int *status, char *cert)
{
	const char *q = strchr(line, '"'), *nl = strchr(line, '\n');
	char st[16];
	size_t o = 0;

	if (q == NULL || (nl != NULL && q > nl))
		return false;
	for (q++; *q && *q != '"' && *q != '\n' && o + 1 < size; q++)
		request[o++] = *q;
	request[o] = '\0';
	if (*q != '"' || sscanf(q + 1, " %15s %*u %*dms %99s", st, cert) != 2)
		return false;
	*status = atoi(st);
	return true;
}

/* How many access lines have this request, status and CERT. */
static int
count_access(const char *log, const char *request, int status, const char *cert)
{
	char req[1100], c[100];
	const char *line;
	int n = 0, st;

	for (line = log; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		n += access_fields(line, req, sizeof(req), &st, c) && strcmp(req, request) == 0 &&
		    st == status && strcmp(c, cert) == 0;
	return n;
}

/* Waits up to 5 s for the log to hold n lines for requests that contain needle. */
static bool
wait_requests(const struct gazette *g, const char *needle, int n)
{
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	int tries, found;
	const char *p;
	char *log;

	for (tries = 0; tries < 1000; tries++) {
		log = gazette_log(g);
		for (found = 0, p = log; (p = strstr(p, needle)) != NULL; p++)
			found++;
		free(log);
		if (found >= n)
			return true;
		nanosleep(&pause, NULL);
	}
	return false;
}

/* CERT is the client certificate's fingerprint, whatever the answer; "-" without one. */
TEST(client_certs_access_log)
{
	static const struct {
		enum who who;
		const char *path;
		int status;
	} rows[] = {
		{ NOBODY, "/public/", 20 },
		{ NOBODY, "/members/", 60 },
		{ ALICE, "/public/", 20 },
		{ ALICE, "/members/", 20 },
		{ BOB, "/members/", 61 },
		{ OLD, "/members/", 62 },
		{ FORGED, "/public/", 20 },
	};
	const size_t nrows = sizeof(rows) / sizeof(rows[0]);
	char req[256], needle[64];
	struct client_opts o;
	struct gazette g;
	struct reply r;
	size_t i;
	char *log;

	start(&g, false);
	if (g.pid <= 0)
		return;
	for (i = 0; i < nrows; i++) {
		o = opts_for(rows[i].who);
		snprintf(req, sizeof(req), "gemini://localhost:%d%s\r\n", g.gemini_port,
		    rows[i].path);
		gemini_fetch(g.gemini_port, &o, req, strlen(req), &r);
		reply_free(&r);
	}
	snprintf(needle, sizeof(needle), "\"gemini://localhost:%d/", g.gemini_port);
	CHECK(wait_requests(&g, needle, (int)nrows));
	log = gazette_log(&g);
	for (i = 0; i < nrows; i++) {
		test_context("%s as %s", rows[i].path, rows[i].who == NOBODY ? "nobody" :
		    kinds[rows[i].who].name);
		snprintf(req, sizeof(req), "gemini://localhost:%d%s", g.gemini_port,
		    rows[i].path);
		CHECK_INT(count_access(log, req, rows[i].status, rows[i].who == NOBODY ? "-" :
		    ids[rows[i].who].fp), 1);
	}
	test_context("%s", "");
	free(log);
	stop(&g);
}

/* Gopher has no client certificates: a protected path names nothing there. */
TEST(client_certs_gopher)
{
	static const char *const refused[] = {
		"/private/", "/private", "/private/note.txt", "/private/inner/", "/members/",
		"/%70rivate/note.txt", "/public/../private/note.txt", "/private/\tword",
	};
	struct client_opts o;
	struct gazette g;
	struct reply missing, r;
	char line[300], *log;
	size_t i;
	int n;

	start(&g, true);
	if (g.pid <= 0)
		return;
	tcp_fetch(g.gopher_port, "/nothing-here\r\n", 15, 5000, &missing);
	CHECK(strncmp(missing.data, "3Not found\t", 11) == 0);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		test_context("%s", refused[i]);
		n = snprintf(line, sizeof(line), "%s\r\n", refused[i]);
		tcp_fetch(g.gopher_port, line, (size_t)n, 5000, &r);
		CHECK_MEM(r.data, r.len, missing.data, missing.len);
		reply_free(&r);
	}
	test_context("%s", "");
	/* The folder next to them is served as ever. */
	tcp_fetch(g.gopher_port, "/public/\r\n", 10, 5000, &r);
	CHECK(r.len > 0 && r.data[0] != '3' && strstr(r.data, "index.gmi") != NULL);
	reply_free(&r);

	/* Nor over TLS, even with a certificate Gemini would let in. */
	o = opts_for(ALICE);
	gemini_fetch(g.gopher_port, &o, "/private/\r\n", 11, &r);
	CHECK(r.handshake);
	CHECK_MEM(r.data, r.len, missing.data, missing.len);
	reply_free(&r);
	reply_free(&missing);
	snprintf(line, sizeof(line), " gophers localhost \"/private/\" 51 ");
	CHECK(wait_requests(&g, line, 1));
	log = gazette_log(&g);
	CHECK_INT(count_access(log, "/private/", 51, ids[ALICE].fp), 1);
	free(log);
	stop(&g);
}

static const char *
write_conf(const char *text)
{
	static char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cc-check-%d.conf", test_tmp_dir(), (int)getpid());
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF || fclose(f) != 0)
		test_fail(__FILE__, __LINE__, "cannot write %s", path);
	return path;
}

/* Runs gazette -n on "[host localhost]", a root, then lines; checks its one line of output. */
static void
check_conf(const char *lines, int line, const char *message)
{
	static char text[16384];
	char want[1200];
	const char *path;
	char *out;
	int rc;

	snprintf(text, sizeof(text), "[host localhost]\nroot = %s\n%s", test_tmp_dir(), lines);
	path = write_conf(text);
	rc = gazette_exec((const char *const[]){ "-n", "-c", path, NULL }, &out);
	if (line == 0)
		snprintf(want, sizeof(want), "gazette: %s: configuration OK\n", path);
	else
		snprintf(want, sizeof(want), "gazette: %s:%d: %s\n", path, line, message);
	CHECK_INT(rc, line == 0 ? 0 : 1);
	CHECK_STR(out, want);
	free(out);
	unlink(path);
}

#define FP_UPPER "A9:74:F3:13:E3:3E:28:80:78:A4:D2:27:1B:EE:CF:92:AB:2C:EB:B1:1A:E8:4B:7B:51:6A:5B:F8:43:81:95:C4"
#define FP_LOWER "a974f313e33e288078a4d2271beecf92ab2cebb11ae84b7b516a5bf8438195c4"
#define BAD_PREFIX "require_cert: the prefix must start with '/', such as /private/"
#define BAD_SEGMENT "require_cert: no empty, \".\" or \"..\" segment in the prefix"
#define BAD_FP "require_cert: expected PREFIX [FINGERPRINT ...], each fingerprint a " \
	"SHA-256 of 64 hex digits (colons between pairs allowed)"
#define TWICE "require_cert: prefix already named; only a list of fingerprints may be " \
	"continued on another line"

TEST(client_certs_config)
{
	static const struct {
		const char *lines;
		int line;		/* 0: the configuration is good */
		const char *message;
	} rows[] = {
		{ "require_cert =\nrequire_cert = /private/\nrequire_cert = /m/ " FP_UPPER "\n"
		    "require_cert = /m/ " FP_LOWER " a974F313E33E288078A4D2271BEECF92AB2CEBB11AE84B7B516A5BF8438195C5\n"
		    "require_cert = \"/my%20files/\"\nrequire_cert = /\n", 0, NULL },
		{ "require_cert = private/\n", 3, BAD_PREFIX },
		{ "require_cert = " FP_LOWER "\n", 3, BAD_PREFIX },
		{ "require_cert = /a//b/\n", 3, BAD_SEGMENT },
		{ "require_cert = /a/./b/\n", 3, BAD_SEGMENT },
		{ "require_cert = /a/..\n", 3, BAD_SEGMENT },
		{ "require_cert = /a/%zz/\n", 3,
		    "require_cert: bad percent-escape in the prefix, or longer than 255 bytes" },
		{ "require_cert = /a/%0a/\n", 3, "require_cert: control character in the prefix" },
		{ "require_cert = /m/ 0123\n", 3, BAD_FP },
		{ "require_cert = /m/ " FP_LOWER "0\n", 3, BAD_FP },
		{ "require_cert = /m/ a974f313e33e288078a4d2271beecf92ab2cebb11ae84b7b516a5bf8438195cg\n",
		    3, BAD_FP },
		{ "require_cert = /m/ A9:74:F3:13:E3:3E:28:80:78:A4:D2:27:1B:EE:CF:92:AB:2C:EB:B1:1A:"
		    "E8:4B:7B:51:6A:5B:F8:43:81:95-C4\n", 3, BAD_FP },
		{ "require_cert = /m/ SHA256:" FP_LOWER "\n", 3, BAD_FP },
		{ "require_cert = /p/\nrequire_cert = /p/\n", 4, TWICE },
		{ "require_cert = /p/ " FP_LOWER "\nrequire_cert = /p/\n", 4, TWICE },
		{ "require_cert = /p/\nrequire_cert = /p/ " FP_LOWER "\n", 4, TWICE },
	};
	char lines[16000];
	size_t i, o;
	int k, j;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("row %zu", i);
		check_conf(rows[i].lines, rows[i].line, rows[i].message);
	}

	/* The limits: 255 bytes a prefix, 16 prefixes and 128 fingerprints a host. */
	test_context("a long prefix");
	o = (size_t)snprintf(lines, sizeof(lines), "require_cert = /");
	memset(lines + o, 'a', 254);
	snprintf(lines + o + 254, sizeof(lines) - o - 254, "\n");
	check_conf(lines, 0, NULL);
	snprintf(lines + o + 254, sizeof(lines) - o - 254, "a\n");
	check_conf(lines, 3, "require_cert: bad percent-escape in the prefix, or longer than "
	    "255 bytes");
	test_context("many prefixes");
	for (o = 0, k = 0; k < 17; k++)
		o += (size_t)snprintf(lines + o, sizeof(lines) - o, "require_cert = /p%d/\n", k);
	check_conf(lines, 2 + 17, "require_cert: too many prefixes for one host");
	test_context("many fingerprints");
	for (o = 0, k = 0; k < 5; k++) {
		o += (size_t)snprintf(lines + o, sizeof(lines) - o, "require_cert = /m/");
		for (j = 0; j < (k < 4 ? 32 : 1); j++)
			o += (size_t)snprintf(lines + o, sizeof(lines) - o, " " FP_LOWER);
		o += (size_t)snprintf(lines + o, sizeof(lines) - o, "\n");
	}
	check_conf(lines, 2 + 5, "require_cert: too many fingerprints for one host");
	test_context("%s", "");
}
