/*
 * The PROXY protocol (HAProxy's specification, versions 1 and 2): the header a
 * TCP load balancer sends before anything else on a connection, naming the
 * client it relays. A pure parser, bytes in and a result out, plus the list of
 * peers trusted to send it (proxy_from).
 */
#ifndef GAZETTE_PROXY_H
#define GAZETTE_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * The longest header accepted. Version 1 lines stop at 107 bytes; a version 2
 * header may in theory reach 16 + 65535 bytes of TLVs, but the TLVs a load
 * balancer adds (ALPN, SNI, a unique id, TLS details) stay far below this.
 */
#define PROXY_MAX_LEN 1024
#define PROXY_V1_MAX_LEN 107

enum proxy_status {
	PROXY_MORE,	/* a valid beginning: wait for more bytes */
	PROXY_INVALID,	/* not a PROXY header, or a malformed one: drop the connection */
	PROXY_DONE,	/* a whole header */
};

struct proxy_header {
	size_t len;			/* the header's length, to take off the stream */
	int version;			/* 1 or 2 */
	/*
	 * The connection keeps its own addresses: version 2 LOCAL (a health
	 * check), version 1 UNKNOWN, or a family other than TCP over IPv4/IPv6.
	 */
	bool local;
	/* Version 2 LOCAL: the balancer's own connection, such as a health check. */
	bool check;
	struct sockaddr_storage src;	/* else: the client, with its port */
	socklen_t srclen;
	const char *error;		/* PROXY_INVALID: why, as one word for the log */
};

/*
 * Parses the header at the start of buf. PROXY_MORE promises that all len
 * bytes belong to the header (so a caller may take them off the socket) and
 * that len < PROXY_MAX_LEN; PROXY_DONE that h->len <= len (the bytes after it
 * belong to the protocol underneath). Anything that does not match the
 * specification exactly, as early as it can be told, is PROXY_INVALID.
 */
enum proxy_status proxy_parse(const void *buf, size_t len, struct proxy_header *h);

/* A network allowed to send PROXY headers: an address and a prefix length. */
#define PROXY_MAX_NETS 32
struct proxy_net {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* 4 bytes used for AF_INET */
	int bits;
};

/*
 * Parses "127.0.0.1 ::1 10.0.0.0/8 fd00::/8" (separated by spaces, tabs or
 * commas) into at most max nets. Returns how many, or -1 with *error set.
 * nets may be NULL to check a list only.
 */
int proxy_nets_parse(const char *list, struct proxy_net *nets, int max,
    const char **error);

/* Whether sa (IPv4, IPv6, or IPv4-mapped IPv6) lies in one of the n nets. */
bool proxy_nets_match(const struct proxy_net *nets, int n, const struct sockaddr *sa);

#endif
