#include "fold.h"

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
fold_case(const char *s, size_t len, char *out)
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
