/*
 * Per-client limits: a token bucket on requests and a cap on open
 * connections, answered with 44 on Gemini and a type-3 line on Gopher.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "load.h"
#include "harness.h"
#include "test.h"

static const char *
header_of(const struct gazette *g, const char *path, char *buf, size_t size)
{
	struct reply r;

	gemini_path(g, path, &r);
	reply_header(&r, buf, size);
	reply_free(&r);
	return buf;
}

TEST(quota_request_rate)
{
	static const struct gazette_opts o = {
		.fixture = "static",
		.global = "workers = 1\nclient_rate = 5\nclient_burst = 3\n",
		.gopher = true,
	};
	struct gazette g;
	struct reply r;
	char head[1100];
	int i;

	if (gazette_start(&g, &o) == -1)
		return;
	/* The burst passes, the next is told to slow down. */
	for (i = 0; i < 3; i++)
		CHECK_STR(header_of(&g, "/docs/note.txt", head, sizeof(head)),
		    "20 text/plain; charset=utf-8");
	CHECK_STR(header_of(&g, "/docs/note.txt", head, sizeof(head)),
	    "44 Slow down: too many requests from your address; try again in a few seconds");
	/* Gopher shares the bucket and says it in a type-3 line. */
	tcp_fetch(g.gopher_port, "/\r\n", 3, 5000, &r);
	CHECK(strncmp(r.data, "3Slow down: too many requests", 29) == 0);
	CHECK(r.len >= 5 && strcmp(r.data + r.len - 5, "\r\n.\r\n") == 0);
	reply_free(&r);
	/* Five a second refill it. */
	sleep_ms(450);
	CHECK_STR(header_of(&g, "/docs/note.txt", head, sizeof(head)),
	    "20 text/plain; charset=utf-8");
	CHECK(gazette_wait_log(&g, "\" 44 ", 1000));
	gazette_stop(&g);
}

TEST(quota_connections_per_client)
{
	static const struct gazette_opts o = {
		.fixture = "static",
		.global = "workers = 1\nclient_connections = 2\n",
	};
	struct client_opts co = { .sni = "localhost", .timeout_ms = 5000 };
	struct gemini_conn *held[2];
	struct gazette g;
	struct reply r[2];
	char head[1100];
	int i;

	if (gazette_start(&g, &o) == -1)
		return;
	for (i = 0; i < 2; i++) {
		held[i] = gemini_connect(g.gemini_port, &co, &r[i]);
		CHECK(held[i] != NULL);
	}
	CHECK_STR(header_of(&g, "/docs/note.txt", head, sizeof(head)),
	    "44 Too many connections from your address; close some and try again");
	for (i = 0; i < 2; i++) {
		if (held[i] != NULL)
			gemini_disconnect(held[i]);
		reply_free(&r[i]);
	}
	/* Once they are closed, the client is served again. */
	for (i = 0; i < 50; i++) {
		if (strncmp(header_of(&g, "/docs/note.txt", head, sizeof(head)), "20 ", 3) == 0)
			break;
		sleep_ms(20);
	}
	CHECK_STR(head, "20 text/plain; charset=utf-8");
	gazette_stop(&g);
}
