/* Diagnostics and the access log. */
#ifndef GAZETTE_LOG_H
#define GAZETTE_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* Where lines go: stderr (path NULL or "-"), a file, or syslog (path "syslog"). */
int log_open(const char *path);
/*
 * A child (worker, indexer) sends its lines over its control channel to the
 * supervisor, which owns the real destination. Sending never blocks: while
 * the supervisor falls behind, lines wait in a bounded queue; past that they
 * are counted and dropped, and one line says how many once the way is free.
 */
void log_open_channel(int fd);

/* Whether lines are waiting; then call log_flush once the channel is writable. */
bool log_backlog(void);
void log_flush(void);

/* Called when lines start waiting, so an event loop can watch for writability. */
void log_on_backlog(void (*hook)(void *), void *arg);

/* The supervisor's side: writes one line a child sent to the destination. */
void log_relay(const char *line, size_t len);

/* Reopens the same destination, for SIGUSR1 after a rotation. */
int log_reopen(void);
void log_close(void);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One access-log line. request is escaped here, so any bytes may be passed. */
struct log_access {
	const char *client;	/* address, or "-" when hidden */
	const char *proto;	/* "gemini", "gopher", "gophers" */
	const char *host;	/* served host, or "-" */
	const char *request;	/* the request line as received, without CRLF */
	size_t request_len;
	int status;		/* protocol status; 0 when no response was sent */
	unsigned long long bytes;
	long duration_ms;
	const char *cert;	/* the client certificate's SHA-256 "AB:CD:...", or NULL */
	const char *note;	/* NULL, or why the connection ended early */
};
void log_access(const struct log_access *a);

/*
 * The client address as the access log shows it: "full" as it is, "masked"
 * with the last IPv4 byte or all of IPv6 past the /48 zeroed, "none" as "-".
 */
const char *log_client(const char *addr, const char *mode, char *buf, size_t size);

/* Formats the current UTC time as 2026-01-31T12:34:56Z into buf (>= 21 bytes). */
void log_time(char *buf, size_t size);

#endif
