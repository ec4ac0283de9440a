/*
 * The configuration file is INI-like:
 *
 *   # comment
 *   key = value
 *   [host example.org]
 *   key = "quoted value, with \" and \\"
 *
 * Global keys come before the first [host] section; host keys inside one.
 * Every key, its type, bounds and default live in one table below.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/un.h>

#include "proxy.h"
#include "titan.h"
#include "url.h"

/*
 * T_CERT_PATH: a require_cert line, added to the host's list (add_cert_path);
 * T_AUTHORS: fingerprints added to the host's authors (add_authors);
 * T_FASTCGI: a fastcgi line, added to the host's list (add_fastcgi).
 */
enum key_type {
	T_STRING, T_INT, T_DURATION, T_SIZE, T_BOOL, T_CERT_PATH, T_AUTHORS, T_FASTCGI,
};
enum key_scope { GLOBAL, HOST };

struct config_key {
	const char *name;
	enum key_type type;
	enum key_scope scope;
	size_t offset;
	size_t size;		/* of a T_STRING buffer */
	long long min, max;	/* T_INT, T_DURATION (milliseconds) */
	const char *def;
	/*
	 * T_STRING: what is wrong with a value, or NULL. Checked as the value is
	 * read, so that the message names its line.
	 */
	const char *(*check)(const char *value);
};

#define G_STR(n, f, d) { n, T_STRING, GLOBAL, offsetof(struct config, f), \
	sizeof(((struct config *)0)->f), 0, 0, d, NULL }
#define G_INT(n, t, f, lo, hi, d) { n, t, GLOBAL, offsetof(struct config, f), \
	0, lo, hi, d, NULL }
#define H_STR_CHECKED(n, f, d, c) { n, T_STRING, HOST, offsetof(struct host_config, f), \
	sizeof(((struct host_config *)0)->f), 0, 0, d, c }
#define H_STR(n, f, d) H_STR_CHECKED(n, f, d, NULL)
#define H_INT(n, t, f, lo, hi, d) { n, t, HOST, offsetof(struct host_config, f), \
	0, lo, hi, d, NULL }

/* A token travels in the URL's path parameters: no ';', no space or control. */
static const char *
check_token(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v <= 0x20 || *v == 0x7f || *v == ';' || *v == '%' ||
		    *v == '/' || *v == '?' || *v == '#')
			return "titan_token: letters, digits and punctuation but ; % / ? #, "
			    "no space";
	return NULL;
}

static const char *
check_titan_files(const char *v)
{
	char folders[TITAN_FOLDERS_MAX + 1][TITAN_FOLDER_MAX];
	const char *why;

	return titan_folders(v, folders, &why) == -1 ? why : NULL;
}

static const char *
check_lang(const char *v)
{
	if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-,") !=
	    strlen(v))
		return "lang takes BCP 47 tags separated by commas, such as en or en,fr";
	return NULL;
}

static const char *
check_log_clients(const char *v)
{
	if (strcmp(v, "full") != 0 && strcmp(v, "masked") != 0 && strcmp(v, "none") != 0)
		return "log_clients takes full, masked or none";
	return NULL;
}

/* Addresses and networks: "127.0.0.1 ::1 10.0.0.0/8". */
static const char *
check_proxy_from(const char *v)
{
	const char *err = NULL;

	return proxy_nets_parse(v, NULL, PROXY_MAX_NETS, &err) == -1 ? err : NULL;
}

/* Every Gopher menu item names it: a bare host name or address. */
static const char *
check_gopher_host(const char *v)
{
	if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]") !=
	    strlen(v))
		return "gopher_host takes a host name or address, such as gopher.example.org";
	return NULL;
}

/* "*" or IP addresses, as bind() takes them: a host name would need DNS at start. */
static const char *
check_listen(const char *v)
{
	char list[256], *addr, *save;
	unsigned char ip[16];
	int n = 0;

	snprintf(list, sizeof(list), "%s", v);
	for (addr = strtok_r(list, " \t,", &save); addr != NULL;
	    addr = strtok_r(NULL, " \t,", &save), n++)
		if (strcmp(addr, "*") != 0 && inet_pton(AF_INET, addr, ip) != 1 &&
		    inet_pton(AF_INET6, addr, ip) != 1)
			return "listen takes * or IP addresses, such as 127.0.0.1 ::1";
	return n == 0 ? "listen takes * or IP addresses, such as 127.0.0.1 ::1" : NULL;
}

static const struct config_key keys[] = {
	G_STR("user", user, "gazette"),
	G_STR("chroot", chroot, ""),
	G_STR("state_dir", state_dir, "/var/lib/gazette"),
	{ "listen", T_STRING, GLOBAL, offsetof(struct config, listen),
	    sizeof(((struct config *)0)->listen), 0, 0, "*", check_listen },
	G_INT("gemini_port", T_INT, gemini_port, 1, 65535, "1965"),
	G_INT("gopher_port", T_INT, gopher_port, 0, 65535, "70"),
	G_INT("workers", T_INT, workers, 0, CONFIG_MAX_WORKERS, "0"),
	G_INT("max_connections", T_INT, max_connections, 1, 1000000, "4096"),
	G_INT("client_connections", T_INT, client_connections, 0, 1000000, "32"),
	G_INT("client_rate", T_INT, client_rate, 0, 1000000, "20"),
	G_INT("client_burst", T_INT, client_burst, 1, 1000000, "100"),
	G_INT("request_timeout", T_DURATION, request_timeout_ms, 100, 3600000, "10s"),
	G_INT("write_timeout", T_DURATION, write_timeout_ms, 100, 3600000, "30s"),
	G_INT("fastcgi_timeout", T_DURATION, fastcgi_timeout_ms, 100, 3600000, "10s"),
	G_INT("fastcgi_connections", T_INT, fastcgi_connections, 1, 100000, "16"),
	{ "proxy_protocol", T_BOOL, GLOBAL, offsetof(struct config, proxy_protocol), 0, 0, 1,
	    "no", NULL },
	{ "proxy_from", T_STRING, GLOBAL, offsetof(struct config, proxy_from),
	    sizeof(((struct config *)0)->proxy_from), 0, 0, "", check_proxy_from },
	G_STR("log_file", log_file, "-"),
	{ "log_clients", T_STRING, GLOBAL, offsetof(struct config, log_clients),
	    sizeof(((struct config *)0)->log_clients), 0, 0, "full", check_log_clients },
	G_INT("cache_size", T_SIZE, cache_size, 0, 1 << 30, "4M"),
	{ "access_log", T_BOOL, GLOBAL, offsetof(struct config, access_log), 0, 0, 1, "yes", NULL },
	G_INT("ticket_rotation", T_DURATION, ticket_rotation_ms, 1000, 7 * 86400000, "12h"),
	G_STR("ticket_key_file", ticket_key_file, ""),
	{ "gopher_text_terminator", T_BOOL, GLOBAL,
	    offsetof(struct config, gopher_text_terminator), 0, 0, 1, "no", NULL },
	{ "gopher_tls", T_BOOL, GLOBAL, offsetof(struct config, gopher_tls), 0, 0, 1, "no", NULL },
	{ "seccomp", T_BOOL, GLOBAL, offsetof(struct config, seccomp), 0, 0, 1, "yes", NULL },
	{ "gopher_host", T_STRING, GLOBAL, offsetof(struct config, gopher_host),
	    sizeof(((struct config *)0)->gopher_host), 0, 0, "", check_gopher_host },
	G_INT("gopher_public_port", T_INT, gopher_public_port, 0, 65535, "0"),
	H_STR("root", root, "content"),
	H_STR("cert", cert, ""),
	H_STR("key", key, ""),
	H_STR("title", title, "gazette"),
	H_STR("description", description, ""),
	H_STR_CHECKED("lang", lang, "en", check_lang),
	H_INT("home_posts", T_INT, home_posts, 0, 1000, "10"),
	H_INT("page_size", T_INT, page_size, 10, 10000, "100"),
	H_INT("feed_posts", T_INT, feed_posts, 1, 1000, "20"),
	H_INT("max_post_size", T_SIZE, max_post_size, 1024, 64 << 20, "1M"),
	{ "require_cert", T_CERT_PATH, HOST, 0, 0, 0, 0, "", NULL },
	{ "titan", T_BOOL, HOST, offsetof(struct host_config, titan), 0, 0, 1, "no", NULL },
	{ "authors", T_AUTHORS, HOST, 0, 0, 0, 0, "", NULL },
	{ "fastcgi", T_FASTCGI, HOST, 0, 0, 0, 0, "", NULL },
	H_STR_CHECKED("titan_token", titan_token, "", check_token),
	H_STR_CHECKED("titan_files", titan_files, "", check_titan_files),
	H_INT("titan_max_size", T_SIZE, titan_max_size, 1, 64 << 20, "1M"),
	H_INT("titan_versions", T_INT, titan_versions, 0, 1000000, "10"),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= CONFIG_MAX_KEYS, "CONFIG_MAX_KEYS is too small");

/* Keys of earlier versions, refused with what to do instead. */
static const struct {
	const char *name, *why;
} gone[] = {
	{ "search_results", "no longer used: every match is found, page_size a page; "
	    "remove the line" },
	{ "search_time", "no longer used: searches are complete and never hold up other "
	    "requests; remove the line" },
};

static const char *
gone_key(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		if (strcmp(gone[i].name, name) == 0)
			return gone[i].why;
	return NULL;
}

static const struct config_key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Edits (insert, delete, replace) from a to b; both shorter than 64 bytes. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t row[64], i, j, diag, up, la = strlen(a), lb = strlen(b);

	if (la >= 64 || lb >= 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

/* "unknown key NAME", and the valid key closest to it when one is close. */
static const char *
unknown_key(const char *name, char *msg, size_t size)
{
	size_t i, d, best_d = SIZE_MAX;
	const char *best = NULL;

	for (i = 0; i < NKEYS; i++)
		if ((d = edit_distance(name, keys[i].name)) < best_d) {
			best_d = d;
			best = keys[i].name;
		}
	if (best != NULL && best_d <= 1 + strlen(name) / 4)
		snprintf(msg, size, "unknown key %.64s; did you mean %s?", name, best);
	else
		snprintf(msg, size, "unknown key %.64s; the keys are in gazette.conf(5)", name);
	return msg;
}

struct unit {
	const char *suffix;	/* "" for a bare number */
	long long scale;
};

/*
 * A number with one of units' suffixes (any case), scaled: *out, or -1 when
 * v is none, or above limit (before scaling) or past LLONG_MAX (after).
 */
static int
parse_scaled(const char *v, const struct unit *units, long long limit, long long *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || n < 0 || n > limit)
		return -1;
	for (; units->suffix != NULL; units++)
		if (strcasecmp(end, units->suffix) == 0) {
			/* 2^40 giga overflows: saturate, out of every key's range. */
			*out = n > LLONG_MAX / units->scale ? LLONG_MAX : n * units->scale;
			return 0;
		}
	return -1;
}

/* "10s", "500ms", "2m", "1h"; a bare number is seconds. */
static int
parse_duration(const char *v, long long *ms)
{
	static const struct unit units[] = {
		{ "", 1000 }, { "s", 1000 }, { "ms", 1 }, { "m", 60 * 1000 },
		{ "h", 3600 * 1000 }, { NULL, 0 },
	};

	return parse_scaled(v, units, 1000000000LL, ms);
}

/* "64k", "1M", "2G"; a bare number is bytes. */
static int
parse_size(const char *v, long long *bytes)
{
	static const struct unit units[] = {
		{ "", 1 }, { "k", 1LL << 10 }, { "m", 1LL << 20 }, { "g", 1LL << 30 },
		{ NULL, 0 },
	};

	return parse_scaled(v, units, 1LL << 40, bytes);
}

/*
 * A SHA-256 fingerprint as clients and the access log show it: 64 hex digits,
 * or 32 pairs joined by colons; either case.
 */
static bool
parse_fingerprint(const char *s, size_t len, unsigned char *out)
{
	size_t step = len == 3 * CONFIG_FP_SIZE - 1 ? 3 : 2, i;
	int hi, lo;

	if (step == 2 && len != 2 * CONFIG_FP_SIZE)
		return false;
	for (i = 0; i < CONFIG_FP_SIZE; i++, s += step) {
		if ((hi = url_hex_digit((unsigned char)s[0])) < 0 || (lo = url_hex_digit((unsigned char)s[1])) < 0 ||
		    (step == 3 && i + 1 < CONFIG_FP_SIZE && s[2] != ':'))
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/*
 * Requests' paths never hold an empty, "." or ".." segment nor a control
 * character (they are resolved or refused first), so a prefix with one would
 * protect nothing: refused, rather than leave a folder open by surprise.
 */
static const char *
check_prefix(const char *key, const char *p, char *msg, size_t size)
{
	const char *seg, *end, *why = NULL;
	size_t n;

	if (p[0] != '/')
		why = "the prefix must start with '/', such as /private/";
	for (seg = p + 1; why == NULL && *seg != '\0'; seg = end + 1) {
		end = seg + strcspn(seg, "/");
		n = end - seg;
		if ((n == 0 && *end == '/') || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			why = "no empty, \".\" or \"..\" segment in the prefix";
		if (*end == '\0')
			break;
	}
	for (; why == NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			why = "control character in the prefix";
	if (why == NULL)
		return NULL;
	snprintf(msg, size, "%s: %s", key, why);
	return msg;
}

/* Where a fastcgi line sends requests: unix:/PATH, tcp:IPv4:PORT or tcp:[IPv6]:PORT. */
static const char *
parse_fastcgi_target(struct config_fastcgi *f, const char *t)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&f->addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&f->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&f->addr;
	char host[64], *end;
	const char *colon;
	long port;

	memset(&f->addr, 0, sizeof(f->addr));
	if (strncmp(t, "unix:", 5) == 0) {
		if (t[5] != '/' || strlen(t + 5) >= sizeof(sun->sun_path))
			return "fastcgi: unix: takes an absolute path of at most 107 bytes";
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, t + 5, strlen(t + 5) + 1);
		f->addrlen = (socklen_t)sizeof(*sun);
		return NULL;
	}
	if (strncmp(t, "tcp:", 4) != 0 || (colon = strrchr(t + 4, ':')) == NULL ||
	    (size_t)(colon - (t + 4)) >= sizeof(host))
		return "fastcgi: expected PREFIX unix:/PATH or PREFIX tcp:ADDRESS:PORT";
	snprintf(host, sizeof(host), "%.*s", (int)(colon - (t + 4)), t + 4);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1 || port > 65535)
		return "fastcgi: the port must be a number from 1 to 65535";
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) != 1)
			return "fastcgi: tcp: takes an IP address (a name would need a lookup)";
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		f->addrlen = (socklen_t)sizeof(*sin6);
		return NULL;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return "fastcgi: tcp: takes an IP address (a name would need a lookup)";
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	f->addrlen = (socklen_t)sizeof(*sin);
	return NULL;
}

/* fastcgi = PREFIX TARGET: requests under PREFIX go to the application at TARGET. */
static const char *
add_fastcgi(struct host_config *h, const char *v, char *msg, size_t msgsize)
{
	char prefix[sizeof(h->fastcgi[0].prefix)], target[sizeof(h->fastcgi[0].target)];
	const char *w = v + strspn(v, " \t"), *err;
	struct config_fastcgi *f;
	size_t n = strcspn(w, " \t");
	int i;

	if (n == 0)
		return NULL;
	if (url_decode(w, n, prefix, sizeof(prefix), false) < 0)
		return "fastcgi: bad percent-escape in the prefix, or longer than 255 bytes";
	if ((err = check_prefix("fastcgi", prefix, msg, msgsize)) != NULL)
		return err;
	w += n;
	w += strspn(w, " \t");
	n = strcspn(w, " \t");
	if (n == 0 || n >= sizeof(target))
		return "fastcgi: expected PREFIX unix:/PATH or PREFIX tcp:ADDRESS:PORT";
	snprintf(target, sizeof(target), "%.*s", (int)n, w);
	w += n;
	w += strspn(w, " \t");
	n = strcspn(w, " \t");
	if ((n > 0 && (w[0] != '/' || n >= sizeof(h->fastcgi[0].script))) ||
	    w[n + strspn(w + n, " \t")] != '\0')
		return "fastcgi: expected PREFIX TARGET [SCRIPT], SCRIPT an absolute path";
	for (i = 0; i < h->nfastcgi; i++)
		if (strcmp(h->fastcgi[i].prefix, prefix) == 0)
			return "fastcgi: prefix already named";
	if (h->nfastcgi == CONFIG_MAX_FASTCGI)
		return "fastcgi: too many prefixes for one host (8)";
	f = &h->fastcgi[h->nfastcgi];
	if ((err = parse_fastcgi_target(f, target)) != NULL)
		return err;
	memcpy(f->prefix, prefix, sizeof(prefix));
	memcpy(f->target, target, sizeof(target));
	snprintf(f->script, sizeof(f->script), "%.*s", (int)n, w);
	h->nfastcgi++;
	return NULL;
}

/*
 * require_cert = PREFIX [FINGERPRINT ...]. The prefix is written as in a URL
 * (percent-escapes are decoded: %20 for a space). Fingerprints restrict it to
 * those certificates; naming a restricted prefix again lists more of them.
 * An empty value adds nothing (the default: no prefix is protected).
 */
static const char *
add_cert_path(struct host_config *h, const char *v, char *msg, size_t msgsize)
{
	char prefix[sizeof(h->cert_paths[0].prefix)];
	struct config_cert_path *p;
	const char *w = v + strspn(v, " \t");
	size_t n = strcspn(w, " \t");
	const char *err;
	bool restricted;
	int i, nfps;

	if (n == 0)
		return NULL;
	if (url_decode(w, n, prefix, sizeof(prefix), false) < 0)
		return "require_cert: bad percent-escape in the prefix, or longer than 255 bytes";
	if ((err = check_prefix("require_cert", prefix, msg, msgsize)) != NULL)
		return err;
	w += n;
	w += strspn(w, " \t");
	restricted = *w != '\0';
	for (i = 0; i < h->ncert_paths && strcmp(h->cert_paths[i].prefix, prefix) != 0; i++)
		;
	if (i < h->ncert_paths && (!restricted || !h->cert_paths[i].restricted))
		return "require_cert: prefix already named; only a list of fingerprints may "
		    "be continued on another line";
	if (i == CONFIG_MAX_CERT_PATHS)
		return "require_cert: too many prefixes for one host";
	for (nfps = h->ncert_fps; *w != '\0'; nfps++) {
		n = strcspn(w, " \t");
		if (nfps == CONFIG_MAX_CERT_FPS)
			return "require_cert: too many fingerprints for one host";
		if (!parse_fingerprint(w, n, h->cert_fps[nfps].sha256))
			return "require_cert: expected PREFIX [FINGERPRINT ...], each fingerprint "
			    "a SHA-256 of 64 hex digits (colons between pairs allowed)";
		h->cert_fps[nfps].path = i;
		w += n;
		w += strspn(w, " \t");
	}
	p = &h->cert_paths[i];
	memcpy(p->prefix, prefix, sizeof(prefix));
	p->restricted = restricted;
	h->ncert_fps = nfps;
	if (i == h->ncert_paths)
		h->ncert_paths++;
	return NULL;
}

/* authors = FINGERPRINT ...: more of a host's authors; the key may be repeated. */
static const char *
add_authors(struct host_config *h, const char *v)
{
	const char *w = v + strspn(v, " \t");
	size_t n;

	while (*w != '\0') {
		n = strcspn(w, " \t,");
		/* As Lagrange and others show it: "SHA256:" then the digits. */
		if (n > 7 && strncasecmp(w, "sha256:", 7) == 0) {
			w += 7;
			n -= 7;
		}
		if (h->nauthors == CONFIG_MAX_AUTHORS)
			return "authors: too many fingerprints for one host";
		if (!parse_fingerprint(w, n, h->authors[h->nauthors]))
			return "authors: expected SHA-256 fingerprints of 64 hex digits (colons "
			    "between pairs and a SHA256: before them allowed)";
		h->nauthors++;
		w += n;
		w += strspn(w, " \t,");
	}
	return NULL;
}

/* A bound of k as a configuration would write it: 65535, 100ms, 1h, 64M. */
static void
format_bound(const struct config_key *k, long long v, char *out, size_t size)
{
	static const struct unit durations[] = {
		{ "h", 3600 * 1000 }, { "m", 60 * 1000 }, { "s", 1000 }, { "ms", 1 }, { NULL, 0 },
	};
	static const struct unit sizes[] = {
		{ "G", 1LL << 30 }, { "M", 1LL << 20 }, { "k", 1LL << 10 }, { "", 1 }, { NULL, 0 },
	};
	const struct unit *u = k->type == T_DURATION ? durations : k->type == T_SIZE ? sizes :
	    NULL;

	for (; u != NULL && u->suffix != NULL && v != 0; u++)
		if (v % u->scale == 0) {
			snprintf(out, size, "%lld%s", v / u->scale, u->suffix);
			return;
		}
	snprintf(out, size, "%lld", v);
}

/*
 * Sets one key in base (a struct config or a struct host_config). Returns
 * NULL, or what is wrong (a constant, or written into msg).
 */
static const char *
set_key(const struct config_key *k, void *base, const char *v, char *msg, size_t msgsize)
{
	char lo[32], hi[32];
	char *field = (char *)base + k->offset;
	const char *err;
	long long n = 0;
	char *end;

	switch (k->type) {
	case T_STRING:
		if (strlen(v) >= k->size)
			return "value too long";
		if (k->check != NULL && (err = k->check(v)) != NULL)
			return err;
		memcpy(field, v, strlen(v) + 1);
		return NULL;
	case T_BOOL:
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcasecmp(v, "true"))
			*(bool *)field = true;
		else if (!strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcasecmp(v, "false"))
			*(bool *)field = false;
		else
			return "expected yes or no";
		return NULL;
	case T_INT:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0')
			return "expected a number";
		break;
	case T_DURATION:
		if (parse_duration(v, &n) == -1)
			return "expected a duration such as 10s or 500ms";
		break;
	case T_SIZE:
		if (parse_size(v, &n) == -1)
			return "expected a size such as 512k or 1M";
		break;
	case T_CERT_PATH:
		return add_cert_path(base, v, msg, msgsize);
	case T_FASTCGI:
		return add_fastcgi(base, v, msg, msgsize);
	case T_AUTHORS:
		return add_authors(base, v);
	}
	if (n < k->min || n > k->max) {
		format_bound(k, k->min, lo, sizeof(lo));
		format_bound(k, k->max, hi, sizeof(hi));
		snprintf(msg, msgsize, "%s = %.32s is out of range: %s to %s", k->name, v, lo, hi);
		return msg;
	}
	*(int *)field = (int)n;
	return NULL;
}

static void
apply_defaults(enum key_scope scope, void *base)
{
	char msg[8];
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].scope == scope)
			set_key(&keys[i], base, keys[i].def, msg, sizeof(msg));
}

void
config_defaults(struct config *c)
{
	/*
	 * Not the hosts: room for CONFIG_MAX_HOSTS is most of the 400 KiB, and
	 * pages never written cost no memory in any process. Each host is
	 * cleared as its section begins.
	 */
	memset(c, 0, offsetof(struct config, hosts));
	memset(c->key_line, 0, sizeof(c->key_line));
	apply_defaults(GLOBAL, c);
}

/* Takes the value after '=': trims it, or unquotes it. Returns an error or NULL. */
static const char *
parse_value(char *s, char **out)
{
	char *end, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '"') {
		end = s + strlen(s);
		while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		*out = s;
		return NULL;
	}
	*out = w = ++s;
	for (; *s != '"'; s++) {
		if (*s == '\0')
			return "unterminated quoted value";
		if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
			s++;
		*w++ = *s;
	}
	for (end = s + 1; *end == ' ' || *end == '\t'; end++)
		;
	if (*end != '\0' && *end != '#')
		return "text after the closing quote";
	*w = '\0';
	return NULL;
}

/* Lowercases a host name and turns an IDN into its A-label form. */
static const char *
normalize_host(const char *name, char *out, size_t size)
{
	char url[sizeof(((struct host_config *)0)->name) + 16];
	struct url u;

	if (snprintf(url, sizeof(url), "gemini://%s/", name) >= (int)sizeof(url))
		return "host name too long";
	if (url_parse(url, strlen(url), &u) != NULL || u.port != -1 ||
	    strcmp(u.path, "/") != 0)
		return "bad host name";
	if (strlen(u.host) >= size)
		return "host name too long";
	memcpy(out, u.host, strlen(u.host) + 1);
	return NULL;
}

static const char *
parse_line(struct config *c, char *line, int lineno, char *msg, size_t msgsize)
{
	const struct config_key *k;
	struct host_config *h;
	char *eq, *name, *end, *value;
	const char *err;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0' || *line == '#')
		return NULL;
	if (*line == '[') {
		if ((end = strchr(line, ']')) == NULL || end[1] != '\0')
			return "expected [host NAME]";
		*end = '\0';
		if (strncmp(line + 1, "host ", 5) != 0)
			return "unknown section; expected [host NAME]";
		if (c->nhosts == CONFIG_MAX_HOSTS)
			return "too many hosts";
		h = &c->hosts[c->nhosts];
		memset(h, 0, sizeof(*h));
		apply_defaults(HOST, h);
		name = line + 6;
		while (*name == ' ')
			name++;
		if ((err = normalize_host(name, h->name, sizeof(h->name))) != NULL)
			return err;
		if (config_find_host(c, h->name) != NULL)
			return "host named twice";
		c->nhosts++;
		return NULL;
	}
	if ((eq = strchr(line, '=')) == NULL)
		return "expected key = value";
	*eq = '\0';
	end = eq;
	while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if ((k = find_key(line)) == NULL)
		return gone_key(line) ? gone_key(line) : unknown_key(line, msg, msgsize);
	if ((err = parse_value(eq + 1, &value)) != NULL)
		return err;
	if (k->scope == GLOBAL && c->nhosts > 0)
		return "global key inside a [host] section; move it above the first one";
	if (k->scope == HOST && c->nhosts == 0)
		return "host key outside a [host] section";
	if (k->scope == GLOBAL)
		c->key_line[k - keys] = lineno;
	return set_key(k, k->scope == GLOBAL ? (void *)c : (void *)&c->hosts[c->nhosts - 1],
	    value, msg, msgsize);
}

/* The longest line, its end included; longer ones are refused. */
#define CONFIG_LINE_MAX 4096
/* A configuration file larger than this is refused unread. */
#define CONFIG_FILE_MAX (16 << 20)

int
config_parse(struct config *c, const char *name, const char *buf, size_t len,
    char *errbuf, size_t errsize)
{
	const char *p = buf, *end = buf + len, *nl;
	char line[CONFIG_LINE_MAX], msg[256];
	const char *err;
	int lineno = 0;
	size_t n;

	for (; p < end; p = nl != NULL ? nl + 1 : end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n >= sizeof(line) - 1) {
			snprintf(errbuf, errsize, "%s:%d: line too long", name, lineno);
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		/* A NUL byte ends the line, as it did when lines were read with fgets. */
		n = strlen(line);
		while (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if ((err = parse_line(c, line, lineno, msg, sizeof(msg))) != NULL) {
			snprintf(errbuf, errsize, "%s:%d: %s", name, lineno, err);
			return -1;
		}
	}
	return 0;
}

int
config_load(struct config *c, const char *path, char *errbuf, size_t errsize)
{
	size_t len = 0, cap = 0, n;
	char *buf = NULL, *nbuf;
	FILE *f;
	int r;

	snprintf(c->file, sizeof(c->file), "%s", path);
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(errbuf, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			if (cap >= CONFIG_FILE_MAX) {
				snprintf(errbuf, errsize, "%s: file too large", path);
				goto fail;
			}
			cap = cap ? cap * 2 : 8192;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				snprintf(errbuf, errsize, "%s: %s", path, strerror(errno));
				goto fail;
			}
			buf = nbuf;
		}
		len += n = fread(buf + len, 1, cap - len, f);
	} while (n > 0);
	if (ferror(f)) {
		snprintf(errbuf, errsize, "%s: %s", path, strerror(errno));
		goto fail;
	}
	fclose(f);
	r = config_parse(c, path, buf, len, errbuf, errsize);
	free(buf);
	return r;
fail:
	fclose(f);
	free(buf);
	return -1;
}

int
config_override(struct config *c, const char *assignment, char *errbuf, size_t errsize)
{
	char buf[4096], msg[256], *eq, *value;
	const struct config_key *k;
	const char *err;

	if (snprintf(buf, sizeof(buf), "%s", assignment) >= (int)sizeof(buf) ||
	    (eq = strchr(buf, '=')) == NULL) {
		snprintf(errbuf, errsize, "-o %s: expected key=value", assignment);
		return -1;
	}
	*eq = '\0';
	if ((k = find_key(buf)) == NULL) {
		snprintf(errbuf, errsize, "-o %s: %s", assignment, gone_key(buf) ? gone_key(buf) :
		    unknown_key(buf, msg, sizeof(msg)));
		return -1;
	}
	if (k->scope != GLOBAL) {
		snprintf(errbuf, errsize, "-o %s: %s is set per host, in a [host] section; "
		    "-o sets global keys only", assignment, k->name);
		return -1;
	}
	if ((err = parse_value(eq + 1, &value)) != NULL ||
	    (err = set_key(k, c, value, msg, sizeof(msg))) != NULL) {
		snprintf(errbuf, errsize, "-o %s: %s", assignment, err);
		return -1;
	}
	c->key_line[k - keys] = -1;
	return 0;
}

const char *
config_where(const struct config *c, const char *key, char *buf, size_t size)
{
	const struct config_key *k = find_key(key);
	int line = k != NULL ? c->key_line[k - keys] : 0;

	if (line > 0)
		snprintf(buf, size, "%s:%d", c->file, line);
	else if (line < 0)
		snprintf(buf, size, "-o %s", key);
	else
		snprintf(buf, size, "%s", c->file);
	return buf;
}

/* certs/NAME.EXT, where the key or certificate path was left unset. */
static int
default_cert_path(char *dst, size_t size, const char *name, const char *ext)
{
	char tmp[CONFIG_PATH_MAX];
	int n;

	if (dst[0] != '\0')
		return 0;
	n = snprintf(tmp, sizeof(tmp), "certs/%s.%s", name, ext);
	if (n < 0 || (size_t)n >= size)
		return -1;
	memcpy(dst, tmp, (size_t)n + 1);
	return 0;
}

int
config_finish(struct config *c, char *errbuf, size_t errsize)
{
	struct host_config *h;
	int i;

	if (c->nhosts == 0) {
		snprintf(errbuf, errsize, "%s: no [host NAME] section", c->file);
		return -1;
	}
	if (c->gopher_port == c->gemini_port) {
		snprintf(errbuf, errsize, "%s: gemini_port and gopher_port are the same",
		    c->file);
		return -1;
	}
	for (i = 0; i < c->nhosts; i++) {
		h = &c->hosts[i];
		if (default_cert_path(h->cert, sizeof(h->cert), h->name, "crt") == -1 ||
		    default_cert_path(h->key, sizeof(h->key), h->name, "key") == -1) {
			snprintf(errbuf, errsize, "%s: host %s: certificate path too long",
			    c->file, h->name);
			return -1;
		}
		/* Uploads nobody may make are a mistake worth saying at once. */
		if (h->titan && h->nauthors == 0) {
			snprintf(errbuf, errsize, "%s: host %s: titan = yes needs authors = "
			    "FINGERPRINT ... (the SHA-256 of each author's client certificate)",
			    c->file, h->name);
			return -1;
		}
	}
	return 0;
}

int
config_check_paths(const struct config *c, char *err, size_t errsize)
{
	char jail[PATH_MAX], root[PATH_MAX];
	size_t n = 0;
	int i;

	if (c->chroot[0] != '\0') {
		if (realpath(c->chroot, jail) == NULL) {
			snprintf(err, errsize, "%s: chroot %s: %s", c->file, c->chroot,
			    strerror(errno));
			return -1;
		}
		n = strcmp(jail, "/") == 0 ? 0 : strlen(jail);
	}
	for (i = 0; i < c->nhosts; i++) {
		const struct host_config *h = &c->hosts[i];
		if (access(h->root, R_OK | X_OK) == -1 || realpath(h->root, root) == NULL) {
			snprintf(err, errsize, "%s: host %s: root %s: %s", c->file, h->name,
			    h->root, strerror(errno));
			return -1;
		}
		/* A root outside the chroot would vanish from the workers' view. */
		if (n > 0 && (strncmp(root, jail, n) != 0 || (root[n] != '/' &&
		    root[n] != '\0'))) {
			snprintf(err, errsize, "%s: host %s: root %.400s is outside chroot %.400s",
			    c->file, h->name, root, jail);
			return -1;
		}
	}
	return 0;
}

bool
config_is_author(const struct host_config *h, const unsigned char *sha256)
{
	int i;

	for (i = 0; i < h->nauthors; i++)
		if (memcmp(h->authors[i], sha256, CONFIG_FP_SIZE) == 0)
			return true;
	return false;
}

const struct host_config *
config_find_host(const struct config *c, const char *name)
{
	int i;

	for (i = 0; i < c->nhosts; i++)
		if (strcasecmp(c->hosts[i].name, name) == 0)
			return &c->hosts[i];
	return NULL;
}

/*
 * How long prefix is when it covers path (a request's decoded path), or 0:
 * path starts with it, or names its folder without the '/'.
 */
static size_t
covers(const char *prefix, const char *path)
{
	size_t len = strlen(path), n = strlen(prefix);

	if (strncmp(path, prefix, n) == 0 ||
	    (n == len + 1 && prefix[len] == '/' && strncmp(path, prefix, len) == 0))
		return n;
	return 0;
}

const struct config_cert_path *
config_cert_path(const struct host_config *h, const char *path)
{
	const struct config_cert_path *best = NULL;
	size_t n, best_len = 0;
	int i;

	for (i = 0; i < h->ncert_paths; i++)
		if ((n = covers(h->cert_paths[i].prefix, path)) > best_len) {
			best = &h->cert_paths[i];
			best_len = n;
		}
	return best;
}

int
config_workers(const struct config *c)
{
	long n = c->workers > 0 ? c->workers : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS : (int)n;
}

const struct config_fastcgi *
config_fastcgi(const struct host_config *h, const char *path)
{
	const struct config_fastcgi *best = NULL;
	size_t n, best_len = 0;
	int i;

	for (i = 0; i < h->nfastcgi; i++)
		if ((n = covers(h->fastcgi[i].prefix, path)) > best_len) {
			best = &h->fastcgi[i];
			best_len = n;
		}
	return best;
}

bool
config_cert_allowed(const struct host_config *h, const struct config_cert_path *p,
    const unsigned char *sha256)
{
	int path = (int)(p - h->cert_paths), i;

	if (!p->restricted)
		return true;
	for (i = 0; i < h->ncert_fps; i++)
		if (h->cert_fps[i].path == path &&
		    memcmp(h->cert_fps[i].sha256, sha256, CONFIG_FP_SIZE) == 0)
			return true;
	return false;
}
