/*
 * The archive at scale: writes N synthetic posts (default 100,000) over many
 * years into a scratch folder, scans them as the indexer does, builds the
 * index image and maps it as a worker does, and reports the scan and build
 * times, the image's size, and the time to build and render the home, a
 * month and a post page as gemtext (median and p99 over many rounds).
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

/* Resident set size in KiB, from /proc/self/status. */
static long
rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static const char *const words[] = {
	"north", "korea", "talks", "defectors", "border", "summit", "missile",
	"sanctions", "economy", "harvest", "river", "market", "village", "report",
};

static void
write_posts(const char *dir, long n)
{
	char path[1024], body[2048];
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
		for (w = 0; w < 120 && len < (int)sizeof(body) - 16; w++)
			len += snprintf(body + len, sizeof(body) - len, "%s%s",
			    words[(i + w) % 14], w % 12 == 11 ? ".\n" : " ");
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

enum page { HOME, MONTH, POST };

/* Builds and renders one page; returns the bytes rendered. */
static size_t
render(struct store *s, enum page which, long post)
{
	const struct index *x = store_index(s);
	struct pages_site site = { "Bench", "A benchmark capsule.", 10, 100, "localhost", 1965 };
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
	struct pages_site site = { "Bench", "", 10, 100, "localhost", 1965 };
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
