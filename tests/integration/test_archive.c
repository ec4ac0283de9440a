/*
 * The generated archive over Gemini: byte-exact pages from a fixture with
 * posts over three years, the Atom feed through a real XML parser, and live
 * updates (add, edit, rename, delete, half-written) without a restart.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "test.h"

static const struct gazette_opts archive = {
	.fixture = "archive",
	.host = "title = Test Capsule\ndescription = A capsule for the tests.\nhome_posts = 3\n",
};

static void
expect_page(const struct gazette *g, const char *path, const char *file)
{
	struct reply r;

	gemini_path(g, path, &r);
	expect_file(g, file, r.data, r.len);
	CHECK(r.close_notify);
	reply_free(&r);
}

TEST(archive_pages_byte_exact)
{
	struct gazette g;

	if (gazette_start(&g, &archive) == -1)
		return;
	expect_page(&g, "/", "archive/home.gmi");
	expect_page(&g, "/archive/", "archive/archive.gmi");
	expect_page(&g, "/archive/2020/", "archive/year-2020.gmi");
	expect_page(&g, "/archive/2020/01/", "archive/month-2020-01.gmi");
	expect_page(&g, "/archive/2019/12/", "archive/month-2019-12.gmi");
	expect_page(&g, "/posts/2019-12-25-christmas.gmi", "archive/post-christmas.gmi");
	expect_page(&g, "/posts/2020-01-05-new-year.gmi", "archive/post-new-year.gmi");
	expect_page(&g, "/posts/2020-01-10-broken.gmi", "archive/post-broken.gmi");
	expect_page(&g, "/posts/2020-01-11-latin1.gmi", "archive/post-latin1.gmi");
	expect_page(&g, "/tags/", "archive/tags.gmi");
	expect_page(&g, "/tags/alpha/", "archive/tag-alpha.gmi");
	expect_page(&g, "/tags/the-diplomat/", "archive/tag-the-diplomat.gmi");
	expect_page(&g, "/search?zebra", "archive/search-zebra.gmi");
	expect_page(&g, "/search?HELLO%20world", "archive/search-hello-world.gmi");
	expect_page(&g, "/atom.xml", "archive/atom.xml");
	gazette_stop(&g);
}

TEST(archive_routes)
{
	static const struct {
		const char *path, *header;
	} rows[] = {
		{ "/archive", "31 /archive/" },
		{ "/archive/2020", "31 /archive/2020/" },
		{ "/archive/2020/01", "31 /archive/2020/01/" },
		{ "/tags", "31 /tags/" },
		{ "/tags/alpha", "31 /tags/alpha/" },
		{ "/archive/1999/", "51 Not found" },
		{ "/archive/2020/02/", "51 Not found" },
		{ "/archive/2020/13/", "51 Not found" },
		{ "/archive/20x0/", "51 Not found" },
		{ "/archive/2020/01/extra/", "51 Not found" },
		{ "/posts/nope.gmi", "51 Not found" },
		{ "/posts/empty.gmi", "51 Not found" },
		{ "/posts/.hidden.gmi", "51 Not found" },
		{ "/posts/notes.gmi", "51 Not found" },
		{ "/tags/nope/", "51 Not found" },
		{ "/search", "10 Search posts for these words" },
		{ "/search?", "10 Search posts for these words" },
		{ "/search?%20%21", "10 Search posts for these words (letters or digits)" },
		{ "/posts/2020-01-20-later.txt", "20 text/plain; charset=utf-8" },
		{ "/about.gmi", "20 text/gemini; charset=utf-8; lang=en" },
	};
	struct gazette g;
	struct reply r;
	char head[1100];
	size_t i;

	if (gazette_start(&g, &archive) == -1)
		return;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].path);
		gemini_path(&g, rows[i].path, &r);
		CHECK_STR(reply_header(&r, head, sizeof(head)), rows[i].header);
		reply_free(&r);
	}
	gazette_stop(&g);
}

TEST(archive_skipped_files_warn_once)
{
	struct gazette g;
	struct reply r;
	char *log, *p;
	int n = 0;

	if (gazette_start(&g, &archive) == -1)
		return;
	gemini_path(&g, "/", &r);
	reply_free(&r);
	gemini_path(&g, "/archive/", &r);
	reply_free(&r);
	/* Once, not once per worker; and not again on a reload, which reads only what changed. */
	kill(g.pid, SIGHUP);
	CHECK(gazette_wait_log(&g, "reloaded: generation 2", 5000));
	log = gazette_log(&g);
	for (p = log; (p = strstr(p, "posts/empty.txt: skipped")) != NULL; p++)
		n++;
	CHECK_INT(n, 1);
	CHECK(strstr(log, "posts/2020-01-10-broken.txt: ") != NULL);
	CHECK(strstr(log, "posts/2020-01-11-latin1.txt: ") != NULL);
	CHECK(strstr(log, "notes.md") == NULL);
	free(log);
	gazette_stop(&g);
}

TEST(archive_feed_is_well_formed_atom)
{
	char path[700], cmd[2400];
	struct gazette g;
	struct reply r;
	size_t len;
	const char *body;
	FILE *f;

	if (!test_need_tool("xmllint", "libxml2-utils"))
		return;
	if (gazette_start(&g, &archive) == -1)
		return;
	gemini_path(&g, "/atom.xml", &r);
	body = reply_body(&r, &len);
	snprintf(path, sizeof(path), "%s/feed.xml", g.dir);
	if ((f = fopen(path, "w")) != NULL) {
		fwrite(body, 1, len, f);
		fclose(f);
	}
	/* Well-formed, and in the Atom namespace with every entry complete. */
	snprintf(cmd, sizeof(cmd), "xmllint --noout '%s' && test \"$(xmllint --xpath "
	    "'count(/*[local-name()=\"feed\" and namespace-uri()=\"http://www.w3.org/2005/Atom\"]"
	    "/*[local-name()=\"entry\"][*[local-name()=\"id\"] and *[local-name()=\"title\"] "
	    "and *[local-name()=\"updated\"] and *[local-name()=\"link\"]])' '%s')\" = 7",
	    path, path);
	CHECK(system(cmd) == 0);
	reply_free(&r);
	gazette_stop(&g);
}

static bool
page_has(const struct gazette *g, const char *path, const char *text)
{
	struct reply r;
	bool has;

	gemini_path(g, path, &r);
	has = r.data != NULL && strstr(r.data, text) != NULL;
	reply_free(&r);
	return has;
}

TEST(archive_live_updates)
{
	static const char *const pages[] = { "/", "/archive/2020/01/", "/atom.xml",
	    "/search?quokka" };
	struct gazette g;
	char path[1200];
	size_t i;

	if (gazette_start(&g, &archive) == -1)
		return;
	/* Added: on every page at the very next request. */
	CHECK(gazette_write(&g, "posts/2020-01-25-quokka.txt",
	    "Title: Quokka sighting\n\nA quokka was seen.\n", -1) == 0);
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		test_context("added, %s", pages[i]);
		CHECK(page_has(&g, pages[i], "Quokka sighting"));
	}
	CHECK(page_has(&g, "/posts/2020-01-25-quokka.gmi", "A quokka was seen."));
	/* Edited. */
	CHECK(gazette_write(&g, "posts/2020-01-25-quokka.txt",
	    "Title: Quokka sighting, updated\n\nA quokka was seen twice.\n", -1) == 0);
	test_context("edited");
	CHECK(page_has(&g, "/", "Quokka sighting, updated"));
	CHECK(page_has(&g, "/posts/2020-01-25-quokka.gmi", "seen twice"));
	/* Renamed: the old address is gone, the new one serves. */
	snprintf(path, sizeof(path), "%s/posts/2020-01-25-quokka.txt", g.root);
	{
		char to[1200];
		snprintf(to, sizeof(to), "%s/posts/2020-01-26-quokka.txt", g.root);
		CHECK(rename(path, to) == 0);
	}
	test_context("renamed");
	CHECK(page_has(&g, "/posts/2020-01-25-quokka.gmi", "51 Not found"));
	CHECK(page_has(&g, "/posts/2020-01-26-quokka.gmi", "seen twice"));
	/* Deleted: gone from every page. */
	snprintf(path, sizeof(path), "%s/posts/2020-01-26-quokka.txt", g.root);
	CHECK(unlink(path) == 0);
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		test_context("deleted, %s", pages[i]);
		CHECK(!page_has(&g, pages[i], "Quokka"));
	}
	CHECK(page_has(&g, "/posts/2020-01-26-quokka.gmi", "51 Not found"));
	/* A month that empties vanishes; a new month appears. */
	CHECK(gazette_write(&g, "posts/2022-07-04-july.txt", "July\n\nFireworks.\n", -1) == 0);
	test_context("new month");
	CHECK(page_has(&g, "/archive/", "July 2022: 1 post"));
	CHECK(page_has(&g, "/archive/2022/07/", "2022-07-04 July"));
	test_context("%s", "");
	gazette_stop(&g);
}

TEST(archive_half_written_file_is_not_listed)
{
	struct gazette g;
	char path[1200];
	FILE *f;

	if (gazette_start(&g, &archive) == -1)
		return;
	snprintf(path, sizeof(path), "%s/posts/2020-01-27-slow.txt", g.root);
	if ((f = fopen(path, "w")) == NULL) {
		test_fail(__FILE__, __LINE__, "fopen");
		gazette_stop(&g);
		return;
	}
	fputs("Title: Slow wri", f);
	fflush(f);
	/* Still open for writing: the half title must not show, nor be cached. */
	CHECK(!page_has(&g, "/", "Slow wri"));
	fputs("ter finished\n\nDone.\n", f);
	fclose(f);
	CHECK(page_has(&g, "/", "Slow writer finished"));
	CHECK(page_has(&g, "/archive/2020/01/", "2020-01-27 Slow writer finished"));
	gazette_stop(&g);
}

/* Waits (up to 5 s) for path under g's folder to exist. */
static bool
appears(const struct gazette *g, const char *name)
{
	char path[900];
	struct stat st;
	int i;

	snprintf(path, sizeof(path), "%s/%s", g->dir, name);
	for (i = 0; i < 500; i++) {
		if (stat(path, &st) == 0)
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * A restart starts from the index the last run saved and reads only the
 * posts changed since: one rewritten behind its old size and time is not
 * read again (its old title stays listed: what proves the saved index was
 * used), one saved anew is, one deleted is gone. With nothing changed, the
 * saved index is served as it is (not built, so not saved again) and
 * followed by the changes that come after. A damaged saved index is no
 * index: every post is read.
 */
TEST(archive_restart_reads_only_changes)
{
	struct gazette_opts o = archive;
	struct timespec t[2];
	struct gazette g;
	struct reply r;
	char dir[600], path[900];
	struct stat st, img;
	FILE *f;

	o.global = "workers = 2\n";
	if (gazette_start(&g, &o) == -1)
		return;
	CHECK(appears(&g, "state/posts-localhost.img"));
	CHECK(page_has(&g, "/archive/2020/01/", "Later in January"));
	if (gazette_stop_keep(&g, dir, sizeof(dir)) == -1)
		return;

	snprintf(path, sizeof(path), "%s/state/posts-localhost.img", dir);
	CHECK(stat(path, &img) == 0);
	o.dir = dir;
	if (gazette_start(&g, &o) == -1)
		return;
	CHECK(page_has(&g, "/archive/2020/01/", "Later in January"));
	CHECK(stat(path, &st) == 0 && st.st_ino == img.st_ino &&
	    st.st_mtim.tv_sec == img.st_mtim.tv_sec && st.st_mtim.tv_nsec == img.st_mtim.tv_nsec);
	gazette_write(&g, "posts/2022-05-01-may.txt", "Title: In May\n\nRain.\n", -1);
	CHECK(page_has(&g, "/archive/2022/05/", "In May"));
	CHECK(page_has(&g, "/archive/2020/01/", "Later in January"));
	if (gazette_stop(&g) == -1)
		return;

	snprintf(path, sizeof(path), "%s/content/posts/2020-01-20-later.txt", dir);
	CHECK(stat(path, &st) == 0);
	if ((f = fopen(path, "r+")) != NULL) {
		fputs("Title: Other", f);
		fclose(f);
	}
	t[0] = st.st_atim;
	t[1] = st.st_mtim;
	CHECK(utimensat(AT_FDCWD, path, t, 0) == 0);
	snprintf(path, sizeof(path), "%s/content/posts/2019-12-25-christmas.txt", dir);
	CHECK(unlink(path) == 0);
	if (gazette_start(&g, &o) == -1)
		return;
	gazette_write(&g, "posts/2021-03-01-spring.txt", "Title: Summer\nTags: alpha\n\nSun.\n", -1);
	CHECK(page_has(&g, "/archive/2020/01/", "Later in January"));
	CHECK(!page_has(&g, "/archive/2020/01/", "Other in January"));
	CHECK(page_has(&g, "/archive/2021/03/", "Summer"));
	gemini_path(&g, "/posts/2019-12-25-christmas.gmi", &r);
	CHECK(r.data != NULL && strncmp(r.data, "51 ", 3) == 0);
	reply_free(&r);
	if (gazette_stop(&g) == -1)
		return;

	snprintf(path, sizeof(path), "%s/state/posts-localhost.img", dir);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("not an index image at all", f);
		fclose(f);
	}
	if (gazette_start(&g, &o) == -1)
		return;
	CHECK(page_has(&g, "/archive/2020/01/", "Other in January"));
	CHECK(page_has(&g, "/archive/2021/03/", "Summer"));
	gazette_stop(&g);
}

/*
 * A post skipped under one limit is read again when a restart allows more,
 * though the saved index says it was skipped and the file is the same: its
 * first kilobyte blank, it is "empty" when cut there.
 */
TEST(archive_restart_reads_skipped_under_new_limits)
{
	struct gazette_opts o = { .host = "max_post_size = 1k\n" };
	struct gazette g;
	char dir[600], big[3000];

	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big + 2000, "Title: Long\n\nText.", 19);
	if (gazette_start(&g, &o) == -1)
		return;
	gazette_write(&g, "posts/2020-02-02-long.txt", big, -1);
	gazette_write(&g, "posts/2020-02-01-short.txt", "Title: Short\n\nA line.\n", -1);
	CHECK(page_has(&g, "/archive/2020/02/", "Short"));
	CHECK(!page_has(&g, "/archive/2020/02/", "Long"));
	if (gazette_stop_keep(&g, dir, sizeof(dir)) == -1)
		return;
	/* Started again: its first index, saved at once, knows both files. */
	o.dir = dir;
	if (gazette_start(&g, &o) == -1)
		return;
	CHECK(!page_has(&g, "/archive/2020/02/", "Long"));
	if (gazette_stop(&g) == -1)
		return;
	o.host = "max_post_size = 64k\n";
	if (gazette_start(&g, &o) == -1)
		return;
	CHECK(page_has(&g, "/archive/2020/02/", "Long"));
	CHECK(page_has(&g, "/archive/2020/02/", "Short"));
	gazette_stop(&g);
}

/* The menu a Gopher client gets for selector. */
static void
gopher_menu(const struct gazette *g, const char *selector, struct reply *r)
{
	char req[300];

	snprintf(req, sizeof(req), "%s\r\n", selector);
	tcp_fetch(g->gopher_port, req, strlen(req), 10000, r);
}

/*
 * The author's own pages: the root's index.gmi is the home page's
 * introduction (on both protocols, an edit shown on the next request) and
 * about.gmi is linked from it; the generated page keeps its one title.
 */
TEST(archive_home_intro_and_about)
{
	struct gazette_opts o = archive;
	struct gazette g;
	struct reply r;
	char *page;

	o.gopher = true;
	if (gazette_start(&g, &o) == -1)
		return;
	gazette_write(&g, "index.gmi", "# Welcome, reader\r\nNews from the \x01wire.\n"
	    "=> about.gmi Who writes here\n=> /archive/2020/01/ January\n"
	    "* one\n> said\n```art\n  /\\_/\\\n```\n", -1);
	page = gemini_page(&g, "/");
	CHECK(page != NULL && strstr(page, "# Test Capsule\n\nA capsule for the tests.\n\n"
	    "## Welcome, reader\nNews from the  wire.\n=> about.gmi Who writes here\n"
	    "=> /archive/2020/01/ January\n* one\n> said\n```art\n  /\\_/\\\n```\n\n"
	    "## Latest posts\n") != NULL);
	CHECK(page != NULL && strstr(page, "\n## More\n=> /about.gmi About\n") != NULL);
	CHECK(page != NULL && strstr(strstr(page, "# Test") + 1, "\n# ") == NULL);
	free(page);
	gopher_menu(&g, "/", &r);
	CHECK(strstr(r.data, "iNews from the  wire.\t") != NULL);
	CHECK(strstr(r.data, "0Who writes here\t/about.gmi\t") != NULL);
	CHECK(strstr(r.data, "1January\t/archive/2020/01/\t") != NULL);
	reply_free(&r);
	/* Edited: the next request shows it; removed: the page is as before. */
	gazette_write(&g, "index.gmi", "Second thoughts.\n", -1);
	page = gemini_page(&g, "/");
	CHECK(page != NULL && strstr(page, "\n\nSecond thoughts.\n\n## Latest posts\n") != NULL);
	CHECK(page != NULL && strstr(page, "Welcome") == NULL);
	free(page);
	gopher_menu(&g, "/", &r);
	CHECK(strstr(r.data, "iSecond thoughts.\t") != NULL);
	reply_free(&r);
	gazette_remove(&g, "index.gmi");
	gazette_remove(&g, "about.gmi");
	page = gemini_page(&g, "/");
	CHECK(page != NULL && strstr(page, "Second thoughts") == NULL);
	CHECK(page != NULL && strstr(page, "About") == NULL);
	free(page);
	gazette_stop(&g);
}

/* A file beside the posts (an image one shows) is served like any other. */
TEST(archive_files_beside_posts)
{
	static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\b\6\0\0\0"
	    "\x1f\x15\xc4\x89\0\0\0\nIDATx\x9c" "c\0\1\0\0\5\0\1\r\n-\xb4\0\0\0\0IEND\xae"
	    "B`\x82";
	struct gazette_opts o = archive;
	char head[200];
	struct gazette g;
	struct reply r;
	const char *body;
	size_t len;

	o.gopher = true;
	if (gazette_start(&g, &o) == -1)
		return;
	gazette_write(&g, "posts/cat.png", png, sizeof(png) - 1);
	gazette_write(&g, "posts/img/dog.png", png, sizeof(png) - 1);
	gazette_write(&g, "posts/.draft.png", png, sizeof(png) - 1);
	gemini_path(&g, "/posts/cat.png", &r);
	CHECK_STR(reply_header(&r, head, sizeof(head)), "20 image/png");
	body = reply_body(&r, &len);
	CHECK_MEM(body, len, png, sizeof(png) - 1);
	reply_free(&r);
	gemini_path(&g, "/posts/img/dog.png", &r);
	CHECK_STR(reply_header(&r, head, sizeof(head)), "20 image/png");
	reply_free(&r);
	gemini_path(&g, "/posts/.draft.png", &r);
	CHECK(strncmp(reply_header(&r, head, sizeof(head)), "51 ", 3) == 0);
	reply_free(&r);
	gopher_menu(&g, "/posts/cat.png", &r);
	CHECK_MEM(r.data, r.len, png, sizeof(png) - 1);
	reply_free(&r);
	/* Posts are still pages, and the archive lists posts only. */
	gemini_path(&g, "/posts/2020-01-05-new-year.gmi", &r);
	CHECK_STR(reply_header(&r, head, sizeof(head)), "20 text/gemini; charset=utf-8; lang=en");
	reply_free(&r);
	body = gemini_page(&g, "/archive/");
	CHECK(body != NULL && strstr(body, "cat.png") == NULL);
	free((char *)body);
	gazette_stop(&g);
}
