/*
 * The PROXY protocol header, versions 1 and 2, read strictly: the receiver
 * must "abort the connection" on "any sequence which does not exactly match
 * the protocol", and as soon as it can tell (so a direct client that sends a
 * TLS ClientHello or a Gopher selector is refused at its first byte).
 *
 *   v1: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965\r\n", at most 107 bytes;
 *       "PROXY UNKNOWN" and anything up to CRLF keeps the connection's address.
 *   v2: a 12-byte signature, version and command, family and transport, the
 *       length of what follows (addresses, then TLVs), in network order.
 *
 * Nothing here touches a socket: conn.c peeks, parses and takes the header's
 * bytes off the stream, leaving the ClientHello or request after it in place.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

static const unsigned char v1_sig[] = { 'P', 'R', 'O', 'X', 'Y', ' ' };
static const unsigned char v2_sig[] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
    0x55, 0x49, 0x54, 0x0a };

#define V2_HEADER 16
#define V2_LOCAL 0x20
#define V2_PROXY 0x21
#define TLV_CRC32C 0x03

static enum proxy_status
invalid(struct proxy_header *h, const char *why)
{
	h->error = why;
	return PROXY_INVALID;
}

/* A decimal number of at most maxdigits digits, without a heading zero. */
static bool
parse_decimal(const char *s, size_t n, size_t maxdigits, unsigned long max,
    unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > maxdigits || (s[0] == '0' && n > 1))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Exactly four decimal bytes separated by single dots, as the specification asks. */
static bool
parse_ipv4(const char *s, size_t n, unsigned char out[4])
{
	unsigned long v;
	size_t i = 0, start;
	int part;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
		for (start = i; i < n && s[i] != '.'; i++)
			;
		if (!parse_decimal(s + start, i - start, 3, 255, &v))
			return false;
		out[part] = (unsigned char)v;
	}
	return i == n;
}

/* Hexadecimal groups and colons (and a trailing dotted IPv4), 128 bits in all. */
static bool
parse_ipv6(const char *s, size_t n, unsigned char out[16])
{
	char tmp[INET6_ADDRSTRLEN];
	size_t i;

	if (n < 2 || n >= sizeof(tmp))
		return false;
	for (i = 0; i < n; i++)
		if (strchr("0123456789abcdefABCDEF:.", s[i]) == NULL || s[i] == '\0')
			return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, out) == 1;
}

static void
set_source(struct proxy_header *h, int family, const unsigned char *addr,
    unsigned port)
{
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&h->src;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = htons((uint16_t)port);
		h->srclen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&h->src;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		sin6->sin6_port = htons((uint16_t)port);
		h->srclen = sizeof(*sin6);
	}
}

/*
 * Cuts the next field off *s (of *n bytes): up to a single space, or the end
 * when last. Empty fields (two spaces) do not exist in the protocol.
 */
static bool
next_field(const char **s, size_t *n, bool last, const char **field, size_t *len)
{
	const char *sp = memchr(*s, ' ', *n);

	if (last) {
		if (sp != NULL)
			return false;
		*field = *s;
		*len = *n;
		*s += *n;
		*n = 0;
		return *len > 0;
	}
	if (sp == NULL || sp == *s)
		return false;
	*field = *s;
	*len = (size_t)(sp - *s);
	*n -= *len + 1;
	*s = sp + 1;
	return true;
}

/* Whether the n bytes after "PROXY " can begin one of the three protocols. */
static bool
family_prefix(const unsigned char *s, size_t n)
{
	static const char *const names[] = { "TCP4 ", "TCP6 ", "UNKNOWN" };
	size_t i, k;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		k = strlen(names[i]);
		if (memcmp(s, names[i], n < k ? n : k) == 0)
			return true;
	}
	return false;
}

static enum proxy_status
parse_v1(const unsigned char *p, size_t len, struct proxy_header *h)
{
	const unsigned char *lf;
	const char *line, *f[4];
	size_t n, flen[4], scan = len < PROXY_V1_MAX_LEN ? len : PROXY_V1_MAX_LEN;
	unsigned char src[16], dst[16];
	unsigned long sport, dport;
	int family, i;

	h->version = 1;
	if (memcmp(p, v1_sig, len < sizeof(v1_sig) ? len : sizeof(v1_sig)) != 0)
		return invalid(h, "not-proxy-protocol");
	if (scan > sizeof(v1_sig) &&
	    !family_prefix(p + sizeof(v1_sig), scan - sizeof(v1_sig)))
		return invalid(h, "v1-bad-family");
	if ((lf = memchr(p, '\n', scan)) == NULL)
		return len >= PROXY_V1_MAX_LEN ? invalid(h, "v1-too-long") : PROXY_MORE;
	/* A lone LF (or CR) never ends the line. */
	if (lf - p < (ptrdiff_t)sizeof(v1_sig) + 1 || lf[-1] != '\r')
		return invalid(h, "v1-bad-line-end");
	h->len = (size_t)(lf - p) + 1;
	line = (const char *)p + sizeof(v1_sig);
	n = h->len - sizeof(v1_sig) - 2;
	/* UNKNOWN: whatever follows up to CRLF is ignored, the connection's address kept. */
	if (n >= 7 && memcmp(line, "UNKNOWN", 7) == 0 && (n == 7 || line[7] == ' ')) {
		h->local = true;
		return PROXY_DONE;
	}
	if (n >= 5 && memcmp(line, "TCP4 ", 5) == 0)
		family = AF_INET;
	else if (n >= 5 && memcmp(line, "TCP6 ", 5) == 0)
		family = AF_INET6;
	else
		return invalid(h, "v1-bad-family");
	line += 5;
	n -= 5;
	for (i = 0; i < 4; i++)
		if (!next_field(&line, &n, i == 3, &f[i], &flen[i]))
			return invalid(h, "v1-bad-fields");
	if (family == AF_INET ? !parse_ipv4(f[0], flen[0], src) || !parse_ipv4(f[1], flen[1], dst)
	    : !parse_ipv6(f[0], flen[0], src) || !parse_ipv6(f[1], flen[1], dst))
		return invalid(h, "v1-bad-address");
	if (!parse_decimal(f[2], flen[2], 5, 65535, &sport) ||
	    !parse_decimal(f[3], flen[3], 5, 65535, &dport))
		return invalid(h, "v1-bad-port");
	set_source(h, family, src, (unsigned)sport);
	return PROXY_DONE;
}

/* CRC-32C (Castagnoli, reflected), as in RFC 4960 appendix B. */
static uint32_t
crc32c_update(uint32_t crc, const unsigned char *p, size_t n)
{
	int k;

	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return crc;
}

/* The checksum of the header with the checksum's own four bytes taken as zero. */
static bool
crc32c_matches(const unsigned char *p, size_t len, size_t value_at)
{
	static const unsigned char zero[4];
	uint32_t crc = 0xffffffffu, want;

	want = (uint32_t)p[value_at] << 24 | (uint32_t)p[value_at + 1] << 16 |
	    (uint32_t)p[value_at + 2] << 8 | p[value_at + 3];
	crc = crc32c_update(crc, p, value_at);
	crc = crc32c_update(crc, zero, 4);
	crc = crc32c_update(crc, p + value_at + 4, len - value_at - 4);
	return (crc ^ 0xffffffffu) == want;
}

/* The TLVs after the addresses must tile the rest of the header exactly. */
static const char *
check_tlvs(const unsigned char *p, size_t at, size_t end)
{
	size_t vlen;

	while (at < end) {
		if (end - at < 3)
			return "v2-bad-tlv";
		vlen = (size_t)p[at + 1] << 8 | p[at + 2];
		if (vlen > end - at - 3)
			return "v2-bad-tlv";
		if (p[at] == TLV_CRC32C) {
			if (vlen != 4)
				return "v2-bad-tlv";
			if (!crc32c_matches(p, end, at + 3))
				return "v2-bad-crc32c";
		}
		at += 3 + vlen;
	}
	return NULL;
}

static enum proxy_status
parse_v2(const unsigned char *p, size_t len, struct proxy_header *h)
{
	size_t total, need;
	const char *err;
	int fam;

	h->version = 2;
	if (memcmp(p, v2_sig, len < sizeof(v2_sig) ? len : sizeof(v2_sig)) != 0)
		return invalid(h, "not-proxy-protocol");
	if (len > 12 && (p[12] >> 4) != 2)
		return invalid(h, "v2-bad-version");
	if (len > 12 && p[12] != V2_LOCAL && p[12] != V2_PROXY)
		return invalid(h, "v2-bad-command");
	/* Only these protocol bytes are defined; others "must be rejected". */
	if (len > 13 && p[13] != 0x00 && p[13] != 0x11 && p[13] != 0x12 && p[13] != 0x21 &&
	    p[13] != 0x22 && p[13] != 0x31 && p[13] != 0x32)
		return invalid(h, "v2-bad-family");
	if (len < V2_HEADER)
		return PROXY_MORE;
	total = V2_HEADER + ((size_t)p[14] << 8 | p[15]);
	if (total > PROXY_MAX_LEN)
		return invalid(h, "v2-too-long");
	if (len < total)
		return PROXY_MORE;
	h->len = total;
	fam = p[13];
	/* LOCAL (a health check): the block, family included, is ignored. */
	if (p[12] == V2_LOCAL || fam == 0x00) {
		h->local = true;
		h->check = p[12] == V2_LOCAL;
		return PROXY_DONE;
	}
	need = (fam >> 4) == 1 ? 12 : (fam >> 4) == 2 ? 36 : 216;
	if (total - V2_HEADER < need)
		return invalid(h, "v2-short-address");
	if ((err = check_tlvs(p, V2_HEADER + need, total)) != NULL)
		return invalid(h, err);
	if (fam == 0x11)
		set_source(h, AF_INET, p + 16, (unsigned)p[24] << 8 | p[25]);
	else if (fam == 0x21)
		set_source(h, AF_INET6, p + 16, (unsigned)p[48] << 8 | p[49]);
	else
		/* UDP or UNIX: valid, but not a TCP client; fall back to UNSPEC. */
		h->local = true;
	return PROXY_DONE;
}

enum proxy_status
proxy_parse(const void *buf, size_t len, struct proxy_header *h)
{
	const unsigned char *p = buf;

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return PROXY_MORE;
	if (p[0] == v1_sig[0])
		return parse_v1(p, len, h);
	if (p[0] == v2_sig[0])
		return parse_v2(p, len, h);
	return invalid(h, "not-proxy-protocol");
}

int
proxy_nets_parse(const char *list, struct proxy_net *nets, int max, const char **error)
{
	static const char seps[] = " \t,";
	struct proxy_net net;
	const char *s = list, *slash;
	size_t n, alen;
	unsigned long bits;
	int count = 0, i, maxbits;

	for (;;) {
		s += strspn(s, seps);
		if (*s == '\0')
			return count;
		n = strcspn(s, seps);
		memset(&net, 0, sizeof(net));
		slash = memchr(s, '/', n);
		alen = slash ? (size_t)(slash - s) : n;
		if (memchr(s, ':', alen) != NULL) {
			net.family = AF_INET6;
			maxbits = 128;
			if (!parse_ipv6(s, alen, net.addr)) {
				*error = "proxy_from: not an IPv6 address";
				return -1;
			}
		} else {
			net.family = AF_INET;
			maxbits = 32;
			if (!parse_ipv4(s, alen, net.addr)) {
				*error = "proxy_from: not an IPv4 address";
				return -1;
			}
		}
		bits = (unsigned long)maxbits;
		if (slash != NULL && !parse_decimal(slash + 1, n - alen - 1, 3,
		    (unsigned long)maxbits, &bits)) {
			*error = "proxy_from: bad prefix length after /";
			return -1;
		}
		net.bits = (int)bits;
		/* 10.1.2.3/8 means 10.0.0.0/8. */
		for (i = net.bits; i < maxbits; i++)
			net.addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
		if (count == max) {
			*error = "proxy_from: too many addresses";
			return -1;
		}
		if (nets != NULL)
			nets[count] = net;
		count++;
		s += n;
	}
}

static bool
prefix_matches(const unsigned char *a, const unsigned char *b, int bits)
{
	int full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff00u >> rest);
	return (a[full] & mask) == (b[full] & mask);
}

bool
proxy_nets_match(const struct proxy_net *nets, int n, const struct sockaddr *sa)
{
	const unsigned char *v4 = NULL, *v6 = NULL;
	int i;

	if (sa->sa_family == AF_INET)
		v4 = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		v6 = sin6->sin6_addr.s6_addr;
		/* ::ffff:127.0.0.1 is 127.0.0.1 on a dual-stack socket. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			v4 = v6 + 12;
	}
	for (i = 0; i < n; i++) {
		if (nets[i].family == AF_INET && v4 != NULL &&
		    prefix_matches(v4, nets[i].addr, nets[i].bits))
			return true;
		if (nets[i].family == AF_INET6 && v6 != NULL &&
		    prefix_matches(v6, nets[i].addr, nets[i].bits))
			return true;
	}
	return false;
}
