/*
 * The FastCGI parser on arbitrary bytes, fed whole and in pieces whose
 * sizes the bytes choose: it never reads past what it is given, hands out
 * only bytes of the input, consumes everything when it asks for more,
 * stops for good at the end or an error, and reaches the same end and the
 * same stdout however the bytes are cut.
 */
#include <stdlib.h>
#include <string.h>

#include "fcgi.h"
#include "fuzz.h"

/* Parses in[0..len) in pieces of step bytes; the stdout gathered in out. */
static enum fcgi_event
run(const unsigned char *in, size_t len, size_t step, char *out, size_t *olen)
{
	enum fcgi_event ev = FCGI_MORE;
	struct fcgi_parser p;
	size_t off = 0, n, used, dlen;
	const char *data;

	fcgi_parser_init(&p, 1);
	*olen = 0;
	while (off < len && ev != FCGI_END && ev != FCGI_ERROR) {
		n = len - off < step ? len - off : step;
		ev = fcgi_parse(&p, in + off, n, &used, &data, &dlen);
		EXPECT(used <= n);
		if (ev == FCGI_MORE)
			EXPECT(used == n);
		if (ev == FCGI_STDOUT || ev == FCGI_STDERR) {
			EXPECT(dlen > 0 && data >= (const char *)in + off &&
			    data + dlen <= (const char *)in + off + used);
			if (ev == FCGI_STDOUT) {
				memcpy(out + *olen, data, dlen);
				*olen += dlen;
			}
		} else
			EXPECT(data == NULL && dlen == 0);
		off += used;
	}
	if (ev == FCGI_END || ev == FCGI_ERROR) {
		EXPECT(fcgi_parse(&p, in, len, &used, &data, &dlen) == ev && used == 0);
		EXPECT(ev != FCGI_ERROR || p.why != NULL);
	}
	return ev;
}

FUZZ_TARGET(fcgi)
{
	size_t step, olen1, olen2;
	enum fcgi_event whole, cut;
	char *out1, *out2;

	if (size < 1 || size > 1 << 16)
		return 0;
	step = (size_t)data[0] % 13 + 1;
	out1 = malloc(size);
	out2 = malloc(size);
	if (out1 != NULL && out2 != NULL) {
		whole = run(data + 1, size - 1, size, out1, &olen1);
		cut = run(data + 1, size - 1, step, out2, &olen2);
		EXPECT(whole == cut);
		EXPECT(olen1 == olen2 && memcmp(out1, out2, olen1) == 0);
	}
	free(out1);
	free(out2);
	return 0;
}
