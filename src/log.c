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

#include "ctl.h"

/* Lines waiting for the control channel: a child's memory bound for them. */
#define LOG_QUEUE (64 * 1024)

static int log_fd = STDERR_FILENO;
static void log_write(int prio, const char *line, size_t len);
static int use_syslog;
static char log_path[4096];

/* A child's channel to the supervisor, and what waits to go there. */
static struct {
	int fd;			/* -1: not a child */
	char buf[LOG_QUEUE];	/* lines, each a uint16_t length then its bytes */
	size_t head, tail;
	unsigned long dropped;
	void (*hook)(void *);
	void *hook_arg;
} chan = { .fd = -1 };

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
log_open_channel(int fd)
{
	/* The supervisor's destination is its own: forget it without closing it. */
	use_syslog = 0;
	log_fd = STDERR_FILENO;
	log_path[0] = '\0';
	chan.fd = fd;
	chan.head = chan.tail = 0;
	chan.dropped = 0;
}

void
log_on_backlog(void (*hook)(void *), void *arg)
{
	chan.hook = hook;
	chan.hook_arg = arg;
}

bool
log_backlog(void)
{
	return chan.head != chan.tail || chan.dropped > 0;
}

/* 0 sent, -1 not now (the channel is full or gone). */
static int
chan_send(const char *line, size_t len)
{
	struct ctl_msg m;

	m.type = CTL_LOG;
	m.site = 0;
	m.status = 0;
	m.version = 0;
	m.len = (uint16_t)(len < CTL_DATA_MAX ? len : CTL_DATA_MAX);
	memcpy(m.data, line, m.len);
	return ctl_send(chan.fd, &m, -1);
}

void
log_flush(void)
{
	char note[160], when[32];
	uint16_t len;
	int n;

	while (chan.head != chan.tail) {
		memcpy(&len, chan.buf + chan.head, sizeof(len));
		if (chan_send(chan.buf + chan.head + sizeof(len), len) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* The supervisor is gone: nobody will read these. */
			chan.head = chan.tail = 0;
			return;
		}
		chan.head += sizeof(len) + len;
	}
	chan.head = chan.tail = 0;
	if (chan.dropped > 0) {
		log_time(when, sizeof(when));
		n = snprintf(note, sizeof(note), "%s gazette: warning: %lu log line(s) dropped: "
		    "the supervisor fell behind\n", when, chan.dropped);
		if (chan_send(note, (size_t)n) == 0)
			chan.dropped = 0;
	}
}

static void
chan_write(const char *line, size_t len)
{
	bool was_idle = !log_backlog();
	uint16_t n;

	if (len > CTL_DATA_MAX)
		len = CTL_DATA_MAX;
	log_flush();
	if (!log_backlog()) {
		if (chan_send(line, len) == 0)
			return;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return;	/* the supervisor is gone */
	}
	if (chan.tail + sizeof(n) + len > sizeof(chan.buf)) {
		chan.dropped++;
	} else {
		n = (uint16_t)len;
		memcpy(chan.buf + chan.tail, &n, sizeof(n));
		memcpy(chan.buf + chan.tail + sizeof(n), line, len);
		chan.tail += sizeof(n) + len;
	}
	if (was_idle && chan.hook != NULL)
		chan.hook(chan.hook_arg);
}

void
log_relay(const char *line, size_t len)
{
	/* syslog takes the message without its line end. */
	if (use_syslog) {
		if (len > 0 && line[len - 1] == '\n')
			len--;
		syslog(LOG_INFO, "%.*s", (int)len, line);
		return;
	}
	log_write(LOG_INFO, line, len);
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

	if (chan.fd != -1) {
		chan_write(line, len);
		return;
	}
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
