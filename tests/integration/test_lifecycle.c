/*
 * A living capsule: the tree, the configuration and the processes change
 * while clients keep asking. Each test starts the real binary with two
 * workers, runs client processes that request the home page and a post over
 * Gemini and Gopher without pause, changes something, and asserts: no reply
 * is wrong or partial, no process died unasked, the change is served
 * promptly, and descriptors and memory are what they were. Each prints a
 * "lifecycle:" line with what it measured.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "load.h"
#include "test.h"

#define STABLE_POST "/posts/2019-11-30-first"
#define HOME_TAIL "=> /atom.xml Atom feed\n"
#define BEING_UPDATED "40 This post is being updated; try again in a moment\r\n"
#define SEEN_MS 5000		/* the bound on "served promptly"; the figure is printed */
#define LOADERS 2
#define MAX_PROCS 16

static const struct gazette_opts two_workers = {
	.fixture = "archive",
	.global = "workers = 2\n",
	.gopher = true,
};

/* ---- what a reply must be ---- */

static bool
whole(const struct reply *r)
{
	return r->close_notify && !r->reset && !r->timed_out;
}

static const char *
check_home(const struct reply *r)
{
	size_t n = strlen(HOME_TAIL);

	if (!whole(r))
		return "home: not whole";
	if (strncmp(r->data, "20 text/gemini", 14) != 0)
		return "home: not 20";
	if (r->len < n || strcmp(r->data + r->len - n, HOME_TAIL) != 0)
		return "home: cut short";
	return NULL;
}

/* The post, whole; or, where posts may vanish, 51 or "being updated". */
static const char *
check_post(const struct reply *r, bool may_vanish)
{
	if (!whole(r))
		return "post: not whole";
	if (may_vanish && (strcmp(r->data, "51 Not found\r\n") == 0 ||
	    strcmp(r->data, BEING_UPDATED) == 0))
		return NULL;
	if (strncmp(r->data, "20 text/gemini", 14) != 0)
		return "post: not 20";
	if (strstr(r->data, "# First post\n") == NULL || strstr(r->data, "Hello world.") == NULL)
		return "post: not the post";
	if (r->len < 10 || strcmp(r->data + r->len - 10, "=> / Home\n") != 0)
		return "post: cut short";
	return NULL;
}

static const char *
check_menu(const struct reply *r)
{
	if (r->reset || r->timed_out)
		return "menu: not whole";
	if (r->len < 5 || strcmp(r->data + r->len - 5, "\r\n.\r\n") != 0)
		return "menu: no terminator";
	if (strstr(r->data, "1Archive: every month\t/archive/\t") == NULL)
		return "menu: not the home menu";
	return NULL;
}

static const char *
check_text(const struct reply *r, bool may_vanish)
{
	if (r->reset || r->timed_out)
		return "text: not whole";
	if (may_vanish && strncmp(r->data, "3", 1) == 0)
		return NULL;
	if (strstr(r->data, "First post") == NULL || strstr(r->data, "Hello world.") == NULL)
		return "text: not the post";
	return NULL;
}

/* ---- clients that keep asking ---- */

struct load_arg {
	const struct gazette *g;
	bool may_vanish;	/* the post may be gone for a moment */
};

static void
load_child(int id, void *arg, struct shared *s)
{
	const struct load_arg *a = arg;
	char req[256];
	const char *why;
	struct reply r;
	int i, shown = 0;
	long t;

	(void)id;
	for (i = 0; !s->stop; i = (i + 1) % 4) {
		t = now_ms();
		switch (i) {
		case 0:
			gemini_path(a->g, "/", &r);
			why = check_home(&r);
			break;
		case 1:
			gemini_path(a->g, STABLE_POST ".gmi", &r);
			why = check_post(&r, a->may_vanish);
			break;
		case 2:
			tcp_fetch(a->g->gopher_port, "/\r\n", 3, 10000, &r);
			why = check_menu(&r);
			break;
		default:
			snprintf(req, sizeof(req), "%s.txt\r\n", STABLE_POST);
			tcp_fetch(a->g->gopher_port, req, strlen(req), 10000, &r);
			why = check_text(&r, a->may_vanish);
			break;
		}
		shared_max(&s->worst_ms, now_ms() - t);
		shared_add(&s->requests, 1);
		if (why != NULL)
			child_fail(s, &shown, why, &r);
		reply_free(&r);
	}
}

/* ---- one case ---- */

struct life {
	struct gazette g;
	struct load_arg arg;
	struct shared *s;
	pid_t loaders[LOADERS];
	pid_t procs[MAX_PROCS];	/* the supervisor, then its workers */
	int nprocs;
	int fds[MAX_PROCS];
	long rss;		/* the supervisor's, KiB */
	int deaths;		/* children the test itself stopped */
	long t0;
};

/* The supervisor and its workers, and their descriptors once they settle. */
static void
take_stock(struct life *l)
{
	l->procs[0] = l->g.pid;
	l->nprocs = 1 + gazette_workers(&l->g, l->procs + 1, MAX_PROCS - 1);
	settled_fds(l->procs, l->nprocs, l->fds);
	l->rss = rss_kb(l->g.pid);
}

static bool
life_start(struct life *l, const struct gazette_opts *o, bool may_vanish)
{
	int i;

	memset(l, 0, sizeof(*l));
	if (gazette_start(&l->g, o) == -1)
		return false;
	take_stock(l);
	l->s = shared_new();
	l->arg = (struct load_arg){ &l->g, may_vanish };
	for (i = 0; i < LOADERS; i++)
		l->loaders[i] = spawn_child(load_child, i, &l->arg, l->s);
	/* Under way before anything changes. */
	for (i = 0; i < 1000 && shared_get(&l->s->requests) < 8; i++)
		sleep_ms(5);
	l->t0 = now_ms();
	return true;
}

/* Polls (Gemini) until path holds text; the ms it took, or -1 after SEEN_MS. */
static long
seen_after(const struct gazette *g, const char *path, const char *text)
{
	long t0 = now_ms();
	struct reply r;
	bool seen;

	for (;;) {
		gemini_path(g, path, &r);
		seen = r.data != NULL && strstr(r.data, text) != NULL;
		reply_free(&r);
		if (seen)
			return now_ms() - t0;
		if (now_ms() - t0 >= SEEN_MS)
			return -1;
		sleep_ms(5);
	}
}

/* Whether the very next request for path has text: no waiting. */
static bool
shows_now(const struct gazette *g, const char *path, const char *text)
{
	struct reply r;
	bool seen;

	gemini_path(g, path, &r);
	seen = r.data != NULL && strstr(r.data, text) != NULL;
	reply_free(&r);
	return seen;
}

/*
 * Stops the clients and checks the case: no failed reply, nobody died, the
 * same descriptors (workers replaced by a reload have as many as the old),
 * memory held steady. what names the case in the printed line.
 */
static void
life_end(struct life *l, const char *what, long seen_ms)
{
	struct life after;
	char *log;
	int i;

	l->s->stop = 1;
	for (i = 0; i < LOADERS; i++)
		reap_child(l->loaders[i]);
	CHECK_INT(shared_get(&l->s->failures), 0);
	log = gazette_log(&l->g);
	/* Every death is told once, with the last words. */
	CHECK_INT(count_str(log, "its last words: "), l->deaths);
	free(log);
	after.g = l->g;
	/* A retired worker has said so but may still be on its way out: give it 5 s. */
	for (i = 0; i < 500; i++) {
		take_stock(&after);
		if (after.nprocs <= l->nprocs)
			break;
		sleep_ms(10);
	}
	CHECK_INT(after.nprocs, l->nprocs);
	for (i = 0; i < after.nprocs && i < l->nprocs; i++) {
		test_context("%s: %s %d", what, i ? "worker" : "supervisor", (int)after.procs[i]);
		CHECK_INT(after.fds[i], l->fds[i > 0 ? 1 : 0]);
	}
	test_context("%s", "");
	/* AddressSanitizer keeps freed memory in quarantine: no figure to hold it to. */
	CHECK(UNDER_ASAN || after.rss - l->rss < 4096);
	printf("    lifecycle: %s: %ld requests meanwhile, worst %ld ms; change served after "
	    "%ld ms; supervisor RSS %ld -> %ld KiB\n", what, shared_get(&l->s->requests),
	    shared_get(&l->s->worst_ms), seen_ms, l->rss, after.rss);
	shared_free(l->s);
	gazette_stop(&l->g);
}

static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command (paths come from the scratch folder only). */
static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if ((rc = system(cmd)) != 0)
		test_fail(__FILE__, __LINE__, "%s: status %d", cmd, rc);
	return rc;
}

static const char new_post[] = "Title: Fresh from the editor\n\nWritten while serving.\n";

/* ---- the tree ---- */

TEST(lifecycle_posts_created_after_start)
{
	static const struct gazette_opts o = { .global = "workers = 2\n", .gopher = true };
	struct life l;
	long seen;

	if (!life_start(&l, &o, true))
		return;
	sh("mkdir -p '%s/posts' && cp '%s/fixtures/archive/posts/'*.txt '%s/posts/'", l.g.root,
	    test_source_dir(), l.g.root);
	seen = seen_after(&l.g, STABLE_POST ".gmi", "Hello world.");
	CHECK(seen >= 0);
	CHECK(gazette_write(&l.g, "posts/2022-02-02-fresh.txt", new_post, -1) == 0);
	CHECK(seen_after(&l.g, "/", "Fresh from the editor") >= 0);
	life_end(&l, "posts/ created after start", seen);
}

TEST(lifecycle_posts_replaced)
{
	struct life l;
	long seen;

	if (!life_start(&l, &two_workers, true))
		return;
	/* As a deploy script might: the old folder aside, a new one filled. */
	sh("cd '%s' && mv posts posts.old && mkdir posts && cp posts.old/* posts/", l.g.root);
	CHECK(gazette_write(&l.g, "posts/2022-02-02-fresh.txt", new_post, -1) == 0);
	seen = seen_after(&l.g, "/", "Fresh from the editor");
	CHECK(seen >= 0);
	CHECK(seen_after(&l.g, STABLE_POST ".gmi", "Hello world.") >= 0);
	/* The old folder is not followed: a post written there does not show. */
	sh("printf 'Title: Stray\\n\\nStray.\\n' > '%s/posts.old/2022-03-03-stray.txt'",
	    l.g.root);
	CHECK(seen_after(&l.g, "/", "Fresh from the editor") >= 0);
	CHECK(seen_after(&l.g, "/posts/2022-03-03-stray.gmi", "51 Not found") >= 0);
	life_end(&l, "posts/ replaced by a new folder", seen);
}

/*
 * Into a posts/ made anew: a new post, then the archive's. When the new one
 * was first served (ms), after both were checked to show.
 */
static long
refill(struct life *l)
{
	long seen;

	CHECK(gazette_write(&l->g, "posts/2022-02-02-fresh.txt", new_post, -1) == 0);
	seen = seen_after(&l->g, "/", "Fresh from the editor");
	CHECK(seen >= 0);
	sh("cp '%s/fixtures/archive/posts/'*.txt '%s/posts/'", test_source_dir(), l->g.root);
	CHECK(seen_after(&l->g, STABLE_POST ".gmi", "Hello world.") >= 0);
	return seen;
}

TEST(lifecycle_posts_deleted_and_recreated)
{
	struct life l;
	long seen;

	if (!life_start(&l, &two_workers, true))
		return;
	sh("rm -rf '%s/posts'", l.g.root);
	CHECK(seen_after(&l.g, "/", "Nothing has been posted yet.") >= 0);
	CHECK(seen_after(&l.g, STABLE_POST ".gmi", "51 Not found") >= 0);
	sh("mkdir '%s/posts'", l.g.root);
	seen = refill(&l);
	life_end(&l, "posts/ deleted and made again", seen);
}

/*
 * Bug guarded against: under chroot, a worker's inotify named posts/ by a
 * path it could no longer reach, so a posts/ made again was never watched.
 * The indexer follows it whatever the workers' chroot.
 */
TEST(lifecycle_posts_recreated_under_chroot)
{
	struct gazette_opts o = two_workers;
	static char global[1200], dir[600];
	struct gazette g;
	struct life l;
	long seen;

	if (geteuid() != 0) {
		test_skip("chroot needs root; the CI runs as root");
		return;
	}
	/* A first run makes the folder; the second chroots its workers there. */
	if (gazette_start(&g, &two_workers) == -1)
		return;
	gazette_stop(&g);
	snprintf(dir, sizeof(dir), "%s", g.dir);
	snprintf(global, sizeof(global), "workers = 2\nchroot = %s\n", dir);
	o.global = global;
	o.dir = dir;
	if (!life_start(&l, &o, true))
		return;
	CHECK(gazette_wait_log(&l.g, ": chroot ", 1000));
	sh("rm -rf '%s/posts' && mkdir '%s/posts'", l.g.root, l.g.root);
	seen = refill(&l);
	life_end(&l, "posts/ made again under chroot", seen);
}

TEST(lifecycle_posts_renamed_away_and_back)
{
	struct life l;
	long seen;

	if (!life_start(&l, &two_workers, true))
		return;
	sh("mv '%s/posts' '%s/posts.away'", l.g.root, l.g.root);
	CHECK(seen_after(&l.g, "/", "Nothing has been posted yet.") >= 0);
	/* Away, it is not followed. */
	sh("printf 'Title: Stray\\n\\nStray.\\n' > '%s/posts.away/2022-03-03-stray.txt'",
	    l.g.root);
	sh("mv '%s/posts.away' '%s/posts'", l.g.root, l.g.root);
	seen = seen_after(&l.g, STABLE_POST ".gmi", "Hello world.");
	CHECK(seen >= 0);
	/* Back, it is: what was written meanwhile shows too. */
	CHECK(seen_after(&l.g, "/posts/2022-03-03-stray.gmi", "# Stray") >= 0);
	life_end(&l, "posts/ renamed away and back", seen);
}

TEST(lifecycle_edits_in_place_and_by_rename)
{
	struct life l;
	char path[1100];
	long seen;
	FILE *f;

	if (!life_start(&l, &two_workers, true))
		return;
	CHECK(gazette_write(&l.g, "posts/2022-02-02-fresh.txt", new_post, -1) == 0);
	seen = seen_after(&l.g, "/posts/2022-02-02-fresh.gmi", "Written while serving.");
	CHECK(seen >= 0);
	/* Truncated and written again, in place: the next request has it. */
	snprintf(path, sizeof(path), "%s/posts/2022-02-02-fresh.txt", l.g.root);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("Title: Fresh, edited in place\n\nTruncated and rewritten.\n", f);
		fclose(f);
	}
	CHECK(shows_now(&l.g, "/posts/2022-02-02-fresh.gmi", "Truncated and rewritten."));
	CHECK(shows_now(&l.g, "/", "Fresh, edited in place"));
	/* Saved by rename, as most editors do. */
	CHECK(gazette_write(&l.g, "posts/2022-02-02-fresh.txt",
	    "Title: Fresh, saved by rename\n\nRenamed over.\n", -1) == 0);
	CHECK(shows_now(&l.g, "/posts/2022-02-02-fresh.gmi", "Renamed over."));
	/* Appended to (an editor that writes in place without truncating first). */
	if ((f = fopen(path, "a")) != NULL) {
		fputs("\nAnd a last paragraph.\n", f);
		fclose(f);
	}
	CHECK(shows_now(&l.g, "/posts/2022-02-02-fresh.gmi", "And a last paragraph."));
	life_end(&l, "a post edited in place, by rename, appended to", seen);
}

/* Counts the posts the archive lists, month by month, page after page. */
static long
archive_listed(const struct gazette *g)
{
	char path[64] = "/archive/";
	const char *p, *older;
	long total = 0, n;
	struct reply r;
	int page;

	for (page = 2; path[0] != '\0'; page++) {
		gemini_path(g, path, &r);
		path[0] = '\0';
		for (p = r.data; p != NULL && (p = strstr(p, "\n=> /archive/")) != NULL;) {
			p += 13;
			/* Month lines: "=> /archive/YYYY/MM/ Month YYYY: N posts". */
			if (strlen(p) > 9 && p[4] == '/' && p[7] == '/' && p[8] == ' ') {
				const char *colon = strstr(p, ": ");
				if (colon != NULL && sscanf(colon + 2, "%ld post", &n) == 1)
					total += n;
			}
		}
		snprintf(path, sizeof(path), "\n=> /archive/page/%d/ Older months", page);
		older = r.data != NULL ? strstr(r.data, path) : NULL;
		if (older != NULL)
			snprintf(path, sizeof(path), "/archive/page/%d/", page);
		else
			path[0] = '\0';
		reply_free(&r);
	}
	return total;
}

/* Writes n posts spread over months, in a shell-free loop. */
static void
write_posts(const struct gazette *g, int from, int n)
{
	char path[1200], body[200];
	int i, fd, len;

	for (i = from; i < from + n; i++) {
		snprintf(path, sizeof(path), "%s/posts/%04d-%02d-%02d-bulk-%d.txt", g->root,
		    2000 + i % 20, 1 + (i / 20) % 12, 1 + (i / 240) % 28, i);
		len = snprintf(body, sizeof(body), "Title: Bulk post %d\n\nNumber %d.\n", i, i);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
		    write(fd, body, (size_t)len) != len)
			test_fail(__FILE__, __LINE__, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
	}
}

/* Every answer (whichever worker gives it) lists want posts; ms until so, or -1. */
static long
all_listed_after(const struct gazette *g, long want, int answers)
{
	long t0 = now_ms(), got = 0;
	int ok = 0;

	while (ok < answers && now_ms() - t0 < SEEN_MS) {
		got = archive_listed(g);
		ok = got == want ? ok + 1 : 0;
	}
	if (ok < answers)
		printf("    lifecycle: the archive listed %ld posts, not %ld\n", got, want);
	return ok < answers ? -1 : now_ms() - t0;
}

TEST(lifecycle_inotify_overflow)
{
	struct life l;
	char buf[64];
	long queued = 16384, seen, before;
	pid_t indexer;
	FILE *f;
	int n;

	if ((f = fopen("/proc/sys/fs/inotify/max_queued_events", "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL)
			queued = atol(buf);
		fclose(f);
	}
	/* Each new file is at least two events (created, closed): enough to overflow. */
	n = (int)(queued / 2 + 2000);
	if (n > 40000) {
		test_skip("max_queued_events is %ld: too many files to overflow it", queued);
		return;
	}
	if (!life_start(&l, &two_workers, false))
		return;
	before = archive_listed(&l.g);
	/* The indexer asleep, so the queue fills up and overflows. */
	indexer = gazette_indexer(&l.g);
	CHECK(indexer > 0);
	kill(indexer, SIGSTOP);
	write_posts(&l.g, 0, n);
	kill(indexer, SIGCONT);
	seen = all_listed_after(&l.g, before + n, 8);
	CHECK(seen >= 0);
	printf("    lifecycle: %d posts written while the indexer slept (a queue of %ld "
	    "events)%s\n", n, queued, gazette_wait_log(&l.g, "too many changes at once", 10) ?
	    ": it overflowed" : "");
	life_end(&l, "inotify overflow", seen);
}

/* ---- the content root ---- */

/*
 * A first run makes the scratch folder; its content/ becomes releases/A, a
 * copy with one more post releases/B, and content a symlink to A.
 */
static bool
make_releases(struct gazette *g, char *dir, size_t size)
{
	if (gazette_start(g, &two_workers) == -1)
		return false;
	gazette_stop(g);
	snprintf(dir, size, "%s", g->dir);
	return sh("cd '%s' && mkdir releases && mv content releases/A && "
	    "cp -R releases/A releases/B && "
	    "printf 'Title: Deployed release B\\n\\nFrom B.\\n' > "
	    "releases/B/posts/2022-02-02-release-b.txt && ln -s releases/A content", dir) == 0;
}

TEST(lifecycle_root_swapped_by_symlink)
{
	struct gazette_opts o = two_workers;
	static char dir[600];
	struct gazette g;
	struct life l;
	long seen;

	if (!make_releases(&g, dir, sizeof(dir)))
		return;
	o.dir = dir;
	if (!life_start(&l, &o, false))
		return;
	CHECK(!shows_now(&l.g, "/", "Deployed release B"));
	/* The usual atomic deploy: a new link renamed over the old one. */
	sh("cd '%s' && ln -sfn releases/B content.new && mv -T content.new content", dir);
	seen = seen_after(&l.g, "/", "Deployed release B");
	CHECK(seen >= 0);
	CHECK(gazette_wait_log(&l.g, "now leads to another folder", 1000));
	CHECK(gazette_wait_log(&l.g, "reloaded: generation 2", 5000));
	/* A post written into the new release shows; one in the old does not. */
	sh("printf 'Title: After the deploy\\n\\nB lives.\\n' > "
	    "'%s/releases/B/posts/2022-03-03-after.txt'", dir);
	CHECK(seen_after(&l.g, "/", "After the deploy") >= 0);
	life_end(&l, "content/ swapped to another release by symlink", seen);
}

TEST(lifecycle_root_renamed_into_place)
{
	struct gazette_opts o = two_workers;
	static char dir[600];
	struct gazette g;
	struct life l;
	long seen;

	if (!make_releases(&g, dir, sizeof(dir)))
		return;
	sh("cd '%s' && rm content && cp -R releases/A content", dir);
	o.dir = dir;
	if (!life_start(&l, &o, false))
		return;
	/* Two renames: for a moment there is no content/ at all. */
	sh("cd '%s' && mv content content.old && mv releases/B content", dir);
	seen = seen_after(&l.g, "/", "Deployed release B");
	CHECK(seen >= 0);
	CHECK(gazette_wait_log(&l.g, "reloaded: generation 2", 5000));
	life_end(&l, "content/ renamed into place", seen);
}

/* ---- reloads that fail ---- */

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	if ((buf = calloc(1, (size_t)n + 1)) != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int
count_log(const struct gazette *g, const char *what)
{
	char *log = gazette_log(g);
	int n = count_str(log, what);

	free(log);
	return n;
}

#define FAILED "reload failed, keeping the running configuration"
#define RELOADED "reloaded: generation"

/*
 * Writes the configuration as conf with from replaced by to (or, with from
 * NULL, the global line to added before the first host section), then asks
 * for a reload: "failed" or "reloaded" as the log then says, or "no answer".
 */
static const char *
reload_with(const struct gazette *g, const char *conf, const char *from, const char *to)
{
	const char *at = from ? strstr(conf, from) : strstr(conf, "[host ");
	int failed = count_log(g, FAILED), reloaded = count_log(g, RELOADED);
	FILE *f;

	if (at == NULL || (f = fopen(g->conf, "w")) == NULL)
		return "cannot rewrite the configuration";
	fprintf(f, "%.*s%s%s%s", (int)(at - conf), conf, to, from ? "" : "\n",
	    at + (from ? strlen(from) : 0));
	fclose(f);
	kill(g->pid, SIGHUP);
	for (long t0 = now_ms(); now_ms() - t0 < 10000; sleep_ms(5)) {
		if (count_log(g, FAILED) > failed)
			return "failed";
		if (count_log(g, RELOADED) > reloaded)
			return "reloaded";
	}
	return "no answer";
}

TEST(lifecycle_reload_failures_keep_serving)
{
	struct gazette_opts o = two_workers;
	char key[1200], bad[1200], *conf;
	pid_t pids[4];
	struct life l;
	int i;

	o.host = "title = Before\n";
	if (!life_start(&l, &o, false))
		return;
	if ((conf = read_file(l.g.conf)) == NULL) {
		test_fail(__FILE__, __LINE__, "cannot read %s", l.g.conf);
		life_end(&l, "failed reloads", 0);
		return;
	}
	/* A typo. */
	CHECK_STR(reload_with(&l.g, conf, NULL, "no_such_key = 1"), "failed");
	CHECK(shows_now(&l.g, "/", "# Before"));
	/* A key that is not one. */
	snprintf(key, sizeof(key), "key = %s/certs/localhost.key", l.g.dir);
	snprintf(bad, sizeof(bad), "key = %s/bad.key", l.g.dir);
	sh("echo 'not a key' > '%s/bad.key'", l.g.dir);
	CHECK_STR(reload_with(&l.g, conf, key, bad), "failed");
	/* Its key holder read the key, said what is wrong with it and exited. */
	l.deaths++;
	CHECK(gazette_wait_log(&l.g, "bad.key: ", 5000));
	CHECK(shows_now(&l.g, "/", "# Before"));
	/*
	 * An address that cannot be bound, after the ones that can were taken
	 * over. Bug guarded against: the live sockets were moved to the failed
	 * generation and closed with it; the next worker to start had none.
	 */
	CHECK_STR(reload_with(&l.g, conf, "listen = 127.0.0.1", "listen = 127.0.0.1 192.0.2.1"),
	    "failed");
	CHECK(shows_now(&l.g, "/", "# Before"));
	/* Both workers replaced: only what the supervisor still holds is left to them. */
	CHECK(gazette_workers(&l.g, pids, 4) == 2);
	for (i = 0; i < 2; i++) {
		/* Asked to go, not killed: it finishes what it is sending first. */
		kill(pids[i], SIGTERM);
		l.deaths++;
		for (long t0 = now_ms(); now_ms() - t0 < 5000 &&
		    count_log(&l.g, "restarted in slot") <= i; )
			sleep_ms(5);
	}
	CHECK_INT(count_log(&l.g, "restarted in slot"), 2);
	for (i = 0; i < 20; i++)
		CHECK(shows_now(&l.g, "/", "# Before"));
	/* And then a good one. */
	CHECK_STR(reload_with(&l.g, conf, "title = Before", "title = After"), "reloaded");
	CHECK(shows_now(&l.g, "/", "# After"));
	free(conf);
	life_end(&l, "reloads that fail (typo, bad key, address)", 0);
}

/* Terminates a worker (it finishes what it sends) and waits for its replacement. */
static void
replace_worker(struct life *l, pid_t pid)
{
	int before = count_log(&l->g, "restarted in slot");

	kill(pid, SIGTERM);
	l->deaths++;
	for (long t0 = now_ms(); now_ms() - t0 < 5000 &&
	    count_log(&l->g, "restarted in slot") == before; )
		sleep_ms(5);
	CHECK_INT(count_log(&l->g, "restarted in slot"), before + 1);
}

/*
 * Bug guarded against: a good reload's teardown of the old generation freed
 * the process-wide magic cookie, so a worker started later typed every
 * file by extension alone: a PNG went out as application/octet-stream.
 */
TEST(lifecycle_types_after_reload_and_restart)
{
	struct reply r;
	char head[200];
	pid_t pids[4];
	struct life l;
	int i, n;

	if (!life_start(&l, &two_workers, false))
		return;
	/* No extension: libmagic alone can tell it is a PNG. */
	sh("cp '%s/fixtures/gopher-site/files/pixel.png' '%s/pixel'", test_source_dir(),
	    l.g.root);
	kill(l.g.pid, SIGHUP);
	CHECK(gazette_wait_log(&l.g, "reloaded: generation 2", 5000));
	/* The old workers finish what they send, then go. */
	for (long t0 = now_ms(); now_ms() - t0 < 5000 && gazette_workers(&l.g, pids, 4) > 2; )
		sleep_ms(5);
	n = gazette_workers(&l.g, pids, 4);
	CHECK_INT(n, 2);
	for (i = 0; i < n; i++)
		replace_worker(&l, pids[i]);
	for (i = 0; i < 10; i++) {
		gemini_path(&l.g, "/pixel", &r);
		CHECK(strncmp(reply_header(&r, head, sizeof(head)), "20 image/png", 12) == 0);
		reply_free(&r);
	}
	life_end(&l, "a reload, then every worker replaced", 0);
}

/*
 * The supervisor stopped (a slow disk, a reload's work): workers keep
 * serving, never blocked by their log, and say afterwards how many lines
 * they had to drop.
 */
TEST(lifecycle_log_never_blocks_serving)
{
	enum { REQUESTS = 3000 };
	struct reply r;
	long t0, t, worst = 0;
	struct life l;
	int i, ok = 0;

	if (!life_start(&l, &two_workers, false))
		return;
	kill(l.g.pid, SIGSTOP);
	t0 = now_ms();
	for (i = 0; i < REQUESTS; i++) {
		t = now_ms();
		gemini_path(&l.g, "/", &r);
		ok += check_home(&r) == NULL;
		reply_free(&r);
		if (now_ms() - t > worst)
			worst = now_ms() - t;
	}
	t = now_ms() - t0;
	kill(l.g.pid, SIGCONT);
	/* Each request logs a line of about 100 bytes: far more than any queue holds. */
	CHECK_INT(ok, REQUESTS);
	CHECK(gazette_wait_log(&l.g, "log line(s) dropped: the supervisor fell behind", 5000));
	printf("    lifecycle: %d requests served in %ld ms (worst %ld ms) with the "
	    "supervisor stopped\n", REQUESTS, t, worst);
	life_end(&l, "the supervisor stopped", 0);
}

/* A worker that keeps dying is restarted after a growing pause, its last words logged. */
TEST(lifecycle_crash_loop_is_reported)
{
	static const struct gazette_opts o = { .fixture = "archive", .global = "workers = 1\n" };
	struct gazette g;
	pid_t pid = 0, prev = 0;
	long t0;
	int i;

	if (gazette_start(&g, &o) == -1)
		return;
	for (i = 0; i < 3; i++) {
		/* The one worker: wait for the one that replaces the last one killed. */
		for (t0 = now_ms(); now_ms() - t0 < 10000; sleep_ms(5))
			if (gazette_workers(&g, &pid, 1) == 1 && pid != prev)
				break;
		prev = pid;
		kill(pid, SIGKILL);
	}
	CHECK(gazette_wait_log(&g, "keeps dying (3 times in a row)", 5000));
	CHECK(gazette_wait_log(&g, "its last words: ", 100));
	CHECK(gazette_wait_log(&g, ": serving\"", 100));
	/* Back after the pause, and serving. */
	CHECK(seen_after(&g, "/", "# gazette") >= 0);
	gazette_stop(&g);
}

/* ---- forks that fail ---- */

static bool
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (f == NULL)
		return false;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

/*
 * A pids cgroup of the test's own, where a limit on processes makes fork()
 * fail (root is not bound by RLIMIT_NPROC). false when the machine has none
 * that can be written.
 */
static bool
cgroup_make(char *dir, size_t size)
{
	static const char *const bases[] = { "/sys/fs/cgroup/pids", "/sys/fs/cgroup" };
	char path[700];

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		snprintf(dir, size, "%s/gazette-test-%d", bases[i], (int)getpid());
		snprintf(path, sizeof(path), "%s/pids.max", dir);
		if (mkdir(dir, 0755) == 0 && access(path, W_OK) == 0)
			return true;
		rmdir(dir);
	}
	return false;
}

TEST(lifecycle_fork_failures_are_retried)
{
	char cg[512], path[700], pid[32];
	struct gazette_opts o = two_workers;
	pid_t pids[4];
	struct life l;

	if (geteuid() != 0 || !cgroup_make(cg, sizeof(cg))) {
		test_skip("no pids cgroup to make fork() fail in (needs root and cgroupfs)");
		return;
	}
	o.host = "title = Before\n";
	if (!life_start(&l, &o, false)) {
		rmdir(cg);
		return;
	}
	/* The supervisor alone in a cgroup where it may have no other process. */
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d\n", (int)l.g.pid);
	CHECK(write_text(path, pid));
	snprintf(path, sizeof(path), "%s/pids.max", cg);
	CHECK(write_text(path, "1\n"));
	/* A reload cannot start its key holder (its first child): it fails, and changes nothing. */
	kill(l.g.pid, SIGHUP);
	CHECK(gazette_wait_log(&l.g, "reload failed, keeping the running configuration: cannot "
	    "start the key holder", 5000));
	CHECK(shows_now(&l.g, "/", "# Before"));
	/* A worker gone cannot be replaced yet: tried again and again, with a pause. */
	CHECK(gazette_workers(&l.g, pids, 4) == 2);
	kill(pids[0], SIGTERM);
	l.deaths++;
	CHECK(gazette_wait_log(&l.g, "cannot start a worker in slot", 5000));
	CHECK(shows_now(&l.g, "/", "# Before"));
	/* Forks work again: the slot is filled at the next try. */
	CHECK(write_text(path, "max\n"));
	CHECK(gazette_wait_log(&l.g, "restarted in slot", 10000));
	CHECK(shows_now(&l.g, "/", "# Before"));
	life_end(&l, "fork() failing, then working again", 0);
	/* Everything that was in it has exited. */
	CHECK(rmdir(cg) == 0);
}

/* ---- the indexer ---- */

/*
 * A reload onto a new root whose first scan is cut short (its indexer
 * killed): the reload fails, the running generation serves on.
 */
TEST(lifecycle_reload_fails_when_its_indexer_dies)
{
	struct gazette_opts o = two_workers;
	char *conf, from[700], to[700];
	const char *result = NULL;
	struct gazette g2;
	pid_t found[4];
	struct life l;
	long t0;
	int n = 0;

	o.host = "title = Before\n";
	if (!life_start(&l, &o, false))
		return;
	/* Another root with enough posts that its first scan takes a while. */
	sh("mkdir -p '%s/other/posts' && cp -R '%s/posts/'* '%s/other/posts/'", l.g.dir,
	    l.g.root, l.g.dir);
	g2 = l.g;
	snprintf(g2.root, sizeof(g2.root), "%s/other", l.g.dir);
	write_posts(&g2, 0, 20000);
	conf = read_file(l.g.conf);
	snprintf(from, sizeof(from), "root = %s\n", l.g.root);
	snprintf(to, sizeof(to), "root = %s/other\ntitle = After\n", l.g.dir);
	if (conf != NULL && strstr(conf, from) != NULL) {
		FILE *f = fopen(l.g.conf, "w");
		if (f != NULL) {
			const char *at = strstr(conf, from);
			fprintf(f, "%.*s%s%s", (int)(at - conf), conf, to, at + strlen(from));
			fclose(f);
		}
		kill(l.g.pid, SIGHUP);
		/* The second indexer, as soon as it is there. */
		for (t0 = now_ms(); now_ms() - t0 < 5000; )
			if ((n = gazette_children(&l.g, "gazette-indexer", found, 4)) == 2)
				break;
		if (n == 2) {
			kill(found[0] > found[1] ? found[0] : found[1], SIGKILL);
			l.deaths++;
		}
		for (t0 = now_ms(); result == NULL && now_ms() - t0 < 10000; sleep_ms(5))
			if (count_log(&l.g, FAILED) > 0)
				result = "failed";
			else if (count_log(&l.g, RELOADED) > 0)
				result = "reloaded";
	}
	free(conf);
	if (result != NULL && strcmp(result, "reloaded") == 0) {
		/* The scan beat the kill: nothing was shown either way. */
		test_skip("the new indexer finished before it could be killed");
		l.deaths = 0;
	} else {
		CHECK(result != NULL);
		CHECK(gazette_wait_log(&l.g, "the post index could not be built", 100));
		CHECK(shows_now(&l.g, "/", "# Before"));
	}
	life_end(&l, "a reload whose indexer dies", 0);
}

/* A capsule of n posts (and nothing else) made before start: started on it. */
static bool
life_start_with_posts(struct life *l, int n)
{
	struct gazette_opts o = two_workers;
	static char dir[600];

	o.fixture = NULL;
	if (gazette_start(&l->g, &o) == -1)
		return false;
	sh("mkdir -p '%s/posts'", l->g.root);
	write_posts(&l->g, 0, n);
	gazette_stop(&l->g);
	snprintf(dir, sizeof(dir), "%s", l->g.dir);
	o.dir = dir;
	return life_start(l, &o, true);
}

/*
 * Bug guarded against: every worker rescanned posts/ through a dup of one
 * descriptor made before the fork, so two rescanning at once shared one
 * directory position and each lost part of the archive, for good.
 */
TEST(lifecycle_every_worker_lists_every_post)
{
	enum { POSTS = 1500, ASK = 16 };
	struct life l;
	long want, seen;
	int round, i;

	if (!life_start_with_posts(&l, POSTS))
		return;
	/* Right after a start, then right after a reload, many at once. */
	want = POSTS;
	for (round = 0; round < 2; round++) {
		if (round == 1) {
			kill(l.g.pid, SIGHUP);
			CHECK(gazette_wait_log(&l.g, "reloaded: generation 2", 5000));
		}
		for (i = 0; i < ASK; i++) {
			test_context("round %d, answer %d", round, i);
			CHECK_INT(archive_listed(&l.g), want);
		}
	}
	test_context("%s", "");
	seen = all_listed_after(&l.g, want, ASK);
	CHECK(seen >= 0);
	life_end(&l, "1,500 posts, two workers, a start and a reload", seen);
}

/* Reads "rchar" (bytes a process read) from /proc/PID/io; -1 when it cannot. */
static long
read_bytes(pid_t pid)
{
	char path[64], line[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "rchar: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * Workers never scan: however many posts, the indexer reads them once and
 * a worker's first request waits for no scan. Proved by what they read.
 */
TEST(lifecycle_workers_never_read_the_archive)
{
	enum { POSTS = 20000 };
	pid_t pids[4], indexer;
	long worker_max = 0, idx, got;
	int n, i;
	struct life l;

	if (geteuid() != 0) {
		test_skip("reading another user's /proc/PID/io needs root");
		return;
	}
	if (!life_start_with_posts(&l, POSTS))
		return;
	for (i = 0; i < 8; i++)
		CHECK_INT(archive_listed(&l.g), POSTS);
	n = gazette_workers(&l.g, pids, 4);
	for (i = 0; i < n; i++)
		if ((got = read_bytes(pids[i])) > worker_max)
			worker_max = got;
	indexer = gazette_indexer(&l.g);
	idx = read_bytes(indexer);
	/* About 40 bytes a post: the indexer read them all, a worker next to nothing. */
	CHECK(idx > 20L * POSTS);
	CHECK(worker_max < idx / 4);
	printf("    lifecycle: %d posts: the indexer read %ld bytes, the busiest worker %ld\n",
	    POSTS, idx, worker_max);
	life_end(&l, "20,000 posts, workers that never scan", 0);
}
