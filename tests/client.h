/* Test clients: Gemini over real TLS and plain TCP, on loopback. */
#ifndef GAZETTE_TEST_CLIENT_H
#define GAZETTE_TEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct ssl_session_st;

struct client_opts {
	const char *sni;	/* NULL: send none */
	int min_version;	/* TLS1_VERSION...; 0: the library default */
	int max_version;
	/*
	 * How long the server may stay silent, 0: 5000. It bounds progress,
	 * not the whole exchange, so a slow machine (or a sanitizer build)
	 * reading a large body is not taken for a hung server.
	 */
	int timeout_ms;
	const char *cert;	/* a client certificate and key, or NULL */
	const char *key;
	/*
	 * Session resumption: a session (SSL_SESSION) to offer, when *session
	 * holds one; gemini_fetch leaves the connection's own there at the end
	 * (freeing the old). NULL: none offered, none kept. Free with
	 * SSL_SESSION_free.
	 */
	struct ssl_session_st **session;
	/*
	 * The local IPv4 address to connect from, such as "127.0.0.2" (any of
	 * 127/8 is loopback); NULL: the system's choice.
	 */
	const char *source;
	int rcvbuf;		/* > 0: the socket's receive buffer, a small window for a slow reader */
	/* Bytes sent in the clear before the handshake (a PROXY header), or NULL. */
	const void *prefix;
	size_t prefix_len;
};

struct reply {
	char *data;		/* everything received, NUL-terminated */
	size_t len;
	size_t cap;		/* bytes allocated at data */
	bool connected;		/* TCP connected */
	bool handshake;		/* TLS handshake completed */
	bool close_notify;	/* the server's close_notify arrived */
	bool timed_out;		/* nothing more came before the timeout */
	bool reset;		/* the connection ended without close_notify */
	int version;		/* the TLS version agreed (TLS1_2_VERSION...), or 0 */
	bool resumed;		/* the offered session was resumed */
	char fingerprint[100];	/* SHA-256 of the server's certificate, "AB:CD:..." */
	char error[256];
};

/* Sends req (len bytes) over TLS to 127.0.0.1:port, reads to the end. */
int gemini_fetch(int port, const struct client_opts *o, const void *req, size_t len,
    struct reply *r);

/* The same with a NUL-terminated request and only SNI "localhost". */
int gemini_get(int port, const char *req, struct reply *r);

/*
 * The same in steps, for tests that pace the client: connect and handshake
 * (NULL on failure, with r telling how far it got), send, read until r holds
 * at least want bytes or the connection ends (want SIZE_MAX: to the end),
 * disconnect. The timeout counts from gemini_connect, then from the last
 * bytes received.
 */
struct gemini_conn;
struct gemini_conn *gemini_connect(int port, const struct client_opts *o, struct reply *r);
int gemini_send(struct gemini_conn *c, const void *req, size_t len, struct reply *r);
void gemini_read(struct gemini_conn *c, size_t want, struct reply *r);
void gemini_disconnect(struct gemini_conn *c);

/* Plain TCP: sends req, reads until the server closes or is silent for the timeout. */
int tcp_fetch(int port, const void *req, size_t len, int timeout_ms, struct reply *r);

/* The same from the local address source (as client_opts.source). */
int tcp_fetch_from(int port, const char *source, const void *req, size_t len,
    int timeout_ms, struct reply *r);

/* An empty reply; appending grows it geometrically, so long bodies cost linear time. */
void reply_init(struct reply *r);
void reply_append(struct reply *r, const void *buf, size_t n);
void reply_free(struct reply *r);

/* The reply's header line without CRLF, into buf; "" when there is none. */
const char *reply_header(const struct reply *r, char *buf, size_t size);
/* Bytes after the header. */
const char *reply_body(const struct reply *r, size_t *len);

#endif
