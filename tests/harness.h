/*
 * Starts the real gazette binary on loopback with a scratch folder of its own
 * (content, certificates, configuration, log) and stops it again.
 */
#ifndef GAZETTE_TEST_HARNESS_H
#define GAZETTE_TEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

struct gazette {
	pid_t pid;
	char dir[512];		/* the scratch folder */
	char root[600];		/* dir/content */
	char conf[600];
	char log[600];
	int gemini_port;
	int gopher_port;
};

struct gazette_opts {
	const char *fixture;	/* copied from tests/fixtures/NAME into root; NULL: empty */
	const char *global;	/* extra global configuration lines */
	const char *host;	/* extra lines in the [host localhost] section */
	const char *hosts;	/* extra [host ...] sections, after the first */
	bool gopher;		/* give Gopher a port too */
};

/* Starts gazette and waits until it accepts connections. 0, or -1 (and a failed check). */
int gazette_start(struct gazette *g, const struct gazette_opts *o);

/*
 * Stops it with SIGTERM and checks it exited with status 0 and that its log
 * holds no sanitizer report. Returns -1 (and records a failure) otherwise.
 */
int gazette_stop(struct gazette *g);

/* Sends sig to the server. */
void gazette_signal(struct gazette *g, int sig);

/* The whole log so far (malloc'd). */
char *gazette_log(const struct gazette *g);

/* Waits up to ms for text to appear in the log; true when it did. */
bool gazette_wait_log(const struct gazette *g, const char *text, int ms);

/* A free TCP port on 127.0.0.1. */
int free_port(void);

/* Writes len bytes to path (relative to g->root), creating folders. */
int gazette_write(const struct gazette *g, const char *path, const char *data, long len);

#endif
