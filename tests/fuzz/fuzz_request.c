/*
 * Gemini request bytes as a client might send them: framing, then the checks
 * before routing. Framing must find exactly the first CRLF within the limit;
 * the checks must answer only 0, 53 or 59, with a meta fit for a header.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gemini.h"
#include "url.h"

static struct config cfg;
static struct server srv;

/* Two hosts, filled in by hand: nothing here opens a file or a socket. */
static void
setup(void)
{
	if (srv.nsites > 0)
		return;
	cfg.gemini_port = 1965;
	cfg.nhosts = 2;
	snprintf(cfg.hosts[0].name, sizeof(cfg.hosts[0].name), "localhost");
	snprintf(cfg.hosts[1].name, sizeof(cfg.hosts[1].name), "xn--gmeaux-bva.example");
	srv.cfg = &cfg;
	srv.sites[0].cfg = &cfg.hosts[0];
	srv.sites[0].rootfd = -1;
	srv.sites[1].cfg = &cfg.hosts[1];
	srv.sites[1].rootfd = -1;
	srv.nsites = 2;
}

/* Where the first CRLF starts in buf[0..len), or len when there is none. */
static size_t
first_crlf(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n')
			return i;
	return len;
}

static void
check_line(const char *line, size_t len, size_t size)
{
	static const char *const snis[] = { NULL, "localhost", "xn--gmeaux-bva.example" };
	struct request_ctx ctx = { "192.0.2.1", snis[size % 3], NULL, false };
	const struct site *site;
	const char *meta = NULL;
	struct url u;
	int status;

	status = gemini_check(&srv, &ctx, line, len, &u, &site, &meta);
	EXPECT(status == 0 || status == 53 || status == 59);
	if (status == 0) {
		EXPECT(site != NULL);
		EXPECT(strcmp(u.scheme, "gemini") == 0 && u.has_authority);
		EXPECT(u.path[0] == '/');
		EXPECT(u.port == -1 || u.port == 1965);
		return;
	}
	EXPECT(meta != NULL);
	if (meta != NULL)
		EXPECT(meta[0] != '\0' && strlen(meta) <= 1024 &&
		    strpbrk(meta, "\r\n") == NULL);
}

FUZZ_TARGET(request)
{
	char *buf = malloc(size ? size : 1);
	size_t n = 0, crlf;
	enum frame_result r;

	if (buf == NULL)
		return 0;
	setup();
	memcpy(buf, data, size);
	crlf = first_crlf(buf, size);
	r = gemini_frame(buf, size, &n);
	switch (r) {
	case FRAME_LINE:
		EXPECT(n == crlf);
		EXPECT(n <= URL_MAX && n + 2 <= size);
		EXPECT(buf[n] == '\r' && buf[n + 1] == '\n');
		check_line(buf, n, size);
		break;
	case FRAME_TOO_LONG:
		EXPECT(crlf > URL_MAX);
		EXPECT(size > URL_MAX);
		check_line(NULL, 0, size);
		break;
	case FRAME_MORE:
		EXPECT(crlf == size);
		/* Waiting is right only while a valid line may still come. */
		EXPECT(size <= URL_MAX || (size == URL_MAX + 1 && buf[URL_MAX] == '\r'));
		break;
	}
	free(buf);
	return 0;
}
