/*
 * Long lists in pages of page_size: every post on exactly one page, newest
 * first, "Newer" and "Older" links between them over Gemini and Gopher, page
 * 1 at the list's own path, and pages that follow posts added while reading.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "harness.h"
#include "test.h"

/* 25 posts, one a month from 2019-12 on, tagged "many"; "spring" in the body. */
static void
write_posts(const struct gazette *g, int from, int to)
{
	char path[128], text[256];
	int i;

	for (i = from; i <= to; i++) {
		int months = 2019 * 12 + 10 + i, year = months / 12, month = months % 12 + 1;
		snprintf(path, sizeof(path), "posts/%04d-%02d-01-post%02d.txt", year, month, i);
		snprintf(text, sizeof(text), "Title: Post %02d\nTags: many\n\nSpring %d.\n", i, i);
		CHECK(gazette_write(g, path, text, -1) == 0);
	}
}

static const struct gazette_opts paged = {
	.host = "page_size = 10\n",
	.gopher = true,
};

/* How many times "=> /posts/" occurs in the page; *newest the first post's number. */
static int
post_links(const char *page, int *newest)
{
	const char *p = page;
	int n = 0;

	*newest = -1;
	while ((p = strstr(p, "=> /posts/")) != NULL) {
		if (n++ == 0)
			sscanf(strstr(p, "-post") + 5, "%d", newest);
		p++;
	}
	return n;
}

/* Page by page, the list holds want posts, newest first, from newest down. */
static void
expect_pages(const struct gazette *g, const char *base, int want, int newest)
{
	char path[256], older[300];
	int pages = (want + 9) / 10, page, seen = 0, first;

	for (page = 1; page <= pages + 1; page++) {
		char *body;
		if (page == 1)
			snprintf(path, sizeof(path), "%s", base);
		else
			snprintf(path, sizeof(path), "%spage/%d/", base, page);
		test_context("%s", path);
		body = gemini_page(g, path);
		if (page > pages) {
			CHECK_STR(body, "51 Not found\r\n");
			free(body);
			break;
		}
		CHECK(post_links(body, &first) == (page < pages ? 10 : want - 10 * (pages - 1)));
		CHECK(first == newest - seen);
		seen += 10;
		if (page > 1)
			CHECK(strstr(body, ", page ") != NULL);
		else
			CHECK(strstr(body, ", page ") == NULL);
		snprintf(older, sizeof(older), "=> %spage/%d/ Older posts: page %d of %d\n", base,
		    page + 1, page + 1, pages);
		CHECK((strstr(body, older) != NULL) == (page < pages));
		CHECK((strstr(body, "Newer posts: page ") != NULL) == (page > 1));
		free(body);
	}
	test_context("%s", "");
}

TEST(paging_lists_in_pages)
{
	static const struct {
		const char *path, *header;
	} rows[] = {
		{ "/tags/many/page/1/", "51 Not found" },
		{ "/tags/many/page/02/", "51 Not found" },
		{ "/tags/many/page/0/", "51 Not found" },
		{ "/tags/many/page/x/", "51 Not found" },
		{ "/tags/page/2/", "51 Not found" },
		{ "/tags/many/page/2", "31 /tags/many/page/2/" },
		{ "/archive/2020/page/2", "31 /archive/2020/page/2/" },
		{ "/archive/page/2/", "20 text/gemini" },
		{ "/archive/page/4/", "51 Not found" },
		{ "/search/page/1?spring", "51 Not found" },
		{ "/search/page/4?spring", "51 Not found" },
	};
	struct gazette g;
	struct reply r;
	char *body;
	size_t i;

	if (gazette_start(&g, &paged) == -1)
		return;
	write_posts(&g, 1, 25);
	expect_pages(&g, "/tags/many/", 25, 25);
	/* 2020 holds posts 2 to 13. */
	expect_pages(&g, "/archive/2020/", 12, 13);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].path);
		gemini_path(&g, rows[i].path, &r);
		CHECK(r.data != NULL && strncmp(r.data, rows[i].header,
		    strlen(rows[i].header)) == 0);
		reply_free(&r);
	}
	/* The archive pages by months: 25 months, the oldest 5 on page 3... of 3. */
	body = gemini_page(&g, "/archive/");
	CHECK(strstr(body, "=> /archive/page/2/ Older months: page 2 of 3\n") != NULL);
	free(body);
	body = gemini_page(&g, "/archive/page/3/");
	CHECK(strstr(body, "# Archive, page 3 of 3\n") != NULL);
	CHECK(strstr(body, "=> /archive/2019/12/ December 2019: 1 post\n") != NULL);
	CHECK(strstr(body, "=> /archive/page/2/ Newer months: page 2 of 3\n") != NULL);
	free(body);
	/* Results page too, their words kept in each link. */
	body = gemini_page(&g, "/search?spring");
	CHECK(strstr(body, "25 posts match.") != NULL);
	CHECK(strstr(body, "=> /search/page/2?spring More results: page 2 of 3\n") != NULL);
	free(body);
	body = gemini_page(&g, "/search/page/3?spring");
	CHECK(post_links(body, &(int){ 0 }) == 5);
	CHECK(strstr(body, "=> /search/page/2?spring Previous results: page 2 of 3\n") !=
	    NULL);
	free(body);
	test_context("%s", "");
	gazette_stop(&g);
}

TEST(paging_follows_new_posts)
{
	struct gazette g;

	if (gazette_start(&g, &paged) == -1)
		return;
	write_posts(&g, 1, 20);
	expect_pages(&g, "/tags/many/", 20, 20);
	/* A post more makes a third page at once; the newest leads page 1. */
	write_posts(&g, 21, 21);
	expect_pages(&g, "/tags/many/", 21, 21);
	write_posts(&g, 22, 25);
	expect_pages(&g, "/tags/many/", 25, 25);
	gazette_stop(&g);
}

TEST(paging_over_gopher)
{
	char sel[64];
	struct gazette g;
	struct reply r;

	if (gazette_start(&g, &paged) == -1)
		return;
	write_posts(&g, 1, 25);
	/* The Gemini page builds the index first: a Gopher request does not wait. */
	free(gemini_page(&g, "/tags/many/"));
	CHECK(tcp_fetch(g.gopher_port, "/tags/many/page/2/\r\n", 20, 5000, &r) == 0);
	snprintf(sel, sizeof(sel), "\t/tags/many/page/3/\tlocalhost\t%d\r\n", g.gopher_port);
	CHECK(r.data != NULL && strstr(r.data, "iPosts tagged many, page 2 of 3\t") != NULL);
	CHECK(r.data != NULL && strstr(r.data, "1Older posts: page 3 of 3") != NULL);
	CHECK(r.data != NULL && strstr(r.data, sel) != NULL);
	CHECK(r.data != NULL && strstr(r.data, " Post 15\t") != NULL);
	reply_free(&r);
	/* A page of results: a menu whose selector carries the words. */
	CHECK(tcp_fetch(g.gopher_port, "/search\tspring\r\n", 16, 5000, &r) == 0);
	snprintf(sel, sizeof(sel), "\t/search/page/2?spring\tlocalhost\t%d\r\n", g.gopher_port);
	CHECK(r.data != NULL && strstr(r.data, sel) != NULL);
	reply_free(&r);
	CHECK(tcp_fetch(g.gopher_port, "/search/page/3?spring\r\n", 23, 5000, &r) == 0);
	CHECK(r.data != NULL && strstr(r.data, " Post 05\t") != NULL);
	CHECK(r.data != NULL && strstr(r.data, "1Previous results: page 2 of 3") != NULL);
	reply_free(&r);
	gazette_stop(&g);
}
