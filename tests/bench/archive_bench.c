/*
 * The archive at scale: writes N synthetic posts (default 100,000) over many
 * years into a scratch folder, scans them as the indexer does, builds the
 * index image and maps it as a worker does, and reports the scan and build
 * times, the image's size, and the time to build and render the home, a
 * month, a post and the largest tag's page as gemtext (median and p99 over
 * many rounds). Then the search index as the indexer keeps it: its build,
 * its size on disk, a restart's check of it, and searches of one, two and
 * three words and a phrase as a worker's search thread runs them.
 *
 *   archive-bench [-n posts] [-r rounds] [-k]   (-k keeps the scratch folder)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "doc.h"
#include "fts.h"
#include "gemtext.h"
#include "indexer.h"
#include "log.h"
#include "pages.h"
#include "postdir.h"
#include "store.h"
#include "text.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* A line of /proc/self/status in KiB ("VmRSS", "RssAnon"). */
static long
status_kib(const char *key)
{
	char line[256], fmt[64];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	snprintf(fmt, sizeof(fmt), "%s: %%ld kB", key);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, fmt, &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static long
rss_kib(void)
{
	return status_kib("VmRSS");
}

static const char *const words[] = {
	"north", "korea", "talks", "defectors", "border", "summit", "missile",
	"sanctions", "economy", "harvest", "river", "market", "village", "report",
};

/*
 * Body text drawn from a vocabulary of VOCAB words with Zipf's law, as in
 * natural language: the word of rank r has a chance 1/(r H) per word, so
 * the first few are in nearly every post and most are rare. The topical
 * words come first; the rest are made of syllables.
 */
#define VOCAB 5000
static char vocab[VOCAB][24];
static double zipf_cdf[VOCAB];

static void
make_vocab(void)
{
	static const char *const syl[] = { "ka", "ri", "mo", "sun", "tel", "bra", "vi", "no",
	    "ches", "lan", "dor", "pe", "gu", "han", "shi", "ta" };
	double h = 0;
	int r, k, v;

	for (r = 0; r < VOCAB; r++) {
		if (r < 14)
			snprintf(vocab[r], sizeof(vocab[r]), "%s", words[r]);
		else
			for (v = r, k = 0; k == 0 || v > 0; v /= 16, k++)
				strcat(vocab[r], syl[v % 16]);
		h += 1.0 / (r + 1);
		zipf_cdf[r] = h;
	}
	for (r = 0; r < VOCAB; r++)
		zipf_cdf[r] /= h;
}

/* A word by Zipf's law, from a uniform u in [0, 1). */
static const char *
zipf_word(double u)
{
	int lo = 0, hi = VOCAB - 1, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return vocab[lo];
}

static void
write_posts(const char *dir, long n)
{
	char path[1024], body[2048];
	unsigned long long rng = 88172645463325252ULL;
	long i;
	int y, m, d, fd, len, w;

	for (i = 0; i < n; i++) {
		/* Spread over 1990.. with a few posts a day. */
		long day = i / 3;
		y = 1990 + (int)(day / 336);
		m = 1 + (int)(day % 336) / 28;
		d = 1 + (int)(day % 28);
		snprintf(path, sizeof(path), "%s/%04d-%02d-%02d-post-%ld.txt", dir, y, m, d, i);
		len = snprintf(body, sizeof(body), "Title: Post number %ld about %s\n"
		    "Tags: %s, %s\nSource: Source %ld\n\n", i, words[i % 14], words[i % 14],
		    words[(i / 7) % 14], i % 50);
		for (w = 0; w < 120 && len < (int)sizeof(body) - 32; w++) {
			/* xorshift64: the same posts on every run. */
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			len += snprintf(body + len, sizeof(body) - len, "%s%s",
			    zipf_word((rng >> 11) * (1.0 / 9007199254740992.0)),
			    w % 12 == 11 ? ".\n" : " ");
		}
		len += snprintf(body + len, sizeof(body) - len, "\n");
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
		    write(fd, body, len) != len) {
			perror(path);
			exit(1);
		}
		close(fd);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

enum page { HOME, MONTH, POST, TAG };

/* The tag with the most posts: its page is the longest list there is. */
static const char *
largest_tag(const struct index *x)
{
	size_t i, best = 0;

	for (i = 1; i < x->ntags; i++)
		if (x->tags[i].n > x->tags[best].n)
			best = i;
	return x->ntags ? index_str(x, x->tags[best].key) : "";
}

/* Builds and renders one page; returns the bytes rendered. */
static size_t
render(struct store *s, enum page which, long post)
{
	const struct index *x = store_index(s);
	struct pages_site site = {
	    .title = "Bench", .description = "A benchmark capsule.",
	    .home_posts = 10, .page_size = 100, .host = "localhost", .gemini_port = 1965 };
	struct evbuffer *out = evbuffer_new();
	struct post full;
	struct doc d;
	size_t n;

	doc_init(&d);
	switch (which) {
	case HOME:
		pages_home(&d, &site, x);
		break;
	case MONTH:
		pages_month(&d, x, x->posts[post].year, x->posts[post].month, site.page_size, 1);
		break;
	case POST:
		if (store_load(s, &x->posts[post], &full) == STORE_LOADED) {
			pages_post(&d, &site, x, (size_t)post, &full);
			post_free(&full);
		}
		break;
	case TAG:
		pages_build(&d, &site, s, &(struct route){ .kind = ROUTE_TAG, .page = 1,
		    .name = largest_tag(x) });
		break;
	}
	gemtext_render(&d, out);
	n = evbuffer_get_length(out);
	doc_clear(&d);
	evbuffer_free(out);
	return n;
}

static void
measure(struct store *s, const char *name, enum page which, int rounds, long nposts)
{
	double *t = malloc(rounds * sizeof(*t)), t0;
	size_t bytes = 0;
	int i;

	for (i = 0; i < rounds; i++) {
		long post = (long)((i * 7919L) % nposts);
		t0 = now_us();
		bytes = render(s, which, post);
		t[i] = now_us() - t0;
	}
	qsort(t, rounds, sizeof(*t), cmp_double);
	printf("| %-6s | %8.1f | %8.1f | %7zu |\n", name, t[rounds / 2],
	    t[(int)(rounds * 0.99)], bytes);
	free(t);
}

/*
 * A post that is one line of a megabyte with no space (the default
 * max_post_size): parsed, then rendered as Gopher text and as a Gemini page.
 * Every renderer is linear, so this costs milliseconds, not seconds.
 */
static void
long_line(void)
{
	size_t n = 1 << 20, len;
	char *data = malloc(n + 32);
	struct pages_site site = {
	    .title = "Bench", .description = "",
	    .home_posts = 10, .page_size = 100, .host = "localhost", .gemini_port = 1965 };
	struct evbuffer *out;
	struct index_entry in;
	const char *why;
	struct index x;
	struct post p;
	struct doc d;
	double t0, t_text, t_gem;
	void *img;

	memcpy(data, "Title: Long\n\n", 14);
	memset(data + 14, 'x', n);
	if (post_parse("2020-01-01-long.txt", data, n + 14, 0, POST_FULL, &p, &why) == -1)
		return;
	out = evbuffer_new();
	t0 = now_us();
	text_post(&p, out);
	t_text = now_us() - t0;
	evbuffer_drain(out, evbuffer_get_length(out));
	in = (struct index_entry){ "2020-01-01-long.txt", &p, { 0, 1, 0, 0, 0 } };
	img = index_build(&in, 1, NULL, 0, 1, &len);
	index_map(img, len, &x, &why);
	t0 = now_us();
	doc_init(&d);
	pages_post(&d, &site, &x, 0, &p);
	gemtext_render(&d, out);
	t_gem = now_us() - t0;
	doc_clear(&d);
	printf("| a 1 MiB post of one line: Gopher text | %.1f ms |\n", t_text / 1e3);
	printf("| the same as a Gemini page | %.1f ms |\n\n", t_gem / 1e3);
	free(img);
	post_free(&p);
	evbuffer_free(out);
	free(data);
}

struct fill {
	struct fts *fts;
	struct postdir *pd;
	size_t read;
};

/* What the indexer does with a touched name, unconfined. */
static void
fill_one(void *arg, const char *name)
{
	struct fill *f = arg;

	indexer_sync_name(f->fts, f->pd, name, &f->read);
}

/* Brings the index in step with every post, in batches of 500 as a rebuild does. */
static void
fill(struct fill *f)
{
	postdir_touch_all(f->pd);
	while (postdir_touched(f->pd)) {
		fts_begin(f->fts);
		postdir_take_touched(f->pd, 500, fill_one, f);
		fts_commit(f->fts);
	}
}

static void
search_row(struct fts *r, const char *what, const char *const *queries, int nq, int rounds)
{
	double *t = malloc(rounds * sizeof(*t)), t0;
	struct fts_result res;
	long total = 0;
	int i;

	for (i = 0; i < rounds; i++) {
		t0 = now_us();
		fts_search(r, queries[i % nq], 0, 100, &res);
		t[i] = now_us() - t0;
		total = res.total;
		fts_result_free(&res);
	}
	qsort(t, rounds, sizeof(*t), cmp_double);
	printf("| %s (\"%s\": %ld found) | %.2f | %.2f |\n", what, queries[0], total,
	    t[rounds / 2] / 1e3, t[(int)(rounds * 0.99)] / 1e3);
	free(t);
}

/*
 * The search index of the posts: built from scratch as a rebuild does, then
 * checked whole as at a restart (a lookup a post, nothing read), then
 * searched as a worker's thread does: the count and the first page of 100,
 * ranked, with snippets.
 */
static void
search_bench(const char *dir, struct postdir *pd, int rounds)
{
	/* By rank: 1 is in nearly every post, 15 in about half, 150 in 1 in 10, 1500 in 1 in 100. */
	const char *common[] = { vocab[0], vocab[1], vocab[2] };
	const char *half[] = { vocab[14], vocab[15], vocab[16] };
	const char *tenth[] = { vocab[150], vocab[151], vocab[152] };
	const char *hundredth[] = { vocab[1500], vocab[1501], vocab[1502] };
	char two_buf[3][3 * 24], three_buf[3][4 * 24], phrase_buf[3][3 * 24];
	/* Each vocabulary word is under 24 bytes: these fit. */
	const char *two[3], *three[3], *phrase[3];
	int q;
	char path[128], err[256];
	struct fill f = { NULL, pd, 0 };
	struct fts *r;
	struct stat st;
	double t0, t_build, t_check;
	long rss0, file0;
	size_t built;

	snprintf(path, sizeof(path), "%s/search.db", dir);
	if ((f.fts = fts_open_writer(path, err, sizeof(err))) == NULL) {
		printf("search index: %s\n", err);
		return;
	}
	t0 = now_us();
	fill(&f);
	fts_begin(f.fts);
	fts_set_complete(f.fts, true);
	fts_commit(f.fts);
	t_build = now_us() - t0;
	built = f.read;
	fts_close(f.fts);
	/* A restart: the index is there; each post is looked up, none read. */
	t0 = now_us();
	f.fts = fts_open_writer(path, err, sizeof(err));
	f.read = 0;
	if (f.fts != NULL)
		fill(&f);
	t_check = now_us() - t0;
	fts_close(f.fts);
	printf("\n| search index | value |\n|---|---|\n");
	printf("| built from scratch | %.1f s (%zu posts read) |\n", t_build / 1e6, built);
	printf("| size on disk | %.1f MiB |\n", stat(path, &st) == 0 ?
	    st.st_size / (1024.0 * 1024.0) : -1.0);
	printf("| a restart's check, index built | %.0f ms (%zu posts read again) |\n",
	    t_check / 1e3, f.read);
	rss0 = status_kib("RssAnon");
	file0 = status_kib("RssFile");
	if ((r = fts_open_reader(path, err, sizeof(err))) == NULL) {
		printf("reader: %s\n", err);
		return;
	}
	for (q = 0; q < 3; q++) {
		snprintf(two_buf[q], sizeof(two_buf[q]), "%.23s %.23s", vocab[14 + q], vocab[60 + q]);
		snprintf(three_buf[q], sizeof(three_buf[q]), "%.23s %.23s %.23s", vocab[3 + q],
		    vocab[30 + q], vocab[300 + q]);
		snprintf(phrase_buf[q], sizeof(phrase_buf[q]), "\"%.23s %.23s\"", vocab[q],
		    vocab[10 + q]);
		two[q] = two_buf[q];
		three[q] = three_buf[q];
		phrase[q] = phrase_buf[q];
	}
	printf("\n| search: count + first 100 ranked, snippets | median ms | p99 ms |\n"
	    "|---|---|---|\n");
	search_row(r, "one word, in nearly every post", common, 3, rounds);
	search_row(r, "one word, in about half", half, 3, rounds);
	search_row(r, "one word, in 1 post in 10", tenth, 3, rounds);
	search_row(r, "one word, in 1 post in 100", hundredth, 3, rounds);
	search_row(r, "two words", two, 3, rounds);
	search_row(r, "three words", three, 3, rounds);
	search_row(r, "a phrase", phrase, 3, rounds);
	printf("| a reader's own memory, the index open and searched (RssAnon growth) | %.1f MiB "
	    "|\n| ... and pages of the index file in its memory (RssFile growth) | %.1f MiB |\n",
	    (status_kib("RssAnon") - rss0) / 1024.0, (status_kib("RssFile") - file0) / 1024.0);
	fts_close(r);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/gazette-archive-bench.XXXXXX", posts[64], cmd[128];
	long n = 100000, rss0, rss1;
	int rounds = 1000, keep = 0, ch, rootfd, fd;
	size_t posts_n, skipped_n, size;
	struct postdir *pd;
	struct store *s;
	char err[256];
	double t0, t_write, t_scan, t_build;
	void *img;

	while ((ch = getopt(argc, argv, "n:r:k")) != -1) {
		if (ch == 'n')
			n = atol(optarg);
		else if (ch == 'r')
			rounds = atoi(optarg);
		else if (ch == 'k')
			keep = 1;
		else {
			fprintf(stderr, "usage: archive-bench [-n posts] [-r rounds] [-k]\n");
			return 2;
		}
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(posts, sizeof(posts), "%s/posts", dir);
	mkdir(posts, 0755);
	make_vocab();
	t0 = now_us();
	write_posts(posts, n);
	t_write = now_us() - t0;
	/* Cold-ish: the files were just written, so this measures parsing, not disk. */
	log_open("/dev/null");
	rss0 = rss_kib();
	rootfd = open(dir, O_RDONLY | O_DIRECTORY);
	t0 = now_us();
	if ((pd = postdir_new(rootfd, 1 << 20, "bench")) == NULL) {
		fprintf(stderr, "postdir_new failed\n");
		return 1;
	}
	postdir_follow(pd);
	postdir_rescan(pd);
	postdir_counts(pd, &posts_n, &skipped_n);
	t_scan = now_us() - t0;
	rss1 = rss_kib();
	t0 = now_us();
	img = postdir_image(pd, 1, &size);
	t_build = now_us() - t0;
	if (img == NULL || (fd = indexer_seal(img, size)) == -1) {
		fprintf(stderr, "building the image failed\n");
		return 1;
	}
	free(img);
	s = store_new(rootfd, 1 << 20);
	if (s == NULL || store_set_image(s, fd, err, sizeof(err)) == -1) {
		fprintf(stderr, "mapping the image failed: %s\n", s ? err : "out of memory");
		return 1;
	}
	close(fd);
	printf("archive bench: %ld posts written in %.1f s\n\n", n, t_write / 1e6);
	printf("| measure | value |\n|---|---|\n");
	printf("| indexer: start-up scan | %.0f ms (%zu posts indexed, %zu skipped) |\n",
	    t_scan / 1e3, posts_n, skipped_n);
	printf("| indexer: memory of its records (RSS growth) | %.1f MiB |\n",
	    (rss1 - rss0) / 1024.0);
	printf("| indexer: image build | %.0f ms |\n", t_build / 1e3);
	printf("| index image, shared by every worker | %.1f MiB |\n",
	    size / (1024.0 * 1024.0));
	long_line();
	printf("| page   | median µs | p99 µs | bytes |\n|---|---|---|---|\n");
	measure(s, "home", HOME, rounds, (long)posts_n);
	measure(s, "month", MONTH, rounds, (long)posts_n);
	measure(s, "post", POST, rounds, (long)posts_n);
	measure(s, "tag", TAG, rounds, (long)posts_n);
	search_bench(dir, pd, rounds);
	store_free(s);
	postdir_free(pd);
	close(rootfd);
	if (!keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	} else
		printf("\nkept %s\n", dir);
	return 0;
}
