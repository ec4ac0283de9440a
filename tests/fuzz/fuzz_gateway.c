/*
 * The checks of an application's answer on arbitrary bytes: the Gemini
 * header check never claims more than it is given, says the same of every
 * longer input once it has decided (so a header cut across records is
 * judged as a whole one), and takes only "NN META\r\n" lines; the Gopher
 * first-line tabs and the last bytes kept for the terminator come out the
 * same however the answer is cut.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "gateway.h"

static void
check_header(const char *in, size_t len)
{
	long whole = gateway_gemini_header(in, len), part;

	EXPECT(whole >= -1 && whole <= (long)len && whole <= GATEWAY_HEADER_MAX);
	if (whole > 0)
		EXPECT(whole >= 4 && in[whole - 2] == '\r' && in[whole - 1] == '\n' &&
		    in[0] >= '1' && in[0] <= '6' && in[1] >= '0' && in[1] <= '9');
	/* Every prefix is undecided, or decided as the whole is (by GATEWAY_HEADER_MAX bytes). */
	for (size_t n = 0; n <= len && n <= GATEWAY_HEADER_MAX + 1; n++) {
		part = gateway_gemini_header(in, n);
		EXPECT(part == 0 || part == whole);
	}
}

static void
check_gopher(const char *in, size_t len, size_t cut)
{
	char tail1[GATEWAY_TAIL] = "\n", tail2[GATEWAY_TAIL] = "\n";
	size_t n1 = 1, n2 = 1;
	bool ended1 = false, ended2 = false;
	int tabs1 = 0, tabs2 = 0;

	n1 = gateway_tail(tail1, n1, in, len);
	gateway_first_line(in, len, &tabs1, &ended1);
	if (cut > 0) {
		n2 = gateway_tail(tail2, n2, in, cut);
		gateway_first_line(in, cut, &tabs2, &ended2);
	}
	if (len > cut) {
		n2 = gateway_tail(tail2, n2, in + cut, len - cut);
		if (!ended2)
			gateway_first_line(in + cut, len - cut, &tabs2, &ended2);
	}
	EXPECT(n1 == n2 && n1 <= GATEWAY_TAIL && memcmp(tail1, tail2, n1) == 0);
	EXPECT(tabs1 == tabs2 && ended1 == ended2);
	EXPECT(gateway_gopher_unterminated(tail1, n1) == gateway_gopher_unterminated(tail2, n2));
}

FUZZ_TARGET(gateway)
{
	const char *in = (const char *)data;

	if (size < 1 || size > 4096)
		return 0;
	check_header(in + 1, size - 1);
	check_gopher(in + 1, size - 1, (size_t)data[0] % size);
	return 0;
}
