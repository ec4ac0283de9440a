/*
 * The post parser. The input is read line by line through one reader that
 * repairs each line as it goes, so the full parse touches every byte a fixed
 * number of times and the metadata parse touches only the lines it needs: the
 * header, the title line and the last line (found by scanning back from the
 * end). Both parses share the code that decides title, date and source, so
 * they always agree.
 */
#include "post.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* The seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define EPOCH_MIN (-62135596800LL)
#define EPOCH_MAX 253402300799LL

#define KEY_MAX 32		/* longest header key looked at */

struct buf {
	char *p;
	size_t len, cap;
};

/* LINE_GEMLINK and LINE_HEADING are gemtext's "=> URL text" and "# heading". */
enum line_kind {
	LINE_BLANK, LINE_PRE, LINE_QUOTE, LINE_ITEM, LINE_LINK, LINE_GEMLINK, LINE_HEADING,
	LINE_TEXT,
};

enum header_key { KEY_UNKNOWN, KEY_TITLE, KEY_DATE, KEY_AUTHOR, KEY_SOURCE, KEY_TAGS };

struct date {
	int year, month, day, hour, minute, second;
	bool has_time;
};

struct parse {
	const char *data;
	size_t len;
	size_t pos;		/* where the next line starts */
	size_t line_off;	/* where the line in .line starts */
	struct buf line;	/* the current line, repaired, trailing space cut */
	struct post *p;

	size_t body_off;	/* the first line after the header */
	size_t title_off;	/* the line the title came from, or SIZE_MAX */
	bool title_skip;	/* that line is left out of the body */
	size_t last_off;	/* the last non-blank line */
	bool last_skip;		/* it named the source: left out of the body */
	bool have_date;
	struct date hdr_date, name_date;
	bool hdr_date_ok, name_date_ok;

	/* The block being built, for the full parse. */
	struct buf text;
	bool open;
	enum post_block_type cur;
	size_t pre_blanks;	/* blank lines held back inside a PRE block */
	bool fenced;		/* between gemtext's ``` lines: every line is PRE */
	size_t blocks_cap;
	size_t tags_cap;
};

static const uint8_t replacement[3] = { 0xef, 0xbf, 0xbd };	/* U+FFFD */

static int
buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - 1 - b->len)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap > 0 ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The bytes that make a line blank in the raw input (and line ends). */
static bool
is_raw_space(char c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r' || c == '\n';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
ascii_caseeq(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

/*
 * Copies s[0..n) into b as valid UTF-8 without control characters: a bad
 * byte or NUL becomes U+FFFD. For a line (name false), TAB stays, form feed
 * and vertical tab become spaces and trailing blanks are cut; for a file name
 * every control character is replaced and nothing is cut.
 */
static int
repair(struct buf *b, const char *s, size_t n, bool name, unsigned *warnings)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;
	uint32_t cp;
	char *o;

	b->len = 0;
	/* U+FFFD is three bytes for each byte replaced: the worst case. */
	if (n > (SIZE_MAX - 1) / 3 || buf_reserve(b, 3 * n) == -1)
		return -1;
	o = b->p;
	while (i < n) {
		unsigned char c = u[i];
		if ((c >= 0x20 && c < 0x7f) || (c == '\t' && !name)) {
			*o++ = (char)c;
			i++;
			continue;
		}
		if ((c == '\f' || c == '\v') && !name) {
			*o++ = ' ';
			i++;
			continue;
		}
		if (c < 0x80) {
			*warnings |= c == 0 ? POST_WARN_UTF8 : POST_WARN_CONTROL;
			k = 1;
		} else if ((k = utf8_decode(s + i, n - i, &cp)) == 0) {
			*warnings |= POST_WARN_UTF8;
			k = 1;
		} else if (cp < 0xa0) {
			*warnings |= POST_WARN_CONTROL;
		} else {
			memcpy(o, s + i, k);
			o += k;
			i += k;
			continue;
		}
		memcpy(o, replacement, sizeof(replacement));
		o += sizeof(replacement);
		i += k;
	}
	b->len = (size_t)(o - b->p);
	if (!name)
		while (b->len > 0 && is_blank(b->p[b->len - 1]))
			b->len--;
	b->p[b->len] = '\0';
	return 0;
}

/*
 * Reads the line at ps->pos into ps->line. CRLF, lone CR and LF each end a
 * line. Returns 1, 0 at the end of the input, or -1 when memory runs out.
 */
static int
next_line(struct parse *ps)
{
	const char *s = ps->data + ps->pos;
	size_t n = 0, rest = ps->len - ps->pos;

	if (ps->pos >= ps->len)
		return 0;
	while (n < rest && s[n] != '\n' && s[n] != '\r')
		n++;
	ps->line_off = ps->pos;
	ps->pos += n;
	if (n < rest) {
		ps->pos++;
		if (s[n] == '\r' && n + 1 < rest && s[n + 1] == '\n')
			ps->pos++;
	}
	return repair(&ps->line, s, n, false, &ps->p->warnings) == -1 ? -1 : 1;
}

/*
 * Where the last non-blank line starts, or len when every line is blank. It
 * starts right after a CR or LF, as next_line() sees it.
 */
static size_t
last_line(const char *d, size_t len)
{
	size_t e = len;

	while (e > 0 && is_raw_space(d[e - 1]))
		e--;
	if (e == 0)
		return len;
	while (e > 0 && d[e - 1] != '\n' && d[e - 1] != '\r')
		e--;
	return e;
}

/*
 * A copy of s[0..n) with leading and trailing blanks cut and every inner run
 * of them made one space. Cut to at most max bytes (max is well above 4) on a
 * character boundary, ending in "…" when ellipsis is set, with
 * POST_WARN_TRUNCATED; a cut never empties it, as the text starts with a
 * character that is not blank. *out is NULL when s is blank. Returns -1 when
 * memory runs out.
 */
/*
 * Appends the words of s[0..n) to out at *len, every run of blanks one
 * space; space says whether a space goes before the first word. out has room
 * for n more bytes.
 */
static void
join_words(char *out, size_t *len, const char *s, size_t n, bool space)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (is_blank(s[i])) {
			space = true;
			continue;
		}
		if (space)
			out[(*len)++] = ' ';
		space = false;
		out[(*len)++] = s[i];
	}
}

static int
clean_copy(const char *s, size_t n, size_t max, bool ellipsis, char **out,
    unsigned *warnings)
{
	size_t len = 0;
	char *o;

	*out = NULL;
	while (n > 0 && is_blank(*s))
		s++, n--;
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	if (n == 0)
		return 0;
	if ((o = malloc(n + 1)) == NULL)
		return -1;
	join_words(o, &len, s, n, false);
	if (len > max) {
		*warnings |= POST_WARN_TRUNCATED;
		len = ellipsis ? max - 3 : max;
		while (len > 0 && ((unsigned char)o[len] & 0xc0) == 0x80)
			len--;
		while (len > 0 && o[len - 1] == ' ')
			len--;
		if (ellipsis) {
			memcpy(o + len, "\xe2\x80\xa6", 3);
			len += 3;
		}
	}
	o[len] = '\0';
	*out = o;
	return 0;
}

static bool
is_url_stop(char c)
{
	return c == ' ' || c == '\t' || c == '<' || c == '>' || c == '"';
}

/* Bytes of a closing quote or ellipsis ending s[0..n), or 0. */
static size_t
closing_mark(const char *s, size_t n)
{
	static const char *const marks[] = {
		"\xe2\x80\x9d", "\xe2\x80\x99", "\xc2\xbb", "\xe2\x80\xa6",
	};
	size_t i, k;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		k = strlen(marks[i]);
		if (n >= k && memcmp(s + n - k, marks[i], k) == 0)
			return k;
	}
	return 0;
}

/* The length of the URL that starts at s[i] (s[0..n) is the whole text), or 0. */
static size_t
url_at(const char *s, size_t n, size_t i)
{
	static const char *const schemes[] = {
		"http://", "https://", "gemini://", "gopher://",
	};
	size_t j, k, start = 0, opens = 0, closes = 0, sq_opens = 0, sq_closes = 0;
	char prev;

	if (ascii_lower(s[i]) != 'h' && ascii_lower(s[i]) != 'g')
		return 0;
	if (i > 0) {
		prev = s[i - 1];
		if ((prev >= 'a' && prev <= 'z') || (prev >= 'A' && prev <= 'Z') ||
		    is_digit(prev) || prev == '+' || prev == '-' || prev == '.')
			return 0;
	}
	for (k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
		size_t sl = strlen(schemes[k]);
		if (n - i >= sl && ascii_caseeq(s + i, sl, schemes[k], sl)) {
			start = i + sl;
			break;
		}
	}
	if (start == 0)
		return 0;
	for (j = start; j < n && !is_url_stop(s[j]); j++) {
		opens += s[j] == '(';
		closes += s[j] == ')';
		sq_opens += s[j] == '[';
		sq_closes += s[j] == ']';
	}
	while (j > start) {
		char c = s[j - 1];
		if (c != '\0' && strchr(".,;:!?'*_", c) != NULL)
			j--;
		else if (c == ')' && closes > opens)
			j--, closes--;
		else if (c == ']' && sq_closes > sq_opens)
			j--, sq_closes--;
		else if ((k = closing_mark(s + start, j - start)) > 0)
			j -= k;
		else
			break;
	}
	return j > start ? j - i : 0;
}

/*
 * What a repaired, non-empty line is, and its content: for PRE without the
 * indentation, for the others without leading blanks and marker.
 */
/*
 * The length of a gemtext marker that starts s: "=>" (a link) or one to
 * three '#' and a blank (a heading), when something follows; else 0.
 */
static size_t
gem_marker(const char *s, size_t n)
{
	size_t m = 0, j;

	if (n >= 2 && s[0] == '=' && s[1] == '>')
		m = 2;
	else {
		while (m < n && m < 3 && s[m] == '#')
			m++;
		if (m == 0 || m == n || !is_blank(s[m]))
			return 0;
	}
	for (j = m; j < n && is_blank(s[j]); j++)
		;
	return j < n ? m : 0;
}

static enum line_kind
classify(const char *s, size_t n, const char **rest, size_t *rlen)
{
	enum line_kind kind = LINE_TEXT;
	size_t m;

	*rest = s, *rlen = n;
	if (n == 0)
		return LINE_BLANK;
	if (s[0] == '\t' || (n >= 4 && memcmp(s, "    ", 4) == 0)) {
		*rest = s + (s[0] == '\t' ? 1 : 4);
		*rlen = n - (size_t)(*rest - s);
		return LINE_PRE;
	}
	while (n > 0 && is_blank(*s))
		s++, n--;
	if (s[0] == '>' && (n == 1 || is_blank(s[1]))) {
		kind = LINE_QUOTE;
		s++, n--;
	} else if ((s[0] == '*' || s[0] == '-') && n >= 2 && is_blank(s[1])) {
		kind = LINE_ITEM;
		s += 2, n -= 2;
	} else if ((m = gem_marker(s, n)) > 0) {
		kind = s[0] == '=' ? LINE_GEMLINK : LINE_HEADING;
		s += m, n -= m;
	} else if (url_at(s, n, 0) == n)
		kind = LINE_LINK;
	while (n > 0 && is_blank(*s))
		s++, n--;
	*rest = s, *rlen = n;
	return kind;
}

/* Splits "Key: value"; false when the line is not shaped so. */
static bool
split_key(const char *s, size_t n, const char **val, size_t *vlen, size_t *klen)
{
	size_t i = 1;

	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	while (i < n && i <= KEY_MAX && (s[i] == '-' || s[i] == '_' || is_digit(s[i]) ||
	    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		i++;
	/* ":/" is a URL ("https://..."), never a header line. */
	if (i > KEY_MAX || i == n || s[i] != ':' || (i + 1 < n && s[i + 1] == '/'))
		return false;
	*klen = i;
	*val = s + i + 1;
	*vlen = n - i - 1;
	return true;
}

static enum header_key
lookup_key(const char *k, size_t n)
{
	static const struct {
		const char *name;
		enum header_key key;
	} keys[] = {
		{ "title", KEY_TITLE }, { "date", KEY_DATE }, { "author", KEY_AUTHOR },
		{ "source", KEY_SOURCE }, { "tags", KEY_TAGS },
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (ascii_caseeq(k, n, keys[i].name, strlen(keys[i].name)))
			return keys[i].key;
	return KEY_UNKNOWN;
}

static int
add_tag(struct parse *ps, const char *s, size_t n)
{
	struct post *p = ps->p;
	char *tag, **grown;
	size_t i, cap;

	if (clean_copy(s, n, POST_TAG_MAX, false, &tag, &p->warnings) == -1)
		return -1;
	if (tag == NULL)
		return 0;
	for (i = 0; i < p->ntags; i++)
		if (ascii_caseeq(p->tags[i], strlen(p->tags[i]), tag, strlen(tag))) {
			free(tag);
			return 0;
		}
	if (p->ntags == POST_TAGS_MAX) {
		p->warnings |= POST_WARN_TRUNCATED;
		free(tag);
		return 0;
	}
	if (p->ntags == ps->tags_cap) {
		cap = ps->tags_cap ? ps->tags_cap * 2 : 4;
		if ((grown = realloc(p->tags, cap * sizeof(*grown))) == NULL) {
			free(tag);
			return -1;
		}
		p->tags = grown;
		ps->tags_cap = cap;
	}
	p->tags[p->ntags++] = tag;
	return 0;
}

static int
add_tags(struct parse *ps, const char *s, size_t n)
{
	const char *comma;

	while ((comma = memchr(s, ',', n)) != NULL) {
		if (add_tag(ps, s, (size_t)(comma - s)) == -1)
			return -1;
		n -= (size_t)(comma - s) + 1;
		s = comma + 1;
	}
	return add_tag(ps, s, n);
}

/* Keeps the first value of a single-valued key; a repeat is a warning. */
static int
set_once(struct post *p, char **field, const char *s, size_t n, size_t max)
{
	char *v;

	if (clean_copy(s, n, max, true, &v, &p->warnings) == -1)
		return -1;
	if (v == NULL)
		return 0;
	if (*field != NULL) {
		p->warnings |= POST_WARN_HEADER;
		free(v);
		return 0;
	}
	*field = v;
	return 0;
}

static int
header_field(struct parse *ps, enum header_key key, const char *v, size_t n)
{
	struct post *p = ps->p;
	struct date *d = &ps->hdr_date;

	while (n > 0 && is_blank(*v))
		v++, n--;
	switch (key) {
	case KEY_TITLE:
		return set_once(p, &p->title, v, n, POST_TITLE_MAX);
	case KEY_AUTHOR:
		return set_once(p, &p->author, v, n, POST_NAME_MAX);
	case KEY_SOURCE:
		return set_once(p, &p->source, v, n, POST_NAME_MAX);
	case KEY_TAGS:
		return add_tags(ps, v, n);
	case KEY_DATE:
		if (n == 0)
			return 0;
		if (ps->have_date) {
			p->warnings |= POST_WARN_HEADER;
			return 0;
		}
		ps->have_date = true;
		ps->hdr_date_ok = post_date_parse(v, n, &d->year, &d->month, &d->day,
		    &d->hour, &d->minute, &d->second, &d->has_time) == 0;
		if (!ps->hdr_date_ok)
			p->warnings |= POST_WARN_DATE;
		return 0;
	case KEY_UNKNOWN:
		break;
	}
	p->warnings |= POST_WARN_HEADER;
	return 0;
}

/*
 * Reads the header block, if the first non-blank line opens one, and sets
 * ps->body_off to the line the body starts with.
 */
static int
parse_header(struct parse *ps)
{
	const char *v;
	size_t vlen, klen;
	int r;

	while ((r = next_line(ps)) == 1 && ps->line.len == 0)
		;
	if (r <= 0)
		return r;
	ps->body_off = ps->line_off;
	if (!split_key(ps->line.p, ps->line.len, &v, &vlen, &klen) ||
	    lookup_key(ps->line.p, klen) == KEY_UNKNOWN)
		return 0;
	for (;;) {
		if (ps->line.len == 0) {
			ps->body_off = ps->pos;
			return 0;
		}
		if (!split_key(ps->line.p, ps->line.len, &v, &vlen, &klen)) {
			/* The blank line was forgotten: this is the body. */
			ps->p->warnings |= POST_WARN_HEADER;
			ps->body_off = ps->line_off;
			return 0;
		}
		if (header_field(ps, lookup_key(ps->line.p, klen), v, vlen) == -1)
			return -1;
		if ((r = next_line(ps)) <= 0) {
			ps->body_off = ps->len;
			return r;
		}
	}
}

/*
 * Without a Title header, the first non-blank line of the body is the title;
 * a gemtext heading's '#'s are not part of it.
 */
static int
find_title(struct parse *ps)
{
	const char *s;
	unsigned w = 0;
	size_t n, hashes;
	int r;

	if (ps->p->title != NULL)
		return 0;
	ps->pos = ps->body_off;
	while ((r = next_line(ps)) == 1 && ps->line.len == 0)
		;
	if (r <= 0)
		return r;
	s = ps->line.p;
	n = ps->line.len;
	/* A gemtext fence opens preformatted text: no title, and the body keeps it. */
	if (n >= 3 && memcmp(s, "```", 3) == 0)
		return 0;
	ps->title_off = ps->line_off;
	for (hashes = 0; hashes < n && hashes < 3 && s[hashes] == '#'; hashes++)
		;
	if (hashes > 0 && hashes < n && (s[hashes] == ' ' || s[hashes] == '\t')) {
		while (hashes < n && (s[hashes] == ' ' || s[hashes] == '\t'))
			hashes++;
		/* "# " alone is no heading: the line stays the title. */
		if (hashes < n) {
			s += hashes;
			n -= hashes;
		}
	}
	if (clean_copy(s, n, POST_TITLE_MAX, true, &ps->p->title, &w) == -1)
		return -1;
	ps->p->warnings |= w;
	/* A line too long for a title is a paragraph: keep all of it. */
	ps->title_skip = !(w & POST_WARN_TRUNCATED);
	return 0;
}

/* The source a line "[Name]" names, or NULL (as *out). */
static int
source_name(const char *s, size_t n, char **out)
{
	const char *rest;
	size_t rlen;
	unsigned w = 0;

	*out = NULL;
	if (classify(s, n, &rest, &rlen) != LINE_TEXT || rlen < 2 || rest[0] != '[' ||
	    rest[rlen - 1] != ']' || memchr(rest + 1, '[', rlen - 2) != NULL ||
	    memchr(rest + 1, ']', rlen - 2) != NULL)
		return 0;
	if (clean_copy(rest + 1, rlen - 2, SIZE_MAX, false, out, &w) == -1)
		return -1;
	if (*out != NULL && strlen(*out) > POST_NAME_MAX) {
		free(*out);
		*out = NULL;
	}
	return 0;
}

/* Looks at the last non-blank line for "[Name]". */
static int
find_source(struct parse *ps)
{
	struct post *p = ps->p;
	char *name;
	int r;

	if (ps->last_off < ps->body_off || ps->last_off == ps->title_off)
		return 0;
	ps->pos = ps->last_off;
	if ((r = next_line(ps)) <= 0)
		return r;
	if (source_name(ps->line.p, ps->line.len, &name) == -1)
		return -1;
	if (name == NULL)
		return 0;
	if (p->source == NULL) {
		p->source = name;
		ps->last_skip = true;
		return 0;
	}
	/*
	 * Hidden from scan-build, whose strlen() is not tied to the bytes
	 * clean_copy() wrote: it reads name past its NUL and reports an
	 * uninitialized value (core.CallAndMessage). A false positive.
	 */
#ifndef __clang_analyzer__
	ps->last_skip = ascii_caseeq(name, strlen(name), p->source, strlen(p->source));
#endif
	free(name);
	return 0;
}

/*
 * Slug and date from the file name: the last path segment, less ".txt", less
 * a "YYYY-MM-DD-" prefix.
 */
static int
parse_name(struct parse *ps, const char *filename)
{
	struct post *p = ps->p;
	struct date *d = &ps->name_date;
	const char *base, *slash;
	size_t n, i;
	bool shaped = true;

	if (filename == NULL)
		filename = "";
	base = (slash = strrchr(filename, '/')) != NULL ? slash + 1 : filename;
	n = strlen(base);
	if (n >= 4 && memcmp(base + n - 4, ".txt", 4) == 0)
		n -= 4;
	for (i = 0; i < 10 && shaped; i++)
		shaped = i < n && (i == 4 || i == 7 ? base[i] == '-' : is_digit(base[i]));
	if (shaped && (n == 10 || base[10] == '-')) {
		ps->name_date_ok = post_date_parse(base, 10, &d->year, &d->month, &d->day,
		    &d->hour, &d->minute, &d->second, &d->has_time) == 0;
		if (!ps->name_date_ok)
			p->warnings |= POST_WARN_DATE;
		if (n > 11) {
			base += 11;
			n -= 11;
		}
	}
	if (repair(&ps->line, base, n, true, &p->warnings) == -1 ||
	    (p->slug = malloc(ps->line.len + 1)) == NULL)
		return -1;
	memcpy(p->slug, ps->line.p, ps->line.len + 1);
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long
days_from_civil(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

long long
post_when(const struct post *p)
{
	return days_from_civil(p->year, p->month, p->day) * 86400LL + p->hour * 3600 +
	    p->minute * 60 + p->second;
}

/* Seconds since the epoch as a UTC calendar date (proleptic Gregorian). */
static void
civil_from_epoch(long long t, struct date *d)
{
	long long days, secs, z, era, doe, yoe, doy, mp;

	t = t < EPOCH_MIN ? EPOCH_MIN : t > EPOCH_MAX ? EPOCH_MAX : t;
	days = t / 86400;
	secs = t % 86400;
	if (secs < 0)
		secs += 86400, days--;
	/* Howard Hinnant's civil_from_days: eras of 400 years from 0000-03-01. */
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	d->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	d->year = (int)(yoe + era * 400 + (d->month <= 2));
	d->hour = (int)(secs / 3600);
	d->minute = (int)(secs / 60 % 60);
	d->second = (int)(secs % 60);
	d->has_time = true;
}

static void
set_date(struct post *p, const struct date *d, enum post_date_source src)
{
	p->year = d->year;
	p->month = d->month;
	p->day = d->day;
	p->hour = d->hour;
	p->minute = d->minute;
	p->second = d->second;
	p->has_time = d->has_time;
	p->date_source = src;
}

/* Turns the block in ps->text into a post block, with its URLs. */
static int
emit(struct parse *ps, enum post_block_type type, const char *s, size_t n)
{
	struct post *p = ps->p;
	struct post_block b = { .type = type }, *grown;
	size_t i, k, nurls = 0, cap;

	if (p->nblocks == ps->blocks_cap) {
		cap = ps->blocks_cap ? ps->blocks_cap * 2 : 16;
		if (cap > SIZE_MAX / sizeof(*grown) ||
		    (grown = realloc(p->blocks, cap * sizeof(*grown))) == NULL)
			return -1;
		p->blocks = grown;
		ps->blocks_cap = cap;
	}
	if ((b.text = malloc(n + 1)) == NULL)
		return -1;
	memcpy(b.text, s, n);
	b.text[n] = '\0';
	if (type != POST_PRE && type != POST_LINK) {
		for (i = 0; i < n; i += k ? k : 1)
			if ((k = url_at(s, n, i)) > 0 && nurls++ == POST_URLS_MAX) {
				p->warnings |= POST_WARN_TRUNCATED;
				nurls--;
				break;
			}
		if (nurls > 0 && (b.urls = calloc(nurls, sizeof(*b.urls))) == NULL)
			goto fail;
		for (i = 0; i < n && b.nurls < nurls; i += k ? k : 1) {
			if ((k = url_at(s, n, i)) == 0)
				continue;
			if ((b.urls[b.nurls] = malloc(k + 1)) == NULL)
				goto fail;
			memcpy(b.urls[b.nurls], s + i, k);
			b.urls[b.nurls++][k] = '\0';
		}
	}
	p->blocks[p->nblocks++] = b;
	return 0;
fail:
	for (i = 0; i < b.nurls; i++)
		free(b.urls[i]);
	free(b.urls);
	free(b.text);
	return -1;
}

static int
flush(struct parse *ps)
{
	if (!ps->open)
		return 0;
	ps->open = false;
	ps->pre_blanks = 0;
	return emit(ps, ps->cur, ps->text.p, ps->text.len);
}

static int
open_block(struct parse *ps, enum post_block_type type)
{
	if (flush(ps) == -1)
		return -1;
	ps->open = true;
	ps->cur = type;
	ps->text.len = 0;
	return 0;
}

/* Appends words to the open block, one space between runs. */
static int
add_words(struct parse *ps, const char *s, size_t n)
{
	struct buf *t = &ps->text;

	if (buf_reserve(t, n + 1) == -1)
		return -1;
	join_words(t->p, &t->len, s, n, t->len > 0);
	return 0;
}

static int
add_pre(struct parse *ps, const char *s, size_t n)
{
	struct buf *t = &ps->text;

	if (buf_reserve(t, ps->pre_blanks + 1 + n) == -1)
		return -1;
	if (t->len > 0) {
		memset(t->p + t->len, '\n', ps->pre_blanks + 1);
		t->len += ps->pre_blanks + 1;
	}
	ps->pre_blanks = 0;
	memcpy(t->p + t->len, s, n);
	t->len += n;
	return 0;
}

/* "=> REF text": a link block, with its text when there is some. */
static int
gem_link(struct parse *ps, const char *s, size_t n)
{
	size_t ref = 0, len = 0;
	char *label;

	while (ref < n && !is_blank(s[ref]))
		ref++;
	if (flush(ps) == -1 || emit(ps, POST_LINK, s, ref) == -1)
		return -1;
	while (ref < n && is_blank(s[ref]))
		ref++;
	if (ref == n)
		return 0;
	if ((label = malloc(n - ref + 1)) == NULL)
		return -1;
	/* One space between words, as every block's text. */
	join_words(label, &len, s + ref, n - ref, false);
	label[len] = '\0';
	ps->p->blocks[ps->p->nblocks - 1].label = label;
	return 0;
}

static int
body_line(struct parse *ps)
{
	const char *s;
	size_t n;

	/* Gemtext's preformatted text: from a ``` line to the next, kept as it is. */
	if (ps->line.len >= 3 && memcmp(ps->line.p, "```", 3) == 0) {
		ps->fenced = !ps->fenced;
		return flush(ps);
	}
	if (ps->fenced) {
		if (ps->line.len == 0) {
			ps->pre_blanks += ps->open;
			return 0;
		}
		if (!(ps->open && ps->cur == POST_PRE) && open_block(ps, POST_PRE) == -1)
			return -1;
		return add_pre(ps, ps->line.p, ps->line.len);
	}
	switch (classify(ps->line.p, ps->line.len, &s, &n)) {
	case LINE_BLANK:
		if (ps->open && ps->cur == POST_PRE) {
			ps->pre_blanks++;
			return 0;
		}
		return flush(ps);
	case LINE_PRE:
		if (!(ps->open && ps->cur == POST_PRE) && open_block(ps, POST_PRE) == -1)
			return -1;
		return add_pre(ps, s, n);
	case LINE_QUOTE:
		if (n == 0)
			return flush(ps);
		if (!(ps->open && ps->cur == POST_QUOTE) && open_block(ps, POST_QUOTE) == -1)
			return -1;
		return add_words(ps, s, n);
	case LINE_ITEM:
		return open_block(ps, POST_ITEM) == -1 ? -1 : add_words(ps, s, n);
	case LINE_LINK:
		return flush(ps) == -1 ? -1 : emit(ps, POST_LINK, s, n);
	case LINE_GEMLINK:
		return gem_link(ps, s, n);
	case LINE_HEADING:
		/* A paragraph of its own, never joined to the lines after it. */
		if (open_block(ps, POST_PARA) == -1 || add_words(ps, s, n) == -1)
			return -1;
		return flush(ps);
	case LINE_TEXT:
		break;
	}
	if (!(ps->open && (ps->cur == POST_PARA || ps->cur == POST_ITEM)) &&
	    open_block(ps, POST_PARA) == -1)
		return -1;
	return add_words(ps, s, n);
}

static int
parse_body(struct parse *ps)
{
	int r;

	ps->pos = ps->body_off;
	while ((r = next_line(ps)) == 1) {
		if ((ps->line_off == ps->title_off && ps->title_skip) ||
		    (ps->line_off == ps->last_off && ps->last_skip))
			continue;
		if (body_line(ps) == -1)
			return -1;
	}
	return r == -1 ? -1 : flush(ps);
}

int
post_parse(const char *filename, const char *data, size_t len, long long mtime,
    enum post_mode mode, struct post *p, const char **why)
{
	struct parse ps;
	struct date d;

	memset(p, 0, sizeof(*p));
	memset(&ps, 0, sizeof(ps));
	*why = NULL;
	if (data == NULL)
		len = 0;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		data += 3, len -= 3;
	ps.data = data;
	ps.len = len;
	ps.p = p;
	ps.title_off = SIZE_MAX;
	if ((ps.last_off = last_line(data, len)) == len) {
		*why = "empty or blank";
		return -1;
	}
	ps.body_off = len;
	if (parse_name(&ps, filename) == -1 || parse_header(&ps) == -1 ||
	    find_title(&ps) == -1 || find_source(&ps) == -1)
		goto oom;
	if (p->title == NULL) {
		if (clean_copy(p->slug, strlen(p->slug), POST_TITLE_MAX, true, &p->title,
		    &p->warnings) == -1)
			goto oom;
		if (p->title == NULL) {
			*why = "nothing to title it with";
			goto fail;
		}
		p->warnings |= POST_WARN_NO_TITLE;
	}
	if (ps.hdr_date_ok)
		set_date(p, &ps.hdr_date, POST_DATE_HEADER);
	else if (ps.name_date_ok)
		set_date(p, &ps.name_date, POST_DATE_FILENAME);
	else {
		civil_from_epoch(mtime, &d);
		set_date(p, &d, POST_DATE_MTIME);
	}
	if (mode == POST_FULL && parse_body(&ps) == -1)
		goto oom;
	free(ps.line.p);
	free(ps.text.p);
	return 0;
oom:
	*why = "out of memory";
fail:
	free(ps.line.p);
	free(ps.text.p);
	post_free(p);
	return -1;
}

bool
post_block_apart(const struct post *p, size_t i)
{
	enum post_block_type t = p->blocks[i].type;

	return i + 1 < p->nblocks && !((t == POST_ITEM || t == POST_LINK) &&
	    p->blocks[i + 1].type == t);
}

void
post_free(struct post *p)
{
	size_t i, j;

	free(p->title);
	free(p->slug);
	free(p->author);
	free(p->source);
	for (i = 0; i < p->ntags; i++)
		free(p->tags[i]);
	free(p->tags);
	for (i = 0; i < p->nblocks; i++) {
		for (j = 0; j < p->blocks[i].nurls; j++)
			free(p->blocks[i].urls[j]);
		free(p->blocks[i].urls);
		free(p->blocks[i].text);
		free(p->blocks[i].label);
	}
	free(p->blocks);
	memset(p, 0, sizeof(*p));
}

const char *
post_warning_text(unsigned warnings, char *buf, size_t size)
{
	static const struct {
		unsigned bit;
		const char *text;
	} texts[] = {
		{ POST_WARN_UTF8, "invalid UTF-8 replaced" },
		{ POST_WARN_CONTROL, "control characters replaced" },
		{ POST_WARN_HEADER, "header lines ignored or no blank line after the header" },
		{ POST_WARN_DATE, "bad date in the header or file name" },
		{ POST_WARN_TRUNCATED, "title, name, tags or links cut to their limits" },
		{ POST_WARN_NO_TITLE, "no title: named after the file" },
	};
	size_t i, len = 0, k;
	const char *sep = "";

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (!(warnings & texts[i].bit))
			continue;
		k = strlen(sep) + strlen(texts[i].text);
		if (k >= size - len)
			break;
		memcpy(buf + len, sep, strlen(sep));
		memcpy(buf + len + strlen(sep), texts[i].text, strlen(texts[i].text) + 1);
		len += k;
		sep = "; ";
	}
	return buf;
}

static bool
digits(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

int
post_date_parse(const char *s, size_t len, int *year, int *month, int *day,
    int *hour, int *minute, int *second, bool *has_time)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, sec = 0;
	bool leap;

	if ((len != 10 && len != 17 && len != 20) || s[4] != '-' || s[7] != '-' ||
	    !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d))
		return -1;
	if (len > 10 && (s[10] != 'T' || s[13] != ':' || s[len - 1] != 'Z' ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
	    (len == 20 && (s[16] != ':' || !digits(s + 17, 2, &sec)))))
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
		return -1;
	*year = y, *month = mo, *day = d;
	*hour = h, *minute = mi, *second = sec;
	*has_time = len > 10;
	return 0;
}
