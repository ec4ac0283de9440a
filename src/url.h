/*
 * URLs as Gemini uses them: RFC 3986 absolute URIs, with the IRI extension of
 * raw UTF-8 in host, path and query. Pure functions over buffers; no I/O.
 */
#ifndef GAZETTE_URL_H
#define GAZETTE_URL_H

#include <stdbool.h>
#include <stddef.h>

/* The Gemini specification caps a request URL at 1024 bytes. */
#define URL_MAX 1024

enum url_host_kind {
	URL_HOST_NAME,		/* a registered name, lowercased, IDNs in A-label form */
	URL_HOST_IPV4,
	URL_HOST_IPV6,		/* without the brackets */
};

struct url {
	char scheme[32];	/* lowercased */
	bool has_authority;
	char host[256];
	enum url_host_kind host_kind;
	int port;		/* -1 when the URL names none */
	/*
	 * Percent-decoded, dot segments resolved, empty segments dropped; always
	 * starts with '/'; ends with '/' when the URL named a folder. Room for one
	 * more byte, so a redirect can append the slash in place.
	 */
	char path[URL_MAX + 2];
	bool has_query;
	char query[URL_MAX + 1];	/* as sent: still percent-encoded */
};

/*
 * Parses s[0..len) as an absolute URL. Returns NULL on success, else a short
 * reason fit for a 59 response and the log. Rejected: relative references,
 * userinfo, fragments, bad percent-escapes, characters RFC 3986 forbids,
 * invalid UTF-8, an encoded NUL, '/' or control character in the path, and
 * ".." segments that would climb above the root.
 */
const char *url_parse(const char *s, size_t len, struct url *u);

/*
 * Decodes percent-escapes (and '+' as space when plus_is_space) of s into out,
 * NUL-terminated. Returns the decoded length, or -1 on a bad escape, an encoded
 * NUL, or when out is too small.
 */
long url_decode(const char *s, size_t len, char *out, size_t size, bool plus_is_space);

/*
 * Percent-encodes a path for a link or a redirect: keeps '/' and the characters
 * RFC 3986 allows in a segment, escapes everything else (spaces, UTF-8 bytes).
 * Returns the length, or -1 when out is too small.
 */
long url_encode_path(const char *path, size_t len, char *out, size_t size);

/*
 * The one path normaliser, for Gemini paths and Gopher selectors alike:
 * resolves s[0..len) (already decoded; a leading '/' optional) into out: one
 * '/' between segments, empty and "." segments dropped, ".." applied, a
 * trailing '/' when the path names a folder (it ended with '/', ".", ".." or
 * named none). Returns the length, or -1 when ".." would climb above the
 * root, s holds a NUL, or out is too small.
 */
long url_path_resolve(const char *s, size_t len, char *out, size_t size);

/* The value of a hex digit (either case), or -1. */
int url_hex_digit(int c);

/* A port number of 1 to 5 digits, 0 to 65535; -1 when s[0..n) is none. */
long url_port(const char *s, size_t n);

/* The same for a query component: also escapes '&', '+', '=' and '/'. */
long url_encode_query(const char *s, size_t len, char *out, size_t size);

#endif
