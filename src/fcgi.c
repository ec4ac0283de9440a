#include "fcgi.h"

#include <string.h>

#define VERSION 1
#define BEGIN_REQUEST 1
#define END_REQUEST 3
#define PARAMS 4
#define STDIN 5
#define STDOUT 6
#define STDERR 7
#define RESPONDER 1
#define CONTENT_MAX 65535

/* A record header for content of len bytes, padded to a multiple of 8. */
static void
header(struct evbuffer *out, uint8_t type, uint16_t id, size_t len)
{
	unsigned char h[8] = { VERSION, type, (unsigned char)(id >> 8), (unsigned char)id,
	    (unsigned char)(len >> 8), (unsigned char)len, (unsigned char)(-len & 7), 0 };

	evbuffer_add(out, h, sizeof(h));
}

static void
padding(struct evbuffer *out, size_t len)
{
	static const unsigned char zeros[8];

	evbuffer_add(out, zeros, -len & 7);
}

static void
record(struct evbuffer *out, uint8_t type, uint16_t id, const void *content, size_t len)
{
	header(out, type, id, len);
	evbuffer_add(out, content, len);
	padding(out, len);
}

void
fcgi_begin(struct evbuffer *out, uint16_t id)
{
	static const unsigned char body[8] = { 0, RESPONDER, 0 };

	record(out, BEGIN_REQUEST, id, body, sizeof(body));
}

/* A name-value pair's length: one byte below 128, else four with the top bit set. */
static size_t
put_length(unsigned char *p, size_t n)
{
	if (n < 128) {
		p[0] = (unsigned char)n;
		return 1;
	}
	p[0] = (unsigned char)(0x80 | (n >> 24));
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	return 4;
}

int
fcgi_param(struct evbuffer *out, uint16_t id, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), k;
	unsigned char lens[8];

	if (nl > CONTENT_MAX || vl > CONTENT_MAX)
		return -1;
	k = put_length(lens, nl);
	k += put_length(lens + k, vl);
	if (k + nl + vl > CONTENT_MAX)
		return -1;
	header(out, PARAMS, id, k + nl + vl);
	evbuffer_add(out, lens, k);
	evbuffer_add(out, name, nl);
	evbuffer_add(out, value, vl);
	padding(out, k + nl + vl);
	return 0;
}

void
fcgi_finish(struct evbuffer *out, uint16_t id, const void *in, size_t len)
{
	const char *p = in;
	size_t n;

	record(out, PARAMS, id, NULL, 0);
	for (; len > 0; p += n, len -= n) {
		n = len < CONTENT_MAX ? len : CONTENT_MAX;
		record(out, STDIN, id, p, n);
	}
	record(out, STDIN, id, NULL, 0);
}

void
fcgi_parser_init(struct fcgi_parser *p, uint16_t id)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->state = FCGI_MORE;
}

static enum fcgi_event
fail(struct fcgi_parser *p, const char *why)
{
	p->state = FCGI_ERROR;
	p->why = why;
	return FCGI_ERROR;
}

/* The header just read: checked, its content and padding to come. */
static enum fcgi_event
start_record(struct fcgi_parser *p)
{
	const unsigned char *h = p->head;

	p->head_len = 0;
	p->type = h[1];
	p->content_left = (size_t)h[4] << 8 | h[5];
	p->padding_left = h[6];
	if (h[0] != VERSION)
		return fail(p, "not FastCGI version 1");
	if (((uint16_t)(h[2] << 8 | h[3])) != p->id)
		return fail(p, "a record of another request");
	switch (p->type) {
	case STDOUT:
	case STDERR:
		return FCGI_MORE;
	case END_REQUEST:
		if (p->content_left != sizeof(p->end))
			return fail(p, "an END_REQUEST record of the wrong size");
		p->end_len = 0;
		return FCGI_MORE;
	default:
		return fail(p, "a record a responder does not send");
	}
}

/* Whether the END_REQUEST record is whole (its padding too): then the request is over. */
static bool
ended(struct fcgi_parser *p)
{
	if (p->type != END_REQUEST || p->head_len > 0 || p->content_left > 0 ||
	    p->padding_left > 0)
		return false;
	p->app_status = (uint32_t)p->end[0] << 24 | (uint32_t)p->end[1] << 16 |
	    (uint32_t)p->end[2] << 8 | p->end[3];
	p->protocol_status = p->end[4];
	p->state = FCGI_END;
	return true;
}

enum fcgi_event
fcgi_parse(struct fcgi_parser *p, const void *in, size_t len, size_t *used,
    const char **data, size_t *dlen)
{
	const unsigned char *s = in;
	size_t i = 0, n;
	enum fcgi_event ev;

	*used = 0;
	*data = NULL;
	*dlen = 0;
	if (p->state != FCGI_MORE)
		return p->state;
	while (i < len) {
		/* Between records: the next header, byte by byte if need be. */
		if (p->head_len > 0 || (p->content_left == 0 && p->padding_left == 0 &&
		    p->type != END_REQUEST)) {
			n = sizeof(p->head) - p->head_len < len - i ? sizeof(p->head) - p->head_len :
			    len - i;
			memcpy(p->head + p->head_len, s + i, n);
			p->head_len += n;
			i += n;
			if (p->head_len < sizeof(p->head))
				break;
			if ((ev = start_record(p)) != FCGI_MORE) {
				*used = i;
				return ev;
			}
			continue;
		}
		if (p->content_left > 0) {
			n = p->content_left < len - i ? p->content_left : len - i;
			p->content_left -= n;
			if (p->type == END_REQUEST) {
				memcpy(p->end + p->end_len, s + i, n);
				p->end_len += n;
				i += n;
				continue;
			}
			*data = (const char *)s + i;
			*dlen = n;
			*used = i + n;
			return p->type == STDOUT ? FCGI_STDOUT : FCGI_STDERR;
		}
		if (p->padding_left > 0) {
			n = p->padding_left < len - i ? p->padding_left : len - i;
			p->padding_left -= n;
			i += n;
		}
		if (ended(p))
			break;
	}
	*used = i;
	return ended(p) ? FCGI_END : FCGI_MORE;
}
