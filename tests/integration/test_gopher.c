/*
 * Gopher against the running server: byte-exact menus and texts for every
 * page kind, every RFC 1436 rule the README's URL map promises on every page
 * a crawl reaches,
 * static files (text transported, binary raw), gophermaps, odd file names,
 * junk selectors, and Debian's real clients: curl (gopher:// and gophers://)
 * and lynx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "fuzz/gopher_check.h"
#include "gophermap.h"
#include "harness.h"
#include "test.h"

/* Menus advertise this, not the port the test happens to get. */
#define PUBLIC "gopher_host = gopher.example.org\ngopher_public_port = 7070\n"

static const struct gazette_opts archive = {
	.fixture = "archive",
	.gopher = true,
	.global = PUBLIC,
	.host = "title = Test Capsule\ndescription = A capsule for the tests.\nhome_posts = 3\n",
};

static const struct gazette_opts site = {
	.fixture = "gopher-site",
	.gopher = true,
	.global = PUBLIC,
	.host = "title = \"Gopher\ttest capsule\"\n",
};

/* The same with RFC 1436's text terminator. */
static const struct gazette_opts site_strict = {
	.fixture = "gopher-site",
	.gopher = true,
	.global = PUBLIC "gopher_text_terminator = yes\n",
	.host = "title = \"Gopher\ttest capsule\"\n",
};

/* Sends line as it is (its line end included) and reads to the close. */
static void
gopher_raw(const struct gazette *g, const char *line, size_t len, struct reply *r)
{
	tcp_fetch(g->gopher_port, line, len, 5000, r);
}

static void
gopher_get(const struct gazette *g, const char *selector, struct reply *r)
{
	char line[1100];
	int n = snprintf(line, sizeof(line), "%s\r\n", selector);

	gopher_raw(g, line, (size_t)n, r);
}

static void
expect_menu(const struct gazette *g, const char *selector, const char *file)
{
	const char *why;
	struct reply r;

	test_context("%s", selector);
	gopher_get(g, selector, &r);
	if ((why = gopher_check_menu(r.data, r.len, GOPHER_DISPLAY_MAX)) != NULL)
		test_fail(__FILE__, __LINE__, "%s: %s", selector, why);
	expect_file(g, file, r.data, r.len);
	reply_free(&r);
}

static void
expect_text(const struct gazette *g, const char *selector, const char *file,
    bool terminator)
{
	const char *why;
	struct reply r;

	test_context("%s", selector);
	gopher_get(g, selector, &r);
	/* By default text is sent without RFC 1436's terminator (static files as they are). */
	if ((why = gopher_check_text(r.data, r.len, terminator)) != NULL && terminator)
		test_fail(__FILE__, __LINE__, "%s: %s", selector, why);
	if (!terminator && r.len >= 5 && memcmp(r.data + r.len - 5, "\r\n.\r\n", 5) == 0)
		test_fail(__FILE__, __LINE__, "%s: ends with a \".\" line", selector);
	expect_file(g, file, r.data, r.len);
	reply_free(&r);
}

TEST(gopher_archive_byte_exact)
{
	struct gazette g;

	if (gazette_start(&g, &archive) == -1)
		return;
	expect_menu(&g, "", "gopher/home.menu");
	expect_menu(&g, "/archive/", "gopher/archive.menu");
	expect_menu(&g, "/archive/2020/", "gopher/year-2020.menu");
	expect_menu(&g, "/archive/2020/01/", "gopher/month-2020-01.menu");
	expect_menu(&g, "/archive/2019/12/", "gopher/month-2019-12.menu");
	expect_menu(&g, "/tags/", "gopher/tags.menu");
	expect_menu(&g, "/tags/alpha/", "gopher/tag-alpha.menu");
	expect_menu(&g, "/tags/the-diplomat/", "gopher/tag-the-diplomat.menu");
	expect_menu(&g, "/search\tzebra", "gopher/search-zebra.menu");
	expect_menu(&g, "/search?HELLO world", "gopher/search-hello-world.menu");
	expect_menu(&g, "/search", "gopher/search-prompt.menu");
	expect_text(&g, "/posts/2019-12-25-christmas.txt", "gopher/post-christmas.txt", false);
	expect_text(&g, "/posts/2020-01-05-new-year.txt", "gopher/post-new-year.txt", false);
	expect_text(&g, "/posts/2020-01-10-broken.txt", "gopher/post-broken.txt", false);
	expect_text(&g, "/posts/2020-01-11-latin1.txt", "gopher/post-latin1.txt", false);
	gazette_stop(&g);
}

TEST(gopher_site_byte_exact)
{
	struct gazette g;

	if (gazette_start(&g, &site) == -1)
		return;
	expect_menu(&g, "/", "gopher/site-home.menu");
	expect_menu(&g, "/files/", "gopher/folder.menu");
	expect_menu(&g, "/map/", "gopher/gophermap.menu");
	expect_text(&g, "/caps.txt", "gopher/caps.txt", false);
	expect_text(&g, "/files/notes.txt", "gopher/notes.txt", false);
	expect_text(&g, "/posts/2020-02-01-dots.txt", "gopher/post-dots.txt", false);
	expect_text(&g, "/posts/2020-02-02-korean.txt", "gopher/post-korean.txt", false);
	gazette_stop(&g);
}

/* gopher_text_terminator = yes: RFC 1436's text, dot-stuffed, closed by a lone ".". */
TEST(gopher_text_terminator_strict)
{
	struct gazette g;

	if (gazette_start(&g, &site_strict) == -1)
		return;
	expect_text(&g, "/files/notes.txt", "gopher/notes-strict.txt", true);
	expect_text(&g, "/posts/2020-02-01-dots.txt", "gopher/post-dots-strict.txt", true);
	expect_menu(&g, "/files/", "gopher/folder.menu");
	gazette_stop(&g);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL) {
		test_fail(__FILE__, __LINE__, "cannot open %s", path);
		*len = 0;
		return strdup("");
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	if ((buf = malloc(n + 1)) == NULL)
		abort();
	*len = fread(buf, 1, n, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* Binary goes out raw until close: no CRLF, no dot-stuffing, no "." line. */
TEST(gopher_binary_is_raw)
{
	static const char *const files[] = { "files/blob.bin", "files/pixel.png",
	    "files/page.html" };
	char path[800], sel[100];
	struct gazette g;
	struct reply r;
	size_t i, len;
	char *want;

	if (gazette_start(&g, &site) == -1)
		return;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", g.root, files[i]);
		snprintf(sel, sizeof(sel), "/%s", files[i]);
		want = read_file(path, &len);
		gopher_get(&g, sel, &r);
		test_context("%s", sel);
		CHECK_MEM(r.data, r.len, want, len);
		reply_free(&r);
		free(want);
	}
	gazette_stop(&g);
}

/*
 * Every page a crawl from the home menu reaches keeps RFC 1436: menus are
 * checked, texts are served, local items name the public host and port (never
 * "localhost" when another is configured), and every local item is served.
 */
static void
crawl(const struct gazette *g, const char *host, int port, const char *const *roots)
{
	char queue[300][260], type[300], line[300];
	size_t head = 0, tail = 0, i, k;
	const char *p, *end, *crlf, *why, *f[4];
	char want_port[16];
	struct reply r;

	snprintf(want_port, sizeof(want_port), "%d", port);
	for (; *roots != NULL; roots++) {
		snprintf(queue[tail], sizeof(queue[tail]), "%s", *roots);
		type[tail++] = '1';
	}
	while (head < tail) {
		test_context("%c%s", type[head], queue[head]);
		gopher_get(g, queue[head], &r);
		if (type[head] != '1') {
			CHECK(r.len > 0 && strncmp(r.data, "3", 1) != 0);
			reply_free(&r);
			head++;
			continue;
		}
		if ((why = gopher_check_menu(r.data, r.len, GOPHER_DISPLAY_MAX)) != NULL) {
			test_fail(__FILE__, __LINE__, "%s: %s", queue[head], why);
			reply_free(&r);
			head++;
			continue;
		}
		for (p = r.data, end = r.data + r.len; (crlf = gopher_check_crlf(p, end)) != NULL &&
		    crlf - p > 1; p = crlf + 2) {
			snprintf(line, sizeof(line), "%.*s", (int)(crlf - p), p);
			f[0] = line;
			for (k = 1; k < 4; k++) {
				f[k] = strchr(f[k - 1], '\t') + 1;
				((char *)f[k])[-1] = '\0';
			}
			if (line[0] == 'i' || line[0] == '3')
				continue;
			CHECK(strstr(f[2], "localhost") == NULL || strcmp(host, "localhost") == 0);
			if (strcmp(f[2], host) != 0 || strcmp(f[3], want_port) != 0 ||
			    strncmp(f[1], "URL:", 4) == 0) {
				/* Foreign: only the gophermap's Floodgap and URL: items. */
				CHECK(strcmp(f[2], "gopher.floodgap.com") == 0 ||
				    strncmp(f[1], "URL:", 4) == 0);
				continue;
			}
			/* Printable ASCII: lynx cuts a selector at the first byte beyond. */
			for (k = 0; f[1][k] != '\0'; k++)
				if ((unsigned char)f[1][k] < 0x20 || (unsigned char)f[1][k] > 0x7e)
					break;
			if (f[1][k] != '\0')
				test_fail(__FILE__, __LINE__, "selector not ASCII: %s", f[1]);
			for (i = 0; i < tail && strcmp(queue[i], f[1]) != 0; i++)
				;
			if (i == tail && tail < 300 && strlen(f[1]) < 260 && line[0] != '7') {
				snprintf(queue[tail], sizeof(queue[tail]), "%s", f[1]);
				type[tail++] = line[0];
			}
		}
		reply_free(&r);
		head++;
	}
	test_context("%s", "");
	CHECK(tail > 10);
}

static const char *const home[] = { "", NULL };

TEST(gopher_crawl_keeps_rfc1436)
{
	static const char *const static_roots[] = { "", "/files/", "/map/", NULL };
	struct gazette g;

	if (gazette_start(&g, &archive) == -1)
		return;
	/* A tag and a name beyond ASCII give percent-encoded selectors. */
	gazette_write(&g, "posts/2021-03-02-caf\xc3\xa9.txt", "Title: Caf\xc3\xa9\n"
	    "Date: 2021-03-02\nTags: Caf\xc3\xa9 Culture\n\nAu lait.\n", -1);
	crawl(&g, "gopher.example.org", 7070, home);
	gazette_stop(&g);
	if (gazette_start(&g, &site) == -1)
		return;
	crawl(&g, "gopher.example.org", 7070, static_roots);
	gazette_stop(&g);
}

/* Without gopher_host and gopher_public_port: the first host's name, the real port. */
TEST(gopher_default_host_and_port)
{
	struct gazette_opts o = archive;
	struct gazette g;
	char want[100];
	struct reply r;

	o.global = NULL;
	if (gazette_start(&g, &o) == -1)
		return;
	crawl(&g, "localhost", g.gopher_port, home);
	gopher_get(&g, "/archive/", &r);
	snprintf(want, sizeof(want), "1Home\t/\tlocalhost\t%d\r\n.\r\n", g.gopher_port);
	CHECK(r.len > strlen(want) && strcmp(r.data + r.len - strlen(want), want) == 0);
	reply_free(&r);
	gazette_stop(&g);
}

TEST(gopher_config_checks_public_host)
{
	const char *args[] = { "-n", "-c", NULL, "-o", NULL, NULL };
	struct gazette g;
	char *out;

	if (gazette_start(&g, &site) == -1)
		return;
	gazette_stop(&g);
	args[2] = g.conf;
	args[4] = "gopher_host=bad host";
	CHECK_INT(gazette_exec(args, &out), 1);
	CHECK(strstr(out, "gopher_host takes a host name or address") != NULL);
	free(out);
	args[4] = "gopher_public_port=65536";
	CHECK_INT(gazette_exec(args, &out), 1);
	free(out);
	args[4] = "gopher_host=gopher.example.org";
	CHECK_INT(gazette_exec(args, &out), 0);
	free(out);
}

/* A file name with a TAB, a newline, a '?', a '%' or bytes that are not UTF-8. */
TEST(gopher_odd_file_names)
{
	static const struct {
		const char *name, *display, *selector;
	} rows[] = {
		{ "odd\tname.txt", "odd name.txt", "/odd/odd%09name.txt" },
		{ "line\nbreak.txt", "line break.txt", "/odd/line%0Abreak.txt" },
		{ "what?.txt", "what?.txt", "/odd/what%3F.txt" },
		{ "100%.txt", "100%.txt", "/odd/100%.txt" },
		{ "caf\xe9.txt", "caf\xef\xbf\xbd.txt", "/odd/caf%E9.txt" },
		{ "sp ace.txt", "sp ace.txt", "/odd/sp ace.txt" },
	};
	char path[300], item[300], body[300];
	const char *why;
	struct gazette g;
	struct reply r;
	size_t i;

	if (gazette_start(&g, &site) == -1)
		return;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(path, sizeof(path), "odd/%s", rows[i].name);
		snprintf(body, sizeof(body), "file %zu\n", i);
		gazette_write(&g, path, body, -1);
	}
	gopher_get(&g, "/odd/", &r);
	if ((why = gopher_check_menu(r.data, r.len, GOPHER_DISPLAY_MAX)) != NULL)
		test_fail(__FILE__, __LINE__, "/odd/: %s", why);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].display);
		snprintf(item, sizeof(item), "\r\n0%s\t%s\tgopher.example.org\t7070\r\n",
		    rows[i].display, rows[i].selector);
		CHECK(strstr(r.data, item) != NULL);
	}
	reply_free(&r);
	/* Each selector the menu gave leads to its file. */
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].selector);
		gopher_get(&g, rows[i].selector, &r);
		snprintf(body, sizeof(body), "file %zu\n", i);
		CHECK_STR(r.data, body);
		reply_free(&r);
	}
	gazette_stop(&g);
}

/* Sets the modification time of path (under g's root) to at, a whole second. */
static void
stamp(const struct gazette *g, const char *path, time_t at)
{
	struct timespec t[2] = { { at, 0 }, { at, 0 } };
	char full[900];

	snprintf(full, sizeof(full), "%s/%s", g->root, path);
	CHECK(utimensat(AT_FDCWD, full, t, 0) == 0);
}

/* Whether the Gopher reply to selector has text, asked enough times for both workers. */
static void
expect_gopher(const struct gazette *g, const char *selector, const char *text, bool has)
{
	struct reply r;
	int i;

	test_context("gopher %s %s", selector, text);
	for (i = 0; i < 6; i++) {
		gopher_get(g, selector, &r);
		CHECK((r.data != NULL && strstr(r.data, text) != NULL) == has);
		reply_free(&r);
	}
}

/* The same over Gopher and over Gemini. */
static void
expect_listed(const struct gazette *g, const char *selector, const char *name, bool has)
{
	char *page;
	int i;

	expect_gopher(g, selector, name, has);
	test_context("gemini %s %s", selector, name);
	for (i = 0; i < 6; i++) {
		page = gemini_page(g, selector);
		CHECK((page != NULL && strstr(page, name) != NULL) == has);
		free(page);
	}
}

/*
 * Folder listings and gophermaps are kept per change of their folder: with
 * two workers, each file added or removed shows at once, in a folder just
 * changed and in one whose listing was kept for a while.
 */
TEST(gopher_folder_listing_follows_changes)
{
	static const struct gazette_opts o = { .gopher = true, .global = "workers = 2\n" };
	time_t now = time(NULL);
	struct gazette g;
	char full[900];

	if (gazette_start(&g, &o) == -1)
		return;
	gazette_write(&g, "box/a.txt", "a\n", -1);
	gazette_write(&g, "box/b.png", "\x89PNG\r\n", -1);
	expect_listed(&g, "/box/", "a.txt", true);
	stamp(&g, "box", now - 60);
	expect_listed(&g, "/box/", "b.png", true);
	gazette_write(&g, "box/c.txt", "c\n", -1);
	expect_listed(&g, "/box/", "c.txt", true);
	stamp(&g, "box", now - 50);
	expect_listed(&g, "/box/", "c.txt", true);
	snprintf(full, sizeof(full), "%s/box/a.txt", g.root);
	CHECK(unlink(full) == 0);
	expect_listed(&g, "/box/", "a.txt", false);
	stamp(&g, "box", now - 40);
	expect_listed(&g, "/box/", "a.txt", false);
	/* A gophermap made, then saved again: Gopher follows it. */
	gazette_write(&g, "box/gophermap", "Hello from the map\n", -1);
	stamp(&g, "box/gophermap", now - 30);
	stamp(&g, "box", now - 30);
	expect_gopher(&g, "/box/", "Hello from the map", true);
	gazette_write(&g, "box/gophermap", "Hello from the map, saved again\n", -1);
	expect_gopher(&g, "/box/", "saved again", true);
	gazette_stop(&g);
}

/*
 * A kept page is sent without reading the folder or its gophermap again: a
 * map rewritten in place behind its old size and timestamp is not seen (what
 * the key names is all that is looked at); one saved the usual way is.
 */
TEST(gopher_folder_page_kept)
{
	static const struct gazette_opts o = { .gopher = true, .global = "workers = 1\n" };
	time_t then = time(NULL) - 30;
	struct gazette g;
	struct reply r;
	char full[900];
	FILE *f;

	if (gazette_start(&g, &o) == -1)
		return;
	gazette_write(&g, "box/gophermap", "Kept map\n", -1);
	stamp(&g, "box/gophermap", then);
	stamp(&g, "box", then);
	expect_gopher(&g, "/box/", "Kept map", true);
	snprintf(full, sizeof(full), "%s/box/gophermap", g.root);
	if ((f = fopen(full, "r+")) != NULL) {
		fputs("Next map\n", f);
		fclose(f);
	}
	stamp(&g, "box/gophermap", then);
	expect_gopher(&g, "/box/", "Kept map", true);
	gazette_write(&g, "box/gophermap", "Next map\n", -1);
	gopher_get(&g, "/box/", &r);
	CHECK(r.data != NULL && strstr(r.data, "Next map") != NULL);
	reply_free(&r);
	gazette_stop(&g);
}

TEST(gopher_selector_rules)
{
	static const struct {
		const char *line;
		size_t len;	/* 0: strlen */
		const char *want;	/* the reply's first line, or the same bytes as same */
		const char *same;
	} rows[] = {
		{ "\x01\x02junk\r\n", 0, "3control character in selector", NULL },
		{ "/a\0b\r\n", 6, "3control character in selector", NULL },
		{ "\x16\x03\x01\x02\x00\r\n", 7, "3control character in selector", NULL },
		{ "/..\r\n", 0, "3selector climbs above the root", NULL },
		{ "/files/../../etc/passwd\r\n", 0, "3selector climbs above the root", NULL },
		{ "/nope\r\n", 0, "3Not found", NULL },
		{ "/.secret\r\n", 0, "3Not found", NULL },
		{ "/files/.hidden\r\n", 0, "3Not found", NULL },
		{ "/files/sub/../.hidden\r\n", 0, "3Not found", NULL },
		{ "/%2esecret\r\n", 0, "3Not found", NULL },
		{ "/atom.xml\r\n", 0, "3Not found", NULL },
		{ "/posts/2020-02-01-dots.gmi\r\n", 0, "3Not found", NULL },
		{ "/URL:javascript:alert(1)\r\n", 0, "3Not a URL this server links to", NULL },
		{ "/files/../map/\r\n", 0, NULL, "/map/" },
		{ "/files/sub\r\n", 0, NULL, "/files/sub/" },
		{ "/files/%73ub/\r\n", 0, NULL, "/files/sub/" },
		{ "files/notes.txt\r\n", 0, NULL, "/files/notes.txt" },
		{ "/files/notes.txt\n", 0, NULL, "/files/notes.txt" },
		{ "\r\n", 0, NULL, "/" },
		{ "\n", 0, NULL, "/" },
		{ "/map/\t+\r\n", 0, NULL, "/map/" },
		{ "/map/\t$\r\n", 0, NULL, "/map/" },
		{ "/map/\t!\r\n", 0, NULL, "/map/" },
		{ "/search\tdots\r\n", 0, NULL, "/search?dots" },
		{ "/search\tdots\t+\r\n", 0, NULL, "/search?dots" },
	};
	char head[300];
	struct gazette g;
	struct reply r, s;
	const char *crlf;
	size_t i;

	if (gazette_start(&g, &site) == -1)
		return;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("row %zu", i);
		gopher_raw(&g, rows[i].line, rows[i].len ? rows[i].len : strlen(rows[i].line), &r);
		if (rows[i].want != NULL) {
			crlf = r.data ? strstr(r.data, "\t") : NULL;
			snprintf(head, sizeof(head), "%.*s", crlf ? (int)(crlf - r.data) : 0,
			    r.data);
			CHECK_STR(head, rows[i].want);
			CHECK_STR(gopher_check_menu(r.data, r.len, GOPHER_DISPLAY_MAX), NULL);
		} else {
			gopher_get(&g, rows[i].same, &s);
			CHECK(strncmp(s.data, "3", 1) != 0);
			CHECK_MEM(r.data, r.len, s.data, s.len);
			reply_free(&s);
		}
		reply_free(&r);
	}
	gazette_stop(&g);
}

TEST(gopher_selector_too_long)
{
	char line[600];
	struct gazette g;
	struct reply r;

	if (gazette_start(&g, &site) == -1)
		return;
	/* 255 bytes: a selector, which names nothing. */
	memset(line, 'a', sizeof(line));
	line[0] = '/';
	memcpy(line + 255, "\r\n", 2);
	gopher_raw(&g, line, 257, &r);
	CHECK_STR(r.data, "3Not found\t\terror.host\t1\r\n.\r\n");
	reply_free(&r);
	/* 256 bytes: refused, and logged. */
	line[255] = 'a';
	memcpy(line + 256, "\r\n", 2);
	gopher_raw(&g, line, 258, &r);
	CHECK_STR(r.data, "3Selector too long\t\terror.host\t1\r\n.\r\n");
	reply_free(&r);
	/* Far longer, with no line end at all: refused as soon as it cannot fit. */
	memset(line, 'b', sizeof(line));
	gopher_raw(&g, line, sizeof(line), &r);
	CHECK_STR(r.data, "3Selector too long\t\terror.host\t1\r\n.\r\n");
	reply_free(&r);
	CHECK(gazette_wait_log(&g, "selector longer than 255 bytes", 2000));
	gazette_stop(&g);
}

TEST(gopher_request_timeout)
{
	struct gazette_opts o = site;
	struct gazette g;
	struct reply r;

	o.global = PUBLIC "request_timeout = 300ms\n";
	if (gazette_start(&g, &o) == -1)
		return;
	/* A selector that never ends: the connection closes, unanswered. */
	tcp_fetch(g.gopher_port, "/map/", 5, 3000, &r);
	CHECK(!r.timed_out);
	CHECK_INT(r.len, 0);
	reply_free(&r);
	CHECK(gazette_wait_log(&g, "timeout", 2000));
	gazette_stop(&g);
}

TEST(gopher_url_redirect_page)
{
	struct gazette g;
	struct reply r;

	if (gazette_start(&g, &site) == -1)
		return;
	gopher_get(&g, "URL:https://example.org/?a=1&b=\"<2>\"", &r);
	CHECK_STR(r.data, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"refresh\" content=\"2; url=https://example.org/?a=1&amp;"
	    "b=&quot;&lt;2&gt;&quot;\">\n<title>Leaving Gopher</title>\n</head>\n<body>\n"
	    "<p>This link leads out of Gopherspace, to <a href=\"https://example.org/?a=1&amp;"
	    "b=&quot;&lt;2&gt;&quot;\">https://example.org/?a=1&amp;b=&quot;&lt;2&gt;&quot;</a>."
	    " If your client does not take you there in a moment, follow the link.</p>\n"
	    "</body>\n</html>\n");
	reply_free(&r);
	gazette_stop(&g);
}

/*
 * A text file far larger than a read: sent as it is by default; with the
 * terminator, CRLF and dots right across the chunks.
 */
TEST(gopher_large_text_file_streams)
{
	struct gazette g;
	struct reply r;
	char *src, *want, *w;
	size_t i, n = 300000;

	if ((src = malloc(n)) == NULL || (want = malloc(2 * n + 8)) == NULL)
		abort();
	for (i = 0; i < n; i++)
		src[i] = i % 7 == 0 ? '\n' : i % 11 == 0 ? '\r' : i % 13 == 1 ? '.' : 'a' + i % 26;
	w = want;
	for (i = 0; i < n; i++) {
		if (i == 0 || src[i - 1] == '\n' || src[i - 1] == '\r') {
			if (src[i] == '\n' && i > 0 && src[i - 1] == '\r')
				continue;
			if (src[i] == '.')
				*w++ = '.';
		}
		if (src[i] == '\n' || src[i] == '\r') {
			memcpy(w, "\r\n", 2);
			w += 2;
		} else
			*w++ = src[i];
	}
	if (src[n - 1] != '\n' && src[n - 1] != '\r') {
		memcpy(w, "\r\n", 2);
		w += 2;
	}
	memcpy(w, ".\r\n", 3);
	w += 3;
	if (gazette_start(&g, &site) == 0) {
		gazette_write(&g, "files/big.txt", src, (long)n);
		gopher_get(&g, "/files/big.txt", &r);
		CHECK_MEM(r.data, r.len, src, n);
		reply_free(&r);
		gazette_stop(&g);
	}
	if (gazette_start(&g, &site_strict) == 0) {
		gazette_write(&g, "files/big.txt", src, (long)n);
		gopher_get(&g, "/files/big.txt", &r);
		CHECK_MEM(r.data, r.len, want, (size_t)(w - want));
		CHECK_STR(gopher_check_text(r.data, r.len, true), NULL);
		reply_free(&r);
		gazette_stop(&g);
	}
	free(src);
	free(want);
}

/* Runs cmd and returns its standard output (malloc'd). */
static char *
run(const char *cmd)
{
	char *out = NULL;
	size_t len = 0, n;
	char buf[4096];
	FILE *p;

	if ((p = popen(cmd, "r")) == NULL)
		return strdup("");
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		if ((out = realloc(out, len + n + 1)) == NULL)
			abort();
		memcpy(out + len, buf, n);
		len += n;
	}
	pclose(p);
	if (out == NULL)
		return strdup("");
	out[len] = '\0';
	return out;
}

/* Checks that the texts appear in s, in this order. */
static void
check_order(const char *s, const char *const *texts, size_t n)
{
	const char *p = s, *q;
	size_t i;

	for (i = 0; i < n; i++) {
		test_context("%s", texts[i]);
		if ((q = strstr(p, texts[i])) == NULL) {
			test_fail(__FILE__, __LINE__, "missing or out of order in:\n%s", s);
			return;
		}
		p = q + strlen(texts[i]);
	}
	test_context("%s", "");
}

static const char *const january[] = {
	"Monthly Archives: January 2020",
	"2020-01-20 Later in January",
	"2020-01-11 Caf\xef\xbf\xbd menu",
	"2020-01-10 Broken header",
	"2020-01-05 New year, new posts",
	"Next month: March 2021",
};

static const struct gazette_opts archive_real_port = {
	.fixture = "archive",
	.gopher = true,
	.host = "title = Test Capsule\n",
};

TEST(gopher_curl)
{
	char cmd[300];
	struct gazette g;
	struct reply r;
	char *out;

	if (!test_need_tool("curl", "curl") || gazette_start(&g, &archive_real_port) == -1)
		return;
	snprintf(cmd, sizeof(cmd), "curl -s gopher://127.0.0.1:%d/1/archive/2020/01/",
	    g.gopher_port);
	out = run(cmd);
	gopher_get(&g, "/archive/2020/01/", &r);
	CHECK_STR(out, r.data);
	check_order(out, january, sizeof(january) / sizeof(january[0]));
	reply_free(&r);
	free(out);
	/* curl sends gopher://host/7/search?words as "/search?words". */
	snprintf(cmd, sizeof(cmd), "curl -s 'gopher://127.0.0.1:%d/7/search?zebra'",
	    g.gopher_port);
	out = run(cmd);
	CHECK(strstr(out, "0" "2020-01-20 Later in January\t/posts/2020-01-20-later.txt\t") !=
	    NULL);
	free(out);
	snprintf(cmd, sizeof(cmd), "curl -s gopher://127.0.0.1:%d/0/posts/2020-01-20-later.txt",
	    g.gopher_port);
	out = run(cmd);
	CHECK_STR(out, "Later in January\r\n================\r\n\r\nDate:   2020-01-20\r\n"
	    "Source: The Diplomat\r\n\r\nSearchable zebra text lives here.\r\n");
	free(out);
	gazette_stop(&g);
}

TEST(gopher_tls_curl)
{
	struct gazette_opts o = archive_real_port;
	char cmd[300];
	struct gazette g;
	struct reply r;
	char *out;

	o.global = "gopher_tls = yes\n";
	if (!test_need_tool("curl", "curl") || gazette_start(&g, &o) == -1)
		return;
	snprintf(cmd, sizeof(cmd), "curl -sk gophers://127.0.0.1:%d/1/archive/2020/01/",
	    g.gopher_port);
	out = run(cmd);
	/* Plain Gopher still works on the same port, with the same bytes. */
	gopher_get(&g, "/archive/2020/01/", &r);
	CHECK_STR(out, r.data);
	check_order(out, january, sizeof(january) / sizeof(january[0]));
	reply_free(&r);
	free(out);
	snprintf(cmd, sizeof(cmd), "curl -sk gophers://localhost:%d/", g.gopher_port);
	out = run(cmd);
	CHECK(strncmp(out, "iTest Capsule\t", 14) == 0);
	free(out);
	CHECK(gazette_wait_log(&g, " gophers localhost \"/archive/2020/01/\" 20 ", 2000));
	CHECK(gazette_wait_log(&g, " gopher localhost \"/archive/2020/01/\" 20 ", 2000));
	gazette_stop(&g);
}

TEST(gopher_lynx)
{
	static const char *const post[] = {
		"Christmas notes",
		"===============",
		"Source: Elf Times",
		"A paragraph with a link inside: gemini://example.org/x [1] and more",
		"words.",
		"> A quoted line that continues.",
		"* first item",
		"References",
		"[1] gemini://example.org/x",
	};
	char cmd[300], want[200];
	struct gazette g;
	char *out, *line, *save = NULL;

	if (!test_need_tool("lynx", "lynx") || gazette_start(&g, &archive_real_port) == -1)
		return;
	snprintf(cmd, sizeof(cmd), "lynx -dump -nolist -display_charset=utf-8 "
	    "gopher://127.0.0.1:%d/1/archive/2020/01/", g.gopher_port);
	out = run(cmd);
	check_order(out, january, sizeof(january) / sizeof(january[0]));
	CHECK(strstr(out, "(FILE) 2020-01-20 Later in January") != NULL);
	CHECK(strstr(out, "(DIR) Next month: March 2021") != NULL);
	free(out);
	snprintf(cmd, sizeof(cmd), "lynx -dump -nolist -display_charset=utf-8 "
	    "gopher://127.0.0.1:%d/0/posts/2019-12-25-christmas.txt", g.gopher_port);
	out = run(cmd);
	check_order(out, post, sizeof(post) / sizeof(post[0]));
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		CHECK(strlen(line) <= 72);
		/* lynx shows RFC 1436's terminator as text: not sent by default. */
		CHECK(strspn(line, " ") == strlen(line) || strcmp(line + strspn(line, " "), ".") != 0);
	}
	free(out);
	/* A tag beyond ASCII: lynx follows the encoded selector the menu gives. */
	gazette_write(&g, "posts/2021-03-02-cafe.txt", "Title: Caf\xc3\xa9 au lait\n"
	    "Date: 2021-03-02\nTags: Caf\xc3\xa9 Culture\n\nWith milk.\n", -1);
	snprintf(cmd, sizeof(cmd), "lynx -dump -listonly gopher://127.0.0.1:%d/1/tags/",
	    g.gopher_port);
	out = run(cmd);
	CHECK(strstr(out, "/1/tags/caf%C3%A9-culture/") != NULL);
	free(out);
	snprintf(want, sizeof(want), "gopher://127.0.0.1:%d/1/tags/caf%%C3%%A9-culture/",
	    g.gopher_port);
	snprintf(cmd, sizeof(cmd), "lynx -dump -nolist -display_charset=utf-8 '%s'", want);
	out = run(cmd);
	CHECK(strstr(out, "2021-03-02 Caf\xc3\xa9 au lait") != NULL);
	free(out);
	gazette_stop(&g);
}
