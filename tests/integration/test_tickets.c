/*
 * Session tickets: one set of keys for every worker and generation, a new
 * key every ticket_rotation with the previous one still good for a period,
 * or a key from ticket_key_file shared by several servers. Proved by
 * resuming (or failing to resume) real TLS sessions; the log only says when
 * a rotation happened, so the test knows when to try.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "client.h"
#include "harness.h"
#include "load.h"
#include "test.h"

#define ROTATED "session-ticket key rotated"

static int
rotations(const struct gazette *g)
{
	char *log = gazette_log(g);
	int n = count_str(log, ROTATED);

	free(log);
	return n;
}

/* One request offering *sess (when there is one); true when it was resumed. */
static bool
resumes(const struct gazette *g, SSL_SESSION **sess)
{
	struct client_opts o = { .sni = "localhost", .session = sess };
	char req[200];
	struct reply r;
	bool resumed;

	snprintf(req, sizeof(req), "gemini://localhost:%d/\r\n", g->gemini_port);
	gemini_fetch(g->gemini_port, &o, req, strlen(req), &r);
	resumed = r.resumed;
	CHECK(strncmp(r.data, "20 ", 3) == 0);
	reply_free(&r);
	return resumed;
}

/* A copy of a session, to offer later whatever the live one becomes. */
static SSL_SESSION *
keep(SSL_SESSION *s)
{
	return s ? SSL_SESSION_dup(s) : NULL;
}

static bool
wait_rotations(const struct gazette *g, int n)
{
	for (long t0 = now_ms(); now_ms() - t0 < 10000; sleep_ms(10))
		if (rotations(g) >= n)
			return true;
	return false;
}

TEST(tickets_rotate_and_expire)
{
	static const struct gazette_opts o = {
		.fixture = "archive",
		.global = "workers = 2\nticket_rotation = 1s\n",
	};
	SSL_SESSION *live = NULL, *old = NULL;
	struct gazette g;
	int before, tries;

	if (gazette_start(&g, &o) == -1)
		return;
	/* A ticket taken well inside one period: no rotation around it. */
	for (tries = 0; tries < 20; tries++) {
		before = rotations(&g);
		SSL_SESSION_free(live);
		live = NULL;
		resumes(&g, &live);
		if (rotations(&g) == before)
			break;
	}
	old = keep(live);
	CHECK(old != NULL);
	CHECK(resumes(&g, &live));
	/* One rotation on: its key is the previous one, which still decrypts. */
	CHECK(wait_rotations(&g, before + 1));
	{
		SSL_SESSION *once = keep(old);
		CHECK(resumes(&g, &once));
		SSL_SESSION_free(once);
	}
	/* Two on: its key is gone, and with it the session. */
	CHECK(wait_rotations(&g, before + 2));
	CHECK(!resumes(&g, &old));
	SSL_SESSION_free(live);
	SSL_SESSION_free(old);
	gazette_stop(&g);
}

/* Whether two sessions carry the same ticket. */
static bool
same_ticket(const SSL_SESSION *a, const SSL_SESSION *b)
{
	const unsigned char *ta, *tb;
	size_t la, lb;

	SSL_SESSION_get0_ticket(a, &ta, &la);
	SSL_SESSION_get0_ticket(b, &tb, &lb);
	return la == lb && memcmp(ta, tb, la) == 0;
}

/*
 * Every resumption brings a new ticket: clients use a ticket once, so
 * without one every other connection was a full handshake (the load
 * generator's resumption rate fell to 50%).
 */
TEST(tickets_renewed_on_every_resumption)
{
	static const struct gazette_opts o = { .fixture = "archive" };
	SSL_SESSION *sess = NULL, *before;
	struct gazette g;
	int i;

	if (gazette_start(&g, &o) == -1)
		return;
	resumes(&g, &sess);
	for (i = 0; i < 5; i++) {
		before = keep(sess);
		CHECK(resumes(&g, &sess));
		CHECK(sess != NULL && before != NULL && !same_ticket(before, sess));
		SSL_SESSION_free(before);
	}
	SSL_SESSION_free(sess);
	gazette_stop(&g);
}

TEST(tickets_shared_by_workers_and_generations)
{
	static const struct gazette_opts o = {
		.fixture = "archive",
		.global = "workers = 2\n",
	};
	SSL_SESSION *sess = NULL, *try;
	struct gazette g;
	int i, resumed = 0;

	if (gazette_start(&g, &o) == -1)
		return;
	resumes(&g, &sess);
	/* Whichever worker each connection reaches. */
	for (i = 0; i < 10; i++) {
		try = keep(sess);
		resumed += resumes(&g, &try);
		SSL_SESSION_free(try);
	}
	CHECK_INT(resumed, 10);
	/* And after a reload, by the new generation's workers. */
	kill(g.pid, SIGHUP);
	CHECK(gazette_wait_log(&g, "reloaded: generation 2", 5000));
	for (long t0 = now_ms(); now_ms() - t0 < 5000; sleep_ms(10)) {
		pid_t pids[4];
		if (gazette_workers(&g, pids, 4) == 2)
			break;
	}
	try = keep(sess);
	CHECK(resumes(&g, &try));
	SSL_SESSION_free(try);
	SSL_SESSION_free(sess);
	gazette_stop(&g);
}

/* Two servers, one key file: a session begun on one resumes on the other. */
TEST(tickets_key_file_shared_by_two_servers)
{
	static char global[1200];
	struct gazette_opts o = { .fixture = "archive" };
	unsigned char key[80];
	char path[700], *out = NULL;
	struct gazette a, b;
	SSL_SESSION *sess = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/ticket-%d.key", test_tmp_dir(), (int)getpid());
	if (RAND_bytes(key, sizeof(key)) != 1 || (f = fopen(path, "w")) == NULL) {
		test_fail(__FILE__, __LINE__, "cannot write %s", path);
		return;
	}
	fwrite(key, 1, sizeof(key), f);
	fclose(f);
	snprintf(global, sizeof(global), "ticket_key_file = %s\n", path);
	o.global = global;
	if (gazette_start(&a, &o) == -1)
		return;
	if (gazette_start(&b, &o) == -1) {
		gazette_stop(&a);
		return;
	}
	resumes(&a, &sess);
	CHECK(sess != NULL);
	CHECK(resumes(&b, &sess));
	gazette_stop(&a);
	gazette_stop(&b);
	SSL_SESSION_free(sess);
	/* A file that is not a key: one clear message, and no start. */
	if ((f = fopen(path, "w")) != NULL) {
		fputs("short\n", f);
		fclose(f);
	}
	{
		char conf[1400];
		const char *args[] = { "-f", "-c", conf, NULL };
		snprintf(conf, sizeof(conf), "%s", a.conf);
		CHECK_INT(gazette_exec(args, &out), 1);
		free(out);
		/* Said where the log goes. */
		out = gazette_log(&a);
		CHECK(strstr(out, "ticket_key_file") != NULL && strstr(out, "not 80 bytes") != NULL);
		free(out);
	}
}
