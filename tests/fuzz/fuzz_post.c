/*
 * The post parser on arbitrary bytes, in both modes: whatever comes in, what
 * comes out is valid UTF-8 without control characters, dates are real dates,
 * and the metadata parse agrees with the full one. The bytes are also tried
 * as a file name and a modification time.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "post.h"
#include "utf8.h"

#ifdef FUZZ_LIBFUZZER
#define FUZZ_CHECK(cond)                                                      \
	do {                                                                  \
		if (!(cond))                                                  \
			abort();                                              \
	} while (0)
#else
#define FUZZ_CHECK(cond) CHECK(cond)
#endif

/* Valid UTF-8 with no control character but those allowed. */
static bool
clean(const char *s, bool newline, bool tab)
{
	size_t n = strlen(s), i, k;
	uint32_t cp;

	for (i = 0; i < n; i += k) {
		if ((k = utf8_decode(s + i, n - i, &cp)) == 0)
			return false;
		if ((cp < 0x20 && !(cp == '\n' && newline) && !(cp == '\t' && tab)) ||
		    (cp >= 0x7f && cp < 0xa0))
			return false;
	}
	return true;
}

static bool
same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static void
check_post(const struct post *p)
{
	static const int mdays[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const struct post_block *b;
	size_t i, j, n;

	FUZZ_CHECK(p->title != NULL && p->title[0] != '\0');
	FUZZ_CHECK(p->title == NULL || (clean(p->title, false, false) &&
	    strlen(p->title) <= POST_TITLE_MAX));
	FUZZ_CHECK(p->slug != NULL && clean(p->slug, false, false));
	FUZZ_CHECK(p->author == NULL || (clean(p->author, false, false) &&
	    strlen(p->author) <= POST_NAME_MAX));
	FUZZ_CHECK(p->source == NULL || (clean(p->source, false, false) &&
	    strlen(p->source) <= POST_NAME_MAX));
	FUZZ_CHECK(p->ntags <= POST_TAGS_MAX);
	for (i = 0; i < p->ntags; i++) {
		FUZZ_CHECK(clean(p->tags[i], false, false));
		FUZZ_CHECK(p->tags[i][0] != '\0' && strlen(p->tags[i]) <= POST_TAG_MAX);
		FUZZ_CHECK(strchr(p->tags[i], ',') == NULL);
	}
	FUZZ_CHECK(p->year >= 1 && p->year <= 9999);
	FUZZ_CHECK(p->month >= 1 && p->month <= 12);
	FUZZ_CHECK(p->month < 1 || p->month > 12 ||
	    (p->day >= 1 && p->day <= mdays[p->month]));
	FUZZ_CHECK(p->hour >= 0 && p->hour <= 23 && p->minute >= 0 && p->minute <= 59);
	FUZZ_CHECK(p->second >= 0 && p->second <= 59);
	for (i = 0; i < p->nblocks; i++) {
		b = &p->blocks[i];
		n = strlen(b->text);
		FUZZ_CHECK(n > 0);
		FUZZ_CHECK(clean(b->text, b->type == POST_PRE, b->type == POST_PRE));
		if (b->type == POST_PRE)
			FUZZ_CHECK(n == 0 || (b->text[0] != '\n' && b->text[n - 1] != '\n'));
		else
			FUZZ_CHECK(n == 0 || (b->text[0] != ' ' && b->text[n - 1] != ' ' &&
			    strstr(b->text, "  ") == NULL));
		FUZZ_CHECK(b->nurls <= POST_URLS_MAX);
		FUZZ_CHECK((b->nurls == 0) == (b->urls == NULL));
		for (j = 0; j < b->nurls; j++)
			FUZZ_CHECK(strstr(b->text, b->urls[j]) != NULL);
		/* A gemtext link's text: only a link has one, one space between words. */
		FUZZ_CHECK(b->label == NULL || (b->type == POST_LINK && b->label[0] != '\0' &&
		    clean(b->label, false, false) && b->label[0] != ' ' &&
		    b->label[strlen(b->label) - 1] != ' ' && strstr(b->label, "  ") == NULL));
		FUZZ_CHECK(b->type != POST_LINK || strpbrk(b->text, " \t") == NULL);
	}
}

FUZZ_TARGET(post)
{
	const char *why, *why_meta;
	struct post full, meta;
	int y, mo, d, h, mi, s;
	bool has_time;
	long long mtime;
	char name[48];
	size_t i, n;
	int r;

	r = post_parse("2020-01-08-fuzz.txt", (const char *)data, size, 1578441600LL,
	    POST_FULL, &full, &why);
	FUZZ_CHECK(post_parse("2020-01-08-fuzz.txt", (const char *)data, size, 1578441600LL,
	    POST_META, &meta, &why_meta) == r);
	if (r == 0) {
		check_post(&full);
		check_post(&meta);
		FUZZ_CHECK(meta.nblocks == 0 && meta.blocks == NULL);
		FUZZ_CHECK(same(full.title, meta.title) && same(full.source, meta.source));
		FUZZ_CHECK(same(full.author, meta.author) && same(full.slug, meta.slug));
		FUZZ_CHECK(full.year == meta.year && full.month == meta.month &&
		    full.day == meta.day && full.second == meta.second);
		FUZZ_CHECK(full.date_source == meta.date_source);
		FUZZ_CHECK(full.ntags == meta.ntags);
		for (i = 0; i < full.ntags && i < meta.ntags; i++)
			FUZZ_CHECK(same(full.tags[i], meta.tags[i]));
		/* What the metadata parse warns about, the full one does too. */
		FUZZ_CHECK((meta.warnings & ~full.warnings) == 0);
	} else
		FUZZ_CHECK(why != NULL && full.title == NULL && full.blocks == NULL);
	post_free(&full);
	post_free(&meta);
	/* The same bytes as a file name and a modification time. */
	n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data, n);
	name[n] = '\0';
	memset(&mtime, 0, sizeof(mtime));
	memcpy(&mtime, data, size < sizeof(mtime) ? size : sizeof(mtime));
	if (post_parse(name, (const char *)data, size, mtime, POST_META, &meta, &why) == 0)
		check_post(&meta);
	post_free(&meta);
	/* The date parser on the same bytes. */
	if (post_date_parse((const char *)data, size, &y, &mo, &d, &h, &mi, &s,
	    &has_time) == 0)
		FUZZ_CHECK(mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 &&
		    s <= 59 && y >= 1);
	return 0;
}
