/* What a protocol handler gives the connection to send. */
#ifndef GAZETTE_RESPONSE_H
#define GAZETTE_RESPONSE_H

#include <stdbool.h>
#include <sys/types.h>
#include <event2/buffer.h>

struct titan_upload;
struct gateway_call;

enum response_wait {
	WAIT_NONE,
	WAIT_INDEX,		/* for the indexer to catch up */
	WAIT_SEARCH,		/* for the search thread */
};

struct response {
	int status;		/* for the access log: Gemini status, or 0 */
	const char *host;	/* the host that answered, for the log */
	struct evbuffer *out;	/* header and in-memory body, sent first */
	int fd;			/* then this file, streamed, or -1 */
	off_t file_left;	/* bytes of fd still to send */
	/*
	 * Transforms fd's bytes as they are streamed (Gopher's type-0 transport,
	 * gopher_text); NULL sends them raw. Called with in NULL once fd is done.
	 */
	void (*filter)(unsigned *state, const char *in, size_t len, struct evbuffer *out);
	unsigned filter_state;	/* the filter's, starts at 0 */
	/*
	 * Set instead of answering (request_ctx.may_wait) when the page needs
	 * the post index and the indexer is behind the disk, so a post saved
	 * before the request shows; or when a search is under way on the search
	 * thread. The connection asks again when that is over.
	 */
	enum response_wait wait;
	unsigned long index_ticket;	/* what it waits for; 0: not asked yet */
	/*
	 * Set instead of answering: a Titan upload accepted (titan.h), whose
	 * body the connection reads next. Malloc'd; the connection frees it.
	 */
	struct titan_upload *upload;
	/* Set instead of answering: a FastCGI application answers (gateway.h). */
	struct gateway_call *fcgi;
};

#endif
