/* Diagnostics and the access log. */
#ifndef GAZETTE_LOG_H
#define GAZETTE_LOG_H

#include <stddef.h>

/* Where lines go: stderr (path NULL or "-"), a file, or syslog (path "syslog"). */
int log_open(const char *path);
/*
 * Workers write their lines to fd (a pipe to the supervisor, which owns the
 * real destination). A line up to PIPE_BUF bytes arrives whole.
 */
void log_open_fd(int fd);

/* The supervisor's side: writes lines read from the pipe to the destination. */
void log_relay(const char *buf, size_t len);

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
