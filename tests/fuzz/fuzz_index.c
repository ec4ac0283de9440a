/*
 * The post index image: a worker maps what the indexer sent, so index_map
 * must refuse any image that could lead a reader outside it, and everything
 * a reader then does (every post, month, tag and string, every lookup) must
 * stay inside. With a first byte of 0 the rest is taken as an image; else it
 * describes posts (names, titles, dates, tags) that are built into one,
 * which must map and give back what went in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "index.h"

/*
 * Reads everything a page builder could; ASan sees any step outside. Lookups
 * must find every post in an image the builder made (ours); in any other,
 * they need only stay inside.
 */
static void
walk(const struct index *x, bool ours)
{
	size_t i, j, sum = 0;
	const char *s;

	for (i = 0; i < x->nposts; i++) {
		const struct index_post *p = &x->posts[i];
		struct index_meta m;
		s = index_str(x, p->stem);
		if (index_find_post(x, s) < 0)
			EXPECT(!ours);
		sum += strlen(index_str(x, p->title)) + strlen(index_str(x, p->slug));
		for (j = 0; j < p->ntags; j++)
			sum += strlen(index_post_tag(x, p, j));
		EXPECT(index_post_meta(x, p, &m)->ntags == p->ntags);
		EXPECT(x->by_stem[i] < x->nposts);
	}
	for (i = 0; i < x->nmonths; i++) {
		const struct index_month *m = &x->months[i];
		EXPECT(m->first + m->count <= x->nposts);
		(void)index_find_month(x, m->year, m->month);
		(void)index_find_year(x, m->year);
	}
	for (i = 0; i < x->ntags; i++) {
		const struct index_tag *t = &x->tags[i];
		sum += strlen(index_str(x, t->name));
		(void)index_find_tag(x, index_str(x, t->key));
		for (j = 0; j < t->n; j++)
			EXPECT(x->pool[t->posts + j] < x->nposts);
	}
	for (i = 0; i < x->nskipped; i++)
		sum += strlen(index_str(x, x->skipped[i].name));
	(void)sum;
}

static void
check_image(const uint8_t *data, size_t size)
{
	struct index x;
	const char *why;
	/* malloc'd, so aligned as mmap's pages are; exact size, so overreads show. */
	void *img = malloc(size ? size : 1);

	if (img == NULL)
		return;
	memcpy(img, data, size);
	if (index_map(img, size, &x, &why) == 0)
		walk(&x, false);
	free(img);
}

#define MAX_POSTS 16

/* Posts made from the bytes; built, mapped, and compared with what went in. */
static void
check_build(const uint8_t *data, size_t size)
{
	char names[MAX_POSTS][48], titles[MAX_POSTS][32], tagtext[MAX_POSTS][4][8];
	char *tags[MAX_POSTS][4];
	struct post metas[MAX_POSTS];
	struct index_entry in[MAX_POSTS];
	size_t n = 0, i, j, k = 0, len;
	struct index x;
	const char *why;
	void *img;

	memset(metas, 0, sizeof(metas));
	while (n < MAX_POSTS && k + 6 <= size) {
		const uint8_t *d = data + k;
		struct post *p = &metas[n];
		k += 6;
		p->year = 1990 + d[0] % 40;
		p->month = 1 + d[1] % 12;
		p->day = 1 + d[2] % 28;
		snprintf(names[n], sizeof(names[n]), "%04d-%02d-%02d-p%zu-%u.txt", p->year,
		    p->month, p->day, n, d[3]);
		len = (size_t)snprintf(titles[n], sizeof(titles[n]), "Title %u %zu", d[4], n);
		(void)len;
		p->title = titles[n];
		p->slug = names[n] + 11;
		p->ntags = d[5] % 5;
		for (j = 0; j < p->ntags; j++) {
			/* Few distinct tags, in any case, so that they merge. */
			snprintf(tagtext[n][j], sizeof(tagtext[n][j]), "%c%u",
			    (d[5] >> j) & 1 ? 'T' : 't', (unsigned)((d[4] + j) % 3));
			tags[n][j] = tagtext[n][j];
		}
		p->tags = p->ntags ? tags[n] : NULL;
		p->source = d[3] % 3 == 0 ? "Wire" : NULL;
		in[n] = (struct index_entry){ names[n], p, { n, n, (int64_t)n, 0, 0 } };
		n++;
	}
	if ((img = index_build(in, n, NULL, 0, 7, &len)) == NULL)
		return;
	EXPECT(index_map(img, len, &x, &why) == 0);
	if (index_map(img, len, &x, &why) == 0) {
		EXPECT(x.version == 7);
		EXPECT(x.nposts == n);
		for (i = 0; i < n; i++) {
			char stem[48];
			long at;
			memcpy(stem, names[i], strlen(names[i]) - 4);
			stem[strlen(names[i]) - 4] = '\0';
			at = index_find_post(&x, stem);
			EXPECT(at >= 0);
			if (at >= 0)
				EXPECT(strcmp(index_str(&x, x.posts[at].title), titles[i]) == 0);
		}
		/* Oldest first, and the months add up. */
		for (i = 1; i < x.nposts; i++)
			EXPECT(x.posts[i - 1].when <= x.posts[i].when);
		for (i = 0, k = 0; i < x.nmonths; i++)
			k += x.months[i].count;
		EXPECT(k == n);
		walk(&x, true);
	}
	free(img);
}

FUZZ_TARGET(index)
{
	if (size == 0)
		return 0;
	if (data[0] == 0)
		check_image(data + 1, size - 1);
	else
		check_build(data + 1, size - 1);
	return 0;
}
