/*
 * The FastCGI gateway against Debian's fcgiwrap running real shell scripts
 * (started here on a Unix socket in the scratch folder): the variables a
 * script sees over Gemini, with and without a client certificate, and over
 * Gopher; input asked for, then answered; a malformed answer, an
 * application that is down or that hangs, each a 42 (an error line on
 * Gopher); fifty requests at once; a 10 MiB answer streamed to a slow
 * reader across a reload; the cap on connections to one application; the
 * client's address from a balancer's PROXY header; a reload that moves a
 * prefix, the application stopped and started again.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "load.h"
#include "test.h"

static const char env_script[] =
    "#!/bin/sh\n"
    "printf '20 text/gemini\\r\\n'\n"
    "echo \"# A script\"\n"
    "for v in SERVER_PROTOCOL SERVER_NAME SCRIPT_NAME PATH_INFO QUERY_STRING REMOTE_ADDR "
    "GEMINI_URL AUTH_TYPE TLS_CLIENT_HASH TLS_CLIENT_SUBJECT GATEWAY_INTERFACE GEMINI_URL_PATH "
    "GEMINI_SEARCH_STRING REMOTE_USER TLS_CLIENT_ISSUER TLS_CLIENT_NOT_BEFORE "
    "TLS_CLIENT_NOT_AFTER; do\n"
    "  eval \"echo $v=\\$$v\"\n"
    "done\n";

/* Asks for a name (10), then greets it. */
static const char ask_script[] =
    "#!/bin/sh\n"
    "if [ -z \"$QUERY_STRING\" ]; then printf '10 Your name?\\r\\n'; exit; fi\n"
    "printf '20 text/gemini\\r\\nHello, %s!\\n' \"$QUERY_STRING\"\n";

/*
 * The pattern file in 160 blocks of 64 KiB, each block's number written to
 * "progress" once the block is out: how far the script got.
 */
static const char big_script[] =
    "#!/bin/sh\n"
    "d=$(dirname \"$SCRIPT_FILENAME\")\n"
    "printf '20 application/octet-stream\\r\\n'\n"
    "i=0\n"
    "while [ $i -lt 160 ]; do\n"
    "  dd if=\"$d/pattern\" bs=65536 skip=$i count=1 2>/dev/null\n"
    "  i=$((i + 1))\n"
    "  echo $i > \"$d/progress\"\n"
    "done\n";

/* Notes its start and end in "trace" (appended, a line each), a while apart. */
static const char slow_script[] =
    "#!/bin/sh\n"
    "d=$(dirname \"$SCRIPT_FILENAME\")\n"
    "echo start >> \"$d/trace\"\n"
    "sleep 0.3\n"
    "echo end >> \"$d/trace\"\n"
    "printf '20 text/plain\\r\\nslow\\n'\n";

/* A gophermap, with its "." line when asked for "ended". */
static const char menu_script[] =
    "#!/bin/sh\n"
    "printf 'iA menu\\t\\tx\\t70\\r\\n'\n"
    "if [ \"$QUERY_STRING\" = ended ]; then printf '.\\r\\n'; fi\n";

/* A header and 100,000 bytes (more than fcgiwrap holds back), then silence. */
static const char stall_script[] =
    "#!/bin/sh\n"
    "printf '20 text/plain\\r\\n'\n"
    "head -c 100000 /dev/zero | tr '\\0' x\n"
    "sleep 30\n";

struct app {
	char dir[600], sock[700];
	int port;		/* > 0: fcgiwrap listens on 127.0.0.1:port instead of sock */
	pid_t pid;
};

/*
 * A listening socket on 127.0.0.1 for fcgiwrap to take over (systemd's
 * socket passing): bound here, so no other process can take its port.
 */
static int
tcp_listener(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 64) == -1 || getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static bool
write_script(const char *dir, const char *name, const char *text)
{
	char path[800];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return false;
	fputs(text, f);
	return fclose(f) == 0 && chmod(path, 0755) == 0;
}

/*
 * fcgiwrap on a Unix socket in a folder of its own, or on TCP (tcp: on a
 * port of 127.0.0.1, set in a->port), and its scripts.
 */
static bool
app_start(struct app *a, bool tcp)
{
	struct stat st;
	char bin[1024];
	int i, lfd = -1;

	if (!test_need_tool("fcgiwrap", "fcgiwrap") || test_tool_path("fcgiwrap", bin,
	    sizeof(bin)) == NULL)
		return false;
	snprintf(a->dir, sizeof(a->dir), "%s/fcgi-%d", test_tmp_dir(), (int)getpid());
	snprintf(a->sock, sizeof(a->sock), "%s/app.sock", a->dir);
	mkdir(a->dir, 0755);
	if (!write_script(a->dir, "env.sh", env_script) ||
	    !write_script(a->dir, "bad.sh", "#!/bin/sh\nprintf 'this is no header\\r\\n'\n") ||
	    !write_script(a->dir, "hang.sh", "#!/bin/sh\nsleep 30\n") ||
	    !write_script(a->dir, "crash.sh", "#!/bin/sh\nkill -SEGV $$\n") ||
	    !write_script(a->dir, "long.sh", "#!/bin/sh\nprintf '20 '\nhead -c 2000 /dev/zero | "
	    "tr '\\0' x\nprintf '\\r\\n'\n") ||
	    !write_script(a->dir, "ask.sh", ask_script) ||
	    !write_script(a->dir, "menu.sh", menu_script) ||
	    !write_script(a->dir, "big.sh", big_script) ||
	    !write_script(a->dir, "slow.sh", slow_script) ||
	    !write_script(a->dir, "stall.sh", stall_script)) {
		test_fail(__FILE__, __LINE__, "cannot write the scripts in %s", a->dir);
		return false;
	}
	/* A socket left by an earlier fcgiwrap: this one makes its own. */
	unlink(a->sock);
	a->port = 0;
	if (tcp && (lfd = tcp_listener(&a->port)) == -1) {
		test_fail(__FILE__, __LINE__, "cannot listen on 127.0.0.1: %s", strerror(errno));
		return false;
	}
	if ((a->pid = fork()) == 0) {
		char arg[800], pid[32];
		int null = open("/dev/null", O_WRONLY);
		/* A group of its own: its children are stopped with it. */
		setpgid(0, 0);
		if (null != -1) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		if (lfd != -1) {
			/* Handed over as systemd would: descriptor 3, for this process. */
			dup2(lfd, 3);
			snprintf(pid, sizeof(pid), "%d", (int)getpid());
			setenv("LISTEN_FDS", "1", 1);
			setenv("LISTEN_PID", pid, 1);
			execl(bin, "fcgiwrap", "-c", "4", (char *)NULL);
		}
		snprintf(arg, sizeof(arg), "unix:%s", a->sock);
		execl(bin, "fcgiwrap", "-c", "4", "-s", arg, (char *)NULL);
		_exit(127);
	}
	if (lfd != -1) {
		close(lfd);
		return true;
	}
	for (i = 0; i < 500 && stat(a->sock, &st) == -1; i++)
		usleep(10000);
	if (stat(a->sock, &st) == -1) {
		test_fail(__FILE__, __LINE__, "fcgiwrap did not make %s", a->sock);
		return false;
	}
	return true;
}

/*
 * Stops fcgiwrap and its scripts; its folder stays. SIGKILL: an fcgiwrap
 * child that exits on SIGTERM removes the socket, which could be the next
 * fcgiwrap's by then.
 */
static void
app_kill(struct app *a)
{
	if (a->pid > 0) {
		kill(-a->pid, SIGKILL);
		waitpid(a->pid, NULL, 0);
	}
	a->pid = 0;
}

static void
app_stop(struct app *a)
{
	char cmd[800];

	app_kill(a);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", a->dir);
	if (system(cmd) != 0)
		test_fail(__FILE__, __LINE__, "cannot remove %s", a->dir);
}

/*
 * The scripts a capsule may hand prefixes to: /cgi/ env.sh, /bad/ bad.sh
 * (no header), /hang/ hang.sh, /crash/ crash.sh (killed by a signal,
 * nothing written), /long/ long.sh (a meta of 2,000 bytes), /ask/ ask.sh,
 * /menu/ menu.sh (a gophermap, its "." line on request), /big/ big.sh, /slow/
 * slow.sh, /stall/ stall.sh (a header, some text, then silence); /down/ goes
 * to no application at all.
 */
static const char *const scripts[][2] = {
	{ "/cgi/", "env.sh" }, { "/bad/", "bad.sh" }, { "/hang/", "hang.sh" },
	{ "/crash/", "crash.sh" }, { "/long/", "long.sh" }, { "/ask/", "ask.sh" },
	{ "/menu/", "menu.sh" }, { "/big/", "big.sh" }, { "/slow/", "slow.sh" },
	{ "/stall/", "stall.sh" },
};

/*
 * fcgiwrap and a capsule with the prefixes named in use (a host takes
 * eight), and global keys; false (with neither running) when either fails.
 */
static bool
capsule_start(struct gazette *g, struct app *a, const char *use, const char *global)
{
	static char host[8000];
	struct gazette_opts o = { .host = host, .gopher = true, .global = global };
	size_t i, n = 0;

	if (!app_start(a, false))
		return false;
	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++)
		if (strstr(use, scripts[i][0]) != NULL)
			n += (size_t)snprintf(host + n, sizeof(host) - n,
			    "fastcgi = %s unix:%s %s/%s\n", scripts[i][0], a->sock, a->dir,
			    scripts[i][1]);
	snprintf(host + n, sizeof(host) - n, "fastcgi = /down/ unix:%s/nothing.sock\n", a->dir);
	if (gazette_start(g, &o) == 0)
		return true;
	app_stop(a);
	return false;
}

static void
capsule_stop(struct gazette *g, struct app *a)
{
	gazette_stop(g);
	app_stop(a);
}

/* Whether the answer has line (fcgiwrap ends a script's lines with CRLF, or not). */
static bool
has(const struct reply *r, const char *line)
{
	char crlf[300], lf[300];

	snprintf(crlf, sizeof(crlf), "\n%s\r\n", line);
	snprintf(lf, sizeof(lf), "\n%s\n", line);
	return r->data != NULL && (strstr(r->data, crlf) != NULL || strstr(r->data, lf) != NULL);
}

static int
year_of(time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	return tm.tm_year + 1900;
}

/* The year of a "NAME=YYYY-MM-DDTHH:MM:SSZ" line of the answer, or -1. */
static int
cert_year(const struct reply *r, const char *name)
{
	const char *at = r->data ? strstr(r->data, name) : NULL;
	int y, mo, d, h, mi, s;
	char z;

	if (at == NULL || sscanf(at + strlen(name), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h,
	    &mi, &s, &z) != 7 || z != 'Z')
		return -1;
	return y;
}

/* Whether the answer starts with a Gemini 20 and the script's first line. */
static bool
ok_answer(const struct reply *r)
{
	return r->data != NULL && strncmp(r->data, "20 text/gemini\r\n", 16) == 0 &&
	    has(r, "# A script");
}

TEST(fastcgi_variables_over_both_protocols)
{
	static const struct test_cert_kind reader = { "reader", -DAY, 365 * DAY, false, false };
	struct client_opts o = { .sni = "localhost" };
	struct test_cert cert;
	struct gazette g;
	struct app a;
	struct reply r;
	char req[300], want[300];
	int n;

	if (!capsule_start(&g, &a, "/cgi/ /ask/ /menu/", "fastcgi_timeout = 2s\nworkers = 2\n"))
		return;
	n = snprintf(req, sizeof(req), "gemini://localhost:%d/cgi/more/path?two%%20words\r\n",
	    g.gemini_port);
	gemini_fetch(g.gemini_port, &o, req, (size_t)n, &r);
	CHECK(ok_answer(&r));
	CHECK(has(&r, "SERVER_PROTOCOL=GEMINI") && has(&r, "SERVER_NAME=localhost"));
	CHECK(has(&r, "SCRIPT_NAME=/cgi") && has(&r, "PATH_INFO=/more/path"));
	CHECK(has(&r, "QUERY_STRING=two%20words") && has(&r, "REMOTE_ADDR=127.0.0.1"));
	CHECK(has(&r, "GATEWAY_INTERFACE=CGI/1.1") && has(&r, "TLS_CLIENT_HASH="));
	snprintf(want, sizeof(want), "GEMINI_URL=gemini://localhost:%d/cgi/more/path?two%%20words",
	    g.gemini_port);
	CHECK(has(&r, want));
	/* gmid's too: the path, and the query decoded. */
	CHECK(has(&r, "GEMINI_URL_PATH=/cgi/more/path") &&
	    has(&r, "GEMINI_SEARCH_STRING=two words"));
	reply_free(&r);

	/* With a client certificate: its fingerprint, as the access log shows it. */
	test_make_cert(&reader, 1, &cert);
	o.cert = cert.crt;
	o.key = cert.key;
	gemini_fetch(g.gemini_port, &o, req, (size_t)n, &r);
	snprintf(want, sizeof(want), "TLS_CLIENT_HASH=%s", cert.fp);
	CHECK(has(&r, want) && has(&r, "AUTH_TYPE=CERTIFICATE"));
	CHECK(has(&r, "TLS_CLIENT_SUBJECT=/CN=reader") && has(&r, "REMOTE_USER=/CN=reader") &&
	    has(&r, "TLS_CLIENT_ISSUER=/CN=reader"));
	/* Its last day, as gmid writes it: a year from now. */
	CHECK(cert_year(&r, "TLS_CLIENT_NOT_AFTER=") == year_of(time(NULL) + 365 * DAY));
	CHECK(cert_year(&r, "TLS_CLIENT_NOT_BEFORE=") == year_of(time(NULL) - DAY));
	reply_free(&r);
	unlink(cert.crt);
	unlink(cert.key);

	/* Over Gopher: the selector's words are the query; text ends as files do, without ".". */
	tcp_fetch(g.gopher_port, "/cgi/x\tsome words\r\n", 19, 10000, &r);
	CHECK(has(&r, "SERVER_PROTOCOL=GOPHER") && has(&r, "PATH_INFO=/x") &&
	    has(&r, "QUERY_STRING=some words"));
	CHECK(r.len > 3 && strcmp(r.data + r.len - 3, ".\r\n") != 0);
	reply_free(&r);
	/* ... or after '?', as Lagrange sends gopher://HOST/0/cgi/x?some%20words. */
	tcp_fetch(g.gopher_port, "/cgi/x?some words\r\n", 19, 10000, &r);
	CHECK(has(&r, "PATH_INFO=/x") && has(&r, "QUERY_STRING=some words"));
	reply_free(&r);
	/* A menu gets its "." line, once. */
	tcp_fetch(g.gopher_port, "/menu/\r\n", 8, 10000, &r);
	CHECK_STR(r.data, "iA menu\t\tx\t70\r\n.\r\n");
	reply_free(&r);
	tcp_fetch(g.gopher_port, "/menu/\tended\r\n", 14, 10000, &r);
	CHECK_STR(r.data, "iA menu\t\tx\t70\r\n.\r\n");
	reply_free(&r);

	/* Input: asked for (10), then the answer with it. */
	o.cert = o.key = NULL;
	n = snprintf(req, sizeof(req), "gemini://localhost:%d/ask/\r\n", g.gemini_port);
	gemini_fetch(g.gemini_port, &o, req, (size_t)n, &r);
	CHECK_STR(r.data, "10 Your name?\r\n");
	reply_free(&r);
	n = snprintf(req, sizeof(req), "gemini://localhost:%d/ask/?Ada%%20L\r\n", g.gemini_port);
	gemini_fetch(g.gemini_port, &o, req, (size_t)n, &r);
	CHECK(r.data != NULL && strncmp(r.data, "20 text/gemini\r\nHello, Ada%20L!", 31) == 0);
	reply_free(&r);
	capsule_stop(&g, &a);
}

/* Each of paths gets "42 CGI error" over Gemini. */
static void
all_get_42(const struct gazette *g, const char *const *paths, size_t n)
{
	struct client_opts o = { .sni = "localhost", .timeout_ms = 20000 };
	struct reply r;
	char req[300];
	size_t i;
	int len;

	for (i = 0; i < n; i++) {
		test_context("%s", paths[i]);
		len = snprintf(req, sizeof(req), "gemini://localhost:%d%s\r\n", g->gemini_port,
		    paths[i]);
		gemini_fetch(g->gemini_port, &o, req, (size_t)len, &r);
		CHECK_STR(r.data, "42 CGI error\r\n");
		reply_free(&r);
	}
	test_context(NULL);
}

/*
 * What goes wrong answers 42 at once or within fastcgi_timeout, never a
 * hang: a malformed header, an application that is down, one that hangs,
 * one that crashes, one whose header is too long; one silent in the middle
 * of its answer has it cut.
 * Fifty requests at once are all answered.
 */
TEST(fastcgi_failures_and_load)
{
	static const char *const paths[] = { "/bad/", "/down/", "/hang/", "/crash/", "/long/" };
	struct client_opts o = { .sni = "localhost", .timeout_ms = 20000 };
	struct gemini_conn *conns[50];
	struct gazette g;
	struct reply r, rs[50];
	struct app a;
	char req[300];
	size_t i;
	int n, ok = 0;

	if (!capsule_start(&g, &a, "/cgi/ /bad/ /hang/ /crash/ /long/ /stall/",
	    "fastcgi_timeout = 2s\nworkers = 2\n"))
		return;
	all_get_42(&g, paths, sizeof(paths) / sizeof(paths[0]));
	tcp_fetch(g.gopher_port, "/down/\r\n", 8, 10000, &r);
	CHECK(r.data != NULL && r.data[0] == '3');
	reply_free(&r);
	/* Silent after its header: what came is delivered, then the end, without close_notify. */
	n = snprintf(req, sizeof(req), "gemini://localhost:%d/stall/\r\n", g.gemini_port);
	gemini_fetch(g.gemini_port, &o, req, (size_t)n, &r);
	CHECK(r.data != NULL && strncmp(r.data, "20 text/plain\r\nxxx", 18) == 0);
	CHECK(!r.close_notify && !r.timed_out);
	reply_free(&r);

	n = snprintf(req, sizeof(req), "gemini://localhost:%d/cgi/\r\n", g.gemini_port);
	for (i = 0; i < 50; i++)
		conns[i] = gemini_connect(g.gemini_port, &o, &rs[i]);
	for (i = 0; i < 50; i++)
		if (conns[i] != NULL)
			gemini_send(conns[i], req, (size_t)n, &rs[i]);
	for (i = 0; i < 50; i++) {
		if (conns[i] == NULL)
			continue;
		gemini_read(conns[i], SIZE_MAX, &rs[i]);
		gemini_disconnect(conns[i]);
		ok += ok_answer(&rs[i]);
		reply_free(&rs[i]);
	}
	CHECK_INT(ok, 50);
	capsule_stop(&g, &a);
}

/* The number in the script's progress file: 64 KiB blocks it has written. */
static long
progress(const struct app *a)
{
	char path[800], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/progress", a->dir);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return atol(buf);
}

/* big.sh's answer: BIG_BLOCKS blocks of 64 KiB, written for it as "pattern" (malloc'd). */
#define BIG_BLOCK 65536
#define BIG_BLOCKS 160
static char *
write_pattern(const struct app *a)
{
	char path[800], *pattern = malloc((size_t)BIG_BLOCK * BIG_BLOCKS);
	size_t i;
	FILE *f;

	if (pattern == NULL)
		abort();
	/* No CR or LF: fcgiwrap makes every line end CRLF until an empty line (CGI headers). */
	for (i = 0; i < (size_t)BIG_BLOCK * BIG_BLOCKS; i++)
		pattern[i] = (char)(32 + (i * 7 + i / BIG_BLOCK) % 90);
	snprintf(path, sizeof(path), "%s/pattern", a->dir);
	if ((f = fopen(path, "w")) == NULL || fwrite(pattern, BIG_BLOCK, BIG_BLOCKS, f) !=
	    BIG_BLOCKS || fclose(f) != 0) {
		test_fail(__FILE__, __LINE__, "cannot write %s", path);
		free(pattern);
		return NULL;
	}
	return pattern;
}

/* The workers' resident memory, in KiB. */
static long
workers_rss(const struct gazette *g)
{
	pid_t pids[8];
	long sum = 0;
	int i, n = gazette_workers(g, pids, 8);

	for (i = 0; i < n; i++)
		sum += rss_kb(pids[i]);
	return sum;
}

/*
 * A 10 MiB answer to a reader that stops after 256 KiB: the application is
 * made to wait (what it has written runs a few MiB of kernel buffers ahead
 * of what the client has read) and the workers' memory does not grow by
 * the answer (gazette holds 64 KiB of it); the server goes on answering
 * others, a reload comes, and then the reader takes the rest, whole and in
 * order.
 */
TEST(fastcgi_streams_to_a_slow_reader)
{
	enum { BLOCK = BIG_BLOCK, BLOCKS = BIG_BLOCKS, AHEAD_MAX = 8 << 20, GROWTH_MAX_KB = 3072 };
	/* Long: the reader waits for a reload between its reads. */
	struct client_opts o = { .sni = "localhost", .timeout_ms = 60000, .rcvbuf = 16384 };
	struct gemini_conn *c;
	struct gazette g;
	struct reply r, other;
	struct app a;
	const char *body;
	long last, now, ahead, rss0, rss1;
	char *asan = getenv("ASAN_OPTIONS"), opts[1024], req[300], *pattern;
	size_t len;
	int n, still;
	bool started;

	/* ASan's quarantine would keep freed memory out of reuse: RSS would grow without a leak. */
	asan = asan != NULL ? strdup(asan) : NULL;
	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=0", asan ? asan : "",
	    asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	started = capsule_start(&g, &a, "/big/ /cgi/", "fastcgi_timeout = 20s\n"
	    "write_timeout = 60s\nworkers = 2\n");
	if (asan != NULL)
		setenv("ASAN_OPTIONS", asan, 1);
	else
		unsetenv("ASAN_OPTIONS");
	free(asan);
	if (!started)
		return;
	if ((pattern = write_pattern(&a)) == NULL) {
		capsule_stop(&g, &a);
		return;
	}
	/* Both workers have answered a call or more before their memory is taken. */
	for (n = 0; n < 6; n++) {
		gemini_path(&g, "/cgi/", &other);
		reply_free(&other);
	}
	rss0 = workers_rss(&g);
	n = snprintf(req, sizeof(req), "gemini://localhost:%d/big/\r\n", g.gemini_port);
	c = gemini_connect(g.gemini_port, &o, &r);
	CHECK(c != NULL);
	if (c == NULL)
		goto out;
	gemini_send(c, req, (size_t)n, &r);
	gemini_read(c, 256 * 1024, &r);
	CHECK(r.len >= 256 * 1024);
	/* The reader stops: the script runs on until it is made to wait (no progress for a second). */
	for (last = -1, still = 0; still < 10; last = now) {
		usleep(100000);
		now = progress(&a);
		still = now == last ? still + 1 : 0;
	}
	ahead = progress(&a) * BLOCK - (long)r.len;
	printf("    fastcgi: the script stopped %ld KiB ahead of the reader (block %ld of %d)\n",
	    ahead / 1024, progress(&a), BLOCKS);
	CHECK(progress(&a) < BLOCKS && ahead < AHEAD_MAX);
	rss1 = workers_rss(&g);
	printf("    fastcgi: the workers' memory went from %ld to %ld KiB\n", rss0, rss1);
	CHECK(rss1 - rss0 < GROWTH_MAX_KB);

	/* Meanwhile others are answered, before and after a reload. */
	gemini_path(&g, "/cgi/", &other);
	CHECK(ok_answer(&other));
	reply_free(&other);
	gazette_signal(&g, SIGHUP);
	CHECK(gazette_wait_log(&g, "reloaded: generation 2", 10000));
	gemini_path(&g, "/cgi/", &other);
	CHECK(ok_answer(&other));
	reply_free(&other);

	/* The rest, whole. */
	gemini_read(c, SIZE_MAX, &r);
	gemini_disconnect(c);
	CHECK(r.close_notify);
	CHECK(r.data != NULL && strncmp(r.data, "20 application/octet-stream\r\n", 29) == 0);
	body = r.data != NULL ? r.data + 29 : NULL;
	len = r.len > 29 ? r.len - 29 : 0;
	CHECK_INT((long)len, (long)BLOCK * BLOCKS);
	CHECK(body != NULL && len == (size_t)BLOCK * BLOCKS && memcmp(body, pattern, len) == 0);
out:
	reply_free(&r);
	free(pattern);
	capsule_stop(&g, &a);
}

/*
 * fastcgi_connections = 2 over two workers: one connection each, so at
 * most two scripts run at once however many requests come (fcgiwrap would
 * run four); the rest wait their turn and are all answered.
 */
TEST(fastcgi_connections_are_capped)
{
	enum { N = 8 };
	struct client_opts o = { .sni = "localhost", .timeout_ms = 30000 };
	struct gemini_conn *conns[N];
	struct gazette g;
	struct reply rs[N];
	struct app a;
	char req[300], path[800], line[32];
	int i, n, ok = 0, running = 0, most = 0;
	FILE *f;

	if (!capsule_start(&g, &a, "/slow/",
	    "fastcgi_timeout = 30s\nfastcgi_connections = 2\nworkers = 2\n"))
		return;
	n = snprintf(req, sizeof(req), "gemini://localhost:%d/slow/\r\n", g.gemini_port);
	for (i = 0; i < N; i++)
		conns[i] = gemini_connect(g.gemini_port, &o, &rs[i]);
	for (i = 0; i < N; i++)
		if (conns[i] != NULL)
			gemini_send(conns[i], req, (size_t)n, &rs[i]);
	for (i = 0; i < N; i++) {
		if (conns[i] == NULL)
			continue;
		gemini_read(conns[i], SIZE_MAX, &rs[i]);
		gemini_disconnect(conns[i]);
		ok += rs[i].data != NULL && strncmp(rs[i].data, "20 text/plain\r\nslow", 19) == 0;
		reply_free(&rs[i]);
	}
	CHECK_INT(ok, N);
	snprintf(path, sizeof(path), "%s/trace", a.dir);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			running += strncmp(line, "start", 5) == 0 ? 1 : -1;
			most = running > most ? running : most;
		}
		fclose(f);
	}
	printf("    fastcgi: at most %d scripts ran at once\n", most);
	CHECK(most >= 1 && most <= 2);
	capsule_stop(&g, &a);
}

/* Behind a load balancer (PROXY protocol), REMOTE_ADDR is the client's, from its header. */
TEST(fastcgi_remote_addr_behind_a_balancer)
{
	static const char proxy[] = "PROXY TCP4 203.0.113.7 127.0.0.1 40000 1965\r\n";
	struct client_opts o = { .sni = "localhost", .prefix = proxy,
	    .prefix_len = sizeof(proxy) - 1 };
	struct gazette g;
	struct reply r;
	struct app a;
	char req[300];
	int n;

	if (!capsule_start(&g, &a, "/cgi/", "proxy_protocol = yes\n"))
		return;
	n = snprintf(req, sizeof(req), "gemini://localhost:%d/cgi/\r\n", g.gemini_port);
	gemini_fetch(g.gemini_port, &o, req, (size_t)n, &r);
	CHECK(ok_answer(&r) && has(&r, "REMOTE_ADDR=203.0.113.7"));
	reply_free(&r);
	capsule_stop(&g, &a);
}

/* One FastCGI record of request 1. */
static void
raw_record(int fd, int type, const void *data, size_t len)
{
	unsigned char h[8] = { 1, (unsigned char)type, 0, 1, (unsigned char)(len >> 8),
	    (unsigned char)len, 0, 0 };

	if (write(fd, h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    (len > 0 && write(fd, data, len) != (ssize_t)len))
		_exit(1);
}

/*
 * The test's own FastCGI application, for what fcgiwrap cannot do (it
 * holds a script's stderr back until the end): under /chatty/ it writes to
 * stderr every half second for 5 s, then answers; under /trickle/ it
 * writes its header a byte every half second.
 */
static void
raw_answer(int fd)
{
	static const char end[8] = { 0 }, head[] = "20 text/plain\r\n";
	static const unsigned char stdin_end[] = { 1, 5, 0, 1, 0, 0 };
	char buf[65536];
	size_t len = 0, i;
	ssize_t n;

	/* The request: up to its empty STDIN record. */
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		if (memmem(buf, len += (size_t)n, stdin_end, sizeof(stdin_end)) != NULL)
			break;
	if (memmem(buf, len, "/chatty", 7) != NULL) {
		for (i = 0; i < 10; i++) {
			raw_record(fd, 7, "tick\n", 5);
			usleep(500000);
		}
		raw_record(fd, 6, "20 text/plain\r\nlate\n", 20);
	} else
		for (i = 0; i < sizeof(head) - 1; i++) {
			raw_record(fd, 6, head + i, 1);
			usleep(500000);
		}
	raw_record(fd, 6, NULL, 0);
	raw_record(fd, 3, end, sizeof(end));
}

static pid_t
raw_app_start(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	pid_t pid;
	int lfd, fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		test_fail(__FILE__, __LINE__, "socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(lfd, 16) == -1) {
		test_fail(__FILE__, __LINE__, "cannot listen on %s: %s", path, strerror(errno));
		return -1;
	}
	if ((pid = fork()) == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_IGN);
		while ((fd = accept(lfd, NULL, NULL)) != -1) {
			if (fork() == 0) {
				raw_answer(fd);
				_exit(0);
			}
			close(fd);
		}
		_exit(0);
	}
	close(lfd);
	return pid;
}

/*
 * fastcgi_timeout counts the application's answer, nothing else: stderr
 * every half second is silence to the client (42 at 2 s, not the answer at
 * 5 s); a header that trickles in a byte at a time has fastcgi_timeout
 * from its first byte to be whole.
 */
TEST(fastcgi_silence_is_timed_from_answer_bytes)
{
	static const char *const paths[] = { "/chatty/", "/trickle/" };
	static char host[2000];
	struct gazette_opts go = { .host = host, .global = "fastcgi_timeout = 2s\n" };
	struct gazette g;
	char sock[700];
	pid_t pid;

	snprintf(sock, sizeof(sock), "%s/raw-%d.sock", test_tmp_dir(), (int)getpid());
	if ((pid = raw_app_start(sock)) <= 0)
		return;
	snprintf(host, sizeof(host), "fastcgi = /chatty/ unix:%s\nfastcgi = /trickle/ unix:%s\n",
	    sock, sock);
	if (gazette_start(&g, &go) == 0) {
		all_get_42(&g, paths, sizeof(paths) / sizeof(paths[0]));
		gazette_stop(&g);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(sock);
}

/* Replaces the first from in g's configuration file with to. */
static bool
rewrite_conf(const struct gazette *g, const char *from, const char *to)
{
	char conf[16384], *at;
	size_t len;
	FILE *f;

	if ((f = fopen(g->conf, "r")) == NULL)
		return false;
	len = fread(conf, 1, sizeof(conf) - 1, f);
	fclose(f);
	conf[len] = '\0';
	if ((at = strstr(conf, from)) == NULL || (f = fopen(g->conf, "w")) == NULL)
		return false;
	fwrite(conf, 1, (size_t)(at - conf), f);
	fputs(to, f);
	fputs(at + strlen(from), f);
	return fclose(f) == 0;
}

/*
 * Life after start: a reload moves a prefix (/cgi/ becomes /new/) while a
 * 10 MiB answer is on its way, which arrives whole; the new prefix answers
 * at once and the old one is no more; the application stops (42 at once,
 * never a hang) and starts again (answers again).
 */
TEST(fastcgi_survives_reloads_and_restarts)
{
	/* Long: the reader waits for a reload between its reads. */
	struct client_opts o = { .sni = "localhost", .timeout_ms = 60000, .rcvbuf = 16384 };
	struct gemini_conn *c;
	struct gazette g;
	struct reply r, other;
	struct app a;
	char req[300], *pattern;
	int n;

	if (!capsule_start(&g, &a, "/big/ /cgi/", "fastcgi_timeout = 20s\nwrite_timeout = 60s\n"
	    "workers = 2\n"))
		return;
	if ((pattern = write_pattern(&a)) == NULL) {
		capsule_stop(&g, &a);
		return;
	}
	n = snprintf(req, sizeof(req), "gemini://localhost:%d/big/\r\n", g.gemini_port);
	if ((c = gemini_connect(g.gemini_port, &o, &r)) != NULL) {
		gemini_send(c, req, (size_t)n, &r);
		gemini_read(c, 256 * 1024, &r);
	}
	CHECK(c != NULL && r.len >= 256 * 1024);

	CHECK(rewrite_conf(&g, "fastcgi = /cgi/ ", "fastcgi = /new/ "));
	gazette_signal(&g, SIGHUP);
	CHECK(gazette_wait_log(&g, "reloaded: generation 2", 10000));
	gemini_path(&g, "/new/", &other);
	CHECK(ok_answer(&other));
	reply_free(&other);
	gemini_path(&g, "/cgi/", &other);
	CHECK(other.data != NULL && strncmp(other.data, "51 ", 3) == 0);
	reply_free(&other);

	if (c != NULL) {
		gemini_read(c, SIZE_MAX, &r);
		gemini_disconnect(c);
	}
	CHECK(r.close_notify && r.len == 29 + (size_t)BIG_BLOCK * BIG_BLOCKS &&
	    memcmp(r.data + 29, pattern, (size_t)BIG_BLOCK * BIG_BLOCKS) == 0);
	reply_free(&r);

	/* The application stops: 42 at once; it starts again: answered again. */
	app_kill(&a);
	gemini_path(&g, "/new/", &other);
	CHECK_STR(other.data, "42 CGI error\r\n");
	reply_free(&other);
	if (app_start(&a, false)) {
		gemini_path(&g, "/new/", &other);
		CHECK(ok_answer(&other));
		reply_free(&other);
	}
	free(pattern);
	capsule_stop(&g, &a);
}

/* An application on TCP: fastcgi = /cgi/ tcp:127.0.0.1:PORT answers as on a Unix socket. */
TEST(fastcgi_over_tcp)
{
	static char host[2000];
	struct gazette_opts go = { .host = host };
	struct gazette g;
	struct reply r;
	struct app a;

	if (!app_start(&a, true))
		return;
	snprintf(host, sizeof(host), "fastcgi = /cgi/ tcp:127.0.0.1:%d %s/env.sh\n", a.port, a.dir);
	if (gazette_start(&g, &go) == 0) {
		gemini_path(&g, "/cgi/x", &r);
		CHECK(ok_answer(&r) && has(&r, "PATH_INFO=/x"));
		reply_free(&r);
		gazette_stop(&g);
	}
	app_stop(&a);
}
