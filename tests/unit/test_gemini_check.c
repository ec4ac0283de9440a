/*
 * gemini_check and gemini_frame: the statuses a request line gets before any
 * routing (53, 59), against a server of three hosts filled in by hand.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gemini.h"
#include "test.h"
#include "url.h"

static struct config cfg;
static struct server srv;

static void
setup(void)
{
	static const char *const names[] = {
		"localhost", "example.org", "xn--gmeaux-bva.example",
	};
	size_t i;

	memset(&cfg, 0, sizeof(cfg));
	memset(&srv, 0, sizeof(srv));
	cfg.gemini_port = 1965;
	cfg.nhosts = sizeof(names) / sizeof(names[0]);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(cfg.hosts[i].name, sizeof(cfg.hosts[i].name), "%s", names[i]);
		srv.sites[i].cfg = &cfg.hosts[i];
		srv.sites[i].rootfd = -1;
	}
	srv.cfg = &cfg;
	srv.nsites = cfg.nhosts;
}

struct check_case {
	const char *line;
	const char *sni;
	int status;
	const char *site;	/* the host that answers, or NULL */
	const char *path;	/* for status 0 */
};

#define G0(line, sni, site, path) { line, sni, 0, site, path }
#define G53(line, sni) { line, sni, 53, NULL, NULL }
#define G59(line, sni) { line, sni, 59, NULL, NULL }

static const struct check_case check_cases[] = {
	/* Served. */
	G0("gemini://localhost/", NULL, "localhost", "/"),
	G0("gemini://localhost/", "localhost", "localhost", "/"),
	G0("gemini://localhost", "localhost", "localhost", "/"),
	G0("gemini://localhost?q", "localhost", "localhost", "/"),
	G0("gemini://localhost/a/../b/", "localhost", "localhost", "/b/"),
	G0("gemini://localhost/a/..", "localhost", "localhost", "/"),
	G0("gemini://localhost/docs", "localhost", "localhost", "/docs"),
	G0("gemini://LOCALHOST/", "localhost", "localhost", "/"),
	G0("GEMINI://localhost/", "localhost", "localhost", "/"),
	G0("gemini://localhost./", "localhost", "localhost", "/"),
	G0("gemini://localhost:1965/", "localhost", "localhost", "/"),
	G0("gemini://localhost:01965/", "localhost", "localhost", "/"),
	G0("gemini://localhost:/", "localhost", "localhost", "/"),
	G0("gemini://example.org/", "example.org", "example.org", "/"),
	G0("gemini://Example.ORG/x", "example.org", "example.org", "/x"),
	G0("gemini://example.org/", NULL, "example.org", "/"),
	G0("gemini://gémeaux.example/", "xn--gmeaux-bva.example",
	    "xn--gmeaux-bva.example", "/"),
	G0("gemini://xn--gmeaux-bva.example/", "xn--gmeaux-bva.example",
	    "xn--gmeaux-bva.example", "/"),
	G0("gemini://GÉMEAUX.example/été", NULL, "xn--gmeaux-bva.example", "/été"),
	/* IP literals (no SNI) go to the first host. */
	G0("gemini://127.0.0.1/", NULL, "localhost", "/"),
	G0("gemini://127.0.0.1:1965/a", NULL, "localhost", "/a"),
	G0("gemini://[::1]/", NULL, "localhost", "/"),
	G0("gemini://[::1]:1965/", NULL, "localhost", "/"),
	G0("gemini://[0:0:0:0:0:0:0:1]/", NULL, "localhost", "/"),
	G0("gemini://192.0.2.1/", NULL, "localhost", "/"),
	/* ...unless the client did name a host in SNI: that host's session. */
	G0("gemini://127.0.0.1/", "example.org", "example.org", "/"),

	/* Another scheme, host or port: 53. */
	G53("https://localhost/", "localhost"),
	G53("http://localhost/", NULL),
	G53("gopher://localhost/", NULL),
	G53("gopher://localhost:1965/", NULL),
	G53("titan://localhost/x;size=1", "localhost"),
	G53("spartan://localhost/", NULL),
	G53("mailto:x@localhost", NULL),
	G53("localhost:1965/", NULL),
	G53("gemini://other.example/", NULL),
	G53("gemini://other.example/", "localhost"),
	G53("gemini://localhost.evil/", "localhost"),
	G53("gemini://evil.localhost/", NULL),
	G53("gemini://example.org.evil/", NULL),
	G53("gemini://localhost:1966/", "localhost"),
	G53("gemini://localhost:0/", "localhost"),
	G53("gemini://localhost:70/", "localhost"),
	G53("gemini://localhost:65535/", "localhost"),
	G53("gemini://127.0.0.1:1966/", NULL),
	G53("gemini://[::1]:443/", NULL),
	G53("gemini://127.1/", NULL),
	G53("gemini://xn--gmeaux-bvb.example/", NULL),
	/* The host must be the one the TLS session was opened for. */
	G53("gemini://example.org/", "localhost"),
	G53("gemini://localhost/", "example.org"),
	G53("gemini://localhost/", "other.example"),

	/* Malformed requests: 59. */
	G59("", NULL),
	G59("/", NULL),
	G59("/index.gmi", "localhost"),
	G59("//localhost/", "localhost"),
	G59("localhost/", "localhost"),
	G59("gemini:", "localhost"),
	G59("gemini:/", "localhost"),
	G59("gemini:/localhost/", "localhost"),
	G59("gemini:///", "localhost"),
	G59("gemini://", "localhost"),
	G59("gemini://user@localhost/", "localhost"),
	G59("gemini://:pw@localhost/", "localhost"),
	G59("gemini://localhost/#", "localhost"),
	G59("gemini://localhost/#top", "localhost"),
	G59("gemini://localhost/%", "localhost"),
	G59("gemini://localhost/%zz", "localhost"),
	G59("gemini://localhost/%00", "localhost"),
	G59("gemini://localhost/a%2fb", "localhost"),
	G59("gemini://localhost/..", "localhost"),
	G59("gemini://localhost/../", "localhost"),
	G59("gemini://localhost/%2e%2e/", "localhost"),
	G59("gemini://localhost/a/../../etc/passwd", "localhost"),
	G59("gemini://localhost/ a", "localhost"),
	G59("gemini://localhost/\t", "localhost"),
	G59("gemini://localhost/\r", "localhost"),
	G59("gemini://localhost/\xff", "localhost"),
	G59("gemini://localhost/\xc0\xaf", "localhost"),
	G59("gemini://localhost/%C0%AF", "localhost"),
	G59("gemini://localhost/?\xed\xa0\x80", "localhost"),
	G59("gemini://localhost:65536/", "localhost"),
	G59("gemini://localhost:x/", "localhost"),
	G59("gemini://[::1/", NULL),
	G59("gemini://[fe80::1%25eth0]/", NULL),
	G59("gemini://a b/", NULL),
	G59("\xef\xbb\xbfgemini://localhost/", "localhost"),
	G59(" gemini://localhost/", "localhost"),
};

static void
run(const char *line, size_t len, const char *sni, int want_status, const char *want_site,
    const char *want_path)
{
	struct request_ctx ctx = { "127.0.0.1", sni, NULL, false };
	const struct site *site = NULL;
	const char *meta = NULL;
	char *buf = NULL;
	struct url u;
	int status;

	/* An exact-size copy, so a read past len is caught under ASan. */
	if (line != NULL) {
		if ((buf = malloc(len ? len : 1)) == NULL)
			return;
		memcpy(buf, line, len);
	}
	status = gemini_check(&srv, &ctx, buf, len, &u, &site, &meta);
	free(buf);
	CHECK_INT(status, want_status);
	if (status == 0) {
		CHECK(site != NULL);
		if (site != NULL)
			CHECK_STR(site->cfg->name, want_site);
		if (want_path != NULL)
			CHECK_STR(u.path, want_path);
		return;
	}
	/* A status the specification defines, a meta fit for the header. */
	CHECK(status == 53 || status == 59);
	CHECK(meta != NULL && meta[0] != '\0' && strlen(meta) <= 1024);
	if (meta != NULL)
		CHECK(strpbrk(meta, "\r\n") == NULL);
}

TEST(gemini_check_table)
{
	size_t i;

	setup();
	for (i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const struct check_case *c = &check_cases[i];
		test_context("%s (SNI %s)", c->line, c->sni ? c->sni : "none");
		run(c->line, strlen(c->line), c->sni, c->status, c->site, c->path);
	}
	test_context("%s", "");
}

TEST(gemini_check_bytes)
{
	char big[URL_MAX + 2];
	size_t n;

	setup();
	/* NUL anywhere, even where the rest would be fine. */
	run("gemini://localhost/\0", 20, "localhost", 59, NULL, NULL);
	run("gemini://localhost/a\0b", 22, "localhost", 59, NULL, NULL);
	run("\0gemini://localhost/", 20, "localhost", 59, NULL, NULL);
	run("gemini://local\0host/", 20, "localhost", 59, NULL, NULL);
	/* A frame too long to read arrives as no line at all. */
	run(NULL, 0, "localhost", 59, NULL, NULL);
	/* URL_MAX bytes are a request; one more is not. */
	n = strlen("gemini://localhost/");
	memcpy(big, "gemini://localhost/", n);
	memset(big + n, 'a', sizeof(big) - n);
	run(big, URL_MAX, "localhost", 0, "localhost", NULL);
	run(big, URL_MAX + 1, "localhost", 59, NULL, NULL);
}

struct frame_case {
	const char *buf;
	size_t len;		/* 0: strlen */
	enum frame_result want;
	size_t linelen;
};

static const struct frame_case frame_cases[] = {
	{ "", 0, FRAME_MORE, 0 },
	{ "g", 0, FRAME_MORE, 0 },
	{ "\r", 0, FRAME_MORE, 0 },
	{ "\n", 0, FRAME_MORE, 0 },
	{ "\r\n", 0, FRAME_LINE, 0 },
	{ "\n\r", 0, FRAME_MORE, 0 },
	{ "\r\r\n", 0, FRAME_LINE, 1 },
	{ "gemini://h/\r\n", 0, FRAME_LINE, 11 },
	{ "gemini://h/\r\nextra", 0, FRAME_LINE, 11 },
	{ "gemini://h/\r\n\r\n", 0, FRAME_LINE, 11 },
	{ "gemini://h/\r", 0, FRAME_MORE, 0 },
	{ "gemini://h/\n", 0, FRAME_MORE, 0 },
	{ "gemini://h/\n\n", 0, FRAME_MORE, 0 },
	{ "gemini://h/\r\r", 0, FRAME_MORE, 0 },
	{ "gemini://h/\r\r\n", 0, FRAME_LINE, 12 },
	{ "gemini://h/\rx\r\n", 0, FRAME_LINE, 13 },
	{ "gemini://h/\n\r\n", 0, FRAME_LINE, 12 },
	{ "gemini://h/\0\r\n", 14, FRAME_LINE, 12 },
	{ "\0\0\0", 3, FRAME_MORE, 0 },
	{ "\0\r\n", 3, FRAME_LINE, 1 },
};

TEST(gemini_frame_table)
{
	size_t i, n, len;
	char *buf;

	for (i = 0; i < sizeof(frame_cases) / sizeof(frame_cases[0]); i++) {
		const struct frame_case *c = &frame_cases[i];
		len = c->len ? c->len : strlen(c->buf);
		test_context("frame case %zu", i);
		if ((buf = malloc(len ? len : 1)) == NULL)
			return;
		memcpy(buf, c->buf, len);
		n = 99999;
		CHECK_INT(gemini_frame(buf, len, &n), c->want);
		if (c->want == FRAME_LINE)
			CHECK_INT(n, c->linelen);
		free(buf);
	}
	test_context("%s", "");
}

/* Around the limit: where the CRLF falls decides, not how much arrived. */
TEST(gemini_frame_limit)
{
	char *buf;
	size_t n, at, total = URL_MAX + 64;

	if ((buf = malloc(total)) == NULL)
		return;
	for (at = URL_MAX - 2; at <= URL_MAX + 4; at++) {
		test_context("CRLF at %zu", at);
		memset(buf, 'a', total);
		buf[at] = '\r';
		buf[at + 1] = '\n';
		n = 0;
		CHECK_INT(gemini_frame(buf, total, &n),
		    at <= URL_MAX ? FRAME_LINE : FRAME_TOO_LONG);
		if (at <= URL_MAX)
			CHECK_INT(n, at);
		/* Just the bytes up to the CR: still waiting, or already too long. */
		CHECK_INT(gemini_frame(buf, at + 1, &n),
		    at <= URL_MAX ? FRAME_MORE : FRAME_TOO_LONG);
	}
	/* A bare LF right at the limit is not an end of line. */
	memset(buf, 'a', total);
	buf[URL_MAX] = '\n';
	CHECK_INT(gemini_frame(buf, URL_MAX + 1, &n), FRAME_TOO_LONG);
	buf[URL_MAX - 1] = '\n';
	CHECK_INT(gemini_frame(buf, URL_MAX, &n), FRAME_MORE);
	test_context("%s", "");
	free(buf);
}
