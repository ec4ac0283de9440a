/*
 * The full-text index on its own: what a reader's words become in MATCH
 * (never syntax of their own), and what a search over a few posts finds:
 * folded apostrophes and diacritics, Korean and Chinese inside longer runs,
 * phrases, prefixes, operators as words, a huge query, title-first ranking,
 * newest first among equals, and posts replaced and removed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fts.h"
#include "post.h"
#include "test.h"

static struct fts *
open_new(char *path, size_t size, const char *name)
{
	char err[256];
	struct fts *f;

	snprintf(path, size, "%s/%s-%d.db", test_tmp_dir(), name, (int)getpid());
	unlink(path);
	f = fts_open_writer(path, err, sizeof(err));
	if (f == NULL)
		test_fail(__FILE__, __LINE__, "fts_open_writer: %s", err);
	return f;
}

TEST(fts_match_quotes_every_word)
{
	static const struct {
		const char *words, *match;
	} rows[] = {
		{ "korea", "\"korea\"" },
		{ "North KOREA", "\"north\" \"korea\"" },
		{ "iran's", "\"iran s\"" },
		{ "Iran’s", "\"iran s\"" },
		{ "café", "\"cafe\"" },
		{ "\"kim jong un\"", "\"kim jong un\"" },
		{ "\"kim jong", "\"kim jong\"" },
		{ "kor*", "\"kor\"*" },
		{ "\"north kor\"*", "\"north kor\"*" },
		{ "a AND b OR NOT c NEAR(d)", "\"a\" \"and\" \"b\" \"or\" \"not\" \"c\" \"near d\"" },
		{ "{title}: x", "\"title\" \"x\"" },
		{ "^start col:word - + ( ) *", "\"start\" \"col word\"" },
		{ "북한", "\"북한\"" },
		{ "북한은", "\"북한 한은\"" },
		{ "북", "\"북\"*" },
		{ "kim 김정은 said", "\"kim\" \"김정 정은\" \"said\"" },
		{ "朝鲜半岛", "\"朝鲜 鲜半 半岛\"" },
		{ "", "" },
		{ "   ", "" },
		{ "— … !!", "" },
		{ "\"\"", "" },
		{ "*", "" },
	};
	char path[512], out[FTS_MATCH_MAX];
	struct fts *f = open_new(path, sizeof(path), "match");
	size_t i, n;

	if (f == NULL)
		return;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].words);
		n = fts_match(f, rows[i].words, strlen(rows[i].words), out, sizeof(out));
		CHECK_STR(n > 0 ? out : "", rows[i].match);
		CHECK_INT(n, strlen(rows[i].match));
	}
	test_context("%s", "");
	fts_close(f);
	unlink(path);
}

TEST(fts_match_is_bounded)
{
	char path[512], out[FTS_MATCH_MAX], *words = malloc(10001);
	struct fts *f = open_new(path, sizeof(path), "bounded");
	size_t i, n, quotes = 0;

	if (f == NULL || words == NULL) {
		free(words);
		fts_close(f);
		return;
	}
	/* 10,000 bytes of words, quotes and stars. */
	for (i = 0; i < 10000; i++)
		words[i] = "ab\" c*d(e) "[i % 11];
	words[10000] = '\0';
	n = fts_match(f, words, 10000, out, sizeof(out));
	CHECK(n > 0 && n < sizeof(out));
	for (i = 0; i < n; i++)
		quotes += out[i] == '"';
	CHECK(quotes % 2 == 0);
	CHECK(quotes / 2 <= FTS_TERMS_MAX);
	/* Multi-byte characters are never cut in half at the bound. */
	for (i = 0; i + 3 < 10000; i += 3)
		memcpy(words + i, "한", 3);
	words[9999] = '\0';
	n = fts_match(f, words, strlen(words), out, sizeof(out));
	CHECK(n > 0 && n < sizeof(out));
	free(words);
	fts_close(f);
	unlink(path);
}

static void
put(struct fts *f, const char *name, const char *text, int ino)
{
	struct index_file file = { 1, (uint64_t)ino, (int64_t)strlen(text), 100, 0 };
	const char *why;
	struct post p;

	if (post_parse(name, text, strlen(text), 0, POST_FULL, &p, &why) != 0) {
		test_fail(__FILE__, __LINE__, "%s: %s", name, why);
		return;
	}
	CHECK(fts_put(f, name, &file, &p) == 0);
	post_free(&p);
}

/* The stems found for words, space-separated, best first; "!" when rebuilding. */
static void
found(struct fts *f, const char *words, char *out, size_t size, long *total)
{
	struct fts_result r;
	size_t i, n = 0;

	out[0] = '\0';
	CHECK(fts_search(f, words, 0, 100, &r) == 0);
	*total = r.total;
	if (r.status == FTS_REBUILDING)
		snprintf(out, size, "!");
	for (i = 0; i < r.n; i++)
		n += (size_t)snprintf(out + n, size - n, "%s%s", i ? " " : "", r.hits[i].stem);
	fts_result_free(&r);
}

TEST(fts_search_finds_what_readers_type)
{
	static const struct {
		const char *words, *stems;
	} rows[] = {
		{ "iran's", "2020-01-03-iran" },
		{ "IRAN’S", "2020-01-03-iran" },
		{ "cafe", "2020-01-02-cafe" },
		{ "CAFÉ culture", "2020-01-02-cafe" },
		{ "북한", "2020-01-04-korean" },
		{ "김정은", "2020-01-04-korean" },
		{ "정은", "2020-01-04-korean" },
		{ "朝鲜", "2020-01-05-chinese" },
		{ "\"supreme leader\"", "2020-01-03-iran" },
		{ "\"leader supreme\"", "" },
		{ "pyong*", "2020-01-01-pyongyang 2020-01-04-korean" },
		{ "pyong", "" },
		{ "AND OR NOT", "" },
		{ "\"NEAR(\" ) {title}: ^ * \"", "" },
		{ "diplomat", "2020-01-03-iran" },
		{ "reuters", "2020-01-01-pyongyang" },
	};
	char path[512], out[512];
	struct fts *f = open_new(path, sizeof(path), "search");
	struct fts *r;
	char err[256];
	long total;
	size_t i;

	if (f == NULL)
		return;
	CHECK(fts_begin(f) == 0);
	put(f, "2020-01-01-pyongyang.txt", "Title: Winter in Pyongyang\nSource: Reuters\n\n"
	    "Snow fell on the capital.\n", 1);
	put(f, "2020-01-02-cafe.txt", "Title: A café opens\n\nThe café culture grows.\n", 2);
	put(f, "2020-01-03-iran.txt", "Title: Iran’s answer\nTags: The Diplomat\n\n"
	    "The supreme leader spoke.\n", 3);
	put(f, "2020-01-04-korean.txt", "Title: 북한 소식\n\n김정은 위원장이 평양에서 말했다. "
	    "Pyongyang.\n", 4);
	put(f, "2020-01-05-chinese.txt", "Title: 新闻\n\n朝鲜半岛的局势。\n", 5);
	CHECK(fts_set_complete(f, true) == 0);
	CHECK(fts_commit(f) == 0);
	/* A reader, as a worker opens it. */
	r = fts_open_reader(path, err, sizeof(err));
	CHECK(r != NULL);
	for (i = 0; r != NULL && i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].words);
		found(r, rows[i].words, out, sizeof(out), &total);
		CHECK_STR(out, rows[i].stems);
	}
	test_context("%s", "");
	fts_close(r);
	fts_close(f);
	unlink(path);
}

TEST(fts_search_ranks_and_pages)
{
	char path[512], out[512], text[256], name[64];
	struct fts *f = open_new(path, sizeof(path), "rank");
	struct fts_result r;
	long total;
	int i;

	if (f == NULL)
		return;
	CHECK(fts_begin(f) == 0);
	/* The body mentions come first by date; the title one is the oldest. */
	put(f, "2019-01-01-title.txt", "Title: Lighthouse\n\nA tall tower.\n", 1);
	for (i = 1; i <= 5; i++) {
		snprintf(name, sizeof(name), "2020-01-%02d-body.txt", i);
		snprintf(text, sizeof(text), "Title: Day %d\n\nWe saw the lighthouse.\n", i);
		put(f, name, text, 10 + i);
	}
	CHECK(fts_set_complete(f, true) == 0);
	CHECK(fts_commit(f) == 0);
	found(f, "lighthouse", out, sizeof(out), &total);
	CHECK_STR(out, "2019-01-01-title 2020-01-05-body 2020-01-04-body 2020-01-03-body "
	    "2020-01-02-body 2020-01-01-body");
	CHECK_INT(total, 6);
	/* A page of them, with the total and a snippet around the word. */
	CHECK(fts_search(f, "lighthouse", 2, 2, &r) == 0);
	CHECK_INT(r.status, FTS_FOUND);
	CHECK_INT(r.total, 6);
	CHECK_INT(r.n, 2);
	if (r.n == 2) {
		CHECK_STR(r.hits[0].stem, "2020-01-04-body");
		CHECK_STR(r.hits[0].title, "Day 4");
		CHECK_STR(r.hits[0].date, "2020-01-04");
		CHECK_STR(r.hits[0].snippet, "We saw the lighthouse.");
	}
	fts_result_free(&r);
	/* Replaced, then removed. */
	CHECK(fts_begin(f) == 0);
	put(f, "2020-01-05-body.txt", "Title: Day 5\n\nNothing to see.\n", 99);
	CHECK(fts_remove(f, "2020-01-04-body.txt") == 0);
	CHECK(fts_remove(f, "never-there.txt") == 0);
	CHECK(fts_commit(f) == 0);
	found(f, "lighthouse", out, sizeof(out), &total);
	CHECK_STR(out, "2019-01-01-title 2020-01-03-body 2020-01-02-body 2020-01-01-body");
	{
		int64_t n = (int64_t)strlen("Title: Day 5\n\nNothing to see.\n");
		struct index_file same = { 1, 99, n, 100, 0 }, other = { 1, 98, n, 100, 0 };
		CHECK(fts_has(f, "2020-01-05-body.txt", &same));
		CHECK(!fts_has(f, "2020-01-05-body.txt", &other));
		CHECK(!fts_has(f, "2020-01-04-body.txt", &same));
	}
	/* Not complete (a rebuild under way): the reader is told so. */
	CHECK(fts_begin(f) == 0);
	CHECK(fts_set_complete(f, false) == 0);
	CHECK(fts_commit(f) == 0);
	found(f, "lighthouse", out, sizeof(out), &total);
	CHECK_STR(out, "!");
	fts_close(f);
	unlink(path);
}

/*
 * Small pages of a word with many more matches are looked up hit by hit,
 * a large page in one query: both give the same hits in the same order.
 */
TEST(fts_search_small_pages_agree)
{
	char path[512], text[256], name[64], whole[2048], paged[2048];
	struct fts *f = open_new(path, sizeof(path), "agree");
	struct fts_result r;
	size_t i, n = 0, m = 0;
	long off;

	if (f == NULL)
		return;
	CHECK(fts_begin(f) == 0);
	for (i = 1; i <= 12; i++) {
		snprintf(name, sizeof(name), "2020-02-%02zu-tide.txt", i);
		snprintf(text, sizeof(text), "Title: %s %zu\n\n%s tide %s.\n", i % 4 ? "Notes" :
		    "Tide", i, i % 3 ? "The" : "A high", i % 2 ? "came in" : "and the tide went out");
		put(f, name, text, (int)(20 + i));
	}
	CHECK(fts_set_complete(f, true) == 0);
	CHECK(fts_commit(f) == 0);
	CHECK(fts_search(f, "tide", 0, 100, &r) == 0);
	CHECK_INT(r.total, 12);
	for (i = 0; i < r.n; i++)
		n += (size_t)snprintf(whole + n, sizeof(whole) - n, "%s|%s|%s\n", r.hits[i].stem,
		    r.hits[i].title, r.hits[i].snippet);
	fts_result_free(&r);
	for (off = 0; off < 12; off += 2) {
		CHECK(fts_search(f, "tide", off, 2, &r) == 0);
		CHECK_INT(r.total, 12);
		CHECK_INT(r.n, 2);
		for (i = 0; i < r.n; i++)
			m += (size_t)snprintf(paged + m, sizeof(paged) - m, "%s|%s|%s\n",
			    r.hits[i].stem, r.hits[i].title, r.hits[i].snippet);
		fts_result_free(&r);
	}
	CHECK_STR(paged, whole);
	fts_close(f);
	unlink(path);
}

TEST(fts_damaged_file_is_replaced)
{
	char path[512], err[256];
	struct fts *f = open_new(path, sizeof(path), "damaged");
	FILE *fp;

	if (f == NULL)
		return;
	CHECK(fts_current(f));
	fts_close(f);
	/* Not a database at all: the writer starts afresh, incomplete. */
	if ((fp = fopen(path, "w")) != NULL) {
		fputs("this is not an SQLite database, though it is long enough to look at\n", fp);
		fclose(fp);
	}
	f = fts_open_writer(path, err, sizeof(err));
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK(!fts_complete(f));
		CHECK(fts_current(f));
		unlink(path);
		CHECK(!fts_current(f));
	}
	fts_close(f);
	/* A reader of a missing file fails. */
	CHECK(fts_open_reader(path, err, sizeof(err)) == NULL);
}
