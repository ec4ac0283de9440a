/*
 * A reader's search words, any bytes: what fts_match makes of them is never
 * FTS5 syntax of the reader's own, so a search over a real index either finds
 * posts or says there was nothing to search for, never an SQL error (which
 * would show as "being rebuilt"). The expression always fits its buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fts.h"
#include "fuzz.h"
#include "post.h"
#include "utf8.h"

static const char *const posts[][2] = {
	{ "2020-01-01-talks.txt", "Title: Talks at the border\nTags: korea\n\n"
	    "North Korea’s envoy met the café owners. \"Kim Jong Un\" said no.\n" },
	{ "2020-02-01-korean.txt", "Title: 북한 소식\n\n북한은 오늘 회담을 열었다. 朝鲜半岛.\n" },
	{ "2020-03-01-words.txt", "Title: AND OR NOT NEAR\n\ncol:word {title}: ^start - + ( ) *\n" },
};

/* One index for the whole run, in memory: filled once. */
static struct fts *
index_once(void)
{
	static struct fts *f;
	struct index_file file = { 1, 0, 0, 100, 0 };
	char err[256];
	const char *why;
	struct post p;
	size_t i;

	if (f != NULL)
		return f;
	if ((f = fts_open_writer(":memory:", err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_search: %s\n", err);
		abort();
	}
	fts_begin(f);
	for (i = 0; i < sizeof(posts) / sizeof(posts[0]); i++) {
		file.ino = i + 1;
		file.size = (int64_t)strlen(posts[i][1]);
		if (post_parse(posts[i][0], posts[i][1], strlen(posts[i][1]), 0, POST_FULL, &p,
		    &why) != 0 || fts_put(f, posts[i][0], &file, &p) != 0)
			abort();
		post_free(&p);
	}
	fts_set_complete(f, true);
	fts_commit(f);
	return f;
}

FUZZ_TARGET(search)
{
	struct fts *f = index_once();
	char out[FTS_MATCH_MAX], *words;
	struct fts_result r;
	size_t n;

	n = fts_match(f, (const char *)data, size, out, sizeof(out));
	EXPECT(n < sizeof(out) && strlen(out) == n);
	/* Words reach a search as UTF-8 without NUL (the resolver sees to that). */
	if (memchr(data, '\0', size) != NULL || !utf8_valid((const char *)data, size))
		return 0;
	if ((words = malloc(size + 1)) == NULL)
		return 0;
	memcpy(words, data, size);
	words[size] = '\0';
	EXPECT(fts_search(f, words, 0, 10, &r) == 0);
	EXPECT(r.status == (n == 0 ? FTS_NO_WORDS : FTS_FOUND));
	EXPECT(r.n <= 10 && (long)r.n <= r.total);
	fts_result_free(&r);
	free(words);
	return 0;
}
