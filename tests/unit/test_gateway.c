/* A Gemini application's header line, as the gateway checks it before sending. */
#include <string.h>

#include "gateway.h"
#include "test.h"

TEST(gateway_gemini_headers)
{
	static const struct {
		const char *answer;
		long want;	/* the header's length, 0: not whole yet, -1: refused */
	} rows[] = {
		{ "20 text/gemini\r\n# Hi\n", 16 }, { "20 text/gemini\r\n", 16 },
		{ "51\r\n", 4 }, { "10 Your name\r\n", 14 }, { "31 gemini://x/\r\n", 16 },
		{ "20 text/gem", 0 }, { "2", 0 }, { "", 0 }, { "20 x\r", 0 },
		{ "2x text/gemini\r\n", -1 }, { "70 nope\r\n", -1 }, { "09 nope\r\n", -1 },
		{ "20text/gemini\r\n", -1 }, { "20 a\rb\r\n", -1 }, { "20 a\n", 0 },
		{ "20 \x01\r\n", -1 }, { "20 \xff\r\n", -1 }, { "<html>", -1 },
	};
	char big[1100];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].answer);
		CHECK_INT(gateway_gemini_header(rows[i].answer, strlen(rows[i].answer)), rows[i].want);
	}
	test_context(NULL);
	/* A meta of 1024 bytes is taken, of 1025 not, nor a longer line without CRLF. */
	memset(big, 'm', sizeof(big));
	memcpy(big, "20 ", 3);
	memcpy(big + 3 + 1024, "\r\n", 2);
	CHECK_INT(gateway_gemini_header(big, 3 + 1024 + 2), 3 + 1024 + 2);
	big[3 + 1024] = 'm';
	memcpy(big + 3 + 1025, "\r\n", 2);
	CHECK_INT(gateway_gemini_header(big, 3 + 1025 + 2), -1);
	CHECK_INT(gateway_gemini_header(big, sizeof(big)), -1);
}

/*
 * A Gopher answer gets its "." line when it ends a line without one, fed
 * in every split into pieces; an answer that does not end a line is left.
 */
TEST(gateway_gopher_terminator)
{
	static const struct {
		const char *answer;
		bool add;
	} rows[] = {
		{ "", true }, { "\r\n", true }, { "iHello\tf\th\t70\r\n", true }, { "text\n", true },
		{ ".\r\n", false }, { ".\n", false }, { "iHi\r\n.\r\n", false }, { "a\n.\n", false },
		{ "binary", false }, { "no end\r", false }, { "x.\r\n", true }, { "\n..\r\n", true },
	};
	char tail[GATEWAY_TAIL];
	size_t i, cut, n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *a = rows[i].answer;
		size_t len = strlen(a);
		for (cut = 0; cut <= len; cut++) {
			test_context("\"%s\" cut at %zu", a, cut);
			tail[0] = '\n';
			n = 1;
			if (cut > 0)
				n = gateway_tail(tail, n, a, cut);
			if (len > cut)
				n = gateway_tail(tail, n, a + cut, len - cut);
			CHECK(n <= GATEWAY_TAIL);
			CHECK(gateway_gopher_unterminated(tail, n) == rows[i].add);
		}
	}
	test_context(NULL);
}

/* Whether answer, given in two pieces cut at cut, starts with a menu line. */
static bool
menu(const char *answer, size_t cut)
{
	size_t len = strlen(answer);
	bool ended = false;
	int tabs = 0;

	cut = cut < len ? cut : len;
	gateway_first_line(answer, cut, &tabs, &ended);
	if (!ended)
		gateway_first_line(answer + cut, len - cut, &tabs, &ended);
	return tabs >= GATEWAY_MENU_TABS;
}

/* A menu's first line has a menu line's three tabs, however it comes; text does not. */
TEST(gateway_gopher_menu_or_text)
{
	size_t cut;

	for (cut = 0; cut < 20; cut++) {
		test_context("cut at %zu", cut);
		CHECK(menu("iHello\t\tx\t70\r\n", cut));
		CHECK(menu("1Archive\t/archive/\thost\t70", cut));
		CHECK(!menu("Thank you, Ada.\r\n", cut));
		CHECK(!menu("a\tb\r\nc\td\te\tf\r\n", cut));
		CHECK(!menu("", cut));
	}
	test_context(NULL);
}
