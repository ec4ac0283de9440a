/*
 * The configuration parser on arbitrary bytes. Whatever the file holds, it
 * must not crash; a refusal names "FILE:LINE: message"; an accepted file
 * leaves every string NUL-terminated inside its buffer, every number within
 * its key's bounds and at most CONFIG_MAX_HOSTS distinct, lowercased hosts.
 * config_finish and a -o override made of the first line must keep all that.
 * In make test, config_load on the same bytes written to a file must answer
 * exactly as config_parse does.
 *
 * A key added to struct config or struct host_config belongs in
 * check_globals or check_host below.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define NAME "fuzz.conf"

/* A string field ends inside its buffer. */
#define STR(f) EXPECT(memchr((f), '\0', sizeof(f)) != NULL)
#define INT(f, lo, hi) EXPECT((long long)(f) >= (lo) && (long long)(f) <= (hi))

/* A bool field holds 0 or 1 (read as a byte, so that UBSan does not stop first). */
#define BOOL(f)                                                               \
	do {                                                                  \
		unsigned char b_;                                             \
		memcpy(&b_, &(f), 1);                                         \
		EXPECT(b_ <= 1);                                              \
	} while (0)

static void
check_host(const struct config *c, const struct host_config *h)
{
	const char *p;
	int i;

	STR(h->name);
	STR(h->root);
	STR(h->cert);
	STR(h->key);
	STR(h->title);
	STR(h->description);
	STR(h->lang);
	INT(h->home_posts, 0, 1000);
	INT(h->page_size, 10, 10000);
	INT(h->feed_posts, 1, 1000);
	INT(h->max_post_size, 1024, 64 << 20);
	INT(h->ncert_paths, 0, CONFIG_MAX_CERT_PATHS);
	for (i = 0; i < h->ncert_paths && i < CONFIG_MAX_CERT_PATHS; i++) {
		STR(h->cert_paths[i].prefix);
		EXPECT(h->cert_paths[i].prefix[0] == '/');
		BOOL(h->cert_paths[i].restricted);
	}
	INT(h->ncert_fps, 0, CONFIG_MAX_CERT_FPS);
	for (i = 0; i < h->ncert_fps && i < CONFIG_MAX_CERT_FPS; i++)
		INT(h->cert_fps[i].path, 0, h->ncert_paths - 1);
	/* A host name: lowercased, not empty, and found as itself. */
	if (memchr(h->name, '\0', sizeof(h->name)) == NULL)
		return;
	EXPECT(h->name[0] != '\0');
	for (p = h->name; *p; p++)
		EXPECT(!(*p >= 'A' && *p <= 'Z'));
	EXPECT(config_find_host(c, h->name) == h);
}

static void
check_globals(const struct config *c)
{
	int i;

	STR(c->file);
	STR(c->user);
	STR(c->chroot);
	STR(c->state_dir);
	BOOL(c->seccomp);
	STR(c->listen);
	INT(c->gemini_port, 1, 65535);
	INT(c->gopher_port, 0, 65535);
	BOOL(c->gopher_tls);
	STR(c->gopher_host);
	INT(c->gopher_public_port, 0, 65535);
	INT(c->workers, 0, 256);
	INT(c->max_connections, 1, 1000000);
	INT(c->client_connections, 0, 1000000);
	INT(c->client_rate, 0, 1000000);
	INT(c->client_burst, 1, 1000000);
	INT(c->request_timeout_ms, 100, 3600000);
	INT(c->write_timeout_ms, 100, 3600000);
	BOOL(c->proxy_protocol);
	STR(c->proxy_from);
	STR(c->log_file);
	STR(c->log_clients);
	INT(c->cache_size, 0, 1 << 30);
	BOOL(c->access_log);
	INT(c->nhosts, 0, CONFIG_MAX_HOSTS);
	for (i = 0; i < c->nhosts && i < CONFIG_MAX_HOSTS; i++)
		check_host(c, &c->hosts[i]);
}

/* "NAME:LINE: message" or, for what is not a line's fault, "NAME: message". */
static void
check_error(const char *err, size_t size, size_t len, const uint8_t *data)
{
	const char *p;
	long line, lines = 1;
	size_t i;
	char *end;

	EXPECT(memchr(err, '\0', size) != NULL);
	if (memchr(err, '\0', size) == NULL)
		return;
	EXPECT(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
	p = err + strlen(NAME ":");
	if (*p == ' ') {
		EXPECT(p[1] != '\0');
		return;
	}
	line = strtol(p, &end, 10);
	for (i = 0; i < len; i++)
		lines += data[i] == '\n';
	EXPECT(end != p && line >= 1 && line <= lines);
	EXPECT(end[0] == ':' && end[1] == ' ' && end[2] != '\0');
}

#ifndef FUZZ_LIBFUZZER
#include <unistd.h>

/* config_load on the same bytes in a file: the same answer, the same message. */
static void
check_load(const uint8_t *data, size_t size, int r, const char *err)
{
	static struct config f;
	char path[512], ferr[1024], want[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/" NAME, test_tmp_dir());
	if ((fp = fopen(path, "w")) == NULL) {
		CHECK(fp != NULL);
		return;
	}
	CHECK(fwrite(data, 1, size, fp) == size);
	CHECK(fclose(fp) == 0);
	config_defaults(&f);
	CHECK_INT(config_load(&f, path, ferr, sizeof(ferr)), r);
	CHECK_STR(f.file, path);
	if (r != 0) {
		snprintf(want, sizeof(want), "%s%s", path, err + strlen(NAME));
		CHECK_STR(ferr, want);
	}
	unlink(path);
}
#endif

FUZZ_TARGET(config)
{
	static struct config c;
	char err[256], line[4096];
	const char *nl;
	size_t n;
	int r;

	config_defaults(&c);
	check_globals(&c);
	memset(err, 'x', sizeof(err));
	r = config_parse(&c, NAME, (const char *)data, size, err, sizeof(err));
	EXPECT(r == 0 || r == -1);
#ifndef FUZZ_LIBFUZZER
	check_load(data, size, r, err);
#endif
	if (r != 0) {
		check_error(err, sizeof(err), size, data);
		return 0;
	}
	check_globals(&c);
	/* Finishing fills in certificate paths, or refuses with a message. */
	memset(err, 'x', sizeof(err));
	if (config_finish(&c, err, sizeof(err)) == 0) {
		EXPECT(c.nhosts >= 1);
		for (n = 0; n < (size_t)c.nhosts && n < CONFIG_MAX_HOSTS; n++)
			EXPECT(c.hosts[n].cert[0] != '\0' && c.hosts[n].key[0] != '\0');
	} else
		EXPECT(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
	check_globals(&c);
	/* The first line as a -o override. */
	nl = memchr(data, '\n', size);
	n = nl != NULL ? (size_t)(nl - (const char *)data) : size;
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, data, n);
	line[n] = '\0';
	memset(err, 'x', sizeof(err));
	if (config_override(&c, line, err, sizeof(err)) != 0)
		EXPECT(memchr(err, '\0', sizeof(err)) != NULL &&
		    strncmp(err, "-o ", 3) == 0);
	check_globals(&c);
	return 0;
}
