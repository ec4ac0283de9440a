/*
 * Titan's path parameters (titan://HOST/PATH;size=N;mime=T;token=T), the
 * names an upload may write, and new posts' names from a reader's words.
 */
#include <string.h>

#include "test.h"
#include "titan.h"

TEST(titan_params_table)
{
	static const struct {
		const char *path;
		const char *err;	/* NULL: accepted */
		size_t pathlen;
		long long size;
		const char *mime, *token;
	} rows[] = {
		{ "/posts/a.txt;size=12", NULL, 12, 12, "", "" },
		{ "/posts/a.txt;mime=text/plain;size=0;token=t0k", NULL, 12, 0, "text/plain", "t0k" },
		{ "/posts/a.txt;token=;size=3", NULL, 12, 3, "", "" },
		{ "/posts/a.txt;size=999999999999", NULL, 12, 999999999999LL, "", "" },
		{ "/posts/a.txt", "Titan upload without ;size=", 0, 0, "", "" },
		{ "/posts/a.txt;mime=text/plain", "Titan upload without ;size=", 0, 0, "", "" },
		{ "/posts/a.txt;size=", "Titan size is not a number of bytes", 0, 0, "", "" },
		{ "/posts/a.txt;size=+1", "Titan size is not a number of bytes", 0, 0, "", "" },
		{ "/posts/a.txt;size=1000000000000", "Titan size is not a number of bytes", 0, 0,
		    "", "" },
		{ "/posts/a.txt;size=1;size=1", "Titan size given twice", 0, 0, "", "" },
		{ "/posts/a.txt;size=1;;", "Titan parameters are name=value, separated by ';'", 0,
		    0, "", "" },
		{ "/posts/a.txt;size=1;=x", "Titan parameters are name=value, separated by ';'", 0,
		    0, "", "" },
		{ "/posts/a.txt;size=1;charset=utf-8",
		    "Unknown Titan parameter: only size, mime and token", 0, 0, "", "" },
		{ "/posts/a.txt;SIZE=1", "Unknown Titan parameter: only size, mime and token", 0,
		    0, "", "" },
		{ "/posts/a.txt;size=1;token=a;token=a", "Titan token given twice", 0, 0, "", "" },
	};
	struct titan_params p;
	size_t i, pathlen;
	const char *err;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].path);
		pathlen = 0;
		err = titan_parse(rows[i].path, &pathlen, &p);
		CHECK_STR(err, rows[i].err);
		if (rows[i].err != NULL)
			continue;
		CHECK_INT(pathlen, rows[i].pathlen);
		CHECK_INT(p.size, rows[i].size);
		CHECK_STR(p.mime, rows[i].mime);
		CHECK_STR(p.token, rows[i].token);
	}
}

TEST(titan_names)
{
	static const struct {
		const char *name;
		bool ok;
	} rows[] = {
		{ "2026-12-05-city.txt", true }, { "a_b.c-d.txt", true }, { "x.txt", true },
		{ ".txt", false }, { ".hidden.txt", false }, { "a.md", false }, { "a b.txt", false },
		{ "caf\xc3\xa9.txt", false }, { "a/b.txt", false }, { "a.txt/", false },
	};
	char name[TITAN_NAME_MAX + 20];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].name);
		CHECK(titan_post_name(rows[i].name) == rows[i].ok);
	}
	test_context(NULL);
	memset(name, 'a', TITAN_NAME_MAX - 4);
	strcpy(name + TITAN_NAME_MAX - 4, ".txt");
	CHECK(titan_post_name(name));
	strcpy(name + TITAN_NAME_MAX - 3, ".txt");
	CHECK(!titan_post_name(name));
}

TEST(titan_new_names)
{
	static const struct {
		const char *words;
		const char *want;	/* NULL: no name */
	} rows[] = {
		{ "City council vote", "2026-12-05-city-council-vote.txt" },
		{ "  --Kim's 36th!! ", "2026-12-05-kim-s-36th.txt" },
		{ "caf\xc3\xa9 au lait", "2026-12-05-caf-au-lait.txt" },
		{ "", NULL }, { " ?! ", NULL }, { "\xe2\x80\x99", NULL },
	};
	char name[TITAN_NAME_MAX + 1], words[400];
	const long long day = 1796428800LL;	/* 2026-12-05 */
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].words);
		CHECK(titan_new_name(rows[i].words, day, name, sizeof(name)) ==
		    (rows[i].want != NULL));
		if (rows[i].want != NULL)
			CHECK_STR(name, rows[i].want);
	}
	test_context(NULL);
	/* Long words: cut to a name an upload may write, no '-' left at the cut. */
	memset(words, 'w', sizeof(words) - 1);
	words[sizeof(words) - 1] = '\0';
	words[194] = ' ';
	CHECK(titan_new_name(words, day, name, sizeof(name)));
	CHECK(titan_post_name(name) && strlen(name) <= TITAN_NAME_MAX);
	CHECK(!titan_new_name("words", day, name, 10));
}

TEST(titan_folder_lists)
{
	static const struct {
		const char *list;
		int n;			/* -1: refused */
		const char *last;	/* the last folder */
	} rows[] = {
		{ "", 1, "posts" },
		{ "/images/", 2, "images" },
		{ "  /images/ \t/docs/pdf/ ", 3, "docs/pdf" },
		{ "/images", -1, NULL }, { "images/", -1, NULL }, { "/", -1, NULL },
		{ "//", -1, NULL }, { "/a//b/", -1, NULL }, { "/.git/", -1, NULL },
		{ "/a/../b/", -1, NULL }, { "/posts/", -1, NULL }, { "/posts/img/", -1, NULL },
		{ "/pics space/", -1, NULL }, { "/caf\xc3\xa9/", -1, NULL },
		{ "/postscript/", 2, "postscript" },
		{ "/a/ /b/ /c/ /d/ /e/ /f/ /g/ /h/", 9, "h" },
		{ "/a/ /b/ /c/ /d/ /e/ /f/ /g/ /h/ /i/", -1, NULL },
	};
	char folders[TITAN_FOLDERS_MAX + 1][TITAN_FOLDER_MAX];
	const char *why;
	size_t i;
	int n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].list);
		n = titan_folders(rows[i].list, folders, &why);
		CHECK_INT(n, rows[i].n);
		if (n > 0) {
			CHECK_STR(folders[0], "posts");
			CHECK_STR(folders[n - 1], rows[i].last);
		} else
			CHECK(strncmp(why, "titan_files: ", 13) == 0);
	}
}

/*
 * The names .versions/ keeps versions under: made, taken back only for
 * their own file (never another whose name starts the same), in time order.
 */
TEST(titan_version_names)
{
	static const struct {
		const char *entry;
		bool ours;
		int i;
	} rows[] = {
		{ "a.txt.20261205T210000.000000001Z", true, 0 },
		{ "a.txt.20261205T210000.000000001Z-1", true, 1 },
		{ "a.txt.20261205T210000.000000001Z-99", true, 99 },
		{ "a.txt.20261205T210000.000000001Z-0", false, 0 },
		{ "a.txt.20261205T210000.000000001Z-100", false, 0 },
		{ "a.txt.20261205T210000.000000001Z.bak", false, 0 },
		{ "a.txt.20000101T0.txt.20261205T210000.000000001Z", false, 0 },
		{ "a.txt.20261205T2100.000000001Z", false, 0 },
		{ "a.txt.2026120xT210000.000000001Z", false, 0 },
		{ "a.txt", false, 0 },
		{ "b.txt.20261205T210000.000000001Z", false, 0 },
	};
	const char *order[] = {
		"a.txt.20251231T235959.999999999Z", "a.txt.20261205T210000.000000001Z",
		"a.txt.20261205T210000.000000001Z-2", "a.txt.20261205T210000.000000001Z-10",
		"a.txt.20261205T210000.000000002Z",
	};
	const char *stamp, *sa, *sb;
	char made[300];
	size_t k;
	int i, ia, ib;

	for (k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		test_context("%s", rows[k].entry);
		i = -1;
		CHECK(titan_version_of(rows[k].entry, "a.txt", &stamp, &i) == rows[k].ours);
		if (rows[k].ours)
			CHECK_INT(i, rows[k].i);
	}
	test_context(NULL);
	/* What titan_version_name makes, titan_version_of takes back. */
	CHECK_INT(titan_version_name(made, sizeof(made), "a.txt", 1796504400LL, 1, 0), 0);
	CHECK_STR(made, "a.txt.20261205T210000.000000001Z");
	CHECK_INT(titan_version_name(made, sizeof(made), "a.txt", 1796504400LL, 1, 10), 0);
	CHECK(titan_version_of(made, "a.txt", &stamp, &i) && i == 10);
	CHECK_INT(titan_version_name(made, 20, "a.txt", 1796504400LL, 1, 0), -1);
	CHECK_INT(titan_version_name(made, sizeof(made), "a.txt", 1796504400LL, 1, 100), -1);
	/* Time order, "-10" after "-2". */
	for (k = 0; k + 1 < sizeof(order) / sizeof(order[0]); k++) {
		test_context("%s < %s", order[k], order[k + 1]);
		CHECK(titan_version_of(order[k], "a.txt", &sa, &ia) &&
		    titan_version_of(order[k + 1], "a.txt", &sb, &ib));
		CHECK(titan_version_cmp(sa, ia, sb, ib) < 0 && titan_version_cmp(sb, ib, sa, ia) > 0);
		CHECK_INT(titan_version_cmp(sa, ia, sa, ia), 0);
	}
	test_context(NULL);
}
