/*
 * url_parse, url_decode and the encoders, table-driven. Each row of the big
 * table is one URL with everything the parser should make of it; every row
 * runs from an exact-size heap copy, so AddressSanitizer sees any read past
 * the length the parser was given.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "test.h"
#include "url.h"
#include "utf8.h"

struct url_case {
	const char *in;
	const char *err;	/* NULL: parses; else a substring of the reason ("" any) */
	const char *scheme;
	const char *host;	/* NULL: no authority */
	enum url_host_kind kind;
	int port;
	const char *path;
	const char *query;	/* NULL: no query */
};

#define H "gemini://h"
#define ROW(in, scheme, host, kind, port, path, query)                        \
	{ in, NULL, scheme, host, kind, port, path, query }
/* A gemini:// URL with a registered name. */
#define OK(in, host, port, path) ROW(in, "gemini", host, URL_HOST_NAME, port, path, NULL)
#define OKQ(in, host, port, path, q) ROW(in, "gemini", host, URL_HOST_NAME, port, path, q)
#define V4(in, host, port, path) ROW(in, "gemini", host, URL_HOST_IPV4, port, path, NULL)
#define V6(in, host, port, path) ROW(in, "gemini", host, URL_HOST_IPV6, port, path, NULL)
/* Another scheme with an authority; an opaque URL (mailto:) without one. */
#define SCH(in, scheme, host, port, path) ROW(in, scheme, host, URL_HOST_NAME, port, path, NULL)
#define OPAQUE(in, scheme, path) ROW(in, scheme, NULL, URL_HOST_NAME, -1, path, NULL)
#define BAD(in) { in, "", NULL, NULL, URL_HOST_NAME, -1, NULL, NULL }
#define BADW(in, why) { in, why, NULL, NULL, URL_HOST_NAME, -1, NULL, NULL }

static const struct url_case url_cases[] = {
	/* The plain cases. */
	OK("gemini://example.org/", "example.org", -1, "/"),
	OK("gemini://example.org", "example.org", -1, "/"),
	OK("gemini://example.org/index.gmi", "example.org", -1, "/index.gmi"),
	OK("gemini://example.org/posts/2020-01-08-kim-jong-un-turns-36-today.gmi",
	    "example.org", -1, "/posts/2020-01-08-kim-jong-un-turns-36-today.gmi"),
	OK("gemini://example.org/archive/2020/01/", "example.org", -1, "/archive/2020/01/"),
	OK("gemini://localhost/", "localhost", -1, "/"),
	OK("gemini://localhost:1965/", "localhost", 1965, "/"),
	OK("gemini://h/a", "h", -1, "/a"),
	OK("gemini://h/a/", "h", -1, "/a/"),
	OK("gemini://h/a/b/c", "h", -1, "/a/b/c"),
	OK("gemini://h/a/b/c/", "h", -1, "/a/b/c/"),
	OK("gemini://1.example/", "1.example", -1, "/"),
	OK("gemini://a-b.example/", "a-b.example", -1, "/"),
	OK("gemini://123/", "123", -1, "/"),

	/* Scheme: case-insensitive, RFC 3986 characters, at most 31 of them. */
	OK("GEMINI://example.org/", "example.org", -1, "/"),
	OK("Gemini://example.org/", "example.org", -1, "/"),
	OK("gEmInI://example.org/", "example.org", -1, "/"),
	SCH("https://example.org/", "https", "example.org", -1, "/"),
	SCH("HTTPS://example.org/a", "https", "example.org", -1, "/a"),
	SCH("http://example.org:8080/x", "http", "example.org", 8080, "/x"),
	SCH("gopher://example.org:70/1/", "gopher", "example.org", 70, "/1/"),
	SCH("titan://example.org/x;size=1", "titan", "example.org", -1, "/x;size=1"),
	SCH("spartan://example.org/", "spartan", "example.org", -1, "/"),
	SCH("ftp://example.org", "ftp", "example.org", -1, "/"),
	SCH("a+b-c.d://h/", "a+b-c.d", "h", -1, "/"),
	SCH("x1://h/", "x1", "h", -1, "/"),
	SCH("geminI2://h/", "gemini2", "h", -1, "/"),
	SCH("abcdefghijklmnopqrstuvwxyz01234://h/", "abcdefghijklmnopqrstuvwxyz01234", "h",
	    -1, "/"),
	BADW("abcdefghijklmnopqrstuvwxyz012345://h/", "scheme"),
	BAD("1gemini://h/"),
	BAD("+gemini://h/"),
	BAD(".gemini://h/"),
	BAD("-gemini://h/"),
	BAD("://h/"),
	BAD(":"),
	BAD(":/"),
	BAD("gem ini://h/"),
	BAD("gem_ini://h/"),
	BAD("gem%69ni://h/"),
	BAD("gémini://h/"),
	BAD("gemini//h/"),
	BAD("gemini/://h/"),
	BAD("gemini"),
	BAD("GEMINI"),

	/* Opaque URLs parse with their scheme, so the caller can answer 53. */
	OPAQUE("mailto:someone@example.org", "mailto", "someone@example.org"),
	OPAQUE("mailto:x", "mailto", "x"),
	OPAQUE("MAILTO:x", "mailto", "x"),
	OPAQUE("urn:isbn:0451450523", "urn", "isbn:0451450523"),
	OPAQUE("data:,hello", "data", ",hello"),
	OPAQUE("tel:+1-816-555-1212", "tel", "+1-816-555-1212"),
	OPAQUE("gemini:", "gemini", ""),
	OPAQUE("GEMINI:", "gemini", ""),
	OPAQUE("gemini:/", "gemini", "/"),
	OPAQUE("gemini:/path", "gemini", "/path"),
	OPAQUE("gemini:path", "gemini", "path"),
	OPAQUE("gemini:example.org/", "gemini", "example.org/"),
	OPAQUE("gemini:/example.org/", "gemini", "/example.org/"),
	/* "host:port/" reads as a scheme and an opaque path, as RFC 3986 says. */
	OPAQUE("localhost:1965/", "localhost", "1965/"),
	OPAQUE("example.org:1965", "example.org", "1965"),
	ROW("mailto:x?subject=hi", "mailto", NULL, URL_HOST_NAME, -1, "x", "subject=hi"),
	ROW("gemini:?q", "gemini", NULL, URL_HOST_NAME, -1, "", "q"),

	/* Relative references (59). */
	BADW("", "absolute"),
	BADW("/", "absolute"),
	BADW("/path", "absolute"),
	BADW("/index.gmi", "absolute"),
	BADW("//example.org/", "absolute"),
	BADW("//example.org", "absolute"),
	BADW("//example.org:1965/a", "absolute"),
	BADW("path", "absolute"),
	BADW("example.org/", "absolute"),
	BADW("example.org", "absolute"),
	BADW("./x", "absolute"),
	BADW("../x", "absolute"),
	BADW(".", "absolute"),
	BADW("..", "absolute"),
	BADW("?q", "absolute"),
	BADW("?", "absolute"),
	BADW("a/b:c", "absolute"),

	/* Userinfo (59). */
	BADW("gemini://user@example.org/", "userinfo"),
	BADW("gemini://user:pass@example.org/", "userinfo"),
	BADW("gemini://@example.org/", "userinfo"),
	BADW("gemini://a@b@example.org/", "userinfo"),
	BADW("gemini://example.org@evil.example/", "userinfo"),
	BADW("gemini://example.org:1965@evil.example/", "userinfo"),
	BADW("gemini://user@[::1]/", "userinfo"),
	BADW("gemini://@/", "userinfo"),
	BAD("gemini://user%40example.org/"),
	OK(H "/@x", "h", -1, "/@x"),
	OK(H "/user@example.org", "h", -1, "/user@example.org"),
	OKQ(H "/?a@b", "h", -1, "/", "a@b"),

	/* Fragments, anywhere (59); an encoded '#' is just a character. */
	BADW("gemini://h/#", "fragment"),
	BADW("gemini://h/#x", "fragment"),
	BADW("gemini://h#x", "fragment"),
	BADW("gemini://h#", "fragment"),
	BADW("gemini://h/a?q#f", "fragment"),
	BADW("gemini://h/a#f?q", "fragment"),
	BADW("gemini://h:1965#/", "fragment"),
	BADW("#", "fragment"),
	BADW("gemini://#h/", "fragment"),
	BADW("gemini#://h/", "fragment"),
	OK(H "/%23", "h", -1, "/#"),
	OK(H "/a%23b", "h", -1, "/a#b"),
	OKQ(H "/?%23", "h", -1, "/", "%23"),

	/* Percent-escapes in the path: decoded; malformed ones are 59. */
	OK(H "/%41", "h", -1, "/A"),
	OK(H "/%61%62%63", "h", -1, "/abc"),
	OK(H "/%7e", "h", -1, "/~"),
	OK(H "/%7E", "h", -1, "/~"),
	OK(H "/%20", "h", -1, "/ "),
	OK(H "/a%20b", "h", -1, "/a b"),
	OK(H "/a%20b/", "h", -1, "/a b/"),
	OK(H "/%2B", "h", -1, "/+"),
	OK(H "/+", "h", -1, "/+"),
	OK(H "/a+b", "h", -1, "/a+b"),
	OK(H "/%25", "h", -1, "/%"),
	OK(H "/%2525", "h", -1, "/%25"),
	OK(H "/%252e%252e", "h", -1, "/%2e%2e"),
	OK(H "/%3F", "h", -1, "/?"),
	OK(H "/%3f/x", "h", -1, "/?/x"),
	OK(H "/%5C", "h", -1, "/\\"),
	OK(H "/%3C%3E", "h", -1, "/<>"),
	OK(H "/%22", "h", -1, "/\""),
	OK(H "/%C3%A9", "h", -1, "/é"),
	OK(H "/%c3%a9", "h", -1, "/é"),
	OK(H "/%c3%A9t%C3%A9", "h", -1, "/été"),
	OK(H "/%F0%9F%98%80", "h", -1, "/😀"),
	OK(H "/%E6%97%A5%E6%9C%AC", "h", -1, "/日本"),
	BADW(H "/%", "escape"),
	BADW(H "/%4", "escape"),
	BADW(H "/a%", "escape"),
	BADW(H "/a%4", "escape"),
	BADW(H "/%zz", "escape"),
	BADW(H "/%4g", "escape"),
	BADW(H "/%g4", "escape"),
	BADW(H "/%x41", "escape"),
	BADW(H "/%%", "escape"),
	BADW(H "/%%41", "escape"),
	BADW(H "/% 41", ""),
	BADW(H "/%-1", "escape"),
	BADW(H "/%+1", "escape"),
	BADW(H "/%4/", "escape"),
	BAD(H "/%00"),
	BAD(H "/a%00b"),
	BAD(H "/a%00"),
	BAD(H "/%00/"),
	BAD(H "/a%00.gmi"),
	BAD(H "/%0A"),
	BAD(H "/%0a"),
	BAD(H "/%0D"),
	BAD(H "/%0d%0a"),
	BAD(H "/%09"),
	BAD(H "/%01"),
	BAD(H "/%1F"),
	BAD(H "/%1b[31m"),
	BAD(H "/%7F"),
	BAD(H "/%7f"),
	/* Decoded bytes must be UTF-8, like raw ones. */
	BADW(H "/%C3", "UTF-8"),
	BADW(H "/%C3/", "UTF-8"),
	BADW(H "/%FF", "UTF-8"),
	BADW(H "/%80", "UTF-8"),
	BADW(H "/%C0%AF", "UTF-8"),
	BADW(H "/%C0%AE%C0%AE", "UTF-8"),
	BADW(H "/%E0%80%AF", "UTF-8"),
	BADW(H "/%ED%A0%80", "UTF-8"),
	BADW(H "/%F4%90%80%80", "UTF-8"),
	BADW(H "/%F8%88%80%80%80", "UTF-8"),
	BADW(H "/%E2%82", "UTF-8"),
	BADW(H "/%C3%28", "UTF-8"),

	/* An encoded slash never splits or joins segments. */
	BADW(H "/a%2Fb", "slash"),
	BADW(H "/a%2fb", "slash"),
	BADW(H "/%2F", "slash"),
	BADW(H "/%2f", "slash"),
	BADW(H "/%2f%2f", "slash"),
	BADW(H "/%2F..%2F", "slash"),
	BADW(H "/..%2F", "slash"),
	BADW(H "/..%2fetc%2fpasswd", "slash"),
	BADW(H "/%2e%2e%2f", "slash"),
	BADW(H "/%2e%2e%2Fetc", "slash"),
	BADW(H "/a/%2F/b", "slash"),
	OKQ(H "/?a%2Fb", "h", -1, "/", "a%2Fb"),

	/* Dot segments: resolved inside the path, 59 when they climb above it. */
	OK(H "/.", "h", -1, "/"),
	OK(H "/./", "h", -1, "/"),
	OK(H "/./.", "h", -1, "/"),
	OK(H "/./a", "h", -1, "/a"),
	OK(H "/a/.", "h", -1, "/a/"),
	OK(H "/a/./", "h", -1, "/a/"),
	OK(H "/a/./b", "h", -1, "/a/b"),
	OK(H "/a/./././.", "h", -1, "/a/"),
	OK(H "/a/..", "h", -1, "/"),
	OK(H "/a/../", "h", -1, "/"),
	OK(H "/a/../b", "h", -1, "/b"),
	OK(H "/a/../b/", "h", -1, "/b/"),
	OK(H "/a/b/..", "h", -1, "/a/"),
	OK(H "/a/b/../", "h", -1, "/a/"),
	OK(H "/a/b/../c", "h", -1, "/a/c"),
	OK(H "/a/b/../..", "h", -1, "/"),
	OK(H "/a/b/../../", "h", -1, "/"),
	OK(H "/a/b/../../c", "h", -1, "/c"),
	OK(H "/a/b/c/../../..", "h", -1, "/"),
	OK(H "/a/./../b", "h", -1, "/b"),
	OK(H "/a/b/./../c", "h", -1, "/a/c"),
	OK(H "/a/b/c/./../../g", "h", -1, "/a/g"),
	OK(H "/abc/def/../ghi", "h", -1, "/abc/ghi"),
	OK(H "/a//..", "h", -1, "/"),
	OK(H "/a/.b/..", "h", -1, "/a/"),
	OK(H "/a/../a/../a", "h", -1, "/a"),
	BADW(H "/..", "climb"),
	BADW(H "/../", "climb"),
	BADW(H "/../a", "climb"),
	BADW(H "/../../etc/passwd", "climb"),
	BADW(H "/./..", "climb"),
	BADW(H "//..", "climb"),
	BADW(H "/a/../..", "climb"),
	BADW(H "/a/../../", "climb"),
	BADW(H "/a/../../b", "climb"),
	BADW(H "/a/b/../../..", "climb"),
	BADW(H "/a/b/c/../../../..", "climb"),
	BADW(H "/a/./../..", "climb"),
	BADW(H "/a/../a/../..", "climb"),
	BADW("gemini://h:1965/../", "climb"),
	BADW(H "/..?q", "climb"),
	/* Encoded dots are dots, in any case, whole or in part. */
	OK(H "/%2e", "h", -1, "/"),
	OK(H "/%2E", "h", -1, "/"),
	OK(H "/%2e/", "h", -1, "/"),
	OK(H "/%2e/%2e/a", "h", -1, "/a"),
	OK(H "/a/%2e%2e", "h", -1, "/"),
	OK(H "/a/%2E%2E", "h", -1, "/"),
	OK(H "/a/%2E%2e/b", "h", -1, "/b"),
	OK(H "/a/.%2E/", "h", -1, "/"),
	OK(H "/a/%2e./", "h", -1, "/"),
	OK(H "/a/b/%2e%2e/%2E%2E/c", "h", -1, "/c"),
	BADW(H "/%2e%2e", "climb"),
	BADW(H "/%2E%2E", "climb"),
	BADW(H "/%2e%2E/", "climb"),
	BADW(H "/.%2e", "climb"),
	BADW(H "/%2e.", "climb"),
	BADW(H "/.%2E/etc/passwd", "climb"),
	BADW(H "/%2e/%2e%2e", "climb"),
	BADW(H "/a/%2e%2e/%2e%2e", "climb"),
	/* Names that only look like dot segments are names. */
	OK(H "/...", "h", -1, "/..."),
	OK(H "/.../", "h", -1, "/.../"),
	OK(H "/a/...", "h", -1, "/a/..."),
	OK(H "/.../..", "h", -1, "/"),
	OK(H "/..a", "h", -1, "/..a"),
	OK(H "/a..", "h", -1, "/a.."),
	OK(H "/.a", "h", -1, "/.a"),
	OK(H "/.hidden/x", "h", -1, "/.hidden/x"),
	OK(H "/%2e%2e%2e", "h", -1, "/..."),
	OK(H "/%2e%2e%20", "h", -1, "/.. "),
	OK(H "/.%20", "h", -1, "/. "),
	OK(H "/..%C3%A9", "h", -1, "/..é"),
	OK(H "/%2E%2Ea", "h", -1, "/..a"),
	OKQ(H "/?../..", "h", -1, "/", "../.."),
	OKQ(H "/a/..?q", "h", -1, "/", "q"),

	/* Empty segments collapse; the trailing slash survives. */
	OK(H "//", "h", -1, "/"),
	OK(H "///", "h", -1, "/"),
	OK(H "//a", "h", -1, "/a"),
	OK(H "/a//b", "h", -1, "/a/b"),
	OK(H "/a///b//", "h", -1, "/a/b/"),
	OK(H "/a//", "h", -1, "/a/"),
	OK(H "//a//b//", "h", -1, "/a/b/"),
	OK(H "/a/b//c.gmi", "h", -1, "/a/b/c.gmi"),

	/* An empty path is "/", the home page, with or without a query. */
	OK(H, "h", -1, "/"),
	OK(H "/", "h", -1, "/"),
	OK("gemini://h:1965", "h", 1965, "/"),
	OKQ(H "?q", "h", -1, "/", "q"),
	OKQ(H "?", "h", -1, "/", ""),
	OKQ("gemini://h:1965?x", "h", 1965, "/", "x"),

	/* The query is kept as sent: not decoded, not resolved. */
	OKQ(H "/?", "h", -1, "/", ""),
	OKQ(H "/search?", "h", -1, "/search", ""),
	OKQ(H "/search?q", "h", -1, "/search", "q"),
	OKQ(H "/search?a=b&c=d", "h", -1, "/search", "a=b&c=d"),
	OKQ(H "/search?hello%20world", "h", -1, "/search", "hello%20world"),
	OKQ(H "/search?hello+world", "h", -1, "/search", "hello+world"),
	OKQ(H "/search?%C3%A9t%C3%A9", "h", -1, "/search", "%C3%A9t%C3%A9"),
	OKQ(H "/search?été", "h", -1, "/search", "été"),
	OKQ(H "/search?日本", "h", -1, "/search", "日本"),
	OKQ(H "/??", "h", -1, "/", "?"),
	OKQ(H "/?a?b", "h", -1, "/", "a?b"),
	OKQ(H "/?a/b", "h", -1, "/", "a/b"),
	OKQ(H "/?/a/../..", "h", -1, "/", "/a/../.."),
	OKQ(H "/?%2e%2e", "h", -1, "/", "%2e%2e"),
	OKQ(H "/?%00", "h", -1, "/", "%00"),
	OKQ(H "/?a=1;b=2", "h", -1, "/", "a=1;b=2"),
	OKQ(H "/?a:b@c", "h", -1, "/", "a:b@c"),
	OKQ(H "/?%7E", "h", -1, "/", "%7E"),
	OKQ(H "/a%20b?c%20d", "h", -1, "/a b", "c%20d"),
	OKQ(H "/a/?x", "h", -1, "/a/", "x"),
	OKQ("gemini://h:70/x?y", "h", 70, "/x", "y"),
	BADW(H "/?a b", "character"),
	BADW(H "/?a\"b", "character"),
	BADW(H "/?<script>", "character"),
	BADW(H "/?a{b}", "character"),
	BADW(H "/?a|b", "character"),
	BADW(H "/?%", "escape"),
	BADW(H "/?a%2", "escape"),
	BADW(H "/?%zz", "escape"),
	BADW(H "/?%g0", "escape"),
	BADW(H "/?\xff", "UTF-8"),
	BADW(H "/?\xc3", "UTF-8"),
	BADW(H "/?\xed\xa0\x80", "UTF-8"),
	BAD(H "/?a\tb"),
	BAD(H "/?a\rb"),
	BAD(H "/?a\nb"),

	/* Ports. */
	OK("gemini://h/", "h", -1, "/"),
	OK("gemini://h:/", "h", -1, "/"),
	OK("gemini://h:", "h", -1, "/"),
	OK("gemini://h:0/", "h", 0, "/"),
	OK("gemini://h:1/", "h", 1, "/"),
	OK("gemini://h:70/", "h", 70, "/"),
	OK("gemini://h:1965/", "h", 1965, "/"),
	OK("gemini://h:1965", "h", 1965, "/"),
	OK("gemini://h:65535/", "h", 65535, "/"),
	OK("gemini://h:01965/", "h", 1965, "/"),
	OK("gemini://h:00001/", "h", 1, "/"),
	OK("gemini://h:00000/", "h", 0, "/"),
	OK("gemini://h:0070/a", "h", 70, "/a"),
	OKQ("gemini://h:1965?q", "h", 1965, "/", "q"),
	OKQ("gemini://h:?q", "h", -1, "/", "q"),
	BADW("gemini://h:65536/", "port"),
	BADW("gemini://h:99999/", "port"),
	BADW("gemini://h:001965/", "port"),
	BADW("gemini://h:123456/", "port"),
	BADW("gemini://h:0000000000001965/", "port"),
	BADW("gemini://h:19a5/", "port"),
	BADW("gemini://h:-1/", "port"),
	BADW("gemini://h:+1965/", "port"),
	BADW("gemini://h:0x10/", "port"),
	BADW("gemini://h:1965:1965/", "port"),
	BADW("gemini://h::1965/", "port"),
	BADW("gemini://h:1965./", "port"),
	BADW("gemini://h:%31%39%36%35/", "port"),
	BADW("gemini://h:１/", "port"),
	BADW("gemini://h:a/", "port"),
	BAD("gemini://h: 1965/"),
	BAD("gemini://:1965/"),
	BAD("gemini://:/"),

	/* IPv4 literals. */
	V4("gemini://127.0.0.1/", "127.0.0.1", -1, "/"),
	V4("gemini://127.0.0.1", "127.0.0.1", -1, "/"),
	V4("gemini://127.0.0.1:1965/", "127.0.0.1", 1965, "/"),
	V4("gemini://0.0.0.0/", "0.0.0.0", -1, "/"),
	V4("gemini://255.255.255.255/", "255.255.255.255", -1, "/"),
	V4("gemini://192.168.1.1:1965/a/../b", "192.168.1.1", 1965, "/b"),
	V4("gemini://127.0.0.1./", "127.0.0.1", -1, "/"),
	V4("gemini://%31%32%37.0.0.1/", "127.0.0.1", -1, "/"),
	/* Forms inet_aton takes but RFC 3986 does not are names, served by none. */
	OK("gemini://256.0.0.1/", "256.0.0.1", -1, "/"),
	OK("gemini://127.1/", "127.1", -1, "/"),
	OK("gemini://127.0.0.01/", "127.0.0.01", -1, "/"),
	OK("gemini://0x7f.0.0.1/", "0x7f.0.0.1", -1, "/"),
	OK("gemini://1.2.3.4.5/", "1.2.3.4.5", -1, "/"),
	OK("gemini://2130706433/", "2130706433", -1, "/"),
	BAD("gemini://127.0.0.1../"),
	BAD("gemini://127..0.1/"),

	/* IPv6 literals: without the brackets, hex lowercased. */
	V6("gemini://[::1]/", "::1", -1, "/"),
	V6("gemini://[::1]", "::1", -1, "/"),
	V6("gemini://[::1]:1965/", "::1", 1965, "/"),
	V6("gemini://[::1]:1965", "::1", 1965, "/"),
	V6("gemini://[::1]:/", "::1", -1, "/"),
	V6("gemini://[::]/", "::", -1, "/"),
	V6("gemini://[2001:DB8::1]/", "2001:db8::1", -1, "/"),
	V6("gemini://[2001:db8:0:0:0:0:0:1]/", "2001:db8:0:0:0:0:0:1", -1, "/"),
	V6("gemini://[FE80::ABCD:EF01]/", "fe80::abcd:ef01", -1, "/"),
	V6("gemini://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1", -1, "/"),
	V6("gemini://[1:2:3:4:5:6:7:8]/", "1:2:3:4:5:6:7:8", -1, "/"),
	V6("gemini://[::1]/a/../b", "::1", -1, "/b"),
	ROW("gemini://[::1]?q", "gemini", "::1", URL_HOST_IPV6, -1, "/", "q"),
	ROW("gemini://[::1]:70?q", "gemini", "::1", URL_HOST_IPV6, 70, "/", "q"),
	ROW("GEMINI://[ABCD::]:1965/X/", "gemini", "abcd::", URL_HOST_IPV6, 1965, "/X/", NULL),
	BADW("gemini://[::1/", "IPv6"),
	BADW("gemini://[::1", "IPv6"),
	BAD("gemini://::1]/"),
	BAD("gemini://::1/"),
	BAD("gemini://[::1]]/"),
	BAD("gemini://[[::1]]/"),
	BADW("gemini://[]/", "IPv6"),
	BADW("gemini://[:]/", "IPv6"),
	BADW("gemini://[:::]/", "IPv6"),
	BADW("gemini://[::1::]/", "IPv6"),
	BADW("gemini://[::g]/", "IPv6"),
	BADW("gemini://[12345::]/", "IPv6"),
	BADW("gemini://[1:2:3:4:5:6:7:8:9]/", "IPv6"),
	BADW("gemini://[127.0.0.1]/", "IPv6"),
	BADW("gemini://[v1.fe]/", "IPv6"),
	BADW("gemini://[::1]x/", "IPv6"),
	BADW("gemini://[::1]1965/", "IPv6"),
	BADW("gemini://[::1]:x/", "port"),
	BADW("gemini://[::1]:65536/", "port"),
	BADW("gemini://[%3A%3A1]/", "IPv6"),
	BAD("gemini://[ ::1]/"),
	BAD("gemini://x[::1]/"),
	/* Zone identifiers name an interface of the client, not a host: refused. */
	BADW("gemini://[fe80::1%25eth0]/", "IPv6"),
	BAD("gemini://[fe80::1%eth0]/"),

	/* Host names: lowercased, one trailing dot dropped. */
	OK("gemini://EXAMPLE.ORG/", "example.org", -1, "/"),
	OK("gemini://Example.Org/", "example.org", -1, "/"),
	OK("gemini://example.org./", "example.org", -1, "/"),
	OK("gemini://EXAMPLE.ORG.:1965/", "example.org", 1965, "/"),
	OK("gemini://example.org.", "example.org", -1, "/"),
	OK("gemini://exa_mple.org/", "exa_mple.org", -1, "/"),
	OK("gemini://_service.example/", "_service.example", -1, "/"),
	OK("gemini://%65xample.org/", "example.org", -1, "/"),
	OK("gemini://EXAMPLE%2Eorg/", "example.org", -1, "/"),
	OK("gemini://ex%41mple.org/", "example.org", -1, "/"),
	OK("gemini://ex%61mple.org/", "example.org", -1, "/"),
	BADW("gemini:///", "host"),
	BADW("gemini://", "host"),
	BADW("gemini:///a", "host"),
	BADW("gemini://?q", "host"),
	BADW("gemini://./", "host"),
	BADW("gemini://../", "host"),
	BADW("gemini://.example.org/", "host"),
	BADW("gemini://example.org../", "host"),
	BADW("gemini://a..b/", "host"),
	BADW("gemini://%2E/", "host"),
	BADW("gemini://example%2E%2Eorg/", "host"),
	BAD("gemini://a b/"),
	BAD("gemini://a<b/"),
	BAD("gemini://a>b/"),
	BAD("gemini://a\"b/"),
	BAD("gemini://a{b/"),
	BAD("gemini://a}b/"),
	BAD("gemini://a|b/"),
	BAD("gemini://a\\b/"),
	BAD("gemini://a^b/"),
	BAD("gemini://a`b/"),
	BAD("gemini://a[b/"),
	BAD("gemini://a]b/"),
	BAD("gemini://a!b/"),
	BAD("gemini://a$b/"),
	BAD("gemini://a&b/"),
	BAD("gemini://a'b/"),
	BAD("gemini://a(b)/"),
	BAD("gemini://a*b/"),
	BAD("gemini://a+b/"),
	BAD("gemini://a,b/"),
	BAD("gemini://a;b/"),
	BAD("gemini://a=b/"),
	BAD("gemini://a~b/"),
	BAD("gemini://a\tb/"),
	BAD("gemini://a\x7f" "b/"),
	BAD("gemini://a\x01" "b/"),
	BAD("gemini://%zz/"),
	BAD("gemini://%4/"),
	BAD("gemini://exa%00mple/"),
	BAD("gemini://a%20b/"),
	BAD("gemini://a%2fb/"),
	BAD("gemini://a%2Fb/"),
	BAD("gemini://a%3Ab/"),
	BAD("gemini://a%40b/"),
	BAD("gemini://a%25b/"),
	BAD("gemini://a%3Cb/"),
	BAD("gemini://a%0Ab/"),

	/* International names: A-labels, after UTS #46 mapping and NFC. */
	OK("gemini://gémeaux.example/", "xn--gmeaux-bva.example", -1, "/"),
	OK("gemini://GÉMEAUX.EXAMPLE/", "xn--gmeaux-bva.example", -1, "/"),
	OK("gemini://Gémeaux.Example/", "xn--gmeaux-bva.example", -1, "/"),
	OK("gemini://ge\xcc\x81meaux.example/", "xn--gmeaux-bva.example", -1, "/"),
	OK("gemini://gémeaux.example./", "xn--gmeaux-bva.example", -1, "/"),
	OK("gemini://gémeaux.example:1965/a", "xn--gmeaux-bva.example", 1965, "/a"),
	OK("gemini://g%C3%A9meaux.example/", "xn--gmeaux-bva.example", -1, "/"),
	OK("gemini://g%c3%a9meaux.example/", "xn--gmeaux-bva.example", -1, "/"),
	OK("gemini://xn--gmeaux-bva.example/", "xn--gmeaux-bva.example", -1, "/"),
	OK("gemini://XN--GMEAUX-BVA.EXAMPLE/", "xn--gmeaux-bva.example", -1, "/"),
	OK("gemini://%C3%A9.example/", "xn--9ca.example", -1, "/"),
	OK("gemini://bücher.example/", "xn--bcher-kva.example", -1, "/"),
	OK("gemini://münchen.de:1965/", "xn--mnchen-3ya.de", 1965, "/"),
	OK("gemini://straße.de/", "xn--strae-oqa.de", -1, "/"),
	OK("gemini://ÖBB.at/", "xn--bb-eka.at", -1, "/"),
	OK("gemini://例え.テスト/", "xn--r8jz45g.xn--zckzah", -1, "/"),
	OK("gemini://日本語.jp/", "xn--wgv71a119e.jp", -1, "/"),
	OK("gemini://日本語.jp/日本語", "xn--wgv71a119e.jp", -1, "/日本語"),
	/* Full-width and ideographic dots separate labels too. */
	OK("gemini://ab\xe3\x80\x82" "é/", "ab.xn--9ca", -1, "/"),
	OK("gemini://a\xef\xbc\x8e" "b/", "a.b", -1, "/"),
	BADW("gemini://é-/", "international"),
	BADW("gemini://-é/", "international"),
	BADW("gemini://١٢٣.é/", "international"),
	BADW("gemini://😀.example/", "international"),
	BAD("gemini://é..com/"),
	/* UTS #46 maps these to ASCII a URL may not hold in a host. */
	BAD("gemini://a\xc2\xa0" "b/"),
	BAD("gemini://a\xef\xbc\x9c" "b/"),
	BAD("gemini://a\xef\xbc\x8f" "b/"),
	BAD("gemini://é\xef\xbc\xa0" "x/"),
	BADW("gemini://%C3.example/", "UTF-8"),
	BADW("gemini://g%C3meaux.example/", "UTF-8"),
	BADW("gemini://%FF/", "UTF-8"),
	BADW("gemini://\xff/", "UTF-8"),
	BADW("gemini://\xc3/", "UTF-8"),
	BADW("gemini://\xc0\xae/", "UTF-8"),

	/* Controls and spaces are never part of a URL. */
	BADW(H "/a b", "character"),
	BADW(H "/ ", "character"),
	BADW(" gemini://h/", "character"),
	BADW(H "/ a", "character"),
	BADW(H "/\t", "character"),
	BADW(H "/\r", "character"),
	BADW(H "/\n", "character"),
	BADW(H "/\r\n", "character"),
	BADW(H "/\x01", "character"),
	BADW(H "/\x1b", "character"),
	BADW(H "/\x7f", "character"),
	BADW("gemini://h\r\n", "character"),
	BADW("gemini\t://h/", "character"),
	BADW(H "/a\"b", "character"),
	BADW(H "/a<b", "character"),
	BADW(H "/a>b", "character"),
	BADW(H "/a\\b", "character"),
	BADW(H "/a^b", "character"),
	BADW(H "/a`b", "character"),
	BADW(H "/a{b", "character"),
	BADW(H "/a|b", "character"),
	BADW(H "/a}b", "character"),
	OK(H "/a!b$c&d'e(f)g*h+i,j;k=l:m@n~o-p.q_r", "h", -1,
	    "/a!b$c&d'e(f)g*h+i,j;k=l:m@n~o-p.q_r"),
	OK(H "/:", "h", -1, "/:"),
	OK(H "/a:b/c:d", "h", -1, "/a:b/c:d"),

	/* Raw UTF-8 (IRIs) is taken as it is; invalid UTF-8 anywhere is 59. */
	OK(H "/é", "h", -1, "/é"),
	OK(H "/été/", "h", -1, "/été/"),
	OK(H "/日本/語", "h", -1, "/日本/語"),
	OK(H "/caf%C3%A9/é", "h", -1, "/café/é"),
	OK(H "/😀", "h", -1, "/😀"),
	OK(H "/a\xc2\xa0" "b", "h", -1, "/a\xc2\xa0" "b"),
	OK(H "/\xef\xbb\xbf", "h", -1, "/\xef\xbb\xbf"),
	OK(H "/\xf4\x8f\xbf\xbf", "h", -1, "/\xf4\x8f\xbf\xbf"),
	BADW(H "/\xc3", "UTF-8"),
	BADW(H "/\xc3/", "UTF-8"),
	BADW(H "/\xff", "UTF-8"),
	BADW(H "/\xfe\xff", "UTF-8"),
	BADW(H "/\x80", "UTF-8"),
	BADW(H "/\xc0\xaf", "UTF-8"),
	BADW(H "/\xc1\xbf", "UTF-8"),
	BADW(H "/\xe0\x80\xaf", "UTF-8"),
	BADW(H "/\xed\xa0\x80", "UTF-8"),
	BADW(H "/\xed\xbf\xbf", "UTF-8"),
	BADW(H "/\xf4\x90\x80\x80", "UTF-8"),
	BADW(H "/\xf5\x80\x80\x80", "UTF-8"),
	BADW(H "/\xe2\x82", "UTF-8"),
	BADW(H "/\xe2\x82" "a", "UTF-8"),
	BADW(H "/\xf0\x9f\x98", "UTF-8"),
	BADW("gemini\xc3\xa9://h/", ""),
	BADW("\xef\xbb\xbfgemini://h/", "absolute"),
};

/* The same four components again after every successful parse. */
static void
check_invariants(const struct url *u)
{
	const char *p;

	CHECK(u->scheme[0] != '\0');
	for (p = u->scheme; *p; p++)
		CHECK(!(*p >= 'A' && *p <= 'Z'));
	if (!u->has_authority)
		return;
	CHECK(u->path[0] == '/');
	CHECK(strstr(u->path, "//") == NULL);
	CHECK(strstr(u->path, "/./") == NULL);
	CHECK(strstr(u->path, "/../") == NULL);
	for (p = u->path; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	CHECK(utf8_valid(u->path, strlen(u->path)));
	for (p = u->host; *p; p++)
		CHECK(!(*p >= 'A' && *p <= 'Z') && (unsigned char)*p > 0x20 &&
		    (unsigned char)*p < 0x7f);
	CHECK(u->port >= -1 && u->port <= 65535);
	if (!u->has_query)
		CHECK(u->query[0] == '\0');
}

static void
run_case(const struct url_case *c)
{
	size_t len = strlen(c->in);
	char *buf = malloc(len ? len : 1);
	const char *err;
	struct url u;

	if (buf == NULL)
		return;
	/* No NUL after the URL: the parser must stop at len on its own. */
	memcpy(buf, c->in, len);
	test_context("%s", c->in);
	err = url_parse(buf, len, &u);
	free(buf);
	if (c->err != NULL) {
		if (err == NULL)
			test_fail(__FILE__, __LINE__, "parsed, want an error");
		else if (strstr(err, c->err) == NULL)
			test_fail(__FILE__, __LINE__, "error \"%s\", want \"%s\"", err,
			    c->err);
		return;
	}
	if (err != NULL) {
		test_fail(__FILE__, __LINE__, "error \"%s\"", err);
		return;
	}
	CHECK_STR(u.scheme, c->scheme);
	CHECK_INT(u.has_authority, c->host != NULL);
	if (c->host != NULL) {
		CHECK_STR(u.host, c->host);
		CHECK_INT(u.host_kind, c->kind);
	}
	CHECK_INT(u.port, c->port);
	CHECK_STR(u.path, c->path);
	CHECK_INT(u.has_query, c->query != NULL);
	CHECK_STR(u.query, c->query ? c->query : "");
	check_invariants(&u);
}

TEST(url_parse_table)
{
	size_t i, n = sizeof(url_cases) / sizeof(url_cases[0]);

	CHECK(n >= 300);
	for (i = 0; i < n; i++)
		run_case(&url_cases[i]);
	test_context("%s", "");
}

/* URLs of exactly URL_MAX bytes are fine; one more is 59. */
TEST(url_parse_length)
{
	char buf[URL_MAX + 8];
	struct url u;
	size_t pre = strlen(H "/"), i;

	memcpy(buf, H "/", pre);
	memset(buf + pre, 'a', sizeof(buf) - pre);
	CHECK(url_parse(buf, URL_MAX, &u) == NULL);
	CHECK_INT(strlen(u.path), URL_MAX - strlen(H));
	CHECK(url_parse(buf, URL_MAX + 1, &u) != NULL);
	CHECK(url_parse(buf, URL_MAX + 7, &u) != NULL);

	/* A full-length path of empty segments and dots still fits. */
	memset(buf + pre, '/', URL_MAX - pre);
	CHECK(url_parse(buf, URL_MAX, &u) == NULL);
	CHECK_STR(u.path, "/");
	buf[URL_MAX - 2] = '/';
	buf[URL_MAX - 1] = '.';
	CHECK(url_parse(buf, URL_MAX, &u) == NULL);
	CHECK_STR(u.path, "/");

	/* A full-length query, and a full-length escaped path. */
	memcpy(buf, H "/?", pre + 1);
	memset(buf + pre + 1, 'q', URL_MAX - pre - 1);
	CHECK(url_parse(buf, URL_MAX, &u) == NULL);
	CHECK_INT(strlen(u.query), URL_MAX - pre - 1);
	memcpy(buf, H "/", pre);
	for (i = pre; i + 3 <= URL_MAX; i += 3)
		memcpy(buf + i, "%41", 3);
	CHECK(url_parse(buf, pre + (URL_MAX - pre) / 3 * 3, &u) == NULL);
	CHECK_INT(strlen(u.path), 1 + (URL_MAX - pre) / 3);

	/* Host names: 255 bytes at most. */
	memcpy(buf, "gemini://", 9);
	memset(buf + 9, 'a', 255);
	for (i = 9 + 63; i < 9 + 255; i += 64)
		buf[i] = '.';
	buf[9 + 255] = '/';
	CHECK(url_parse(buf, 9 + 256, &u) == NULL);
	CHECK_INT(strlen(u.host), 255);
	buf[9 + 255] = 'a';
	buf[9 + 256] = '/';
	CHECK(url_parse(buf, 9 + 257, &u) != NULL);
	/* ...counted in A-label form: 40 labels "é" are 120 bytes sent, 320 meant. */
	memcpy(buf, "gemini://", 9);
	for (i = 0; i < 40; i++)
		memcpy(buf + 9 + 3 * i, "é.", 3);
	memcpy(buf + 9 + 120, "x/", 2);
	CHECK(url_parse(buf, 9 + 122, &u) != NULL);
	CHECK(url_parse(buf, 9 + 3 * 20, &u) == NULL);
	CHECK_INT(strlen(u.host), 20 * 8 - 1);
}

/* NUL bytes, whether raw or sent as a length the string does not end at. */
TEST(url_parse_nul)
{
	struct url u;

	CHECK(url_parse("gemini://h/\0", 12, &u) != NULL);
	CHECK(url_parse("gemini://h/a\0b", 14, &u) != NULL);
	CHECK(url_parse("gemini://h\0/", 12, &u) != NULL);
	CHECK(url_parse("gemini://h/?\0", 13, &u) != NULL);
	CHECK(url_parse("\0gemini://h/", 12, &u) != NULL);
	CHECK(url_parse("gemi\0ni://h/", 12, &u) != NULL);
	CHECK(url_parse("\0", 1, &u) != NULL);
	/* Only the first len bytes count. */
	CHECK(url_parse("gemini://h/abc", 12, &u) == NULL);
	CHECK_STR(u.path, "/a");
	CHECK(url_parse("gemini://h/a%2", 12, &u) == NULL);
	CHECK_STR(u.path, "/a");
	CHECK(url_parse("gemini://h/a%2", 13, &u) != NULL);
	CHECK(url_parse("gemini://h:19", 12, &u) == NULL);
	CHECK_INT(u.port, 1);
	CHECK(url_parse("gemini://h/#", 11, &u) == NULL);
	CHECK(url_parse("gemini://h/", 0, &u) != NULL);
}

struct decode_case {
	const char *in;
	bool plus;
	long want;		/* -1: refused */
	const char *out;
};

static const struct decode_case decode_cases[] = {
	{ "", false, 0, "" },
	{ "abc", false, 3, "abc" },
	{ "%41", false, 1, "A" },
	{ "%41%42%43", false, 3, "ABC" },
	{ "%4a%4A", false, 2, "JJ" },
	{ "a%20b", false, 3, "a b" },
	{ "a+b", false, 3, "a+b" },
	{ "a+b", true, 3, "a b" },
	{ "a%2Bb", true, 3, "a+b" },
	{ "++", true, 2, "  " },
	{ "%25", false, 1, "%" },
	{ "%2525", false, 3, "%25" },
	{ "%C3%A9", false, 2, "é" },
	{ "é", false, 2, "é" },
	{ "%FF", false, 1, "\xff" },
	{ "%01", false, 1, "\x01" },
	{ "%2F", false, 1, "/" },
	{ "%", false, -1, NULL },
	{ "%4", false, -1, NULL },
	{ "a%", false, -1, NULL },
	{ "a%4", false, -1, NULL },
	{ "%zz", false, -1, NULL },
	{ "%4g", false, -1, NULL },
	{ "%g4", false, -1, NULL },
	{ "%%41", false, -1, NULL },
	{ "%00", false, -1, NULL },
	{ "a%00b", true, -1, NULL },
	{ "% 1", false, -1, NULL },
};

TEST(url_decode_table)
{
	size_t i;
	char out[64];
	long n;

	for (i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		const struct decode_case *c = &decode_cases[i];
		test_context("%s plus=%d", c->in, c->plus);
		n = url_decode(c->in, strlen(c->in), out, sizeof(out), c->plus);
		CHECK_INT(n, c->want);
		if (n >= 0 && c->out != NULL)
			CHECK_MEM(out, (size_t)n + 1, c->out, strlen(c->out) + 1);
	}
	test_context("%s", "");
}

TEST(url_decode_bounds)
{
	char out[8];

	/* Room for the bytes and the NUL, and not one byte less. */
	CHECK_INT(url_decode("abc", 3, out, 4, false), 3);
	CHECK_STR(out, "abc");
	CHECK_INT(url_decode("abcd", 4, out, 4, false), -1);
	CHECK_INT(url_decode("%41%42%43", 9, out, 4, false), 3);
	CHECK_INT(url_decode("", 0, out, 1, false), 0);
	CHECK_STR(out, "");
	memset(out, 'x', sizeof(out));
	CHECK_INT(url_decode("", 0, out, 0, false), -1);
	CHECK_INT(url_decode("a", 1, out, 0, false), -1);
	CHECK(out[0] == 'x');
	/* The length given is the end, whatever follows. */
	CHECK_INT(url_decode("ab%41", 2, out, sizeof(out), false), 2);
	CHECK_STR(out, "ab");
	CHECK_INT(url_decode("ab%41", 4, out, sizeof(out), false), -1);
}

struct encode_case {
	const char *in;
	const char *path;	/* url_encode_path */
	const char *query;	/* url_encode_query */
};

static const struct encode_case encode_cases[] = {
	{ "", "", "" },
	{ "abcXYZ019", "abcXYZ019", "abcXYZ019" },
	{ "/a/b/", "/a/b/", "%2Fa%2Fb%2F" },
	{ "a b", "a%20b", "a%20b" },
	{ "a+b", "a+b", "a%2Bb" },
	{ "a&b=c", "a&b=c", "a%26b%3Dc" },
	{ "-._~", "-._~", "-._~" },
	{ "!$'()*,;", "!$'()*,;", "!$'()*,;" },
	{ ":@", ":@", ":@" },
	{ "?#", "%3F%23", "%3F%23" },
	{ "%", "%25", "%25" },
	{ "%41", "%2541", "%2541" },
	{ "\"<>\\^`{|}", "%22%3C%3E%5C%5E%60%7B%7C%7D", "%22%3C%3E%5C%5E%60%7B%7C%7D" },
	{ "[]", "%5B%5D", "%5B%5D" },
	{ "\t\r\n\x7f", "%09%0D%0A%7F", "%09%0D%0A%7F" },
	{ "é", "%C3%A9", "%C3%A9" },
	{ "/posts/été.gmi", "/posts/%C3%A9t%C3%A9.gmi", "%2Fposts%2F%C3%A9t%C3%A9.gmi" },
	{ "日本", "%E6%97%A5%E6%9C%AC", "%E6%97%A5%E6%9C%AC" },
	{ "\xff", "%FF", "%FF" },
};

TEST(url_encode_table)
{
	size_t i;
	char out[128];
	long n;

	for (i = 0; i < sizeof(encode_cases) / sizeof(encode_cases[0]); i++) {
		const struct encode_case *c = &encode_cases[i];
		test_context("%s", c->in);
		n = url_encode_path(c->in, strlen(c->in), out, sizeof(out));
		CHECK_INT(n, strlen(c->path));
		CHECK_STR(out, c->path);
		n = url_encode_query(c->in, strlen(c->in), out, sizeof(out));
		CHECK_INT(n, strlen(c->query));
		CHECK_STR(out, c->query);
	}
	test_context("%s", "");
	/* A NUL byte is encoded, never passed through. */
	CHECK_INT(url_encode_path("a\0b", 3, out, sizeof(out)), 5);
	CHECK_STR(out, "a%00b");
}

TEST(url_encode_bounds)
{
	char out[8];

	CHECK_INT(url_encode_path("abc", 3, out, 4), 3);
	CHECK_INT(url_encode_path("abcd", 4, out, 4), -1);
	CHECK_INT(url_encode_path(" ", 1, out, 4), 3);
	CHECK_STR(out, "%20");
	CHECK_INT(url_encode_path(" ", 1, out, 3), -1);
	CHECK_INT(url_encode_path("a ", 2, out, 4), -1);
	CHECK_INT(url_encode_path("", 0, out, 1), 0);
	CHECK_INT(url_encode_path("", 0, out, 0), -1);
	CHECK_INT(url_encode_query("", 0, out, 0), -1);
	CHECK_INT(url_encode_query("=", 1, out, 3), -1);
	CHECK_INT(url_encode_query("=", 1, out, 4), 3);
	CHECK_STR(out, "%3D");
}

/* A small deterministic generator, so the round trips cover odd bytes. */
static uint32_t
next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

TEST(url_encode_round_trip)
{
	char in[64], enc[64 * 3 + 1], dec[65];
	uint32_t seed = 0x9e3779b9;
	long n, m;
	int i, c;
	size_t len, k;

	/* Every byte but NUL, alone. */
	for (c = 1; c < 256; c++) {
		in[0] = (char)c;
		test_context("byte 0x%02x", c);
		n = url_encode_path(in, 1, enc, sizeof(enc));
		CHECK(n == 1 || n == 3);
		m = url_decode(enc, (size_t)n, dec, sizeof(dec), false);
		CHECK_MEM(dec, (size_t)(m < 0 ? 0 : m), in, 1);
		n = url_encode_query(in, 1, enc, sizeof(enc));
		m = url_decode(enc, (size_t)n, dec, sizeof(dec), true);
		CHECK_MEM(dec, (size_t)(m < 0 ? 0 : m), in, 1);
	}
	/* Random strings. */
	for (i = 0; i < 5000; i++) {
		len = next_rand(&seed) % sizeof(in);
		for (k = 0; k < len; k++)
			in[k] = (char)(1 + next_rand(&seed) % 255);
		test_context("random string %d", i);
		n = url_encode_path(in, len, enc, sizeof(enc));
		CHECK(n >= 0);
		m = url_decode(enc, (size_t)n, dec, sizeof(dec), false);
		CHECK_MEM(dec, (size_t)(m < 0 ? 0 : m), in, len);
		n = url_encode_query(in, len, enc, sizeof(enc));
		CHECK(n >= 0);
		m = url_decode(enc, (size_t)n, dec, sizeof(dec), true);
		CHECK_MEM(dec, (size_t)(m < 0 ? 0 : m), in, len);
	}
	test_context("%s", "");
}

/*
 * A parsed path, encoded again (as a redirect or a link does), parses back to
 * itself; so does the whole URL.
 */
TEST(url_path_round_trip)
{
	static const char *const urls[] = {
		H "/a%20b/c%3Fd/",
		H "/%C3%A9t%C3%A9/%25/",
		H "/été/日本",
		H "/a/./b/../c",
		H "/%2e%2e%2e/x",
		H "/a+b/c&d=e;f",
		H "/%5C%22%3C%3E%7B%7D",
		H "/%23x",
		"gemini://[::1]:1965/a/?q=%20",
		"gemini://gémeaux.example./a",
	};
	char enc[URL_MAX * 3 + 64];
	struct url u, v;
	size_t i;
	long n;
	int len;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		test_context("%s", urls[i]);
		if (url_parse(urls[i], strlen(urls[i]), &u) != NULL) {
			test_fail(__FILE__, __LINE__, "does not parse");
			continue;
		}
		len = snprintf(enc, sizeof(enc), u.host_kind == URL_HOST_IPV6 ?
		    "%s://[%s]" : "%s://%s", u.scheme, u.host);
		if (u.port != -1)
			len += snprintf(enc + len, sizeof(enc) - len, ":%d", u.port);
		n = url_encode_path(u.path, strlen(u.path), enc + len, sizeof(enc) - len);
		CHECK(n >= 0);
		len += (int)n;
		if (u.has_query)
			snprintf(enc + len, sizeof(enc) - len, "?%s", u.query);
		CHECK(url_parse(enc, strlen(enc), &v) == NULL);
		CHECK_STR(v.host, u.host);
		CHECK_INT(v.port, u.port);
		CHECK_STR(v.path, u.path);
		CHECK_STR(v.query, u.query);
	}
	test_context("%s", "");
}

TEST(url_path_resolve_dots)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "", "/" },
		{ "/", "/" },
		{ "archive", "/archive" },
		{ "/archive/", "/archive/" },
		{ "//archive//2020//", "/archive/2020/" },
		{ "/a/./b", "/a/b" },
		{ "/a/.", "/a/" },
		{ "/a/b/../c/", "/a/c/" },
		{ "/a/b/..", "/a/" },
		{ "/a/..", "/" },
		{ "/a/../", "/" },
		{ "/...", "/..." },
		{ "/.hidden", "/.hidden" },
		{ "/..", NULL },
		{ "/a/../..", NULL },
		{ "../etc/passwd", NULL },
		{ "/a/../../b", NULL },
	};
	char out[300];
	size_t i;
	long n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].in);
		n = url_path_resolve(rows[i].in, strlen(rows[i].in), out, sizeof(out));
		if (rows[i].want == NULL)
			CHECK_INT(n, -1);
		else {
			CHECK_STR(n >= 0 ? out : "(refused)", rows[i].want);
			CHECK_INT(n, strlen(rows[i].want));
		}
	}
	CHECK_INT(url_path_resolve("/a\0b", 4, out, sizeof(out)), -1);
	CHECK_INT(url_path_resolve("/abc", 4, out, 5), -1);
	CHECK_INT(url_path_resolve("/abc", 4, out, 6), 4);
}

/*
 * One normaliser for both protocols: a Gemini URL's path and the same bytes
 * as a Gopher selector resolve alike, for any path both accept (here, every
 * combination of a few tricky segments).
 */
TEST(url_path_gemini_and_gopher_agree)
{
	static const char *const segs[] = { "a", ".", "..", "", "b c", "...", "é" };
	enum { NSEG = sizeof(segs) / sizeof(segs[0]) };
	char path[64], req[128], sel[128];
	struct url u;
	long n;
	int i, j, k, trail;

	for (i = 0; i < NSEG; i++)
		for (j = 0; j < NSEG; j++)
			for (k = 0; k < NSEG; k++)
				for (trail = 0; trail < 2; trail++) {
					snprintf(path, sizeof(path), "/%s/%s/%s%s", segs[i], segs[j],
					    segs[k], trail ? "/" : "");
					snprintf(req, sizeof(req), "gemini://h%s", path);
					test_context("%s", path);
					/* Spaces must be escaped in a URL, not in a selector. */
					{
						char enc[128], *p, *q;
						for (p = req, q = enc; *p; p++) {
							if (*p == ' ') {
								memcpy(q, "%20", 3);
								q += 3;
							} else
								*q++ = *p;
						}
						*q = '\0';
						n = url_path_resolve(path, strlen(path), sel, sizeof(sel));
						if (url_parse(enc, strlen(enc), &u) != NULL)
							CHECK_INT(n, -1);
						else
							CHECK_STR(n >= 0 ? sel : "(refused)", u.path);
					}
				}
	test_context("%s", "");
}
