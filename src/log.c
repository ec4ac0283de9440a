/*
 * Diagnostics and the access log.
 *
 * Everything is one line per event, so that grep, awk and log shippers can take
 * it apart. The access log line is
 *
 *   TIME CLIENT PROTO HOST "REQUEST" STATUS BYTES DURATIONms CERT [NOTE]
 *
 * with the request escaped (\" \\ \xNN), so a hostile request cannot forge a line.
 * CERT is the SHA-256 fingerprint of the client's certificate, "AB:CD:..." as
 * require_cert takes it, or "-" without one; NOTE, why a connection ended
 * early, is the only optional field, so it comes last.
 */
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static int log_fd = STDERR_FILENO;
static void log_write(int prio, const char *line, size_t len);
static int use_syslog;
static char log_path[4096];

int
log_open(const char *path)
{
	int fd;

	if (path == NULL || strcmp(path, "-") == 0 || *path == '\0') {
		log_close();
		log_fd = STDERR_FILENO;
		log_path[0] = '\0';
		return 0;
	}
	if (strcmp(path, "syslog") == 0) {
		log_close();
		openlog("gazette", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		use_syslog = 1;
		snprintf(log_path, sizeof(log_path), "%s", path);
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return -1;
	log_close();
	log_fd = fd;
	snprintf(log_path, sizeof(log_path), "%s", path);
	return 0;
}

void
log_open_fd(int fd)
{
	log_close();
	log_fd = fd;
	log_path[0] = '\0';
}

void
log_relay(const char *buf, size_t len)
{
	const char *nl;

	if (!use_syslog) {
		log_write(LOG_INFO, buf, len);
		return;
	}
	/* syslog takes one message a call: split at the line ends. */
	while (len > 0) {
		nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;
		if (n > 0)
			syslog(LOG_INFO, "%.*s", (int)n, buf);
		n += nl != NULL;
		buf += n;
		len -= n;
	}
}

int
log_reopen(void)
{
	char path[sizeof(log_path)];

	if (log_path[0] == '\0' || use_syslog)
		return 0;
	memcpy(path, log_path, sizeof(path));
	return log_open(path);
}

void
log_close(void)
{
	if (use_syslog) {
		closelog();
		use_syslog = 0;
	}
	if (log_fd != STDERR_FILENO && log_path[0] != '\0')
		close(log_fd);
	log_fd = STDERR_FILENO;
}

const char *
log_client(const char *addr, const char *mode, char *buf, size_t size)
{
	unsigned char a[16];

	if (strcmp(mode, "none") == 0)
		return "-";
	if (strcmp(mode, "masked") != 0)
		return addr;
	if (inet_pton(AF_INET, addr, a) == 1) {
		a[3] = 0;
		inet_ntop(AF_INET, a, buf, size);
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		memset(a + 6, 0, 10);
		inet_ntop(AF_INET6, a, buf, size);
	} else
		return "-";
	return buf;
}

void
log_time(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One write(2) per line, so lines from several processes never interleave. */
static void
log_write(int prio, const char *line, size_t len)
{
	ssize_t n;

	if (use_syslog) {
		syslog(prio, "%.*s", (int)len, line);
		return;
	}
	do
		n = write(log_fd, line, len);
	while (n == -1 && errno == EINTR);
}

static void
log_vline(int prio, const char *level, const char *fmt, va_list ap)
{
	char line[2048], when[32];
	int n, m;

	log_time(when, sizeof(when));
	n = snprintf(line, sizeof(line), "%s gazette: %s", when, level);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	log_write(prio, line, n);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

/* Copies s escaped into out; returns the bytes written (never more than size - 1). */
static size_t
log_escape(char *out, size_t size, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;
	unsigned char c;

	for (i = 0; i < len && o + 5 < size; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = c;
		} else if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else
			out[o++] = c;
	}
	if (i < len && o + 3 < size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}

void
log_access(const struct log_access *a)
{
	/*
	 * A line must fit PIPE_BUF (4096) to reach the supervisor whole; an
	 * escaped request (up to four bytes per byte) is cut to leave room for
	 * the other fields at their longest (a 255-byte host, a 95-byte CERT).
	 */
	char req[3500], line[4096], when[32], status[16];
	int n;

	log_time(when, sizeof(when));
	if (a->request != NULL)
		log_escape(req, sizeof(req), a->request, a->request_len);
	else
		snprintf(req, sizeof(req), "-");
	if (a->status > 0)
		snprintf(status, sizeof(status), "%d", a->status);
	else
		snprintf(status, sizeof(status), "-");
	n = snprintf(line, sizeof(line), "%s %s %s %s \"%s\" %s %llu %ldms %s%s%s\n",
	    when, a->client, a->proto, a->host ? a->host : "-", req, status,
	    a->bytes, a->duration_ms, a->cert ? a->cert : "-", a->note ? " " : "",
	    a->note ? a->note : "");
	if (n > (int)sizeof(line) - 1) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	log_write(LOG_INFO, line, n);
}
