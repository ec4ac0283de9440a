/*
 * Confinement proven by attempt. build/gazette-hooks (tests/hooks/attempt.h)
 * asks a confined worker to try what an attacker holding it would: read
 * outside the root, read the key, write inside the root, connect out, run a
 * shell, trace its sibling. Each must fail with the error of the layer that
 * refuses it: seccomp's EPERM for sockets, exec and ptrace; Landlock's
 * EACCES for files (and, under AddressSanitizer, where seccomp cannot run,
 * for connect and exec, and EPERM for ptrace across domains). Permissions
 * are opened wide first, so that only the confinement can refuse. What the
 * machine lacks is a skip with its reason, never a pass.
 */
#include <errno.h>
#include <linux/landlock.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "load.h"
#include "test.h"

static int
landlock_abi(void)
{
	return (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
}

/* The hooks build, or NULL (with the test skipped) when there is none. */
static const char *
hooks_binary(void)
{
	const char *bin = getenv("GAZETTE_HOOKS");

	if (bin == NULL || *bin == '\0')
		bin = "build/gazette-hooks";
	if (access(bin, X_OK) == 0)
		return bin;
	test_skip("%s is not built (make test builds it)", bin);
	return NULL;
}

/*
 * Asks for attempt name (with arg) and returns its outcome line ("NAME:
 * refused: EACCES (...) [worker PID]"), malloc'd; *worker gets the PID.
 */
static char *
attempt(const struct gazette *g, const char *name, const char *arg, int *worker)
{
	char path[700], *page, *line, *w;

	snprintf(path, sizeof(path), "/.gazette-attempt/%s%s%s", name, arg ? "?" : "",
	    arg ? arg : "");
	page = gemini_page(g, path);
	if (page == NULL)
		page = strdup("");
	line = strstr(page, "\r\n") ? strdup(strstr(page, "\r\n") + 2) : strdup(page);
	free(page);
	*worker = (w = strstr(line, "[worker ")) != NULL ? atoi(w + 8) : 0;
	return line;
}

/* Checks that attempt name was refused with want (an errno name). */
static void
expect_refused(const struct gazette *g, const char *name, const char *arg, const char *want)
{
	char prefix[200], *line;
	int worker;

	test_context("%s %s", name, arg ? arg : "");
	line = attempt(g, name, arg, &worker);
	snprintf(prefix, sizeof(prefix), "%s: refused: %s (", name, want);
	if (strncmp(line, prefix, strlen(prefix)) != 0)
		test_fail(__FILE__, __LINE__, "want \"%s...\", got \"%s\"", prefix, line);
	else
		printf("    confinement: %s", line);
	free(line);
	test_context("%s", "");
}

static const struct gazette_opts two = {
	.fixture = "archive",
	.global = "workers = 2\n",
};

/*
 * Files: nothing outside the roots, not the key, no write anywhere; not
 * even in posts/ of a site that takes uploads, where the publisher writes
 * (a worker hands it uploads, it never writes them itself).
 */
TEST(confinement_files_by_attempt)
{
	struct gazette_opts o = two;
	char key[700], certs[700], created[700], posts[700];
	struct gazette g;

	if ((o.binary = hooks_binary()) == NULL)
		return;
	if (landlock_abi() < 1) {
		test_skip("this kernel has no Landlock: nothing confines the file system");
		return;
	}
	o.host = "titan = yes\nauthors = "
	    "a974f313e33e288078a4d2271beecf92ab2cebb11ae84b7b516a5bf8438195c4\n";
	if (gazette_start(&g, &o) == -1)
		return;
	/* Wide open to every user: only Landlock stands in the way. */
	snprintf(posts, sizeof(posts), "%s/posts", g.root);
	chmod(posts, 0777);
	snprintf(key, sizeof(key), "%s/certs/localhost.key", g.dir);
	snprintf(certs, sizeof(certs), "%s/certs", g.dir);
	chmod(test_tmp_dir(), 0755);
	chmod(g.dir, 0755);
	chmod(certs, 0755);
	chmod(key, 0644);
	chmod(g.root, 0777);
	expect_refused(&g, "open-outside", "/etc/passwd", "EACCES");
	expect_refused(&g, "open-key", key, "EACCES");
	expect_refused(&g, "write-root", "attempt.txt", "EACCES");
	snprintf(created, sizeof(created), "%s/attempt.txt", g.root);
	CHECK(access(created, F_OK) == -1);
	expect_refused(&g, "write-root", "posts/attempt.txt", "EACCES");
	snprintf(created, sizeof(created), "%s/posts/attempt.txt", g.root);
	CHECK(access(created, F_OK) == -1);
	/* What it can hand the publisher is checked again: none of these is written. */
	expect_refused(&g, "publish", "unsealed", "40");
	expect_refused(&g, "publish", "traversal", "59");
	expect_refused(&g, "publish", "notapost", "59");
	snprintf(created, sizeof(created), "%s/posts/2030-01-01-evil.txt", g.root);
	CHECK(access(created, F_OK) == -1);
	snprintf(created, sizeof(created), "%s/evil.txt", g.root);
	CHECK(access(created, F_OK) == -1);
	chmod(key, 0600);
	chmod(test_tmp_dir(), 0700);
	gazette_stop(&g);
}

TEST(confinement_calls_by_attempt)
{
	struct gazette_opts o = two;
	struct sockaddr_in sin = { 0 };
	socklen_t len = sizeof(sin);
	char arg[32], *line;
	pid_t pids[2], after[2];
	struct gazette g;
	int lfd, i, worker, abi = landlock_abi();

	if ((o.binary = hooks_binary()) == NULL)
		return;
	if (UNDER_ASAN && abi < 4) {
		test_skip("no seccomp under AddressSanitizer and no Landlock network rules "
		    "(ABI %d < 4): nothing refuses a connection", abi);
		return;
	}
	if (gazette_start(&g, &o) == -1)
		return;
	/* A port that would accept: only the confinement can refuse the connection. */
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(lfd, 4) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1) {
		test_fail(__FILE__, __LINE__, "cannot listen: %s", strerror(errno));
		gazette_stop(&g);
		return;
	}
	snprintf(arg, sizeof(arg), "%d", ntohs(sin.sin_port));
	expect_refused(&g, "connect", arg, UNDER_ASAN ? "EACCES" : "EPERM");
	CHECK(accept(lfd, NULL, NULL) == -1 && errno == EAGAIN);
	close(lfd);
	/*
	 * Nor a Unix socket, such as a FastCGI application's (the supervisor
	 * connects for a worker, to configured addresses only). Landlock has no
	 * rule for that: without seccomp (under ASan) nothing refuses it.
	 */
	if (!UNDER_ASAN) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/app-%d.sock", test_tmp_dir(),
		    (int)getpid());
		if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
		    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(lfd, 4) == -1 ||
		    chmod(sun.sun_path, 0777) == -1)
			test_fail(__FILE__, __LINE__, "cannot listen on %s: %s", sun.sun_path,
			    strerror(errno));
		expect_refused(&g, "connect-unix", sun.sun_path, "EPERM");
		CHECK(accept(lfd, NULL, NULL) == -1 && errno == EAGAIN);
		close(lfd);
		unlink(sun.sun_path);
	} else
		printf("    confinement: connect-unix not tried: no seccomp under ASan\n");
	expect_refused(&g, "exec", NULL, UNDER_ASAN ? "EACCES" : "EPERM");
	/* Its sibling: asked of worker 0 until worker 1 is the one that answers. */
	CHECK_INT(gazette_workers(&g, pids, 2), 2);
	snprintf(arg, sizeof(arg), "%d", (int)pids[0]);
	for (i = 0, worker = (int)pids[0]; i < 200 && worker == (int)pids[0]; i++) {
		line = attempt(&g, "ptrace", arg, &worker);
		if (worker == (int)pids[1]) {
			CHECK(strncmp(line, "ptrace: refused: EPERM (", 24) == 0);
			printf("    confinement: %s", line);
		}
		free(line);
	}
	CHECK(worker == (int)pids[1]);
	/* Each refusal left the workers standing: the same two serve on. */
	CHECK_INT(gazette_workers(&g, after, 2), 2);
	CHECK(after[0] == pids[0] && after[1] == pids[1]);
	gazette_stop(&g);
}

/* ---- rules judge the name a symlink leads to, not how it is spelt ---- */

static const struct gazette_opts linked = {
	.fixture = "archive",
	.gopher = true,
	.host = "require_cert = /private/\n",
};

/* The status of a Gemini request for path: "20", "51"... */
static void
gemini_status(const struct gazette *g, const char *path, char *status)
{
	struct reply r;

	gemini_path(g, path, &r);
	snprintf(status, 3, "%s", r.data != NULL ? r.data : "");
	reply_free(&r);
}

/* Whether a Gopher request for selector gets the file (its body holds want). */
static bool
gopher_serves(const struct gazette *g, const char *selector, const char *want)
{
	char req[300];
	struct reply r;
	bool served;

	snprintf(req, sizeof(req), "%s\r\n", selector);
	tcp_fetch(g->gopher_port, req, strlen(req), 10000, &r);
	served = r.data != NULL && strstr(r.data, want) != NULL && r.data[0] != '3';
	reply_free(&r);
	return served;
}

TEST(confinement_links_judged_by_real_name)
{
	static const struct {
		const char *path;	/* asked for */
		const char *status;	/* Gemini's answer */
	} rows[] = {
		{ "/pub-git/config", "51" },		/* a link to a dot-folder */
		{ "/notes.txt", "51" },			/* a link to a dotfile */
		{ "/public-alias/doc.txt", "51" },	/* into a require_cert folder */
		{ "/public-alias/", "51" },
		{ "/ok.txt", "20" },			/* a link to a plain file */
		{ "/ok-dir/visible.txt", "20" },	/* through a linked folder */
		{ "/.git/config", "51" },		/* and the real names stay hidden */
		{ "/private/doc.txt", "60" },
	};
	char status[4], path[700];
	struct gazette g;
	size_t i;
	char *page;

	if (gazette_start(&g, &linked) == -1)
		return;
	gazette_write(&g, ".git/config", "[core] secret git\n", -1);
	gazette_write(&g, ".secret/key.txt", "secret key\n", -1);
	gazette_write(&g, "private/doc.txt", "secret document\n", -1);
	gazette_write(&g, "files/visible.txt", "visible text\n", -1);
	static const char *const links[][2] = {
		{ ".git", "pub-git" }, { ".secret/key.txt", "notes.txt" },
		{ "private", "public-alias" }, { "files/visible.txt", "ok.txt" },
		{ "files", "ok-dir" },
	};
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", g.root, links[i][1]);
		CHECK(symlink(links[i][0], path) == 0);
	}
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("gemini %s", rows[i].path);
		gemini_status(&g, rows[i].path, status);
		CHECK_STR(status, rows[i].status);
	}
	/* Gopher: the same names give nothing secret. */
	test_context("%s", "gopher");
	CHECK(!gopher_serves(&g, "/pub-git/config", "secret git"));
	CHECK(!gopher_serves(&g, "/notes.txt", "secret key"));
	CHECK(!gopher_serves(&g, "/public-alias/doc.txt", "secret document"));
	CHECK(gopher_serves(&g, "/ok.txt", "visible text"));
	/* Nor does a listing name them. */
	snprintf(path, sizeof(path), "%s/files/git-alias", g.root);
	CHECK(symlink("../.git", path) == 0);
	page = gemini_page(&g, "/files/");
	CHECK(strstr(page, "visible.txt") != NULL && strstr(page, "git-alias") == NULL);
	free(page);
	test_context("%s", "");
	gazette_stop(&g);
}

/* ---- the key holder ---- */

/*
 * No worker holds a private key: its contexts have a stand-in, the key
 * holder (gazette-keys) signs. Killed, it is restarted; handshakes meanwhile
 * fail and close, none hangs.
 */
TEST(confinement_key_holder)
{
	struct gazette_opts o = two;
	struct gazette g;
	struct reply r;
	pid_t keys, again;
	int ok = 0, failed = 0, hung = 0;
	long t0;

	if ((o.binary = hooks_binary()) == NULL)
		return;
	if (gazette_start(&g, &o) == -1)
		return;
	expect_refused(&g, "key-memory", NULL, "ENOKEY");
	CHECK_INT(gazette_children(&g, "gazette-keys", &keys, 1), 1);
	/* Stopped: no signature comes; each handshake gives up and closes. */
	CHECK(kill(keys, SIGSTOP) == 0);
	for (int i = 0; i < 3; i++) {
		gemini_path(&g, "/", &r);
		CHECK(r.data == NULL || strncmp(r.data, "20 ", 3) != 0);
		CHECK(!r.timed_out);
		reply_free(&r);
	}
	kill(keys, SIGCONT);
	/* Killed: restarted, and the same sockets are answered again. */
	CHECK(kill(keys, SIGKILL) == 0);
	for (t0 = now_ms(); now_ms() - t0 < 20000 && ok < 20; ) {
		gemini_path(&g, "/", &r);
		if (r.data != NULL && strncmp(r.data, "20 ", 3) == 0)
			ok++;
		else if (r.timed_out)
			hung++;
		else
			failed++;
		reply_free(&r);
	}
	CHECK_INT(ok, 20);
	CHECK_INT(hung, 0);
	CHECK_INT(gazette_children(&g, "gazette-keys", &again, 1), 1);
	CHECK(again != keys);
	printf("    confinement: key holder killed: %d handshake(s) failed cleanly, none hung, "
	    "then served again\n", failed);
	gazette_stop(&g);
}

/*
 * Two reloads in quick succession, both with a key that is not one: each
 * fails, the running generation serves on, and no key holder of a reload
 * thrown away is left behind (nor taken for a later one's).
 */
TEST(confinement_key_holder_reloads_that_fail)
{
	char *conf, *at, bad[700], path[700];
	struct gazette g;
	long t0;
	pid_t keys[4];
	int n = 0;
	FILE *f;

	if (gazette_start(&g, &two) == -1)
		return;
	snprintf(bad, sizeof(bad), "%s/bad.key", g.dir);
	if ((f = fopen(bad, "w")) != NULL) {
		fputs("not a key\n", f);
		fclose(f);
	}
	/* The configuration again, its key line pointing at bad.key. */
	snprintf(path, sizeof(path), "%s/certs/localhost.key", g.dir);
	if ((f = fopen(g.conf, "r")) != NULL) {
		char text[8192];
		size_t len = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[len] = '\0';
		if ((at = strstr(text, path)) != NULL && (f = fopen(g.conf, "w")) != NULL) {
			fprintf(f, "%.*s%s%s", (int)(at - text), text, bad, at + strlen(path));
			fclose(f);
		}
	}
	kill(g.pid, SIGHUP);
	kill(g.pid, SIGHUP);
	CHECK(gazette_wait_log(&g, "reload failed, keeping the running configuration", 10000));
	for (t0 = now_ms(); now_ms() - t0 < 10000; sleep_ms(20))
		if ((n = gazette_children(&g, "gazette-keys", keys, 4)) == 1)
			break;
	CHECK_INT(n, 1);
	conf = gemini_page(&g, "/");
	CHECK(strncmp(conf, "20 ", 3) == 0);
	free(conf);
	gazette_stop(&g);
}
