/*
 * URL parsing for Gemini requests.
 *
 * The parser walks the bytes once, left to right: scheme, authority, path,
 * query. It never allocates (but for libidn2's A-label conversion) and never
 * writes past the fixed buffers of struct url, whose sizes follow from
 * URL_MAX: a decoded component is never longer than its encoded form.
 */
#include "url.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <string.h>

#include "utf8.h"

int
url_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* RFC 3986 unreserved and sub-delims: what a segment or reg-name holds raw. */
static bool
is_pchar_plain(int c)
{
	return is_alpha(c) || is_digit(c) || (c != 0 && strchr("-._~!$&'()*+,;=", c));
}

/* Bytes no URL may hold raw: controls, space and the RFC 3986 excluded set. */
static bool
is_forbidden(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || (c < 0x80 && strchr("\"<>\\^`{|}", c));
}

long
url_decode(const char *s, size_t len, char *out, size_t size, bool plus_is_space)
{
	size_t i, o = 0;
	int hi, lo;

	if (size == 0)
		return -1;	/* not even room for the NUL */
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (o + 1 >= size)
			return -1;
		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			hi = url_hex_digit((unsigned char)s[i + 1]);
			lo = url_hex_digit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space)
			out[o++] = ' ';
		else
			out[o++] = c;
	}
	out[o] = '\0';
	return (long)o;
}

static long
encode(const char *s, size_t len, char *out, size_t size, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_alpha(c) || is_digit(c) || (c != 0 && c < 0x80 && strchr(keep, c))) {
			if (o + 1 >= size)
				return -1;
			out[o++] = c;
		} else {
			if (o + 3 >= size)
				return -1;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (o >= size)
		return -1;
	out[o] = '\0';
	return (long)o;
}

long
url_encode_path(const char *path, size_t len, char *out, size_t size)
{
	return encode(path, len, out, size, "-._~!$&'()*+,;=:@/");
}

long
url_encode_query(const char *s, size_t len, char *out, size_t size)
{
	return encode(s, len, out, size, "-._~!$'()*,;:@");
}

/* Checks that every '%' in s[0..len) starts a well-formed escape. */
static bool
escapes_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == '%') {
			if (i + 2 >= len || url_hex_digit((unsigned char)s[i + 1]) < 0 ||
			    url_hex_digit((unsigned char)s[i + 2]) < 0)
				return false;
			i += 2;
		}
	return true;
}

/*
 * What a registered name may hold once decoded and in A-label form: letters,
 * digits, '-', '_' and dots between non-empty labels. Checked after libidn2
 * too, whose UTS #46 mapping turns some code points into ASCII (U+00A0 into a
 * space, U+FF1C into '<').
 */
static bool
host_name_ok(const char *h)
{
	const char *p;

	if (h[0] == '\0' || h[0] == '.')
		return false;
	for (p = h; *p; p++) {
		if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
			return false;
		if (*p != '.' && *p != '-' && *p != '_' && !is_alpha(*p) && !is_digit(*p))
			return false;
	}
	return true;
}

static const char *
parse_host(const char *s, size_t len, struct url *u)
{
	char tmp[sizeof(u->host)];
	char *ascii = NULL;
	long n;
	size_t i;
	bool non_ascii = false;

	if (len == 0)
		return "missing host";
	if (s[0] == '[') {
		struct in6_addr a6;
		if (len < 3 || s[len - 1] != ']')
			return "bad IPv6 literal";
		if (len - 2 >= sizeof(tmp))
			return "host too long";
		memcpy(tmp, s + 1, len - 2);
		tmp[len - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, &a6) != 1)
			return "bad IPv6 literal";
		for (i = 0; tmp[i]; i++)
			tmp[i] = lower(tmp[i]);
		memcpy(u->host, tmp, len - 1);
		u->host_kind = URL_HOST_IPV6;
		return NULL;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80)
			non_ascii = true;
		else if (c != '%' && !is_pchar_plain(c))
			return "bad character in host";
	}
	if ((n = url_decode(s, len, tmp, sizeof(tmp), false)) < 0)
		return "bad host";
	for (i = 0; i < (size_t)n; i++) {
		unsigned char c = (unsigned char)tmp[i];
		if (c >= 0x80)
			non_ascii = true;
		else if (c != '.' && c != '-' && c != '_' && !is_alpha(c) && !is_digit(c))
			return "bad character in host";
		tmp[i] = lower(c);
	}
	/* "example.org." names the same host as "example.org". */
	if (n > 1 && tmp[n - 1] == '.')
		tmp[--n] = '\0';
	if (non_ascii) {
		if (!utf8_valid(tmp, n))
			return "host is not UTF-8";
		if (idn2_to_ascii_8z(tmp, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) !=
		    IDN2_OK)
			return "bad international host name";
		n = (long)strlen(ascii);
		if ((size_t)n >= sizeof(u->host)) {
			idn2_free(ascii);
			return "host too long";
		}
		memcpy(u->host, ascii, n + 1);
		idn2_free(ascii);
	} else
		memcpy(u->host, tmp, n + 1);
	if (!host_name_ok(u->host))
		return "bad host";
	u->host_kind = URL_HOST_NAME;
	{
		struct in_addr a4;
		if (inet_pton(AF_INET, u->host, &a4) == 1)
			u->host_kind = URL_HOST_IPV4;
	}
	return NULL;
}

long
url_port(const char *s, size_t n)
{
	long port = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		port = port * 10 + (s[i] - '0');
	}
	return port <= 65535 ? port : -1;
}

static const char *
parse_port(const char *s, size_t len, struct url *u)
{
	long port;

	if (len == 0)
		return NULL;	/* "host:" means the default port */
	if ((port = url_port(s, len)) < 0)
		return "bad port";
	u->port = (int)port;
	return NULL;
}

static const char *
parse_authority(const char *s, size_t len, struct url *u)
{
	size_t hostlen = len;
	const char *colon;

	if (memchr(s, '@', len) != NULL)
		return "userinfo not allowed";
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (close == NULL)
			return "bad IPv6 literal";
		hostlen = close - s + 1;
		if (hostlen < len && s[hostlen] != ':')
			return "bad IPv6 literal";
	} else if ((colon = memchr(s, ':', len)) != NULL)
		hostlen = colon - s;
	u->port = -1;
	if (hostlen < len) {
		const char *err = parse_port(s + hostlen + 1, len - hostlen - 1, u);
		if (err != NULL)
			return err;
	}
	return parse_host(s, hostlen, u);
}

long
url_path_resolve(const char *s, size_t len, char *out, size_t size)
{
	size_t i = 0, end, n, o = 0;
	bool dir = true;	/* names a folder: ends with '/' */

	if (size < 2 || memchr(s, '\0', len) != NULL)
		return -1;
	while (i < len) {
		for (end = i; end < len && s[end] != '/'; end++)
			;
		n = end - i;
		if (n == 0 || (n == 1 && s[i] == '.'))
			dir = true;
		else if (n == 2 && s[i] == '.' && s[i + 1] == '.') {
			if (o == 0)
				return -1;
			while (out[--o] != '/')
				;
			dir = true;
		} else {
			/* Room for this segment, a final '/' and the NUL. */
			if (o + 1 + n + 2 > size)
				return -1;
			out[o++] = '/';
			memcpy(out + o, s + i, n);
			o += n;
			dir = end < len;
		}
		i = end + 1;
	}
	if (o == 0 || dir)
		out[o++] = '/';
	out[o] = '\0';
	return (long)o;
}

/*
 * Decodes the path segment by segment, then resolves dot segments (RFC 3986
 * 5.2.4) on the decoded names, so "%2e%2e" is "..": it climbs like one and,
 * like one, may not climb above the root. An encoded '/' is refused: it
 * would make two segments of one.
 */
static const char *
parse_path(const char *s, size_t len, struct url *u)
{
	char decoded[URL_MAX + 2];
	size_t o = 0, start = 0, end, i;
	long n;

	if (len > 0 && s[0] != '/')
		return "path must be absolute";
	while (start < len) {
		start++;	/* skip the '/' */
		end = start;
		while (end < len && s[end] != '/')
			end++;
		decoded[o++] = '/';
		if ((n = url_decode(s + start, end - start, decoded + o, sizeof(decoded) - o,
		    false)) < 0)
			return "bad percent-escape in path";
		for (i = o; i < o + (size_t)n; i++) {
			unsigned char c = (unsigned char)decoded[i];
			if (c == '/')
				return "encoded slash in path";
			if (c < 0x20 || c == 0x7f)
				return "control character in path";
		}
		if (!utf8_valid(decoded + o, (size_t)n))
			return "path is not UTF-8";
		o += (size_t)n;
		start = end;
	}
	if (url_path_resolve(decoded, o, u->path, sizeof(u->path)) < 0)
		return "path climbs above the root";
	return NULL;
}

const char *
url_parse(const char *s, size_t len, struct url *u)
{
	size_t i, p, auth_end, path_end;

	memset(u, 0, sizeof(*u));
	u->port = -1;
	if (len > URL_MAX)
		return "URL too long";
	if (memchr(s, '\0', len) != NULL)
		return "NUL in URL";
	for (i = 0; i < len; i++) {
		if (s[i] == '#')
			return "fragment not allowed";
		if (is_forbidden((unsigned char)s[i]))
			return "bad character in URL";
	}
	if (!utf8_valid(s, len))
		return "URL is not UTF-8";
	if (!escapes_ok(s, len))
		return "bad percent-escape";

	/* scheme ":" */
	if (len == 0 || !is_alpha((unsigned char)s[0]))
		return "not an absolute URL";
	for (p = 1; p < len && (is_alpha((unsigned char)s[p]) ||
	    is_digit((unsigned char)s[p]) || strchr("+-.", s[p]) != NULL); p++)
		;
	if (p >= len || s[p] != ':')
		return "not an absolute URL";
	if (p >= sizeof(u->scheme))
		return "scheme too long";
	for (i = 0; i < p; i++)
		u->scheme[i] = lower((unsigned char)s[i]);
	p++;

	/* "//" authority */
	if (len - p >= 2 && s[p] == '/' && s[p + 1] == '/') {
		const char *err;
		p += 2;
		for (auth_end = p; auth_end < len && s[auth_end] != '/' &&
		    s[auth_end] != '?'; auth_end++)
			;
		if ((err = parse_authority(s + p, auth_end - p, u)) != NULL)
			return err;
		u->has_authority = true;
		p = auth_end;
	}

	for (path_end = p; path_end < len && s[path_end] != '?'; path_end++)
		;
	if (u->has_authority) {
		const char *err = parse_path(s + p, path_end - p, u);
		if (err != NULL)
			return err;
	} else {
		/* Opaque (mailto:, urn:): kept as sent; only the scheme matters to us. */
		memcpy(u->path, s + p, path_end - p);
		u->path[path_end - p] = '\0';
	}
	if (path_end < len) {
		u->has_query = true;
		memcpy(u->query, s + path_end + 1, len - path_end - 1);
		u->query[len - path_end - 1] = '\0';
	}
	return NULL;
}
