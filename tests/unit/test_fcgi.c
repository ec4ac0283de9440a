/*
 * The FastCGI records gazette sends (checked byte by byte against the
 * specification's layout) and the parser of what an application answers,
 * fed whole and one byte at a time.
 */
#include <string.h>

#include <event2/buffer.h>

#include "fcgi.h"
#include "test.h"

/* A byte string that may hold NULs. */
#define B(s) s, sizeof(s) - 1

TEST(fcgi_request_records)
{
	static const char want[] =
	    /* BEGIN_REQUEST, id 0x0102, 8 bytes: responder, no keep-alive */
	    "\x01\x01\x01\x02\x00\x08\x00\x00" "\x00\x01\x00\x00\x00\x00\x00\x00"
	    /* PARAMS: "GATEWAY_INTERFACE" = "CGI/1.1", 26 bytes padded by 6 */
	    "\x01\x04\x01\x02\x00\x1a\x06\x00" "\x11\x07" "GATEWAY_INTERFACE" "CGI/1.1"
	    "\x00\x00\x00\x00\x00\x00"
	    /* PARAMS end, STDIN end */
	    "\x01\x04\x01\x02\x00\x00\x00\x00" "\x01\x05\x01\x02\x00\x00\x00\x00";
	/* 305 bytes of content (0x131), padded by 7; the value's length 299 (0x12b). */
	static const char long_head[] = "\x01\x04\x00\x01\x01\x31\x07\x00"
	    "\x01\x80\x00\x01\x2b" "Q";
	struct evbuffer *out = evbuffer_new();
	char big[300];
	size_t len;

	fcgi_begin(out, 0x0102);
	CHECK_INT(fcgi_param(out, 0x0102, "GATEWAY_INTERFACE", "CGI/1.1"), 0);
	fcgi_finish(out, 0x0102, NULL, 0);
	len = evbuffer_get_length(out);
	CHECK_MEM(evbuffer_pullup(out, -1), len, want, sizeof(want) - 1);
	evbuffer_drain(out, len);
	/* A value of 128 bytes or more: its length in four bytes, the top bit set. */
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(fcgi_param(out, 1, "Q", big), 0);
	CHECK_MEM(evbuffer_pullup(out, 14), 14, long_head, sizeof(long_head) - 1);
	CHECK_INT(evbuffer_get_length(out), 8 + 1 + 4 + 1 + 299 + 7);
	evbuffer_free(out);
}

/* What an application answers for request 1: stdout in two records, stderr, the end. */
static const char answer[] =
    "\x01\x06\x00\x01\x00\x0a\x06\x00" "20 text/pl" "\x00\x00\x00\x00\x00\x00"
    "\x01\x07\x00\x01\x00\x04\x04\x00" "oops" "\x00\x00\x00\x00"
    "\x01\x06\x00\x01\x00\x07\x01\x00" "ain\r\nhi" "\x00"
    "\x01\x06\x00\x01\x00\x00\x00\x00"
    "\x01\x03\x00\x01\x00\x08\x00\x00" "\x00\x00\x00\x2a\x00\x00\x00\x00"
    "trailing bytes never read";

/* Parses len bytes of in, step bytes a call; the stdout and stderr gathered. */
static enum fcgi_event
parse_all(struct fcgi_parser *p, const char *in, size_t len, size_t step, char *out,
    char *err)
{
	enum fcgi_event ev = FCGI_MORE;
	size_t off = 0, used, dlen, n, o = 0, e = 0;
	const char *data;

	while (off < len && ev != FCGI_END && ev != FCGI_ERROR) {
		n = len - off < step ? len - off : step;
		ev = fcgi_parse(p, in + off, n, &used, &data, &dlen);
		CHECK(used <= n);
		if (ev == FCGI_STDOUT)
			memcpy(out + o, data, dlen), o += dlen;
		if (ev == FCGI_STDERR)
			memcpy(err + e, data, dlen), e += dlen;
		off += used;
	}
	out[o] = err[e] = '\0';
	return ev;
}

TEST(fcgi_answers)
{
	static const struct {
		const char *in;
		size_t len;
		const char *why;	/* NULL: ends well */
	} bad[] = {
		{ B("\x02\x06\x00\x01\x00\x00\x00\x00"), "not FastCGI version 1" },
		{ B("\x01\x06\x00\x02\x00\x00\x00\x00"), "a record of another request" },
		{ B("\x01\x0a\x00\x01\x00\x00\x00\x00"), "a record a responder does not send" },
		{ B("\x01\x05\x00\x01\x00\x00\x00\x00"), "a record a responder does not send" },
		{ B("\x01\x03\x00\x01\x00\x04\x00\x00" "\x00\x00\x00\x00"),
		    "an END_REQUEST record of the wrong size" },
	};
	struct fcgi_parser p;
	char out[100], err[100];
	const char *data;
	size_t step, i, used, dlen;

	for (step = 1; step <= sizeof(answer); step++) {
		test_context("%zu bytes a call", step);
		fcgi_parser_init(&p, 1);
		CHECK_INT(parse_all(&p, answer, sizeof(answer) - 1, step, out, err), FCGI_END);
		CHECK_STR(out, "20 text/plain\r\nhi");
		CHECK_STR(err, "oops");
		CHECK_INT(p.app_status, 42);
		CHECK_INT(p.protocol_status, 0);
		/* Over: it stays so, and reads nothing more. */
		CHECK_INT(fcgi_parse(&p, "x", 1, &used, &data, &dlen), FCGI_END);
		CHECK_INT(used, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_context("%s", bad[i].why);
		fcgi_parser_init(&p, 1);
		CHECK_INT(parse_all(&p, bad[i].in, bad[i].len, 3, out, err), FCGI_ERROR);
		CHECK_STR(p.why, bad[i].why);
	}
	/* Cut short: neither over nor wrong, only waiting for more. */
	test_context(NULL);
	fcgi_parser_init(&p, 1);
	i = parse_all(&p, answer, 50, 7, out, err);
	CHECK(i != FCGI_END && i != FCGI_ERROR);
	CHECK_INT(fcgi_parse(&p, "", 0, &used, &data, &dlen), FCGI_MORE);
}
