/*
 * The PROXY protocol parser against HAProxy's specification (proxy-protocol.txt,
 * versions 1 and 2), one row per rule or trap, and the proxy_from list.
 *
 * Every row is also fed to the parser one prefix at a time, as a slow or
 * fragmented stream would deliver it: a header is PROXY_MORE up to its last
 * byte, and an invalid one never becomes valid with more bytes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "test.h"

/* A byte string that may hold NULs. */
#define B(s) s, sizeof(s) - 1

/* Version 2: the signature, then version/command, family, length. */
#define SIG "\r\n\r\n\0\r\nQUIT\n"
#define V4_SRC "\xc0\x00\x02\x01"		/* 192.0.2.1 */
#define V4_DST "\xc6\x33\x64\x02"		/* 198.51.100.2 */
#define V4_PORTS "\xdc\x04" "\x07\xad"		/* 56324, 1965 */
#define V4_BLOCK V4_SRC V4_DST V4_PORTS
#define V6_SRC "\x20\x01\x0d\xb8" "\0\0\0\0" "\0\0\0\0" "\0\0\0\x01"	/* 2001:db8::1 */
#define V6_DST "\x20\x01\x0d\xb8" "\0\0\0\0" "\0\0\0\0" "\0\0\0\x02"
#define V6_BLOCK V6_SRC V6_DST "\x01\xbb" "\x07\xad"			/* 443, 1965 */
#define V2_TCP4 SIG "\x21\x11\x00\x0c" V4_BLOCK
#define V2_TCP6 SIG "\x21\x21\x00\x24" V6_BLOCK

#define LOCAL "<local>"		/* the connection keeps its own address */

struct row {
	const char *in;
	size_t len;
	enum proxy_status want;
	size_t consumed;	/* PROXY_DONE: the header's length */
	const char *src;	/* PROXY_DONE: "ADDR PORT", or LOCAL */
	const char *error;	/* PROXY_INVALID: the reason */
};

#define DONE(s, n, src) { B(s), PROXY_DONE, n, src, NULL }
#define MORE(s) { B(s), PROXY_MORE, 0, NULL, NULL }
#define BAD(s, why) { B(s), PROXY_INVALID, 0, NULL, why }

static const struct row v1_rows[] = {
	/* The specification's examples and limits. */
	DONE("PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965\r\n", 46, "192.0.2.1 56324"),
	DONE("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n", 56,
	    "255.255.255.255 65535"),
	DONE("PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", 32, "0.0.0.0 0"),
	DONE("PROXY TCP6 2001:db8::1 2001:db8::2 443 1965\r\n", 45, "2001:db8::1 443"),
	DONE("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n", 104,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535"),
	DONE("PROXY TCP6 2001:DB8::A 2001:db8::b 1 2\r\n", 40, "2001:db8::a 1"),
	DONE("PROXY TCP6 ::ffff:192.0.2.7 ::1 1 2\r\n", 37, "::ffff:192.0.2.7 1"),
	DONE("PROXY TCP6 ::1 ::1 1 2\r\n", 24, "::1 1"),
	DONE("PROXY UNKNOWN\r\n", 15, LOCAL),
	/* "the receiver must ignore anything presented before the CRLF" */
	DONE("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n", 107, LOCAL),
	DONE("PROXY UNKNOWN whatever \x01 it says\r\n", 34, LOCAL),
	/* What follows is the protocol underneath, not part of the header. */
	DONE("PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965\r\ngemini://localhost/\r\n", 46,
	    "192.0.2.1 56324"),
	DONE("PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965\r\n\x16\x03\x01\x02\x00", 46,
	    "192.0.2.1 56324"),
	DONE("PROXY UNKNOWN\r\nPROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n", 15, LOCAL),

	/* Not yet a whole line: wait. */
	MORE(""),
	MORE("P"),
	MORE("PROXY"),
	MORE("PROXY "),
	MORE("PROXY T"),
	MORE("PROXY UNKN"),
	MORE("PROXY TCP4"),
	MORE("PROXY TCP4 192.0.2.1"),
	MORE("PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965"),
	MORE("PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965\r"),
	MORE("PROXY UNKNOWN junk, up to 106 bytes, is still waited for"),

	/* Whatever a direct client sends first is refused at once. */
	BAD("\x16\x03\x01\x02\x00\x01", "not-proxy-protocol"),
	BAD("gemini://localhost/\r\n", "not-proxy-protocol"),
	BAD("/\r\n", "not-proxy-protocol"),
	BAD("GET / HTTP/1.0\r\n", "not-proxy-protocol"),
	BAD("proxy TCP4 192.0.2.1 198.51.100.2 56324 1965\r\n", "not-proxy-protocol"),
	BAD("PROXX", "not-proxy-protocol"),
	BAD("PROXY\r\n", "not-proxy-protocol"),
	BAD("PROXY\tTCP4", "not-proxy-protocol"),
	/* Only TCP4, TCP6 and UNKNOWN, after exactly one space; known early. */
	BAD("PROXY  TCP4 192.0.2.1 198.51.100.2 56324 1965\r\n", "v1-bad-family"),
	BAD("PROXY TCP5 192.0.2.1 198.51.100.2 56324 1965\r\n", "v1-bad-family"),
	BAD("PROXY tcp4 192.0.2.1 198.51.100.2 56324 1965\r\n", "v1-bad-family"),
	BAD("PROXY UDP4 192.0.2.1 198.51.100.2 56324 1965\r\n", "v1-bad-family"),
	BAD("PROXY UNKNOWNX\r\n", "v1-bad-family"),
	BAD("PROXY TCP4\r\n", "v1-bad-family"),
	BAD("PROXY \r\n", "v1-bad-family"),
	BAD("PROXY X", "v1-bad-family"),
	/* A CRLF, nothing else, ends the line. */
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965\n", "v1-bad-line-end"),
	BAD("PROXY UNKNOWN\n", "v1-bad-line-end"),
	BAD("PROXY \n", "v1-bad-family"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965\r\r\n", "v1-bad-port"),
	/* No CRLF within 107 bytes. */
	BAD("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655350\r\n", "v1-too-long"),
	/* Exactly one space between exactly four fields. */
	BAD("PROXY TCP4 192.0.2.1  198.51.100.2 56324 1965\r\n", "v1-bad-fields"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965 \r\n", "v1-bad-fields"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n", "v1-bad-fields"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965 7\r\n", "v1-bad-fields"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2  1965\r\n", "v1-bad-fields"),
	BAD("PROXY TCP4 \r\n", "v1-bad-fields"),
	BAD("PROXY TCP4 192.0.2.1\t198.51.100.2 56324 1965\r\n", "v1-bad-fields"),
	/* Canonical addresses of the announced family; no heading zeroes. */
	BAD("PROXY TCP4 192.0.2.01 198.51.100.2 56324 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP4 192.0.2.256 198.51.100.2 56324 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP4 192.0.2 198.51.100.2 56324 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP4 192.0.2.1.5 198.51.100.2 56324 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP4 192..2.1 198.51.100.2 56324 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP4 192.0.2.1. 198.51.100.2 56324 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP4 +192.0.2.1 198.51.100.2 56324 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP4 0x7f.0.0.1 198.51.100.2 56324 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP4 1234.0.2.1 198.51.100.2 56324 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP4 localhost 198.51.100.2 56324 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.300 56324 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP4 2001:db8::1 2001:db8::2 443 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP6 192.0.2.1 198.51.100.2 56324 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP6 2001:db8:::1 2001:db8::2 443 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP6 2001:db8::g 2001:db8::2 443 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP6 2001:db8::1::2 2001:db8::2 443 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP6 1:2:3:4:5:6:7:8:9 2001:db8::2 443 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP6 [2001:db8::1] 2001:db8::2 443 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP6 fe80::1%eth0 2001:db8::2 443 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP6 : 2001:db8::2 443 1965\r\n", "v1-bad-address"),
	BAD("PROXY TCP4 192.0.2\0.1 198.51.100.2 56324 1965\r\n", "v1-bad-address"),
	/* Ports: decimal, 0 to 65535, no heading zero, no sign. */
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 65536 1965\r\n", "v1-bad-port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 056324 1965\r\n", "v1-bad-port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 00 1965\r\n", "v1-bad-port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 -1 1965\r\n", "v1-bad-port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 +1 1965\r\n", "v1-bad-port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 0x10 1965\r\n", "v1-bad-port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 99999999999999999999 1965\r\n", "v1-bad-port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 70000\r\n", "v1-bad-port"),
	BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 http\r\n", "v1-bad-port"),
};

static const struct row v2_rows[] = {
	DONE(V2_TCP4, 28, "192.0.2.1 56324"),
	DONE(V2_TCP6, 52, "2001:db8::1 443"),
	/* The ClientHello or request after the header is left alone. */
	DONE(V2_TCP4 "\x16\x03\x01\x02\x00", 28, "192.0.2.1 56324"),
	DONE(V2_TCP6 "/\r\n", 52, "2001:db8::1 443"),
	/* IPv4-mapped stays as sent; conn.c logs it as the IPv4 address it is. */
	DONE(SIG "\x21\x21\x00\x24" "\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\x00\x02\x07"
	    V6_DST "\x00\x01\x07\xad", 52, "::ffff:192.0.2.7 1"),
	/* TLVs after the addresses are skipped: NOOP, AUTHORITY, ALPN, a custom one. */
	DONE(SIG "\x21\x11\x00\x25" V4_BLOCK "\x04\x00\x00" "\x02\x00\x09localhost"
	    "\x01\x00\x07gemini!", 53, "192.0.2.1 56324"),
	DONE(SIG "\x21\x11\x00\x10" V4_BLOCK "\xe0\x00\x01\x00", 32, "192.0.2.1 56324"),
	DONE(SIG "\x21\x21\x00\x29" V6_BLOCK "\x05\x00\x02id", 57, "2001:db8::1 443"),
	/* LOCAL (health checks): the block, whatever it holds, is skipped. */
	DONE(SIG "\x20\x00\x00\x00", 16, LOCAL),
	DONE(SIG "\x20\x11\x00\x0c" V4_BLOCK, 28, LOCAL),
	DONE(SIG "\x20\x00\x00\x03" "abc", 19, LOCAL),
	DONE(SIG "\x20\x21\x00\x00", 16, LOCAL),
	DONE(SIG "\x20\x00\x00\x00" "\x16\x03\x01", 16, LOCAL),
	/* PROXY with UNSPEC, UDP or UNIX: valid, but no TCP client to take. */
	DONE(SIG "\x21\x00\x00\x00", 16, LOCAL),
	DONE(SIG "\x21\x00\x00\x02" "zz", 18, LOCAL),
	DONE(SIG "\x21\x12\x00\x0c" V4_BLOCK, 28, LOCAL),
	DONE(SIG "\x21\x22\x00\x24" V6_BLOCK, 52, LOCAL),

	/* Partial headers: wait, however they are cut. */
	MORE("\r"),
	MORE("\r\n"),
	MORE("\r\n\r\n\0"),
	MORE(SIG),
	MORE(SIG "\x21"),
	MORE(SIG "\x21\x11"),
	MORE(SIG "\x21\x11\x00"),
	MORE(SIG "\x21\x11\x00\x0c"),
	MORE(SIG "\x21\x11\x00\x0c" V4_SRC V4_DST "\xdc\x04\x07"),
	MORE(SIG "\x21\x21\x00\x24" V6_SRC),
	MORE(SIG "\x20\x00\x00\x05" "abcd"),
	MORE(SIG "\x21\x11\x03\xf0" V4_BLOCK),	/* 16 + 1008 = 1024: the most allowed */

	/* The signature, byte for byte. */
	BAD("\r\nGET / HTTP/1.0\r\n", "not-proxy-protocol"),
	BAD("\r\n\r\nX", "not-proxy-protocol"),
	BAD("\r\n\r\n\0\r\nQUIX\n\x21\x11\x00\x0c" V4_BLOCK, "not-proxy-protocol"),
	BAD("\r\n\r\n\0\r\nQUIT\r\x21\x11\x00\x0c" V4_BLOCK, "not-proxy-protocol"),
	BAD("\r\r", "not-proxy-protocol"),
	/* Version 2 only, and only LOCAL or PROXY; known from the 13th byte. */
	BAD(SIG "\x11\x11\x00\x0c" V4_BLOCK, "v2-bad-version"),
	BAD(SIG "\x31", "v2-bad-version"),
	BAD(SIG "\x01", "v2-bad-version"),
	BAD(SIG "\x22\x11\x00\x0c" V4_BLOCK, "v2-bad-command"),
	BAD(SIG "\x2f", "v2-bad-command"),
	/* Only the protocol bytes the specification defines. */
	BAD(SIG "\x21\x13\x00\x0c" V4_BLOCK, "v2-bad-family"),
	BAD(SIG "\x21\x10\x00\x0c" V4_BLOCK, "v2-bad-family"),
	BAD(SIG "\x21\x01\x00\x00", "v2-bad-family"),
	BAD(SIG "\x21\x41\x00\x0c" V4_BLOCK, "v2-bad-family"),
	BAD(SIG "\x20\xff", "v2-bad-family"),
	/* Lengths: the address block must fit; the whole must fit our buffer. */
	BAD(SIG "\x21\x11\x00\x0b" V4_SRC V4_DST "\xdc\x04\x07", "v2-short-address"),
	BAD(SIG "\x21\x11\x00\x00", "v2-short-address"),
	BAD(SIG "\x21\x21\x00\x0c" V4_BLOCK, "v2-short-address"),
	BAD(SIG "\x21\x12\x00\x04" "abcd", "v2-short-address"),
	BAD(SIG "\x21\x11\x03\xf1", "v2-too-long"),
	BAD(SIG "\x21\x11\xff\xff", "v2-too-long"),
	BAD(SIG "\x20\x00\xff\xff", "v2-too-long"),
	/* TLVs must tile what follows the addresses exactly. */
	BAD(SIG "\x21\x11\x00\x0e" V4_BLOCK "\x04\x00", "v2-bad-tlv"),
	BAD(SIG "\x21\x11\x00\x0d" V4_BLOCK "\x04", "v2-bad-tlv"),
	BAD(SIG "\x21\x11\x00\x11" V4_BLOCK "\x04\x00\x05" "ab", "v2-bad-tlv"),
	BAD(SIG "\x21\x11\x00\x12" V4_BLOCK "\x04\x00\x01" "a" "\x04\x00", "v2-bad-tlv"),
	BAD(SIG "\x21\x11\x00\x12" V4_BLOCK "\x03\x00\x03" "abc", "v2-bad-tlv"),
	BAD(SIG "\x21\x11\x00\x13" V4_BLOCK "\x03\x00\x04" "\0\0\0\0", "v2-bad-crc32c"),
};

/* "ADDR PORT" of a parsed source, or LOCAL. */
static const char *
source_text(const struct proxy_header *h, char *out, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	if (h->local)
		return LOCAL;
	if (h->src.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&h->src;
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		snprintf(out, size, "%s %u", addr, ntohs(sin->sin_port));
		CHECK_INT(h->srclen, sizeof(*sin));
	} else if (h->src.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&h->src;
		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		snprintf(out, size, "%s %u", addr, ntohs(sin6->sin6_port));
		CHECK_INT(h->srclen, sizeof(*sin6));
	} else
		snprintf(out, size, "family %d", h->src.ss_family);
	return out;
}

static void
escape(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		o += (size_t)snprintf(out + o, size - o, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
	}
	out[o] = '\0';
}

/*
 * A stream delivers any prefix first: before the header's end, every prefix
 * waits; once a prefix is invalid, every longer one is too.
 */
static void
check_prefixes(const struct row *r, const struct proxy_header *whole)
{
	struct proxy_header h;
	enum proxy_status st;
	bool bad = false;
	size_t k;

	for (k = 0; k < r->len; k++) {
		st = proxy_parse(r->in, k, &h);
		if (r->want == PROXY_DONE && k < whole->len && st != PROXY_MORE)
			test_fail(__FILE__, __LINE__, "prefix of %zu bytes: %d, want MORE", k, st);
		if (r->want == PROXY_DONE && k >= whole->len && st != PROXY_DONE)
			test_fail(__FILE__, __LINE__, "prefix of %zu bytes: %d, want DONE", k, st);
		if (bad && st != PROXY_INVALID)
			test_fail(__FILE__, __LINE__, "prefix of %zu bytes valid again", k);
		bad |= st == PROXY_INVALID;
		if (st == PROXY_MORE)
			CHECK(k < PROXY_MAX_LEN);
	}
}

static void
run_rows(const struct row *rows, size_t n)
{
	struct proxy_header h;
	enum proxy_status st;
	char shown[600], src[128];
	size_t i;

	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		escape(r->in, r->len, shown, sizeof(shown));
		test_context("row %zu: \"%s\"", i, shown);
		st = proxy_parse(r->in, r->len, &h);
		CHECK_INT(st, r->want);
		if (st == PROXY_DONE && r->want == PROXY_DONE) {
			CHECK_INT(h.len, r->consumed);
			CHECK(h.len <= r->len);
			CHECK_STR(source_text(&h, src, sizeof(src)), r->src);
			CHECK(h.error == NULL);
		}
		if (r->want == PROXY_INVALID && r->error != NULL)
			CHECK_STR(h.error, r->error);
		if (st == PROXY_INVALID)
			CHECK(h.error != NULL && strchr(h.error, ' ') == NULL);
		check_prefixes(r, &h);
	}
	test_context("%s", "");
}

TEST(proxy_v1)
{
	run_rows(v1_rows, sizeof(v1_rows) / sizeof(v1_rows[0]));
}

TEST(proxy_v2)
{
	run_rows(v2_rows, sizeof(v2_rows) / sizeof(v2_rows[0]));
}

TEST(proxy_version_and_command)
{
	struct proxy_header h;

	CHECK_INT(proxy_parse(B("PROXY UNKNOWN\r\n"), &h), PROXY_DONE);
	CHECK_INT(h.version, 1);
	CHECK(h.local && !h.check);
	CHECK_INT(proxy_parse(B(V2_TCP4), &h), PROXY_DONE);
	CHECK_INT(h.version, 2);
	CHECK(!h.local && !h.check);
	/* LOCAL, as HAProxy's health checks send it, is told apart from UNSPEC. */
	CHECK_INT(proxy_parse(B(SIG "\x20\x00\x00\x00"), &h), PROXY_DONE);
	CHECK(h.local && h.check);
	CHECK_INT(proxy_parse(B(SIG "\x20\x11\x00\x0c" V4_BLOCK), &h), PROXY_DONE);
	CHECK(h.local && h.check);
	CHECK_INT(proxy_parse(B(SIG "\x21\x00\x00\x00"), &h), PROXY_DONE);
	CHECK(h.local && !h.check);
}

/* An independent CRC-32C, checked against the standard check value. */
static unsigned long
crc32c(const unsigned char *p, size_t n)
{
	unsigned long crc = 0xffffffffUL;
	int k;

	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78UL & (0UL - (crc & 1)));
	}
	return crc ^ 0xffffffffUL;
}

TEST(proxy_v2_crc32c)
{
	static const char base[] = SIG "\x21\x11\x00\x19" V4_BLOCK "\x04\x00\x00"
	    "\x03\x00\x04" "\0\0\0\0" "\x02\x00\x00";
	unsigned char buf[sizeof(base) - 1 + 3];
	struct proxy_header h;
	size_t n = sizeof(base) - 1, at = 16 + 12 + 3 + 3;
	unsigned long crc;

	CHECK_INT(crc32c((const unsigned char *)"123456789", 9), 0xe3069283UL);
	memcpy(buf, base, n);
	crc = crc32c(buf, n);
	buf[at] = (unsigned char)(crc >> 24);
	buf[at + 1] = (unsigned char)(crc >> 16);
	buf[at + 2] = (unsigned char)(crc >> 8);
	buf[at + 3] = (unsigned char)crc;
	CHECK_INT(proxy_parse(buf, n, &h), PROXY_DONE);
	CHECK_INT(h.len, n);
	CHECK(!h.local);
	/* Any flipped bit, in the checksum or elsewhere, fails it. */
	buf[at + 3] ^= 1;
	CHECK_INT(proxy_parse(buf, n, &h), PROXY_INVALID);
	CHECK_STR(h.error, "v2-bad-crc32c");
	buf[at + 3] ^= 1;
	buf[17] ^= 0x80;
	CHECK_INT(proxy_parse(buf, n, &h), PROXY_INVALID);
	CHECK_STR(h.error, "v2-bad-crc32c");
	buf[17] ^= 0x80;
	/* Bytes after the header are not covered. */
	memcpy(buf + n, "/\r\n", 3);
	CHECK_INT(proxy_parse(buf, n + 3, &h), PROXY_DONE);
	CHECK_INT(h.len, n);
}

TEST(proxy_v2_unix_and_limits)
{
	unsigned char buf[PROXY_MAX_LEN + 16];
	struct proxy_header h;
	size_t i;

	/* UNIX stream: 2 * 108 bytes of addresses; valid, the connection's address kept. */
	memcpy(buf, SIG "\x21\x31\x00\xd8", 16);
	memset(buf + 16, 'u', 216);
	CHECK_INT(proxy_parse(buf, 16 + 216, &h), PROXY_DONE);
	CHECK(h.local);
	CHECK_INT(h.len, 232);
	CHECK_INT(proxy_parse(buf, 16 + 215, &h), PROXY_MORE);
	buf[15] = 0xd7;
	CHECK_INT(proxy_parse(buf, 16 + 215, &h), PROXY_INVALID);
	CHECK_STR(h.error, "v2-short-address");
	/* The largest header: 1008 bytes of addresses and TLVs. */
	memcpy(buf, SIG "\x21\x11\x03\xf0" V4_BLOCK, 28);
	buf[28] = 0x04;
	buf[29] = (1008 - 12 - 3) >> 8;
	buf[30] = (1008 - 12 - 3) & 0xff;
	memset(buf + 31, 0, PROXY_MAX_LEN - 31);
	for (i = 0; i < PROXY_MAX_LEN; i++)
		if (proxy_parse(buf, i, &h) != PROXY_MORE)
			test_fail(__FILE__, __LINE__, "prefix %zu not MORE", i);
	CHECK_INT(proxy_parse(buf, PROXY_MAX_LEN, &h), PROXY_DONE);
	CHECK_INT(h.len, PROXY_MAX_LEN);
	CHECK(!h.local);
	/* A v1 line never waits past 107 bytes. */
	memcpy(buf, "PROXY UNKNOWN ", 14);
	memset(buf + 14, 'x', 200);
	CHECK_INT(proxy_parse(buf, 106, &h), PROXY_MORE);
	CHECK_INT(proxy_parse(buf, 107, &h), PROXY_INVALID);
	buf[105] = '\r';
	buf[106] = '\n';
	CHECK_INT(proxy_parse(buf, 200, &h), PROXY_DONE);
	CHECK_INT(h.len, 107);
}

/* Matches a text address against a parsed list. */
static bool
nets_match(const struct proxy_net *nets, int n, const char *addr)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			abort();
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			abort();
	}
	return proxy_nets_match(nets, n, (struct sockaddr *)&ss);
}

TEST(proxy_from_lists)
{
	static const struct {
		const char *list;
		int count;		/* -1: refused */
		const char *yes[4], *no[4];
	} rows[] = {
		{ "", 0, { NULL }, { "127.0.0.1", "::1" } },
		{ " ,\t ", 0, { NULL }, { "127.0.0.1" } },
		{ "127.0.0.1 ::1", 2, { "127.0.0.1", "::1", "::ffff:127.0.0.1" },
		    { "127.0.0.2", "::2", "10.0.0.1" } },
		{ "10.0.0.0/8, 192.168.1.0/24\tfd00::/8", 3,
		    { "10.255.1.2", "192.168.1.77", "fd12::1", "::ffff:10.0.0.9" },
		    { "11.0.0.1", "192.168.2.1", "fe80::1", "::10.0.0.1" } },
		{ "192.0.2.128/25", 1, { "192.0.2.128", "192.0.2.255" },
		    { "192.0.2.127", "192.0.3.200" } },
		{ "2001:db8::/33", 1, { "2001:db8::1", "2001:db8:7fff::1" },
		    { "2001:db8:8000::1", "2001:db9::1" } },
		/* Host bits past the prefix are ignored, as they mean nothing. */
		{ "10.1.2.3/8", 1, { "10.9.9.9" }, { "11.1.2.3" } },
		{ "0.0.0.0/0", 1, { "0.0.0.0", "255.255.255.255", "::ffff:1.2.3.4" },
		    { "::1", "2001:db8::1" } },
		{ "::/0", 1, { "::1", "2001:db8::1", "::ffff:1.2.3.4" }, { "1.2.3.4" } },
		{ "127.0.0.1/32 ::1/128", 2, { "127.0.0.1", "::1" }, { "127.0.0.2" } },
		{ "localhost", -1, { NULL }, { NULL } },
		{ "127.0.0.1/33", -1, { NULL }, { NULL } },
		{ "::1/129", -1, { NULL }, { NULL } },
		{ "10.0.0.0/08", -1, { NULL }, { NULL } },
		{ "10.0.0.0/", -1, { NULL }, { NULL } },
		{ "10.0.0.0/-1", -1, { NULL }, { NULL } },
		{ "10.0.0.0/8/8", -1, { NULL }, { NULL } },
		{ "/8", -1, { NULL }, { NULL } },
		{ "10.0.0", -1, { NULL }, { NULL } },
		{ "010.0.0.1", -1, { NULL }, { NULL } },
		{ "2001:db8::g", -1, { NULL }, { NULL } },
		{ "127.0.0.1;::1", -1, { NULL }, { NULL } },
	};
	struct proxy_net nets[PROXY_MAX_NETS];
	const char *err;
	size_t i, k;
	int n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("proxy_from = \"%s\"", rows[i].list);
		err = NULL;
		n = proxy_nets_parse(rows[i].list, nets, PROXY_MAX_NETS, &err);
		CHECK_INT(n, rows[i].count);
		CHECK_INT(proxy_nets_parse(rows[i].list, NULL, PROXY_MAX_NETS, &err),
		    rows[i].count);
		if (rows[i].count == -1) {
			CHECK(err != NULL && strncmp(err, "proxy_from: ", 12) == 0);
			continue;
		}
		for (k = 0; k < 4 && rows[i].yes[k]; k++) {
			test_context("proxy_from = \"%s\", %s", rows[i].list, rows[i].yes[k]);
			CHECK(nets_match(nets, n, rows[i].yes[k]));
		}
		for (k = 0; k < 4 && rows[i].no[k]; k++) {
			test_context("proxy_from = \"%s\", %s", rows[i].list, rows[i].no[k]);
			CHECK(!nets_match(nets, n, rows[i].no[k]));
		}
	}
	test_context("%s", "");
}

TEST(proxy_from_limit)
{
	struct proxy_net nets[PROXY_MAX_NETS];
	char list[2048];
	const char *err = NULL;
	size_t o = 0;
	int i;

	for (i = 0; i < PROXY_MAX_NETS; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "10.0.%d.0/24 ", i);
	CHECK_INT(proxy_nets_parse(list, nets, PROXY_MAX_NETS, &err), PROXY_MAX_NETS);
	CHECK(nets_match(nets, PROXY_MAX_NETS, "10.0.31.9"));
	snprintf(list + o, sizeof(list) - o, "10.1.0.0/16");
	CHECK_INT(proxy_nets_parse(list, nets, PROXY_MAX_NETS, &err), -1);
	CHECK_STR(err, "proxy_from: too many addresses");
}
