/*
 * The access log (reopened on SIGUSR1, client addresses masked on request)
 * and virtual hosts (each its own root, posts, title, language, certificate).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "harness.h"
#include "test.h"

static bool
fetch_has(int port, const char *sni, const char *url, const char *text)
{
	struct client_opts o = { .sni = sni };
	char req[600];
	struct reply r;
	bool has;

	snprintf(req, sizeof(req), "%s\r\n", url);
	gemini_fetch(port, &o, req, strlen(req), &r);
	has = r.data != NULL && strstr(r.data, text) != NULL;
	reply_free(&r);
	return has;
}

TEST(logs_reopen_on_sigusr1)
{
	static const struct gazette_opts o = { .fixture = "archive" };
	char rotated[700], url[200], *log;
	struct gazette g;
	FILE *f;

	if (gazette_start(&g, &o) == -1)
		return;
	snprintf(url, sizeof(url), "gemini://localhost:%d/archive/", g.gemini_port);
	CHECK(fetch_has(g.gemini_port, "localhost", url, "# Archive"));
	CHECK(gazette_wait_log(&g, "/archive/\" 20 ", 2000));
	/* logrotate's way: rename, then signal. */
	snprintf(rotated, sizeof(rotated), "%s.1", g.log);
	CHECK(rename(g.log, rotated) == 0);
	gazette_signal(&g, SIGUSR1);
	CHECK(gazette_wait_log(&g, "SIGUSR1: log reopened", 3000));
	snprintf(url, sizeof(url), "gemini://localhost:%d/tags/", g.gemini_port);
	CHECK(fetch_has(g.gemini_port, "localhost", url, "# Tags"));
	CHECK(gazette_wait_log(&g, "/tags/\" 20 ", 2000));
	log = gazette_log(&g);
	CHECK(strstr(log, "/archive/\"") == NULL);
	free(log);
	if ((f = fopen(rotated, "r")) != NULL) {
		char buf[65536];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		CHECK(strstr(buf, "/archive/\" 20 ") != NULL);
		CHECK(strstr(buf, "/tags/\"") == NULL);
	}
	gazette_stop(&g);
}

TEST(logs_client_addresses_masked_or_hidden)
{
	static const struct {
		const char *mode, *logged;
	} rows[] = {
		{ "full", " 127.0.0.1 gemini " },
		{ "masked", " 127.0.0.0 gemini " },
		{ "none", " - gemini " },
	};
	char global[100], url[200];
	struct gazette g;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct gazette_opts o = { .fixture = "archive", .global = global };
		snprintf(global, sizeof(global), "log_clients = %s\n", rows[i].mode);
		if (gazette_start(&g, &o) == -1)
			return;
		test_context("%s", rows[i].mode);
		snprintf(url, sizeof(url), "gemini://localhost:%d/", g.gemini_port);
		CHECK(fetch_has(g.gemini_port, "localhost", url, "20 "));
		CHECK(gazette_wait_log(&g, "localhost \"gemini://", 2000));
		CHECK(gazette_wait_log(&g, rows[i].logged, 100));
		gazette_stop(&g);
	}
}

TEST(vhosts_each_their_own)
{
	static char hosts[2000];
	struct gazette_opts o = { .fixture = "archive", .hosts = hosts,
	    .host = "title = First host\nlang = en\n" };
	struct gazette g;
	char url[200], cwd[512];

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return;
	/* The second host's certificate is made in this run's scratch folder. */
	snprintf(hosts, sizeof(hosts), "[host second.test]\nroot = %s/tests/fixtures/vhost-b\n"
	    "title = Second host\nlang = fr\ncert = %s/second.crt\nkey = %s/second.key\n",
	    cwd, test_tmp_dir(), test_tmp_dir());
	if (gazette_start(&g, &o) == -1)
		return;
	snprintf(url, sizeof(url), "gemini://localhost:%d/", g.gemini_port);
	CHECK(fetch_has(g.gemini_port, "localhost", url, "# First host"));
	CHECK(fetch_has(g.gemini_port, "localhost", url, "lang=en\r\n"));
	CHECK(!fetch_has(g.gemini_port, "localhost", url, "Only on the second host"));
	snprintf(url, sizeof(url), "gemini://second.test:%d/", g.gemini_port);
	CHECK(fetch_has(g.gemini_port, "second.test", url, "# Second host"));
	CHECK(fetch_has(g.gemini_port, "second.test", url, "lang=fr\r\n"));
	CHECK(fetch_has(g.gemini_port, "second.test", url, "2021-05-05 Only on the second host"));
	CHECK(!fetch_has(g.gemini_port, "second.test", url, "Later in January"));
	snprintf(url, sizeof(url), "gemini://second.test:%d/archive/2021/05/", g.gemini_port);
	CHECK(fetch_has(g.gemini_port, "second.test", url, "Monthly Archives: May 2021"));
	/* A host not served: 53. */
	snprintf(url, sizeof(url), "gemini://third.test:%d/", g.gemini_port);
	CHECK(fetch_has(g.gemini_port, NULL, url, "53 Proxy request refused\r\n"));
	/* Each its own certificate, generated under its own name. */
	CHECK(gazette_wait_log(&g, "certificate for second.test", 100));
	gazette_stop(&g);
}
