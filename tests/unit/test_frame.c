/* Gemini request framing. */
#include "gemini.h"
#include "test.h"
#include "url.h"

TEST(gemini_frame_rules)
{
	char big[URL_MAX + 8];
	size_t n = 0;

	CHECK_INT(gemini_frame("gemini://a/\r\n", 13, &n), FRAME_LINE);
	CHECK_INT(n, 11);
	CHECK_INT(gemini_frame("gemini://a/\r", 12, &n), FRAME_MORE);
	CHECK_INT(gemini_frame("gemini://a/\n", 12, &n), FRAME_MORE);
	CHECK_INT(gemini_frame("gemini://a/\n\r\n", 14, &n), FRAME_LINE);
	CHECK_INT(n, 12);
	memset(big, 'a', sizeof(big));
	big[URL_MAX] = '\r';
	big[URL_MAX + 1] = '\n';
	CHECK_INT(gemini_frame(big, URL_MAX + 2, &n), FRAME_LINE);
	CHECK_INT(n, URL_MAX);
	CHECK_INT(gemini_frame(big, URL_MAX + 1, &n), FRAME_MORE);
	big[URL_MAX] = 'a';
	CHECK_INT(gemini_frame(big, URL_MAX + 1, &n), FRAME_TOO_LONG);
	big[URL_MAX + 1] = '\r';
	big[URL_MAX + 2] = '\n';
	CHECK_INT(gemini_frame(big, URL_MAX + 3, &n), FRAME_TOO_LONG);
}
