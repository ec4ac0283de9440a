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
	long log_from;		/* where this run's lines start in a reused log */
	int gemini_port;
	int gopher_port;
};

struct gazette_opts {
	const char *fixture;	/* copied from tests/fixtures/NAME into root; NULL: empty */
	const char *global;	/* extra global configuration lines */
	const char *host;	/* extra lines in the [host localhost] section */
	const char *hosts;	/* extra [host ...] sections, after the first */
	bool gopher;		/* give Gopher a port too */
	/*
	 * NULL: a new scratch folder. Else the folder of an earlier, stopped run
	 * (its g.dir), reused as it is: content, certificates and log are kept;
	 * only the configuration is written anew (fixture is then ignored).
	 */
	const char *dir;
	/* The binary to start: NULL for $GAZETTE (default build/gazette). */
	const char *binary;
};

/* Starts gazette and waits until it accepts connections. 0, or -1 (and a failed check). */
int gazette_start(struct gazette *g, const struct gazette_opts *o);

/*
 * Stops it with SIGTERM and checks it exited with status 0 and that its log
 * holds no sanitizer report. Returns -1 (and records a failure) otherwise.
 */
int gazette_stop(struct gazette *g);

/* gazette_stop, keeping the folder's name in dir (size bytes) to start again there (o.dir). */
int gazette_stop_keep(struct gazette *g, char *dir, size_t size);

#define DAY (24 * 3600L)

/* A client certificate to make: valid from not_before to not_after (seconds from now). */
struct test_cert_kind {
	const char *name;	/* its CN, and part of its files' names */
	long not_before, not_after;
	bool forged;		/* claims to sign itself, but another key did */
	bool issued;		/* signed by a CA the server has never heard of */
};

struct test_cert {
	char crt[600], key[600];	/* PEM files in test_tmp_dir() */
	char fp[100];		/* "AB:CD:...", as the log shows it */
	char hex[80];		/* "abcd...", as some clients show it */
};

/*
 * Makes a P-256 key and a certificate with OpenSSL's API (`openssl req`
 * cannot make one that has already expired); a failed check when it cannot.
 */
void test_make_cert(const struct test_cert_kind *k, long serial, struct test_cert *out);

/* Sends sig to the server. */
void gazette_signal(struct gazette *g, int sig);

/* The log of this run so far (malloc'd): a reused folder's earlier runs left out. */
char *gazette_log(const struct gazette *g);

/* Waits up to ms for text to appear in the log; true when it did. */
bool gazette_wait_log(const struct gazette *g, const char *text, int ms);

/* The same, for text to appear times times (each worker's line, say). */
bool gazette_wait_logs(const struct gazette *g, const char *text, int times, int ms);

/*
 * Runs the gazette binary with args (NULL-terminated, without argv[0]) and
 * waits for it. Its stdout and stderr, together, go to *output (malloc'd).
 * Returns its exit status, or -1 when it did not exit normally.
 */
int gazette_exec(const char *const args[], char **output);
/* The same as user and group uid (as root: to see what another user meets); -1: as is. */
int gazette_exec_as(long uid, const char *const args[], char **output);

/* A free TCP port on 127.0.0.1. */
int free_port(void);

/* Writes len bytes to path (relative to g->root), creating folders. */
int gazette_write(const struct gazette *g, const char *path, const char *data, long len);
/* Removes path (relative to the root). */
int gazette_remove(const struct gazette *g, const char *path);

#endif

/*
 * Compares got with the file tests/expected/NAME byte for byte, after every
 * ":PORT" of g's ports is written ":PORT" (so random ports do not matter).
 * With GAZETTE_UPDATE_EXPECTED=1 in the environment it writes the file
 * instead: review the diff before committing it.
 */
void expect_file(const struct gazette *g, const char *name, const char *got, size_t len);

/* Sends a Gemini request for path (on g's port, host localhost) and returns the reply. */
struct reply;
void gemini_path(const struct gazette *g, const char *path, struct reply *r);

/* The same, the whole reply as a string (malloc'd; "" when there was none). */
char *gemini_page(const struct gazette *g, const char *path);

/* The worker processes of g (children of its supervisor); returns how many. */
int gazette_workers(const struct gazette *g, pid_t *pids, int max);

/* Its children whose process name is name ("gazette-worker"); returns how many. */
int gazette_children(const struct gazette *g, const char *name, pid_t *pids, int max);

/* Its indexer process, or 0. */
pid_t gazette_indexer(const struct gazette *g);

/* Reads "Key:" of /proc/PID/status into buf; NULL when absent. */
const char *proc_status(pid_t pid, const char *key, char *buf, size_t size);
