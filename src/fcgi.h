/*
 * FastCGI (version 1, the responder role) as a client speaks it: records
 * to begin a request, its parameters and its (empty or short) input; and an
 * incremental parser of the application's records, which hands out its
 * stdout and stderr bytes as they come and says when the request ends.
 * One request a connection, never multiplexed: a record of another request
 * id is an error, as is anything the responder role does not send.
 */
#ifndef GAZETTE_FCGI_H
#define GAZETTE_FCGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#define FCGI_PARAMS_MAX (32 * 1024)	/* bytes of parameters a request sends */

/* Appends BEGIN_REQUEST (responder, no keep-alive) for request id. */
void fcgi_begin(struct evbuffer *out, uint16_t id);

/*
 * Appends one name-value pair, as a PARAMS record of its own. -1 when the
 * pair would not fit in a record (a name or value over 64 KiB less its
 * lengths), nothing appended.
 */
int fcgi_param(struct evbuffer *out, uint16_t id, const char *name, const char *value);

/* Appends the end of the parameters, then len bytes of stdin (none: 0) and its end. */
void fcgi_finish(struct evbuffer *out, uint16_t id, const void *in, size_t len);

enum fcgi_event {
	FCGI_MORE,		/* nothing to say yet: give it more bytes */
	FCGI_STDOUT,		/* *data, *dlen: bytes of the answer */
	FCGI_STDERR,		/* ... of the application's errors */
	FCGI_END,		/* the request is over (app_status, protocol_status) */
	FCGI_ERROR,		/* not FastCGI a responder sends: why */
};

struct fcgi_parser {
	uint16_t id;
	unsigned char head[8];	/* the record header being read */
	size_t head_len;
	uint8_t type;		/* the record being read, once its header is whole */
	size_t content_left;
	size_t padding_left;
	unsigned char end[8];	/* END_REQUEST's body */
	size_t end_len;
	enum fcgi_event state;	/* FCGI_END or FCGI_ERROR once there */
	uint32_t app_status;
	uint8_t protocol_status;	/* 0: the request completed */
	const char *why;
};

void fcgi_parser_init(struct fcgi_parser *p, uint16_t id);

/*
 * Reads from in[0..len): *used bytes are consumed (never more than len).
 * STDOUT and STDERR give their bytes in *data, *dlen (pointing into in);
 * FCGI_MORE means every byte given was consumed. Once FCGI_END or
 * FCGI_ERROR, it stays so and consumes nothing more. Linear in len.
 */
enum fcgi_event fcgi_parse(struct fcgi_parser *p, const void *in, size_t len, size_t *used,
    const char **data, size_t *dlen);

#endif
