/*
 * The FastCGI gateway against Debian's fcgiwrap running real shell scripts
 * (started here on a Unix socket in the scratch folder): the variables a
 * script sees over Gemini, with and without a client certificate, and over
 * Gopher; a malformed answer, an application that is down or that hangs,
 * each a 42 (an error line on Gopher); fifty requests at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "test.h"

static const char env_script[] =
    "#!/bin/sh\n"
    "printf '20 text/gemini\\r\\n'\n"
    "echo \"# A script\"\n"
    "for v in SERVER_PROTOCOL SERVER_NAME SCRIPT_NAME PATH_INFO QUERY_STRING REMOTE_ADDR "
    "GEMINI_URL AUTH_TYPE TLS_CLIENT_HASH GATEWAY_INTERFACE; do\n"
    "  eval \"echo $v=\\$$v\"\n"
    "done\n";

struct app {
	char dir[600], sock[700];
	pid_t pid;
};

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

/* fcgiwrap on a socket in a folder of its own, and its scripts. */
static bool
app_start(struct app *a)
{
	struct stat st;
	char bin[1024];
	int i;

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
	    "tr '\\0' x\nprintf '\\r\\n'\n")) {
		test_fail(__FILE__, __LINE__, "cannot write the scripts in %s", a->dir);
		return false;
	}
	if ((a->pid = fork()) == 0) {
		char arg[800];
		int null = open("/dev/null", O_WRONLY);
		/* A group of its own: its children are stopped with it. */
		setpgid(0, 0);
		if (null != -1) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		snprintf(arg, sizeof(arg), "unix:%s", a->sock);
		execl(bin, "fcgiwrap", "-c", "4", "-s", arg, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500 && stat(a->sock, &st) == -1; i++)
		usleep(10000);
	if (stat(a->sock, &st) == -1) {
		test_fail(__FILE__, __LINE__, "fcgiwrap did not make %s", a->sock);
		return false;
	}
	return true;
}

static void
app_stop(struct app *a)
{
	char cmd[800];

	if (a->pid > 0) {
		kill(-a->pid, SIGTERM);
		waitpid(a->pid, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", a->dir);
	if (system(cmd) != 0)
		test_fail(__FILE__, __LINE__, "cannot remove %s", a->dir);
}

/*
 * A capsule whose /cgi/ runs env.sh, /bad/ bad.sh (no header), /hang/
 * hang.sh, /crash/ crash.sh (killed by a signal, nothing written), /long/
 * long.sh (a meta of 2,000 bytes), /down/ nothing.
 */
static bool
start(struct gazette *g, const struct app *a)
{
	static char host[8000];
	struct gazette_opts o = { .host = host, .gopher = true,
	    .global = "request_timeout = 2s\nworkers = 2\n" };

	snprintf(host, sizeof(host), "fastcgi = /cgi/ unix:%s %s/env.sh\n"
	    "fastcgi = /bad/ unix:%s %s/bad.sh\nfastcgi = /hang/ unix:%s %s/hang.sh\n"
	    "fastcgi = /crash/ unix:%s %s/crash.sh\nfastcgi = /long/ unix:%s %s/long.sh\n"
	    "fastcgi = /down/ unix:%s/nothing.sock\n", a->sock, a->dir, a->sock, a->dir, a->sock,
	    a->dir, a->sock, a->dir, a->sock, a->dir, a->dir);
	return gazette_start(g, &o) == 0;
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

	if (!app_start(&a))
		return;
	if (!start(&g, &a)) {
		app_stop(&a);
		return;
	}
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
	reply_free(&r);

	/* With a client certificate: its fingerprint, as the access log shows it. */
	test_make_cert(&reader, 1, &cert);
	o.cert = cert.crt;
	o.key = cert.key;
	gemini_fetch(g.gemini_port, &o, req, (size_t)n, &r);
	snprintf(want, sizeof(want), "TLS_CLIENT_HASH=%s", cert.fp);
	CHECK(has(&r, want) && has(&r, "AUTH_TYPE=CERTIFICATE"));
	reply_free(&r);
	unlink(cert.crt);
	unlink(cert.key);

	/* Over Gopher: the selector's words are the query. */
	tcp_fetch(g.gopher_port, "/cgi/x\tsome words\r\n", 19, 10000, &r);
	CHECK(has(&r, "SERVER_PROTOCOL=GOPHER") && has(&r, "PATH_INFO=/x") &&
	    has(&r, "QUERY_STRING=some words"));
	reply_free(&r);
	gazette_stop(&g);
	app_stop(&a);
}

/*
 * What goes wrong answers 42 at once or within request_timeout, never a
 * hang: a malformed header, an application that is down, one that hangs,
 * one that crashes, one whose header is too long.
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

	if (!app_start(&a))
		return;
	if (!start(&g, &a)) {
		app_stop(&a);
		return;
	}
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		test_context("%s", paths[i]);
		n = snprintf(req, sizeof(req), "gemini://localhost:%d%s\r\n", g.gemini_port,
		    paths[i]);
		gemini_fetch(g.gemini_port, &o, req, (size_t)n, &r);
		CHECK_STR(r.data, "42 CGI error\r\n");
		reply_free(&r);
	}
	test_context(NULL);
	tcp_fetch(g.gopher_port, "/down/\r\n", 8, 10000, &r);
	CHECK(r.data != NULL && r.data[0] == '3');
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
	gazette_stop(&g);
	app_stop(&a);
}
