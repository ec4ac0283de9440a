/*
 * Search over the real server: what readers type finds what authors wrote
 * (apostrophes, diacritics, Korean, Chinese, phrases, prefixes), nothing a
 * reader types is an error, long queries are bounded, results are ranked
 * title first and paged, the index follows every change of the posts, and
 * a deleted index is rebuilt while searches keep being answered, with two
 * workers and posts arriving meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "load.h"
#include "test.h"

#define REBUILT_MS 20000	/* the bound on a rebuild of a few posts: generous, never slow */

static const struct gazette_opts two_workers = {
	.global = "workers = 2\n",
	.gopher = true,
};

static void
write_fixture(const struct gazette *g)
{
	CHECK(gazette_write(g, "posts/2020-01-01-pyongyang.txt", "Title: Winter in Pyongyang\n"
	    "Source: Reuters\n\nSnow fell on the capital. Korea’s winter is long.\n", -1) == 0);
	CHECK(gazette_write(g, "posts/2020-01-02-cafe.txt", "Title: A café opens\n\n"
	    "The café culture grows.\n", -1) == 0);
	CHECK(gazette_write(g, "posts/2020-01-03-iran.txt", "Title: Iran’s answer\n"
	    "Tags: The Diplomat\n\nThe supreme leader spoke of the lighthouse.\n", -1) == 0);
	CHECK(gazette_write(g, "posts/2020-01-04-korean.txt", "Title: 북한 소식\n\n"
	    "김정은 위원장이 평양에서 말했다.\n", -1) == 0);
	CHECK(gazette_write(g, "posts/2020-01-05-chinese.txt", "Title: 新闻\n\n朝鲜半岛的局势。\n",
	    -1) == 0);
	CHECK(gazette_write(g, "posts/2019-06-01-lighthouse.txt", "Title: The lighthouse\n\n"
	    "A tall tower.\n", -1) == 0);
}

/* The post names a results page links to, in order, space-separated. */
static void
result_names(const char *page, char *out, size_t size)
{
	const char *p = page, *end;
	size_t n = 0;

	out[0] = '\0';
	while (p != NULL && (p = strstr(p, "=> /posts/")) != NULL) {
		p += 10;
		end = strstr(p, ".gmi");
		if (end == NULL || n + (size_t)(end - p) + 2 >= size)
			break;
		n += (size_t)snprintf(out + n, size - n, "%s%.*s", n ? " " : "", (int)(end - p), p);
	}
}

TEST(search_finds_what_readers_type)
{
	static const struct {
		const char *query, *names;
	} rows[] = {
		{ "iran%27s", "2020-01-03-iran" },
		{ "IRAN%E2%80%99S", "2020-01-03-iran" },
		{ "korea%27s", "2020-01-01-pyongyang" },
		{ "cafe", "2020-01-02-cafe" },
		{ "CAF%C3%89%20culture", "2020-01-02-cafe" },
		{ "%EB%B6%81%ED%95%9C", "2020-01-04-korean" },			/* 북한 */
		{ "%EC%A0%95%EC%9D%80", "2020-01-04-korean" },			/* 정은, inside 김정은 */
		{ "%E6%9C%9D%E9%B2%9C", "2020-01-05-chinese" },			/* 朝鲜 */
		{ "%22supreme%20leader%22", "2020-01-03-iran" },
		{ "%22leader%20supreme%22", "" },
		{ "pyong*", "2020-01-01-pyongyang" },
		{ "diplomat", "2020-01-03-iran" },
		{ "reuters", "2020-01-01-pyongyang" },
		/* The title match first, though older; then the body's. */
		{ "lighthouse", "2019-06-01-lighthouse 2020-01-03-iran" },
		/* FTS5's syntax is only words here. */
		{ "%22NEAR(%22%20)%20%7Btitle%7D%3A%20%5E%20*%20%22", "" },
		{ "AND%20OR%20NOT", "" },
	};
	char path[300], names[512];
	struct gazette g;
	char *page;
	size_t i;

	if (gazette_start(&g, &two_workers) == -1)
		return;
	write_fixture(&g);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].query);
		snprintf(path, sizeof(path), "/search?%s", rows[i].query);
		page = gemini_page(&g, path);
		CHECK(strncmp(page, "20 text/gemini", 14) == 0);
		result_names(page, names, sizeof(names));
		CHECK_STR(names, rows[i].names);
		if (rows[i].names[0] == '\0')
			CHECK(strstr(page, "No post matches every word.") != NULL);
		free(page);
	}
	test_context("%s", "");
	/* A snippet under each result; the count of all. */
	page = gemini_page(&g, "/search?cafe");
	CHECK(strstr(page, "1 post matches.\n") != NULL);
	CHECK(strstr(page, "=> /posts/2020-01-02-cafe.gmi 2020-01-02 A café opens\n"
	    "The café culture grows.\n") != NULL);
	free(page);
	gazette_stop(&g);
}

TEST(search_over_gopher)
{
	struct gazette g;
	struct reply r;

	if (gazette_start(&g, &two_workers) == -1)
		return;
	write_fixture(&g);
	/* A typed apostrophe finds the typographic one, over Gopher too. */
	free(gemini_page(&g, "/"));
	CHECK(tcp_fetch(g.gopher_port, "/search\tkorea's\r\n", 17, 5000, &r) == 0);
	CHECK(r.data != NULL && strstr(r.data, "iSearch: korea's\t") != NULL);
	CHECK(r.data != NULL && strstr(r.data, "i1 post matches.\t") != NULL);
	CHECK(r.data != NULL && strstr(r.data, "02020-01-01 Winter in Pyongyang\t") != NULL);
	CHECK(r.data != NULL && strstr(r.data, "iSnow fell on the capital.") != NULL);
	reply_free(&r);
	gazette_stop(&g);
}

TEST(search_queries_are_bounded)
{
	char *query = malloc(12000), *page;
	struct gazette g;
	struct reply r;
	size_t i, n;

	if (query == NULL || gazette_start(&g, &two_workers) == -1) {
		free(query);
		return;
	}
	write_fixture(&g);
	/* The longest a Gemini URL holds: words, quotes, stars and operators. */
	n = (size_t)snprintf(query, 12000, "/search?");
	for (i = 0; n + 20 < 1000; i++)
		n += (size_t)snprintf(query + n, 12000 - n, "%s", (const char *[]){ "cafe%20",
		    "%22", "NEAR(", "*%20", "%E2%80%99" }[i % 5]);
	page = gemini_page(&g, query);
	CHECK(strncmp(page, "20 text/gemini", 14) == 0);
	free(page);
	/* 10,000 bytes over Gopher: refused as too long, the server unharmed. */
	memcpy(query, "/search\t", 8);
	memset(query + 8, 'a', 10000);
	memcpy(query + 10008, "\r\n", 2);
	CHECK(tcp_fetch(g.gopher_port, query, 10010, 5000, &r) == 0);
	CHECK(r.data != NULL && r.data[0] == '3');
	reply_free(&r);
	page = gemini_page(&g, "/search?cafe");
	CHECK(strstr(page, "1 post matches.") != NULL);
	free(page);
	free(query);
	gazette_stop(&g);
}

TEST(search_follows_the_posts)
{
	struct gazette g;
	char path[700], to[700], *page;

	if (gazette_start(&g, &two_workers) == -1)
		return;
	write_fixture(&g);
	/* Each change shows in the very next search. */
	CHECK(gazette_write(&g, "posts/2020-02-01-walrus.txt", "Title: A walrus\n\n"
	    "The walrus sang.\n", -1) == 0);
	page = gemini_page(&g, "/search?walrus");
	CHECK(strstr(page, "=> /posts/2020-02-01-walrus.gmi") != NULL);
	free(page);
	CHECK(gazette_write(&g, "posts/2020-02-01-walrus.txt", "Title: A seal\n\n"
	    "The seal sang.\n", -1) == 0);
	page = gemini_page(&g, "/search?walrus");
	CHECK(strstr(page, "No post matches every word.") != NULL);
	free(page);
	page = gemini_page(&g, "/search?seal");
	CHECK(strstr(page, "=> /posts/2020-02-01-walrus.gmi 2020-02-01 A seal") != NULL);
	free(page);
	snprintf(path, sizeof(path), "%s/posts/2020-02-01-walrus.txt", g.root);
	snprintf(to, sizeof(to), "%s/posts/2020-02-02-seal.txt", g.root);
	CHECK(rename(path, to) == 0);
	page = gemini_page(&g, "/search?seal");
	CHECK(strstr(page, "=> /posts/2020-02-02-seal.gmi") != NULL);
	CHECK(strstr(page, "walrus.gmi") == NULL);
	free(page);
	CHECK(unlink(to) == 0);
	page = gemini_page(&g, "/search?seal");
	CHECK(strstr(page, "No post matches every word.") != NULL);
	free(page);
	gazette_stop(&g);
}

/* Searches without pause; every answer must be a page, never an error. */
static void
searching(int id, void *arg, struct shared *s)
{
	const struct gazette *g = arg;
	struct reply r;
	int shown = 0;

	(void)id;
	while (!s->stop) {
		gemini_path(g, "/search?walrus", &r);
		shared_add(&s->requests, 1);
		if (r.data == NULL || strncmp(r.data, "20 text/gemini", 14) != 0 ||
		    !r.close_notify)
			child_fail(s, &shown, "search", &r);
		else if (strstr(r.data, "being built") != NULL)
			shared_add(&s->n40, 1);
		else
			shared_add(&s->n20, 1);
		reply_free(&r);
	}
}

TEST(search_index_deleted_is_rebuilt)
{
	char db[800], path[128], text[128], *page = NULL;
	struct shared *s = shared_new();
	struct gazette g;
	pid_t pid;
	long t0;
	int i;

	if (s == NULL || gazette_start(&g, &two_workers) == -1) {
		shared_free(s);
		return;
	}
	write_fixture(&g);
	free(gemini_page(&g, "/search?cafe"));
	pid = spawn_child(searching, 0, &g, s);
	/* Deleted under the server, with posts arriving all the while. */
	snprintf(db, sizeof(db), "%s/state/search-localhost.db", g.dir);
	CHECK(unlink(db) == 0);
	for (i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "posts/2021-01-%02d-walrus%d.txt", 1 + i % 28, i);
		snprintf(text, sizeof(text), "Title: Walrus %d\n\nA walrus, again.\n", i);
		CHECK(gazette_write(&g, path, text, -1) == 0);
	}
	/* Built again: every post found, and the file is back. */
	for (t0 = now_ms(); now_ms() - t0 < REBUILT_MS; sleep_ms(20)) {
		free(page);
		page = gemini_page(&g, "/search?walrus");
		if (strstr(page, "50 posts match.") != NULL)
			break;
	}
	CHECK(page != NULL && strstr(page, "50 posts match.") != NULL);
	free(page);
	CHECK(access(db, F_OK) == 0);
	page = gemini_page(&g, "/search?cafe");
	CHECK(strstr(page, "1 post matches.") != NULL);
	free(page);
	/* Deleted again, the posts unchanged: a search asked meanwhile finds in the end. */
	CHECK(unlink(db) == 0);
	page = NULL;
	for (t0 = now_ms(); now_ms() - t0 < REBUILT_MS; sleep_ms(20)) {
		free(page);
		page = gemini_page(&g, "/search?tower");
		if (strstr(page, "1 post matches.") != NULL)
			break;
	}
	CHECK(page != NULL && strstr(page, "1 post matches.") != NULL);
	free(page);
	s->stop = 1;
	reap_child(pid);
	CHECK_INT(shared_get(&s->failures), 0);
	printf("    search: index deleted under load: %ld searches answered, %ld said "
	    "\"being built\", none failed\n", shared_get(&s->requests), shared_get(&s->n40));
	shared_free(s);
	gazette_stop(&g);
}
