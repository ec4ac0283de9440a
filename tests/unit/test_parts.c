/*
 * The small parts with no protocol of their own: the page cache (versions,
 * budget, eviction, pages still being sent), the string map (growth,
 * tombstones), the shared table of client limits (its window, ledgers), the
 * index image (what goes in comes out; lookups), the access log's escaping
 * and the Atom feed.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "atom.h"
#include "cache.h"
#include "index.h"
#include "log.h"
#include "quota.h"
#include "strmap.h"
#include "test.h"

static struct evbuffer *
page(const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, text, strlen(text));
	return b;
}

static char *
take(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

TEST(cache_versions_budget_and_refs)
{
	struct cache *c = cache_new(100);
	struct evbuffer *a = page("20 a\r\n0123456789"), *big, *whole, *out = evbuffer_new();
	char *s, text[200];

	/* Nothing for a version it has not seen; a page kept under one is sent by reference. */
	CHECK_INT(cache_send(c, 1, "k", out), -1);
	cache_put(c, 1, "k", 20, a);
	CHECK_INT(cache_send(c, 1, "k", out), 20);
	s = take(out);
	CHECK_STR(s, "20 a\r\n0123456789");
	free(s);
	/* A page over the budget is not kept at all; one that fills it pushes all out. */
	memset(text, 'x', 150);
	text[150] = '\0';
	big = page(text);
	cache_put(c, 1, "big", 20, big);
	CHECK_INT(cache_send(c, 1, "big", out), -1);
	text[100] = '\0';
	whole = page(text);
	cache_put(c, 1, "whole", 20, whole);
	CHECK_INT(cache_send(c, 1, "k", out), -1);
	CHECK_INT(cache_send(c, 1, "whole", out), 20);
	evbuffer_drain(out, evbuffer_get_length(out));
	/* Past the budget, the oldest go first. */
	for (int i = 0; i < 12; i++) {
		char key[16];
		snprintf(key, sizeof(key), "p%d", i);
		cache_put(c, 1, key, 20, a);
	}
	CHECK_INT(cache_send(c, 1, "k", out), -1);
	evbuffer_drain(out, evbuffer_get_length(out));
	CHECK_INT(cache_send(c, 1, "p11", out), 20);
	/*
	 * A page on its way to a client when the index changes: the cache
	 * forgets it, the buffer still holds it whole until it is sent.
	 */
	CHECK_INT(cache_send(c, 2, "p11", out), -1);
	cache_put(c, 2, "p11", 20, big);
	s = take(out);
	CHECK_STR(s, "20 a\r\n0123456789");
	free(s);
	evbuffer_free(a);
	evbuffer_free(big);
	evbuffer_free(whole);
	evbuffer_free(out);
	cache_free(c);
}

TEST(strmap_growth_and_tombstones)
{
	static char keys[2000][8];
	struct strmap m;
	const char *k;
	void *v;
	size_t i, n = 0;

	strmap_init(&m);
	for (i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		CHECK_INT(strmap_put(&m, keys[i], keys[i]), 0);
	}
	CHECK_INT(m.n, 2000);
	/* Half deleted: the rest still found past the tombstones. */
	for (i = 0; i < 2000; i += 2)
		CHECK(strmap_del(&m, keys[i]) == keys[i]);
	for (i = 0; i < 2000; i++)
		CHECK((strmap_get(&m, keys[i]) != NULL) == (i % 2 == 1));
	CHECK(strmap_del(&m, "k0") == NULL);
	/* Room made at once: enough for what is asked, the tombstones swept. */
	CHECK_INT(strmap_reserve(&m, 10), 0);
	CHECK_INT(strmap_reserve(&m, 100000), 0);
	CHECK(m.cap * 3 >= (m.n + 100000) * 4 && m.used == m.n);
	for (i = 0; i < 2000; i++)
		CHECK((strmap_get(&m, keys[i]) != NULL) == (i % 2 == 1));
	/* Put again where tombstones were; a replaced value. */
	for (i = 0; i < 2000; i += 2)
		CHECK_INT(strmap_put(&m, keys[i], keys[i]), 0);
	CHECK_INT(strmap_put(&m, keys[1], keys[3]), 0);
	CHECK(strmap_get(&m, "k1") == keys[3]);
	CHECK_INT(m.n, 2000);
	i = 0;
	while (strmap_next(&m, &i, &k, &v))
		n++;
	CHECK_INT(n, 2000);
	strmap_clear(&m);
	CHECK(strmap_get(&m, "k1") == NULL);
}

static struct sockaddr_in
addr4(const char *a)
{
	struct sockaddr_in sin = { 0 };

	sin.sin_family = AF_INET;
	inet_pton(AF_INET, a, &sin.sin_addr);
	return sin;
}

TEST(quota_shared_limits_and_ledgers)
{
	struct quota *q = quota_new(64, 4);
	struct quota_limits lim = { 2, 0, 1 };
	struct sockaddr_in a = addr4("192.0.2.1"), b = addr4("192.0.2.2");
	struct sockaddr_in6 six = { 0 }, six2 = { 0 };
	long s1, s2, s3;
	int l1 = quota_ledger_take(q), l2 = quota_ledger_take(q);
	bool over;

	CHECK(l1 >= 0 && l2 >= 0 && l1 != l2);
	/* Two connections from one address, from two workers; a third is over. */
	s1 = quota_open(q, l1, &lim, (struct sockaddr *)&a, &over);
	CHECK(s1 >= 0 && !over);
	s2 = quota_open(q, l2, &lim, (struct sockaddr *)&a, &over);
	CHECK(s2 == s1 && !over);
	s3 = quota_open(q, l1, &lim, (struct sockaddr *)&a, &over);
	CHECK(s3 == -1 && over);
	/* Another address is its own client. */
	quota_open(q, l1, &lim, (struct sockaddr *)&b, &over);
	CHECK(!over);
	/* A worker gone: what it held is given back. */
	quota_ledger_release(q, l2);
	s3 = quota_open(q, l1, &lim, (struct sockaddr *)&a, &over);
	CHECK(s3 == s1 && !over);
	quota_close(q, l1, s1);
	quota_close(q, l1, s3);
	/* IPv6 clients are /64s. */
	six.sin6_family = six2.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2::1", &six.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &six2.sin6_addr);
	CHECK(quota_open(q, l1, &lim, (struct sockaddr *)&six, &over) ==
	    quota_open(q, l1, &lim, (struct sockaddr *)&six2, &over));
	CHECK(quota_open(q, l1, &lim, (struct sockaddr *)&six, &over) == -1 && over);
	/* A rate of 1 a second with a burst of 1: the second request waits. */
	lim = (struct quota_limits){ 0, 1, 1 };
	s1 = quota_open(q, l1, &lim, (struct sockaddr *)&b, &over);
	CHECK(quota_request(q, &lim, s1));
	CHECK(!quota_request(q, &lim, s1));
	quota_free(q);
}

TEST(quota_window_reuses_idle_clients)
{
	struct quota *q = quota_new(64, 1);
	struct quota_limits lim = { 1, 0, 1 };
	char text[32];
	int i, tracked = 0;
	bool over;

	/* Far more addresses than slots, each closed at once: idle slots are reused. */
	for (i = 0; i < 1000; i++) {
		struct sockaddr_in a;
		long s;
		snprintf(text, sizeof(text), "10.%d.%d.1", i / 256, i % 256);
		a = addr4(text);
		s = quota_open(q, 0, &lim, (struct sockaddr *)&a, &over);
		tracked += s >= 0;
		quota_close(q, 0, s);
	}
	CHECK_INT(tracked, 1000);
	quota_free(q);
}

TEST(index_what_goes_in_comes_out)
{
	char *tags1[] = { "Korea", "talks" }, *tags2[] = { "korea" };
	struct post p[3] = {
		{ .title = "Kim turns 36", .slug = "kim", .year = 2020, .month = 1, .day = 8,
		    .tags = tags1, .ntags = 2, .source = "NK News" },
		{ .title = "Moon says", .slug = "moon", .year = 2020, .month = 1, .day = 14,
		    .tags = tags2, .ntags = 1, .author = "A. Writer" },
		{ .title = "Later", .slug = "later", .year = 2021, .month = 3, .day = 1 },
	};
	struct index_entry in[3] = {
		{ "2021-03-01-later.txt", &p[2], { 1, 4, 5, 6, 7 } },
		{ "2020-01-14-moon.txt", &p[1], { 1, 3, 5, 6, 7 } },
		{ "2020-01-08-kim.txt", &p[0], { 1, 2, 5, 6, 7 } },
	};
	struct index_skip sk = { "empty.txt", { 1, 9, 0, 0, 0 } };
	struct index_meta m;
	const char *why;
	struct index x;
	size_t size;
	void *img = index_build(in, 3, &sk, 1, 42, &size);
	long t;

	CHECK(img != NULL);
	CHECK_INT(index_map(img, size, &x, &why), 0);
	CHECK_INT(x.version, 42);
	CHECK_INT(x.nposts, 3);
	/* Oldest first, whatever order they came in. */
	CHECK_STR(index_str(&x, x.posts[0].stem), "2020-01-08-kim");
	CHECK_STR(index_str(&x, x.posts[2].title), "Later");
	CHECK_INT(index_find_post(&x, "2020-01-14-moon"), 1);
	CHECK_INT(index_find_post(&x, "nope"), -1);
	CHECK_INT(x.nmonths, 2);
	CHECK_INT(x.months[0].count, 2);
	CHECK_INT(index_find_month(&x, 2021, 3), 1);
	CHECK_INT(index_find_year(&x, 2020), 0);
	CHECK_INT(index_find_year(&x, 2019), -1);
	/* "Korea" and "korea" are one tag, first written as "Korea"; a source is a tag too. */
	t = index_find_tag(&x, "KOREA");
	CHECK(t >= 0);
	if (t >= 0) {
		CHECK_STR(index_str(&x, x.tags[t].name), "Korea");
		CHECK_INT(x.tags[t].n, 2);
	}
	t = index_find_tag(&x, "nk news");
	CHECK(t >= 0 && x.tags[t].as_source == 1);
	CHECK_INT(index_find_skipped(&x, "empty.txt"), 0);
	CHECK_STR(index_post_meta(&x, &x.posts[1], &m)->author, "A. Writer");
	CHECK(index_post_meta(&x, &x.posts[0], &m)->author == NULL);
	/* The same input gives the same bytes. */
	{
		size_t size2;
		void *again = index_build(in, 3, &sk, 1, 42, &size2);
		CHECK(again != NULL && size2 == size && memcmp(again, img, size) == 0);
		free(again);
	}
	/* Cut short, it does not map. */
	CHECK_INT(index_map(img, size - 8, &x, &why), -1);
	free(img);
}

TEST(log_access_escapes_what_a_client_sends)
{
	char path[300], line[8192];
	static const char request[] = "gemini://h/\"quoted\"\\\n\x01\x7f";
	struct log_access a = {
		.client = "192.0.2.1", .proto = "gemini", .host = "localhost",
		.request = request, .request_len = sizeof(request) - 1,
		.status = 20, .bytes = 123, .duration_ms = 4, .note = "timeout",
	};
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/access-%d.log", test_tmp_dir(), (int)getpid());
	CHECK_INT(log_open(path), 0);
	log_access(&a);
	log_close();
	fd = open(path, O_RDONLY);
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	line[n > 0 ? n : 0] = '\0';
	test_context("%s", line);
	/* One line, the time first; a request cannot forge another. */
	CHECK(strchr(line, '\n') == line + strlen(line) - 1);
	CHECK(strstr(line, " 192.0.2.1 gemini localhost "
	    "\"gemini://h/\\\"quoted\\\"\\\\\\x0a\\x01\\x7f\" 20 123 4ms - timeout\n") != NULL);
}

TEST(atom_feed_is_stable_and_escaped)
{
	char *tags[] = { "a<b", "c&d" };
	struct post meta = { .title = "Fish & <chips>", .slug = "fish", .year = 2020,
	    .month = 1, .day = 2, .hour = 3, .minute = 4, .second = 5, .tags = tags,
	    .ntags = 2, .author = "\"Q\"" };
	struct atom_feed f = { "gemini://example.org", "T\x01itle", "", "en,fr" };
	struct atom_entry e = { "2020-01-02-fish one", &meta, NULL };
	struct evbuffer *b = evbuffer_new();
	char *s;

	atom_render(b, &f, &e, 1);
	s = take(b);
	CHECK(strstr(s, "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"en\">") != NULL);
	CHECK(strstr(s, "<title>T itle</title>") != NULL);
	CHECK(strstr(s, "<title>Fish &amp; &lt;chips&gt;</title>") != NULL);
	CHECK(strstr(s, "href=\"gemini://example.org/posts/2020-01-02-fish%20one.gmi\"") != NULL);
	CHECK(strstr(s, "<updated>2020-01-02T03:04:05Z</updated>") != NULL);
	CHECK(strstr(s, "<name>&quot;Q&quot;</name>") != NULL);
	CHECK(strstr(s, "term=\"a&lt;b\"") != NULL && strstr(s, "term=\"c&amp;d\"") != NULL);
	/* The feed's date is the newest post's, never the time of the request. */
	CHECK(strstr(s, "  <updated>2020-01-02T03:04:05Z</updated>\n  <author>") != NULL);
	free(s);
	evbuffer_free(b);
}
