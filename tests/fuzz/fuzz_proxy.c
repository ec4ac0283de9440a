/*
 * PROXY protocol headers as a load balancer, or anyone reaching the port,
 * might send them. The parser must keep its promises to conn.c on any bytes:
 * MORE only below PROXY_MAX_LEN and only when every byte is still header;
 * DONE within the bytes given, with the very address the header carries; a
 * stream cut anywhere agrees with the whole. The first bytes also go through
 * the proxy_from list parser and matcher.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxy.h"

/* What a DONE header says must be in its bytes. */
static void
check_source(const unsigned char *p, const struct proxy_header *h)
{
	char text[INET6_ADDRSTRLEN];
	size_t n;

	if (h->local)
		return;
	if (h->src.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&h->src;
		EXPECT(h->srclen == sizeof(*sin));
		if (h->version == 2) {
			EXPECT(p[13] == 0x11);
			EXPECT(memcmp(&sin->sin_addr, p + 16, 4) == 0);
			EXPECT(memcmp(&sin->sin_port, p + 24, 2) == 0);
		} else {
			/* Canonical IPv4 only: the text is exactly what inet_ntop writes. */
			EXPECT(inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)) != NULL);
			n = strlen(text);
			EXPECT(memcmp(p, "PROXY TCP4 ", 11) == 0);
			EXPECT(h->len > 11 + n && memcmp(p + 11, text, n) == 0 && p[11 + n] == ' ');
		}
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&h->src;
		EXPECT(h->src.ss_family == AF_INET6);
		EXPECT(h->srclen == sizeof(*sin6));
		if (h->version == 2) {
			EXPECT(p[13] == 0x21);
			EXPECT(memcmp(&sin6->sin6_addr, p + 16, 16) == 0);
			EXPECT(memcmp(&sin6->sin6_port, p + 48, 2) == 0);
		} else
			EXPECT(memcmp(p, "PROXY TCP6 ", 11) == 0);
	}
}

static void
check_header(const unsigned char *p, size_t size)
{
	struct proxy_header h, again;
	enum proxy_status st, shorter;

	st = proxy_parse(p, size, &h);
	switch (st) {
	case PROXY_MORE:
		EXPECT(size < PROXY_MAX_LEN);
		EXPECT(h.error == NULL);
		break;
	case PROXY_INVALID:
		EXPECT(h.error != NULL && *h.error != '\0' && strchr(h.error, ' ') == NULL);
		break;
	case PROXY_DONE:
		EXPECT(h.error == NULL);
		EXPECT(h.version == 1 || h.version == 2);
		EXPECT(h.len <= size && h.len <= PROXY_MAX_LEN);
		EXPECT(h.version == 1 ? h.len >= 15 && h.len <= PROXY_V1_MAX_LEN : h.len >= 16);
		EXPECT(h.version == 1 ? p[h.len - 2] == '\r' && p[h.len - 1] == '\n' :
		    h.len == 16 + ((size_t)p[14] << 8 | p[15]));
		EXPECT(!h.check || (h.local && h.version == 2 && p[12] == 0x20));
		check_source(p, &h);
		/* The header alone parses the same; one byte less waits for it. */
		EXPECT(proxy_parse(p, h.len, &again) == PROXY_DONE);
		EXPECT(again.len == h.len && again.local == h.local &&
		    again.srclen == h.srclen && memcmp(&again.src, &h.src, h.srclen) == 0);
		EXPECT(proxy_parse(p, h.len - 1, &again) == PROXY_MORE);
		break;
	default:
		EXPECT(!"unknown status");
	}
	/* A stream cut one byte earlier: DONE stays DONE, else no DONE yet. */
	if (size > 0) {
		shorter = proxy_parse(p, size - 1, &again);
		if (st == PROXY_MORE)
			EXPECT(shorter == PROXY_MORE);
		if (st == PROXY_INVALID)
			EXPECT(shorter != PROXY_DONE);
		if (shorter == PROXY_DONE)
			EXPECT(st == PROXY_DONE && again.len == h.len);
	}
}

/* The first line as a proxy_from list; the next 16 bytes as an address to match. */
static void
check_nets(const unsigned char *p, size_t size)
{
	struct proxy_net nets[PROXY_MAX_NETS];
	struct sockaddr_in6 sin6 = { 0 };
	struct sockaddr_in sin = { 0 };
	const char *err = NULL;
	char list[256];
	size_t n = 0;
	int count, i;

	while (n < size && n < sizeof(list) - 1 && p[n] != '\n')
		n++;
	memcpy(list, p, n);
	list[n] = '\0';
	count = proxy_nets_parse(list, nets, PROXY_MAX_NETS, &err);
	EXPECT(count == proxy_nets_parse(list, NULL, PROXY_MAX_NETS, &err));
	if (count < 0) {
		EXPECT(err != NULL);
		return;
	}
	EXPECT(count <= PROXY_MAX_NETS);
	for (i = 0; i < count; i++) {
		EXPECT(nets[i].family == AF_INET || nets[i].family == AF_INET6);
		EXPECT(nets[i].bits >= 0 && nets[i].bits <= (nets[i].family == AF_INET ? 32 : 128));
	}
	sin6.sin6_family = AF_INET6;
	sin.sin_family = AF_INET;
	if (size >= n + 1 + 16) {
		memcpy(&sin6.sin6_addr, p + n + 1, 16);
		memcpy(&sin.sin_addr, p + n + 1, 4);
	}
	/* Every net matches its own address; IPv4 matches as IPv4-mapped too. */
	for (i = 0; i < count; i++) {
		if (nets[i].family == AF_INET) {
			memcpy(&sin.sin_addr, nets[i].addr, 4);
			EXPECT(proxy_nets_match(nets, count, (struct sockaddr *)&sin));
			memset(&sin6.sin6_addr, 0, 10);
			memset(sin6.sin6_addr.s6_addr + 10, 0xff, 2);
			memcpy(sin6.sin6_addr.s6_addr + 12, nets[i].addr, 4);
		} else
			memcpy(&sin6.sin6_addr, nets[i].addr, 16);
		EXPECT(proxy_nets_match(nets, count, (struct sockaddr *)&sin6));
	}
	/* No list matches nothing. */
	EXPECT(!proxy_nets_match(nets, 0, (struct sockaddr *)&sin));
}

FUZZ_TARGET(proxy)
{
	unsigned char *buf = malloc(size ? size : 1);

	/* An exact-size copy, so reading past the end is caught. */
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	check_header(buf, size);
	check_nets(buf, size);
	free(buf);
	return 0;
}
