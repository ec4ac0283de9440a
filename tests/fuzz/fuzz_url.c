/*
 * url_parse on arbitrary bytes, then what must hold of any URL it accepts: a
 * clean, resolved path; a lowercase host of safe characters; a query that is
 * the input's own tail; and a parse that survives being written out again.
 * The decoder and encoders must round-trip whatever they are given.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "url.h"
#include "utf8.h"

static void
check_host(const struct url *u)
{
	const char *p;
	unsigned char a[16];

	EXPECT(u->host[0] != '\0');
	for (p = u->host; *p; p++)
		EXPECT(!(*p >= 'A' && *p <= 'Z'));
	switch (u->host_kind) {
	case URL_HOST_IPV6:
		EXPECT(inet_pton(AF_INET6, u->host, a) == 1);
		break;
	case URL_HOST_IPV4:
		EXPECT(inet_pton(AF_INET, u->host, a) == 1);
		break;
	case URL_HOST_NAME:
		EXPECT(u->host[0] != '.');
		EXPECT(strstr(u->host, "..") == NULL);
		EXPECT(u->host[strlen(u->host) - 1] != '.');
		for (p = u->host; *p; p++)
			EXPECT(strchr("abcdefghijklmnopqrstuvwxyz0123456789.-_", *p) != NULL);
		break;
	}
}

/* Writes u out again, path re-encoded as a redirect does, and parses that. */
static void
check_reparse(const struct url *u)
{
	char buf[URL_MAX * 3 + 600];
	struct url v;
	long n;
	int len;

	len = snprintf(buf, sizeof(buf), u->host_kind == URL_HOST_IPV6 ? "%s://[%s]" :
	    "%s://%s", u->scheme, u->host);
	if (u->port != -1)
		len += snprintf(buf + len, sizeof(buf) - len, ":%d", u->port);
	n = url_encode_path(u->path, strlen(u->path), buf + len, sizeof(buf) - len);
	EXPECT(n >= 0);
	if (n < 0)
		return;
	len += (int)n;
	if (u->has_query)
		len += snprintf(buf + len, sizeof(buf) - len, "?%s", u->query);
	if (len > URL_MAX)
		return;
	EXPECT(url_parse(buf, (size_t)len, &v) == NULL);
	EXPECT(strcmp(v.scheme, u->scheme) == 0);
	EXPECT(strcmp(v.host, u->host) == 0);
	EXPECT(v.host_kind == u->host_kind);
	EXPECT(v.port == u->port);
	EXPECT(strcmp(v.path, u->path) == 0);
	EXPECT(v.has_query == u->has_query);
	EXPECT(strcmp(v.query, u->query) == 0);
}

static void
check_parse(const char *s, size_t size)
{
	struct url u;
	const char *p;
	size_t n;

	if (url_parse(s, size, &u) != NULL)
		return;
	EXPECT(size <= URL_MAX);
	EXPECT(memchr(s, '\0', size) == NULL);
	EXPECT(utf8_valid(s, size));
	EXPECT(memchr(s, '#', size) == NULL);
	EXPECT(u.scheme[0] != '\0');
	for (p = u.scheme; *p; p++)
		EXPECT(!(*p >= 'A' && *p <= 'Z'));
	/* The query is the input's tail after the first '?', byte for byte. */
	if (u.has_query) {
		n = strlen(u.query);
		EXPECT(n < size && memcmp(s + size - n, u.query, n) == 0 &&
		    s[size - n - 1] == '?');
		EXPECT(memchr(s, '?', size) == s + size - n - 1);
	} else {
		EXPECT(memchr(s, '?', size) == NULL);
		EXPECT(u.query[0] == '\0');
	}
	if (!u.has_authority)
		return;
	/* No userinfo: no '@' between "scheme://" and the path or query. */
	for (n = strlen(u.scheme) + 3; n < size && s[n] != '/' && s[n] != '?'; n++)
		EXPECT(s[n] != '@');
	n = strlen(u.path);
	EXPECT(n >= 1 && n <= URL_MAX + 1);
	EXPECT(u.path[0] == '/');
	EXPECT(strstr(u.path, "//") == NULL);
	EXPECT(!has_segment(u.path, "."));
	EXPECT(!has_segment(u.path, ".."));
	for (p = u.path; *p; p++)
		EXPECT((unsigned char)*p >= 0x20 && *p != 0x7f);
	EXPECT(utf8_valid(u.path, n));
	EXPECT(u.port >= -1 && u.port <= 65535);
	check_host(&u);
	check_reparse(&u);
}

/* Encoding then decoding gives back the bytes, whatever they are. */
static void
check_codecs(const char *s, size_t size)
{
	static char enc[3 * 4096 + 1], dec[4097];
	long n, m;

	if (size > 4096)
		return;
	m = url_decode(s, size, dec, sizeof(dec), false);
	EXPECT(m <= (long)size);
	if (m >= 0)
		EXPECT(dec[m] == '\0');
	/* A raw NUL passes through (callers refuse it first); an encoded one never. */
	if (memchr(s, '\0', size) != NULL)
		return;
	if (m >= 0)
		EXPECT(memchr(dec, '\0', (size_t)m) == NULL);
	n = url_encode_path(s, size, enc, sizeof(enc));
	EXPECT(n >= (long)size);
	if (n >= 0) {
		m = url_decode(enc, (size_t)n, dec, sizeof(dec), false);
		EXPECT(m == (long)size && memcmp(dec, s, size) == 0);
	}
	n = url_encode_query(s, size, enc, sizeof(enc));
	EXPECT(n >= (long)size);
	if (n >= 0) {
		EXPECT(memchr(enc, '&', (size_t)n) == NULL && memchr(enc, '+', (size_t)n) == NULL);
		m = url_decode(enc, (size_t)n, dec, sizeof(dec), true);
		EXPECT(m == (long)size && memcmp(dec, s, size) == 0);
	}
}

FUZZ_TARGET(url)
{
	char *s = malloc(size ? size : 1);

	/* An exact-size copy: no terminating NUL to lean on. */
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	check_parse(s, size);
	check_codecs(s, size);
	free(s);
	return 0;
}
