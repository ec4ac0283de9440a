/*
 * Titan uploads against the real binary, over real TLS with client
 * certificates made here: an author creates, replaces and deletes posts and
 * the pages follow on both protocols; every refusal answers its status and
 * writes nothing; uploads at once, racing on one post, stalling, and a
 * publisher killed among them never leave a torn or half post, and every
 * earlier version is kept in posts/.versions/.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "test.h"

static const struct test_cert_kind author_kind = { "author", -DAY, 365 * DAY, false, false };
static const struct test_cert_kind stranger_kind = { "stranger", -DAY, 365 * DAY, false, false };

struct capsule {
	struct gazette g;
	struct test_cert author, stranger;
	char posts[700];
};

/*
 * A capsule that takes uploads from author (its fingerprint written two
 * ways, on two lines), with more host lines, Gopher too.
 */
static bool
start(struct capsule *c, const char *more, const char *global)
{
	static char host[800];
	struct gazette_opts o = { .fixture = "archive", .host = host, .gopher = true,
	    .global = global };

	memset(c, 0, sizeof(*c));
	test_make_cert(&author_kind, 1, &c->author);
	test_make_cert(&stranger_kind, 2, &c->stranger);
	snprintf(host, sizeof(host), "titan = yes\nauthors = SHA256:%s\nauthors = %s\n%s\n",
	    c->author.hex, c->author.fp, more ? more : "");
	if (gazette_start(&c->g, &o) == -1)
		return false;
	snprintf(c->posts, sizeof(c->posts), "%s/posts", c->g.root);
	/* The publisher runs as the configured user: posts/ must be its to write. */
	CHECK(chmod(c->posts, 0777) == 0);
	return true;
}

static void
stop(struct capsule *c)
{
	gazette_stop(&c->g);
	unlink(c->author.crt);
	unlink(c->author.key);
	unlink(c->stranger.crt);
	unlink(c->stranger.key);
}

/* The request for target ("/posts/x.txt;size=3") then len bytes of body, as who. */
static void
send_titan(const struct capsule *c, const struct test_cert *who, const char *target,
    const char *body, size_t len, struct reply *r)
{
	struct client_opts o = { .sni = "localhost", .cert = who ? who->crt : NULL,
	    .key = who ? who->key : NULL, .timeout_ms = 15000 };
	size_t n;
	char *req;

	if ((req = malloc(len + 1100)) == NULL)
		return;
	n = (size_t)snprintf(req, 1100, "titan://localhost:%d%s\r\n", c->g.gemini_port, target);
	memcpy(req + n, body, len);
	gemini_fetch(c->g.gemini_port, &o, req, n + len, r);
	free(req);
}

/* Uploads body as posts/name, as who; r holds the answer. */
static void
upload(const struct capsule *c, const struct test_cert *who, const char *name,
    const char *body, struct reply *r)
{
	char target[600];

	snprintf(target, sizeof(target), "/posts/%s;mime=text/plain;size=%zu", name, strlen(body));
	send_titan(c, who, target, body, strlen(body), r);
}

/* Whether the answer starts with want. */
static bool
answered(const struct reply *r, const char *want)
{
	return r->data != NULL && strncmp(r->data, want, strlen(want)) == 0;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *data = NULL;
	size_t cap = 0, len = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (len + 4096 >= cap && (data = realloc(data, cap = cap * 2 + 8192)) == NULL)
			break;
		len += n = fread(data + len, 1, cap - len - 1, f);
		data[len] = '\0';
	} while (n > 0);
	fclose(f);
	return data;
}

/* How many files posts/.versions holds whose whole content is body (NULL: any). */
static int
versions(const struct capsule *c, const char *body)
{
	char dir[800], path[1200];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/.versions", c->posts);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *data;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		data = slurp(path);
		n += data != NULL && (body == NULL || strcmp(data, body) == 0);
		free(data);
	}
	closedir(d);
	return n;
}

static bool
page_has(const struct capsule *c, const char *path, const char *text)
{
	char *page = gemini_page(&c->g, path);
	bool has = page != NULL && strstr(page, text) != NULL;

	free(page);
	return has;
}

static bool
gopher_has(const struct capsule *c, const char *selector, const char *text)
{
	struct reply r;
	char req[300];
	bool has;

	snprintf(req, sizeof(req), "%s\r\n", selector);
	tcp_fetch(c->g.gopher_port, req, strlen(req), 10000, &r);
	has = r.data != NULL && strstr(r.data, text) != NULL;
	reply_free(&r);
	return has;
}

/*
 * Create, replace, delete: each answered 30 (to the post's page, or the home
 * page after a deletion), each shown at once over Gemini and Gopher, each
 * earlier version kept; the author's fingerprint may be written several ways.
 */
TEST(titan_create_replace_delete)
{
	static const char first[] = "Title: Fresh news\nDate: 2022-06-01\n\nFirst words.\n";
	static const char second[] = "Title: Fresher news\nDate: 2022-06-01\n\nSecond words.\n";
	struct capsule c;
	struct reply r;
	char want[200], path[900];
	char *disk;

	if (!start(&c, NULL, NULL))
		return;
	upload(&c, &c.author, "2022-06-01-fresh.txt", first, &r);
	snprintf(want, sizeof(want), "30 gemini://localhost:%d/posts/2022-06-01-fresh.gmi\r\n",
	    c.g.gemini_port);
	CHECK_STR(r.data, want);
	reply_free(&r);
	CHECK(page_has(&c, "/posts/2022-06-01-fresh.gmi", "First words."));
	CHECK(page_has(&c, "/archive/2022/06/", "Fresh news"));
	CHECK(gopher_has(&c, "/archive/2022/06/", "Fresh news"));
	snprintf(path, sizeof(path), "%s/2022-06-01-fresh.txt", c.posts);
	disk = slurp(path);
	CHECK_STR(disk, first);
	free(disk);
	CHECK_INT(versions(&c, NULL), 0);

	upload(&c, &c.author, "2022-06-01-fresh.txt", second, &r);
	CHECK_STR(r.data, want);
	reply_free(&r);
	CHECK(page_has(&c, "/posts/2022-06-01-fresh.gmi", "Second words."));
	CHECK(gopher_has(&c, "/archive/2022/06/", "Fresher news"));
	CHECK_INT(versions(&c, first), 1);

	send_titan(&c, &c.author, "/posts/2022-06-01-fresh.txt;size=0", "", 0, &r);
	snprintf(want, sizeof(want), "30 gemini://localhost:%d/\r\n", c.g.gemini_port);
	CHECK_STR(r.data, want);
	reply_free(&r);
	gemini_path(&c.g, "/posts/2022-06-01-fresh.gmi", &r);
	CHECK(answered(&r, "51 "));
	reply_free(&r);
	CHECK(!gopher_has(&c, "/", "Fresher news"));
	CHECK(access(path, F_OK) == -1 && errno == ENOENT);
	CHECK_INT(versions(&c, second), 1);
	CHECK_INT(versions(&c, NULL), 2);
	/* Deleting what is not there: nothing to keep, nothing done. */
	send_titan(&c, &c.author, "/posts/2022-06-01-fresh.txt;size=0", "", 0, &r);
	CHECK(answered(&r, "51 "));
	reply_free(&r);
	stop(&c);
}

/*
 * titan_versions = 2: a post replaced four times keeps its two latest
 * earlier versions, whole; another post's version is not touched, though
 * its name starts with the first's and a date.
 */
#define OTHER "2022-07-02-often.txt.20000101T0.txt"
TEST(titan_keeps_the_latest_versions)
{
	char body[5][100];
	struct capsule c;
	struct reply r;
	int i;

	if (!start(&c, "titan_versions = 2", NULL))
		return;
	upload(&c, &c.author, OTHER, "Title: Other\n\nOne.\n", &r);
	CHECK(answered(&r, "30 "));
	reply_free(&r);
	upload(&c, &c.author, OTHER, "Title: Other\n\nTwo.\n", &r);
	reply_free(&r);
	for (i = 0; i < 5; i++) {
		snprintf(body[i], sizeof(body[i]), "Title: Often edited\n\nVersion %d.\n", i + 1);
		upload(&c, &c.author, "2022-07-02-often.txt", body[i], &r);
		CHECK(answered(&r, "30 "));
		reply_free(&r);
	}
	CHECK_INT(versions(&c, body[0]), 0);
	CHECK_INT(versions(&c, body[1]), 0);
	CHECK_INT(versions(&c, body[2]), 1);
	CHECK_INT(versions(&c, body[3]), 1);
	CHECK_INT(versions(&c, "Title: Other\n\nOne.\n"), 1);
	CHECK_INT(versions(&c, NULL), 3);
	CHECK(page_has(&c, "/posts/2022-07-02-often.gmi", "Version 5."));
	stop(&c);
}

#define BAD_POST_NAME "59 A post's name is up to 200 letters, digits, '-', '_' and '.', " \
	"ending in .txt\r\n"
#define LONG_NAME "2022-01-01-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/*
 * Each refusal, answered before the body is read where the request line
 * says enough, and nothing written: posts/ holds what it held; the token is
 * never logged.
 */
TEST(titan_refusals)
{
	static const char post[] = "Title: Sneaky\n\nWords.\n";
	static const struct {
		const char *target;	/* after titan://localhost:PORT */
		const char *body;
		int who;		/* 0 nobody, 1 the author, 2 a stranger */
		const char *want;
	} rows[] = {
		{ "/posts/2022-01-01-a.txt;size=22", post, 0,
		    "60 Client certificate required to upload\r\n" },
		{ "/posts/2022-01-01-a.txt;size=22", post, 2,
		    "61 Certificate not authorised to upload\r\n" },
		{ "/posts/2022-01-01-a.txt;size=22", post, 1, "61 Token required\r\n" },
		{ "/posts/2022-01-01-a.txt;size=22;token=guess", post, 1, "61 Wrong token\r\n" },
		{ "/posts/2022-01-01-a.txt;size=22;token=s3cret;colour=red", post, 1,
		    "59 Unknown Titan parameter: only size, mime and token\r\n" },
		{ "/posts/2022-01-01-a.txt;token=s3cret", post, 1,
		    "59 Titan upload without ;size=\r\n" },
		{ "/posts/2022-01-01-a.txt;size=2x;token=s3cret", post, 1,
		    "59 Titan size is not a number of bytes\r\n" },
		{ "/posts/2022-01-01-a.txt;size=22;size=22;token=s3cret", post, 1,
		    "59 Titan size given twice\r\n" },
		{ "/about.gmi;size=22;token=s3cret", post, 1,
		    "59 Only posts may be uploaded, as /posts/NAME.txt\r\n" },
		{ "/posts/sub/2022-01-01-a.txt;size=22;token=s3cret", post, 1,
		    "59 Only posts may be uploaded, as /posts/NAME.txt\r\n" },
		{ "/posts/.hidden.txt;size=22;token=s3cret", post, 1,
		    BAD_POST_NAME },
		{ "/posts/2022-01-01-a.md;size=22;token=s3cret", post, 1,
		    BAD_POST_NAME },
		{ "/posts/2022-01-01-a.txt;size=22;token=s3cret;mime=image/png", post, 1,
		    "59 A post is text: mime=text/plain or text/gemini\r\n" },
		/* Refused before the body: none is sent. */
		{ "/posts/2022-01-01-a.txt;size=2000;token=s3cret", "", 1,
		    "59 Upload too large: at most 1024 bytes\r\n" },
		{ "/posts/2022-01-01-a.txt;size=4;token=s3cret", "\xff\xfe\xfd\xfc", 1,
		    "59 Not a post: The post is not valid UTF-8\r\n" },
		{ "/posts/2022-01-01-a.txt;size=4;token=s3cret", " \n\n\n", 1,
		    "59 Not a post: empty or blank\r\n" },
		{ "/posts/" LONG_NAME ".txt;size=22;token=s3cret", post, 1, BAD_POST_NAME },
		/* The token in an encoded ';': still never written to the log. */
		{ "/posts/2022-01-01-a.txt%3Bsize=22%3Btoken=s3cret;size=22", post, 2,
		    "59 Titan size given twice\r\n" },
	};
	struct capsule c;
	struct reply r;
	char before[64], after[64], path[900], *log;
	size_t i;

	/* A small limit, so "too large" is cheap to reach. */
	if (!start(&c, "titan_token = s3cret\ntitan_max_size = 1k", NULL))
		return;
	snprintf(before, sizeof(before), "%d", versions(&c, NULL));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].target);
		send_titan(&c, rows[i].who == 0 ? NULL : rows[i].who == 1 ? &c.author : &c.stranger,
		    rows[i].target, rows[i].body, strlen(rows[i].body), &r);
		CHECK_STR(r.data, rows[i].want);
		reply_free(&r);
	}
	test_context(NULL);
	snprintf(path, sizeof(path), "%s/2022-01-01-a.txt", c.posts);
	CHECK(access(path, F_OK) == -1 && errno == ENOENT);
	snprintf(after, sizeof(after), "%d", versions(&c, NULL));
	CHECK_STR(after, before);
	log = gazette_log(&c.g);
	CHECK(log != NULL && strstr(log, "titan://") != NULL && strstr(log, "s3cret") == NULL);
	free(log);
	/* The token right: taken. */
	send_titan(&c, &c.author, "/posts/2022-01-01-a.txt;size=22;token=s3cret", post, 22, &r);
	CHECK(answered(&r, "30 gemini://localhost:"));
	reply_free(&r);
	stop(&c);
}

/* A post body for upload i of a batch, about size bytes. */
static char *
batch_body(int i, size_t size)
{
	char *b = malloc(size + 100);
	size_t n;

	if (b == NULL)
		return NULL;
	n = (size_t)snprintf(b, 100, "Title: Batch post %d\nDate: 2023-02-03\n\n", i);
	while (n + 40 < size)
		n += (size_t)snprintf(b + n, 40, "Words of post %d, line by line.\n", i);
	return b;
}

/*
 * Uploads sent over connections all open at once: n bodies to n posts
 * (names[i]); fills r[i]. Connections are made first, then every request is
 * sent, then every answer read, so the worker holds them all at once.
 */
static void
upload_at_once(const struct capsule *c, int n, char *const *names, char *const *bodies,
    struct reply *r)
{
	struct client_opts o = { .sni = "localhost", .cert = c->author.crt, .key = c->author.key,
	    .timeout_ms = 20000 };
	struct gemini_conn *conns[32];
	char head[600];
	int i, k;

	for (i = 0; i < n; i++)
		conns[i] = gemini_connect(c->g.gemini_port, &o, &r[i]);
	for (i = 0; i < n; i++) {
		if (conns[i] == NULL)
			continue;
		k = snprintf(head, sizeof(head), "titan://localhost:%d/posts/%s;size=%zu\r\n",
		    c->g.gemini_port, names[i], strlen(bodies[i]));
		gemini_send(conns[i], head, (size_t)k, &r[i]);
		gemini_send(conns[i], bodies[i], strlen(bodies[i]), &r[i]);
	}
	for (i = 0; i < n; i++)
		if (conns[i] != NULL) {
			gemini_read(conns[i], SIZE_MAX, &r[i]);
			gemini_disconnect(conns[i]);
		}
}

/*
 * Twenty uploads at once to twenty posts: every one published whole. Then
 * two at once to one post: one wins whole, the other's body is the version
 * kept, neither is torn.
 */
TEST(titan_uploads_at_once_and_racing)
{
	char *names[20], *bodies[20], path[900], *disk;
	struct reply r[20];
	struct capsule c;
	int i;

	if (!start(&c, NULL, "workers = 2\n"))
		return;
	for (i = 0; i < 20; i++) {
		names[i] = malloc(64);
		snprintf(names[i], 64, "2023-02-03-batch-%d.txt", i);
		bodies[i] = batch_body(i, 20000);
	}
	upload_at_once(&c, 20, names, bodies, r);
	for (i = 0; i < 20; i++) {
		test_context("upload %d", i);
		CHECK(answered(&r[i], "30 gemini://localhost:"));
		reply_free(&r[i]);
		snprintf(path, sizeof(path), "%s/%s", c.posts, names[i]);
		disk = slurp(path);
		CHECK(disk != NULL && strcmp(disk, bodies[i]) == 0);
		free(disk);
	}
	test_context(NULL);
	CHECK(page_has(&c, "/archive/2023/02/", "Batch post 19"));

	/* Two bodies for one post, sent at once. */
	snprintf(names[1], 64, "%s", names[0]);
	upload_at_once(&c, 2, names, bodies + 10, r);
	CHECK(answered(&r[0], "30 ") && answered(&r[1], "30 "));
	reply_free(&r[0]);
	reply_free(&r[1]);
	snprintf(path, sizeof(path), "%s/%s", c.posts, names[0]);
	disk = slurp(path);
	CHECK(disk != NULL && (strcmp(disk, bodies[10]) == 0 || strcmp(disk, bodies[11]) == 0));
	if (disk != NULL)
		CHECK_INT(versions(&c, strcmp(disk, bodies[10]) == 0 ? bodies[11] : bodies[10]), 1);
	CHECK_INT(versions(&c, bodies[0]), 1);
	free(disk);
	for (i = 0; i < 20; i++) {
		free(names[i]);
		free(bodies[i]);
	}
	stop(&c);
}

/* A connection made with the author's certificate, for a test that paces its upload. */
static struct gemini_conn *
author_conn(const struct capsule *c, struct reply *r)
{
	struct client_opts o = { .sni = "localhost", .timeout_ms = 20000, .cert = c->author.crt,
	    .key = c->author.key };

	return gemini_connect(c->g.gemini_port, &o, r);
}

/*
 * A client that announces more than it sends, then stalls: answered 59
 * once request_timeout passes without a byte, and nothing is written.
 */
TEST(titan_stalled_upload_writes_nothing)
{
	static const char head_fmt[] = "titan://localhost:%d/posts/2024-01-01-stall.txt;size=1000\r\n";
	struct gemini_conn *conn;
	struct capsule c;
	struct reply r;
	char head[200], path[900];
	int n, i, got;

	if (!start(&c, NULL, "request_timeout = 2s\n"))
		return;
	n = snprintf(head, sizeof(head), head_fmt, c.g.gemini_port);
	if ((conn = author_conn(&c, &r)) != NULL) {
		gemini_send(conn, head, (size_t)n, &r);
		gemini_send(conn, "Title: St", 9, &r);
		gemini_send(conn, "a", 1, &r);
		gemini_read(conn, SIZE_MAX, &r);
		gemini_disconnect(conn);
	}
	CHECK_STR(r.data, "59 Upload timed out after 10 of 1000 bytes; nothing was saved\r\n");
	reply_free(&r);

	/*
	 * A trickle, each byte in time, still ends: the body has a deadline
	 * (request_timeout and 16 KiB a second: about 2.1 s here). A byte every
	 * 0.4 s, eight in all: without the deadline the answer would come 2 s
	 * after the last and count all eight; a slower machine only counts fewer.
	 * (Bytes sent after the answer are read and dropped by the server's
	 * linger, so none resets the connection before the answer is read.)
	 */
	if ((conn = author_conn(&c, &r)) != NULL) {
		gemini_send(conn, head, (size_t)n, &r);
		for (i = 0; i < 8 && gemini_send(conn, "x", 1, &r) == 0; i++)
			usleep(400000);
		gemini_read(conn, SIZE_MAX, &r);
		gemini_disconnect(conn);
	}
	got = -1;
	CHECK(r.data != NULL && sscanf(r.data, "59 Upload timed out after %d of 1000", &got) == 1 &&
	    got >= 0 && got < 8);
	reply_free(&r);
	snprintf(path, sizeof(path), "%s/2024-01-01-stall.txt", c.posts);
	CHECK(access(path, F_OK) == -1 && errno == ENOENT);
	stop(&c);
}

/* Waits (5 s at most) for the one publisher; its pid in pub[0], the last one seen in pub[1]. */
static bool
publisher(const struct capsule *c, pid_t *pub)
{
	pid_t found[2];
	int k;

	pub[1] = pub[0];
	for (k = 0; k < 500; k++) {
		if (gazette_children(&c->g, "gazette-publish", found, 2) == 1 &&
		    found[0] > 1 && found[0] != pub[1]) {
			pub[0] = found[0];
			return true;
		}
		usleep(10000);
	}
	test_fail(__FILE__, __LINE__, "no (new) publisher process");
	return false;
}

/* How many publisher's temporary files posts holds. */
static int
temp_files(const char *posts)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	if ((d = opendir(posts)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, ".titan-", 7) == 0;
	closedir(d);
	return n;
}

/* Kills victim once posts holds a publisher's temporary file (10 s at most); whether it did. */
static bool
kill_when_writing(const char *posts, pid_t victim)
{
	struct dirent *de;
	DIR *d;
	int k;

	for (k = 0; k < 100000; k++) {
		if ((d = opendir(posts)) == NULL)
			return false;
		while ((de = readdir(d)) != NULL)
			if (strncmp(de->d_name, ".titan-", 7) == 0) {
				closedir(d);
				return kill(victim, SIGKILL) == 0;
			}
		closedir(d);
		usleep(100);
	}
	return false;
}

/*
 * The publisher killed (SIGKILL) while uploads of 600 KiB posts go to it:
 * each answered (published, or 40: try again), no post torn or half
 * written, and the publisher started anew takes the next upload.
 */
TEST(titan_publisher_killed_mid_write)
{
	char *names[6], *bodies[6], path[900], *disk;
	struct reply r[6];
	struct capsule c;
	pid_t pub[2] = { 0, 0 }, killer;
	int i, status;

	if (!start(&c, NULL, NULL))
		return;
	for (i = 0; i < 6; i++) {
		names[i] = malloc(64);
		snprintf(names[i], 64, "2023-03-04-heavy-%d.txt", i);
		bodies[i] = batch_body(i, 600 * 1024);
	}
	if (!publisher(&c, pub)) {
		stop(&c);
		return;
	}
	/* A child process kills it once a temporary file shows it is writing. */
	if ((killer = fork()) == 0)
		_exit(kill_when_writing(c.posts, pub[0]) ? 0 : 1);
	upload_at_once(&c, 6, names, bodies, r);
	CHECK(killer > 0 && waitpid(killer, &status, 0) == killer && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	for (i = 0; i < 6; i++) {
		test_context("upload %d", i);
		CHECK(answered(&r[i], "30 ") || answered(&r[i], "40 "));
		reply_free(&r[i]);
		snprintf(path, sizeof(path), "%s/%s", c.posts, names[i]);
		/* There whole, or not there at all. */
		disk = slurp(path);
		CHECK(disk == NULL || strcmp(disk, bodies[i]) == 0);
		free(disk);
	}
	test_context(NULL);
	/* A new publisher: it swept the half-written file away, and takes the next upload. */
	CHECK(publisher(&c, pub) && pub[0] != pub[1]);
	CHECK(temp_files(c.posts) == 0);
	upload(&c, &c.author, "2023-03-05-after.txt", "Title: After the crash\n\nStill here.\n",
	    &r[0]);
	CHECK(answered(&r[0], "30 "));
	reply_free(&r[0]);
	for (i = 0; i < 6; i++) {
		free(names[i]);
		free(bodies[i]);
	}
	stop(&c);
}

/* A Gemini request for path as who (NULL: no certificate). */
static void
get_as(const struct capsule *c, const struct test_cert *who, const char *path,
    struct reply *r)
{
	struct client_opts o = { .sni = "localhost", .cert = who ? who->crt : NULL,
	    .key = who ? who->key : NULL };
	char req[600];
	int n = snprintf(req, sizeof(req), "gemini://localhost:%d%s\r\n", c->g.gemini_port, path);

	gemini_fetch(c->g.gemini_port, &o, req, (size_t)n, r);
}

static bool
has_as(const struct capsule *c, const struct test_cert *who, const char *path,
    const char *text)
{
	struct reply r;
	bool has;

	get_as(c, who, path, &r);
	has = r.data != NULL && strstr(r.data, text) != NULL;
	reply_free(&r);
	return has;
}

/*
 * What only an author sees: "Write a post" on the home page, each post's
 * Titan link, /write/ and a new post's link from a few words; never shown
 * to anyone else, though the pages are cached (an author's apart).
 */
TEST(titan_author_pages)
{
	struct capsule c;
	struct reply r;
	char edit[300], ready[300], day[16];
	time_t now = time(NULL);
	struct tm tm;
	int round;

	if (!start(&c, NULL, NULL))
		return;
	snprintf(edit, sizeof(edit), "=> titan://localhost:%d/posts/2019-11-30-first.txt Edit "
	    "this post (Titan)\n", c.g.gemini_port);
	/* Each order, twice: what one sees never leaks to the other through the cache. */
	for (round = 0; round < 4; round++) {
		const struct test_cert *first = round % 2 ? NULL : &c.author;
		test_context("round %d", round);
		CHECK(has_as(&c, first, "/", "=> /write/ Write a post\n") == (first != NULL));
		CHECK(has_as(&c, first ? NULL : &c.author, "/", "=> /write/ Write a post\n") ==
		    (first == NULL));
		CHECK(has_as(&c, &c.stranger, "/", "Write a post") == false);
		CHECK(has_as(&c, first, "/posts/2019-11-30-first.gmi", edit) == (first != NULL));
		CHECK(has_as(&c, &c.stranger, "/posts/2019-11-30-first.gmi", "titan://") == false);
	}
	test_context(NULL);
	CHECK(!gopher_has(&c, "/", "Write a post"));

	get_as(&c, &c.author, "/write/", &r);
	CHECK(answered(&r, "20 text/gemini") && strstr(r.data, "# Write a post\n") != NULL &&
	    strstr(r.data, "=> /write/new A new post: choose its name\n") != NULL);
	reply_free(&r);
	get_as(&c, NULL, "/write/", &r);
	CHECK_STR(r.data, "60 Client certificate required: an author's\r\n");
	reply_free(&r);
	get_as(&c, &c.stranger, "/write/", &r);
	CHECK_STR(r.data, "61 Only this capsule's authors write here\r\n");
	reply_free(&r);
	get_as(&c, &c.author, "/write", &r);
	CHECK_STR(r.data, "31 /write/\r\n");
	reply_free(&r);
	get_as(&c, &c.author, "/write/new", &r);
	CHECK_STR(r.data, "10 Name of the new post: a few words (letters or digits)\r\n");
	reply_free(&r);
	get_as(&c, &c.author, "/write/new?%C2%BF%20", &r);
	CHECK(answered(&r, "10 "));
	reply_free(&r);
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	snprintf(ready, sizeof(ready), "=> titan://localhost:%d/posts/%s-city-council-s-vote.txt "
	    "Upload %s-city-council-s-vote.txt\n", c.g.gemini_port, day, day);
	get_as(&c, &c.author, "/write/new?City%20council%E2%80%99s%20VOTE!", &r);
	CHECK(answered(&r, "20 ") && strstr(r.data, ready) != NULL);
	reply_free(&r);
	stop(&c);
}

/* Rewrites the configuration: from (when found) becomes to, or to is appended. */
static void
rewrite_conf(const struct capsule *c, const char *from, const char *to)
{
	char *conf = slurp(c->g.conf), *p;
	FILE *f;

	if (conf == NULL || (f = fopen(c->g.conf, "w")) == NULL) {
		free(conf);
		test_fail(__FILE__, __LINE__, "cannot rewrite %s", c->g.conf);
		return;
	}
	if (from != NULL && (p = strstr(conf, from)) != NULL)
		fprintf(f, "%.*s%s%s", (int)(p - conf), conf, to, p + strlen(from));
	else
		fprintf(f, "%s%s", conf, to);
	fclose(f);
	free(conf);
}

/*
 * Reloads: an upload whose body is still coming when the configuration
 * changes is finished by its worker and published (the old generation's
 * publisher outlives its workers); uploads turned off answer 53, turned on
 * again they are taken by a new publisher.
 */
TEST(titan_survives_reloads)
{
	static const char body[] = "Title: Across a reload\n\nSent in two halves.\n";
	struct gemini_conn *conn;
	struct capsule c;
	struct reply r;
	char head[300], path[900], *disk;
	int n;

	if (!start(&c, NULL, "workers = 2\n"))
		return;
	n = snprintf(head, sizeof(head), "titan://localhost:%d/posts/2024-05-05-reload.txt;size=%zu"
	    "\r\n", c.g.gemini_port, strlen(body));
	if ((conn = author_conn(&c, &r)) != NULL) {
		gemini_send(conn, head, (size_t)n, &r);
		gemini_send(conn, body, 10, &r);
	}
	rewrite_conf(&c, NULL, "title = Reloaded\n");
	gazette_signal(&c.g, SIGHUP);
	CHECK(gazette_wait_log(&c.g, "reloaded: generation 2", 10000));
	if (conn != NULL) {
		gemini_send(conn, body + 10, strlen(body) - 10, &r);
		gemini_read(conn, SIZE_MAX, &r);
		gemini_disconnect(conn);
	}
	CHECK(answered(&r, "30 gemini://localhost:"));
	reply_free(&r);
	snprintf(path, sizeof(path), "%s/2024-05-05-reload.txt", c.posts);
	disk = slurp(path);
	CHECK_STR(disk, body);
	free(disk);
	CHECK(page_has(&c, "/", "# Reloaded"));
	upload(&c, &c.author, "2024-05-06-after.txt", "Title: After the reload\n\nYes.\n", &r);
	CHECK(answered(&r, "30 "));
	reply_free(&r);

	rewrite_conf(&c, "titan = yes", "titan = no");
	gazette_signal(&c.g, SIGHUP);
	CHECK(gazette_wait_log(&c.g, "reloaded: generation 3", 10000));
	upload(&c, &c.author, "2024-05-07-off.txt", "Title: Off\n\nNo.\n", &r);
	CHECK_STR(r.data, "53 Proxy request refused\r\n");
	reply_free(&r);

	rewrite_conf(&c, "titan = no", "titan = yes");
	gazette_signal(&c.g, SIGHUP);
	CHECK(gazette_wait_log(&c.g, "reloaded: generation 4", 10000));
	upload(&c, &c.author, "2024-05-08-on.txt", "Title: On again\n\nYes.\n", &r);
	CHECK(answered(&r, "30 "));
	reply_free(&r);
	CHECK(page_has(&c, "/archive/2024/05/", "On again"));
	stop(&c);
}

/*
 * posts/ replaced by another folder while the server runs: the upload that
 * finds it answers 40 (the publisher may write only the folder it started
 * with) and the publisher starts anew on the new one, which takes the next.
 */
TEST(titan_posts_folder_swapped)
{
	char old[800], path[900];
	struct capsule c;
	struct reply r;
	int tries;

	if (!start(&c, NULL, NULL))
		return;
	upload(&c, &c.author, "2024-06-01-before.txt", "Title: Before the swap\n\nOld.\n", &r);
	CHECK(answered(&r, "30 "));
	reply_free(&r);
	snprintf(old, sizeof(old), "%s.old", c.posts);
	CHECK(rename(c.posts, old) == 0);
	CHECK(mkdir(c.posts, 0777) == 0 && chmod(c.posts, 0777) == 0);
	upload(&c, &c.author, "2024-06-02-after.txt", "Title: After the swap\n\nNew.\n", &r);
	CHECK_STR(r.data, "40 posts/ changed on the server; try again\r\n");
	reply_free(&r);
	for (tries = 0; tries < 100; tries++) {
		upload(&c, &c.author, "2024-06-02-after.txt", "Title: After the swap\n\nNew.\n",
		    &r);
		if (answered(&r, "30 "))
			break;
		reply_free(&r);
		usleep(50000);
	}
	CHECK(answered(&r, "30 "));
	reply_free(&r);
	snprintf(path, sizeof(path), "%s/2024-06-02-after.txt", c.posts);
	CHECK(access(path, F_OK) == 0);
	CHECK(page_has(&c, "/archive/2024/06/", "After the swap"));
	CHECK(!page_has(&c, "/archive/2024/06/", "Before the swap"));
	stop(&c);
}

/*
 * Folders titan_files lists take files of any kind, not only posts: an
 * image is written whole (NUL bytes and all), served as it is, replaced
 * with its earlier version kept, deleted; nothing beside or below them.
 */
TEST(titan_files_in_listed_folders)
{
	static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06"
	    "\0\0\0\x1f\x15\xc4\x89\0\0\0\0IEND\xae\x42\x60\x82";
	static const char *const mkdirs[] = { "images", "docs", "docs/pdf" };
	char path[900], want[300], target[300], *disk;
	struct capsule c;
	struct reply r;
	pid_t pub[2] = { 0, 0 };
	size_t i, len;

	if (!start(&c, "titan_files = /images/ /docs/pdf/", NULL))
		return;
	for (i = 0; i < sizeof(mkdirs) / sizeof(mkdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", c.g.root, mkdirs[i]);
		CHECK(mkdir(path, 0777) == 0 && chmod(path, 0777) == 0);
	}
	/* Folders made after start: a publisher started anew opens them. */
	if (publisher(&c, pub))
		kill(pub[0], SIGKILL);
	CHECK(publisher(&c, pub));

	snprintf(target, sizeof(target), "/images/cat.png;size=%zu;mime=image/png", sizeof(png) - 1);
	send_titan(&c, &c.author, target, png, sizeof(png) - 1, &r);
	snprintf(want, sizeof(want), "30 gemini://localhost:%d/images/cat.png\r\n", c.g.gemini_port);
	CHECK_STR(r.data, want);
	reply_free(&r);
	gemini_path(&c.g, "/images/cat.png", &r);
	CHECK(answered(&r, "20 "));
	disk = r.data != NULL ? strstr(r.data, "\r\n") : NULL;
	len = disk != NULL ? r.len - (size_t)(disk + 2 - r.data) : 0;
	CHECK(disk != NULL && len == sizeof(png) - 1 && memcmp(disk + 2, png, len) == 0);
	reply_free(&r);
	send_titan(&c, &c.author, "/docs/pdf/report.pdf;size=5", "%PDF-", 5, &r);
	CHECK(answered(&r, "30 gemini://localhost:"));
	reply_free(&r);
	snprintf(path, sizeof(path), "%s/docs/pdf/report.pdf", c.g.root);
	CHECK(access(path, F_OK) == 0);

	/* Replaced: the earlier bytes kept beside it. */
	send_titan(&c, &c.author, "/images/cat.png;size=4", "meow", 4, &r);
	CHECK(answered(&r, "30 "));
	reply_free(&r);
	snprintf(path, sizeof(path), "%s/images/.versions", c.g.root);
	CHECK(access(path, F_OK) == 0);

	send_titan(&c, &c.author, "/images/sub/x.png;size=4", "meow", 4, &r);
	CHECK_STR(r.data, "59 Uploads go to /posts/NAME.txt or a folder titan_files lists\r\n");
	reply_free(&r);
	send_titan(&c, &c.author, "/docs/x.pdf;size=4", "meow", 4, &r);
	CHECK_STR(r.data, "59 Uploads go to /posts/NAME.txt or a folder titan_files lists\r\n");
	reply_free(&r);
	send_titan(&c, &c.author, "/images/.hidden;size=4", "meow", 4, &r);
	CHECK_STR(r.data, "59 A file's name is up to 200 letters, digits, '-', '_' and '.', not starting "
	    "with '.'\r\n");
	reply_free(&r);
	/* A file is no post: posts keep their own rules. */
	send_titan(&c, &c.author, "/posts/cat.png;size=4", "meow", 4, &r);
	CHECK(answered(&r, "59 A post's name"));
	reply_free(&r);

	send_titan(&c, &c.author, "/images/cat.png;size=0", "", 0, &r);
	CHECK(answered(&r, "30 "));
	reply_free(&r);
	snprintf(path, sizeof(path), "%s/images/cat.png", c.g.root);
	CHECK(access(path, F_OK) == -1 && errno == ENOENT);
	stop(&c);
}

/*
 * A post written as gemtext, as a client's upload dialog invites: its
 * heading is the title, its link lines links with their text on both
 * protocols, its preformatted text kept.
 */
TEST(titan_gemtext_post)
{
	static const char post[] = "# Written as gemtext\n\nA paragraph.\n\n"
	    "=> gemini://example.org/ Example capsule\n=> /about.gmi About us\n"
	    "```\n  two  spaces\n```\n";
	struct capsule c;
	struct reply r;
	char *page;

	if (!start(&c, NULL, NULL))
		return;
	upload(&c, &c.author, "2024-07-01-gemtext.txt", post, &r);
	CHECK(answered(&r, "30 "));
	reply_free(&r);
	page = gemini_page(&c.g, "/posts/2024-07-01-gemtext.gmi");
	CHECK(page != NULL && strstr(page, "# Written as gemtext\n") != NULL &&
	    strstr(page, "=> gemini://example.org/ Example capsule\n") != NULL &&
	    strstr(page, "=> /about.gmi About us\n") != NULL &&
	    strstr(page, "```\n  two  spaces\n```\n") != NULL);
	free(page);
	CHECK(gopher_has(&c, "/posts/2024-07-01-gemtext.txt", "About us ["));
	stop(&c);
}
