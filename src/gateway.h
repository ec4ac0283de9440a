/*
 * The FastCGI gateway (fastcgi = PREFIX TARGET [SCRIPT]): what a request
 * under a prefix becomes for the application, the CGI/1.1 variables as
 * gmid and CGI conventions set them for Gemini and Gopher, and the check of
 * a Gemini application's answer. The connection itself is the supervisor's
 * to make (workers may not open sockets) and conn.c's to drive.
 */
#ifndef GAZETTE_GATEWAY_H
#define GAZETTE_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>
#include <event2/buffer.h>

/* What the application is told of a request. */
struct gateway_request {
	bool gemini;		/* else Gopher */
	const char *server_name;	/* the site's name */
	int port;
	const char *prefix;	/* the fastcgi line's prefix, as configured */
	const char *script;	/* SCRIPT_FILENAME, or "" */
	const char *path;	/* the request's decoded path */
	const char *query;	/* as sent (Gemini: still encoded), or NULL */
	const char *url;	/* Gemini: the URL requested; NULL over Gopher */
	const char *client;	/* the client's address */
	SSL *ssl;		/* NULL on plain TCP */
};

/* A call to an application, made by the handler, carried out by the connection. */
struct gateway_call {
	int site, app;		/* the host, and its fastcgi line */
	bool gemini;		/* the answer is a Gemini response, checked */
	struct evbuffer *records;	/* the FastCGI request, ready to send */
};

/* The call for rq, or NULL when out of memory (or its variables do not fit). */
struct gateway_call *gateway_call(int site, int app, const struct gateway_request *rq);
void gateway_free(struct gateway_call *c);

/*
 * How long the header line of a Gemini answer in data[0..len) is (CRLF
 * included) when it is whole and valid: two digits from 10 to 69, a space
 * (or CRLF at once), a meta of at most 1024 bytes of UTF-8 without a
 * control character. 0 while it may still come whole; -1 when it is not a
 * Gemini header.
 */
long gateway_gemini_header(const char *data, size_t len);

/* The longest such header: "NN ", a meta of 1024 bytes, CRLF. */
#define GATEWAY_HEADER_MAX 1029

/*
 * A Gopher answer's last GATEWAY_TAIL bytes, kept as it streams: tail holds
 * tail_len of them; data[0..len) follows. Returns the new tail_len.
 */
#define GATEWAY_TAIL 4
size_t gateway_tail(char *tail, size_t tail_len, const char *data, size_t len);

/*
 * Counts the tabs of a Gopher answer's first line as the answer streams:
 * data[0..len) adds to *tabs until the line's '\n', which sets *ended. A
 * menu's first line has GATEWAY_MENU_TABS or more; text's has fewer.
 */
#define GATEWAY_MENU_TABS 3
void gateway_first_line(const char *data, size_t len, int *tabs, bool *ended);

/*
 * Whether an answer whose last bytes are tail (started by a '\n' when the
 * answer is shorter) needs the "." line that ends a Gopher menu or text:
 * it ends a line, but not with ".". An answer that does not end a line (a
 * binary file) is left as it is.
 */
bool gateway_gopher_unterminated(const char *tail, size_t tail_len);

#endif
