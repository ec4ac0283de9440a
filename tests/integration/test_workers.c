/*
 * The supervisor and its workers: a killed worker is replaced, SIGHUP reloads
 * without dropping a response, workers run confined.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "test.h"

static const struct gazette_opts two_workers = {
	.fixture = "archive",
	.global = "workers = 2\n",
	.host = "title = Before\n",
};

static bool
home_has(const struct gazette *g, const char *text)
{
	struct reply r;
	bool has;

	gemini_path(g, "/", &r);
	has = strstr(r.data, text) != NULL;
	reply_free(&r);
	return has;
}

TEST(workers_replaced_when_killed)
{
	struct gazette g;
	pid_t pids[8], after[8];
	int n, i;

	if (gazette_start(&g, &two_workers) == -1)
		return;
	CHECK(home_has(&g, "# Before"));
	n = gazette_workers(&g, pids, 8);
	CHECK_INT(n, 2);
	if (n > 0) {
		kill(pids[0], SIGKILL);
		CHECK(gazette_wait_log(&g, "restarted in slot", 5000));
		CHECK(gazette_wait_log(&g, "died: Killed", 100));
	}
	/* Serving throughout, and again two workers. */
	for (i = 0; i < 10; i++)
		CHECK(home_has(&g, "# Before"));
	CHECK_INT(gazette_workers(&g, after, 8), 2);
	gazette_stop(&g);
}

TEST(workers_reload_on_sighup_keeps_responses)
{
	static char big[8 << 20];
	struct client_opts o = { .sni = "localhost", .timeout_ms = 20000 };
	struct gazette g;
	struct reply r;
	char req[200], conf[8192], *p;
	size_t len;
	FILE *f;

	if (gazette_start(&g, &two_workers) == -1)
		return;
	memset(big, 'x', sizeof(big));
	CHECK(gazette_write(&g, "big.bin", big, sizeof(big)) == 0);
	/* A slow reader of 8 MiB is in flight while the configuration changes. */
	snprintf(req, sizeof(req), "gemini://localhost:%d/big.bin\r\n", g.gemini_port);
	struct gemini_conn *c = gemini_connect(g.gemini_port, &o, &r);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK(gemini_send(c, req, strlen(req), &r) == 0);
		/* The first bytes: the response has begun before the reload. */
		gemini_read(c, 1000, &r);
		CHECK(r.len >= 1000);
	}
	if ((f = fopen(g.conf, "r")) != NULL) {
		len = fread(conf, 1, sizeof(conf) - 1, f);
		conf[len] = '\0';
		fclose(f);
		if ((p = strstr(conf, "title = Before")) != NULL)
			memcpy(p, "title = After!", 14);
		f = fopen(g.conf, "w");
		fputs(conf, f);
		fclose(f);
	}
	gazette_signal(&g, SIGHUP);
	CHECK(gazette_wait_log(&g, "reloaded: generation 2", 5000));
	CHECK(home_has(&g, "# After!"));
	if (c != NULL) {
		gemini_read(c, SIZE_MAX, &r);
		CHECK(r.close_notify);
		reply_body(&r, &len);
		CHECK_INT(len, sizeof(big));
		gemini_disconnect(c);
	}
	reply_free(&r);
	/* A broken configuration is refused and the running one kept. */
	if ((f = fopen(g.conf, "a")) != NULL) {
		fputs("no_such_key = 1\n", f);
		fclose(f);
	}
	gazette_signal(&g, SIGHUP);
	CHECK(gazette_wait_log(&g, "reload failed, keeping the running configuration", 5000));
	CHECK(home_has(&g, "# After!"));
	gazette_stop(&g);
}

TEST(workers_are_confined)
{
	struct gazette g;
	char buf[256], keypath[700];
	struct stat st;
	pid_t pids[8];
	int n, i;

	if (gazette_start(&g, &two_workers) == -1)
		return;
	CHECK(home_has(&g, "# Before"));
	n = gazette_workers(&g, pids, 8);
	CHECK(n == 2);
	snprintf(keypath, sizeof(keypath), "%s/certs/localhost.key", g.dir);
	CHECK(stat(keypath, &st) == 0 && (st.st_mode & 077) == 0);
	for (i = 0; i < n; i++) {
		test_context("worker %d", (int)pids[i]);
		CHECK_STR(proc_status(pids[i], "NoNewPrivs", buf, sizeof(buf)), "1");
		if (geteuid() == 0) {
			/* Not root, and not the key's owner: the key cannot be opened. */
			CHECK(strncmp(proc_status(pids[i], "Uid", buf, sizeof(buf)), "0\t", 2) != 0);
			CHECK(atoi(buf) != (int)st.st_uid);
			CHECK_STR(proc_status(pids[i], "Groups", buf, sizeof(buf)), "");
		}
	}
	test_context("%s", "");
	/* What Landlock and seccomp refuse is proven by attempt: test_confinement.c. */
	gazette_stop(&g);
}

TEST(workers_chroot)
{
	static char global[1300], dir[600];
	struct gazette_opts o = { .fixture = "archive", .global = "workers = 1\n" };
	struct gazette g;
	char path[700], link[700], *out = NULL;
	const char *args[] = { "-n", "-c", NULL, NULL };
	pid_t pid;
	ssize_t n;

	if (geteuid() != 0) {
		test_skip("chroot needs root; the CI runs as root");
		return;
	}
	/* A first run makes the scratch folder, whose root becomes the chroot. */
	if (gazette_start(&g, &o) == -1)
		return;
	gazette_stop(&g);
	snprintf(global, sizeof(global), "workers = 1\nchroot = %s\n", g.root);
	o.global = global;
	/* gazette_start clears g: the folder's name must live elsewhere. */
	snprintf(dir, sizeof(dir), "%s", g.dir);
	o.dir = dir;
	if (gazette_start(&g, &o) == -1)
		return;
	CHECK(home_has(&g, "# gazette"));
	CHECK(gazette_wait_log(&g, ": chroot ", 2000));
	if (gazette_workers(&g, &pid, 1) == 1) {
		snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
		n = readlink(path, link, sizeof(link) - 1);
		CHECK(n > 0);
		link[n > 0 ? n : 0] = '\0';
		CHECK_STR(link, g.root);
	}
	gazette_stop(&g);
	/* A root outside the chroot: one clear message, exit status 1. */
	{
		char conf[8192], *p;
		size_t len = 0;
		FILE *f;

		if ((f = fopen(g.conf, "r")) != NULL) {
			len = fread(conf, 1, sizeof(conf) - 1, f);
			fclose(f);
		}
		conf[len] = '\0';
		if ((p = strstr(conf, "chroot = ")) != NULL && (f = fopen(g.conf, "w")) != NULL) {
			fprintf(f, "%.*schroot = %s/certs%s", (int)(p - conf), conf, g.dir,
			    strchr(p, '\n'));
			fclose(f);
		}
	}
	args[2] = g.conf;
	CHECK_INT(gazette_exec(args, &out), 1);
	CHECK(out != NULL && strstr(out, "is outside chroot") != NULL);
	free(out);
}
