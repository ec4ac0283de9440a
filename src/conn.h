/*
 * One client connection, from accept to close: TLS or plain TCP underneath,
 * one request line read, one response written, close_notify, a lingering
 * close. Each connection has exactly one owner (the server's list) and one
 * close path, conn_close, which works from any state.
 */
#ifndef GAZETTE_CONN_H
#define GAZETTE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <openssl/ssl.h>

#include "response.h"
#include "server.h"

/* What a protocol handler knows of the connection it answers. */
struct request_ctx {
	const char *client;	/* the client's address, as text */
	const char *sni;	/* lowercased SNI name, or NULL */
	SSL *ssl;		/* NULL on plain TCP */
	bool may_wait;		/* the handler may set response.wait */
};

enum frame_result {
	FRAME_MORE,		/* no complete line yet */
	FRAME_LINE,		/* *linelen bytes make the request, terminator excluded */
	FRAME_TOO_LONG,		/* the line cannot be valid: answer now */
};

/* A protocol: how its requests are framed and answered. */
struct proto_ops {
	const char *name;	/* for the log */
	const char *tls_name;	/* for the log, when it came over TLS */
	size_t max_line;	/* the largest request the read buffer must hold */
	enum frame_result (*frame)(const char *buf, size_t len, size_t *linelen);
	/*
	 * Answers one request (line NULL when the frame was too long). Fills r:
	 * status, host, bytes in r->out, optionally a file in r->fd.
	 */
	void (*handle)(struct server *s, const struct request_ctx *ctx,
	    const char *line, size_t len, struct response *r);
	/* Answers with an error of this (Gemini) status instead of serving. */
	void (*refuse)(struct response *r, int status, const char *message);
};

/* The size of a server's scratch buffer: a file is streamed this much at a time. */
#define CONN_FILE_CHUNK (32 * 1024)

struct ctl_msg;

/* The publisher's answer to an upload (titan.h): the connection that waits for it says so. */
void conn_published(struct server *s, const struct ctl_msg *m);

/* The supervisor's answer to a FastCGI call: its socket (fd, taken), or why not. */
void conn_fcgi_socket(struct server *s, const struct ctl_msg *m, int fd);

/* Takes ownership of fd, accepted on l. */
void conn_accept(struct server *s, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen);

/*
 * For SIGTERM: closes the connections that have not sent a byte yet, after a
 * short grace for those that have only just connected.
 */
void conn_close_idle(struct server *s);

/* Closes every connection (at exit). */
void conn_close_all(struct server *s);

/*
 * Asks the handlers of the connections waiting for a fresher post index
 * again (a new image came, or time passed); those that can be answered now
 * go on to send.
 */
void conn_resume_waiting(struct server *s);

#endif
