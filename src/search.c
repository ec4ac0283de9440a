#include "search.h"

#include <string.h>

#include "utf8.h"

static unsigned
fold_cp(unsigned cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp + 32;
	if (cp < 0xc0)
		return cp;
	if ((cp >= 0xc0 && cp <= 0xde && cp != 0xd7) ||	/* Latin-1 */
	    (cp >= 0x391 && cp <= 0x3ab && cp != 0x3a2) ||	/* Greek */
	    (cp >= 0x410 && cp <= 0x42f))			/* Cyrillic */
		return cp + 32;
	if (cp >= 0x400 && cp <= 0x40f)
		return cp + 80;
	/* Latin Extended-A pairs capitals with the next code point; two runs are odd. */
	if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14a && cp <= 0x177))
		return cp | 1;
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e))
		return (cp & 1) ? cp + 1 : cp;
	return cp;
}

/* Encodes cp (< 0x800, as every folded capital above is) and returns its length. */
static size_t
put_cp(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	out[0] = (char)(0xc0 | (cp >> 6));
	out[1] = (char)(0x80 | (cp & 0x3f));
	return 2;
}

size_t
search_fold(const char *s, size_t len, char *out)
{
	size_t i = 0, o = 0, n;
	uint32_t cp;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			out[o++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
			i++;
			continue;
		}
		n = utf8_decode(s + i, len - i, &cp);
		if (n == 2) {
			o += put_cp(out + o, fold_cp(cp));
		} else if (n == 0) {
			out[o++] = s[i];
			n = 1;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
		}
		i += n;
	}
	out[o] = '\0';
	return o;
}

/* Word characters: letters, digits and every non-ASCII byte. */
static bool
is_word_byte(unsigned char c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '_' || c == '\'';
}

int
search_terms_parse(struct search_terms *t, const char *query, size_t len)
{
	size_t i = 0, o, start;

	memset(t, 0, sizeof(*t));
	if (len > SEARCH_MAX_QUERY) {
		/* Cut at a character boundary, never inside a UTF-8 sequence. */
		len = SEARCH_MAX_QUERY;
		while (len > 0 && ((unsigned char)query[len] & 0xc0) == 0x80)
			len--;
	}
	o = search_fold(query, len, t->buf);
	while (i < o && t->n < SEARCH_MAX_WORDS) {
		while (i < o && !is_word_byte((unsigned char)t->buf[i]))
			t->buf[i++] = '\0';
		start = i;
		while (i < o && is_word_byte((unsigned char)t->buf[i]))
			i++;
		if (i > start) {
			t->word[t->n++] = t->buf + start;
			if (i < o)
				t->buf[i++] = '\0';
		}
	}
	return t->n;
}

void
search_scan(const struct search_terms *t, const char *folded, size_t len, unsigned *found)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (!(*found & (1u << i)) && memmem(folded, len, t->word[i], strlen(t->word[i])))
			*found |= 1u << i;
}

bool
search_complete(const struct search_terms *t, unsigned found)
{
	return t->n > 0 && found == (1u << t->n) - 1;
}
