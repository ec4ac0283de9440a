/*
 * The test runner: every registered test and every fuzz corpus, each in its
 * own child process (a crash or hang fails that test, not the run), then the
 * summary line "N passed, N failed" that CI reads. A test that cannot run
 * on this machine calls test_skip(): it is counted as skipped, with its
 * reason, never as passed.
 *
 *   gazette-test [-v] [-l] [SUBSTRING...]
 *
 * Environment: GAZETTE (the server binary under test, default build/gazette),
 * GAZETTE_TESTS (the tests/ folder, default "tests").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define MAX_TESTS 2048
#define TEST_TIMEOUT_S 300
#define EXIT_SKIPPED 77	/* as automake's test drivers count it */

struct test {
	const char *name;
	const char *file;
	test_fn fn;
	fuzz_fn fuzz;
	int order;
};

static struct test tests[MAX_TESTS];
static int ntests;
static int failures;		/* of the running test, in the child */
static int skipped;		/* ... and whether it skipped itself */
static char context[512];
static int verbose;
static char tmp_dir[256];

static void
add(const char *name, const char *file, test_fn fn, fuzz_fn fz)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		exit(2);
	}
	tests[ntests] = (struct test){ name, file, fn, fz, ntests };
	ntests++;
}

void
test_register(const char *name, const char *file, test_fn fn)
{
	add(name, file, fn, NULL);
}

void
test_register_fuzz(const char *name, fuzz_fn fn)
{
	add(name, "tests/fuzz", NULL, fn);
}

void
test_context(const char *fmt, ...)
{
	va_list ap;

	/* NULL: no context any more. */
	if (fmt == NULL) {
		context[0] = '\0';
		return;
	}
	va_start(ap, fmt);
	vsnprintf(context, sizeof(context), fmt, ap);
	va_end(ap);
}

void
test_skip(const char *fmt, ...)
{
	va_list ap;

	skipped = 1;
	printf("    skipped: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

const char *
test_tool_path(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	char dirs[4096], *dir, *save;

	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/local/sbin:/sbin", path ? path : "");
	for (dir = strtok_r(dirs, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, size, "%s/%s", dir, name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

bool
test_need_tool(const char *name, const char *package)
{
	char buf[1024];

	if (test_tool_path(name, buf, sizeof(buf)) != NULL)
		return true;
	test_skip("%s is not installed (Debian package %s)", name, package);
	return false;
}

void
test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	failures++;
	printf("    %s:%d: ", file, line);
	if (context[0])
		printf("[%s] ", context);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void
print_escaped(const void *p, size_t len, size_t from)
{
	const unsigned char *s = p;
	size_t i, end = len < from + 200 ? len : from + 200;

	if (p == NULL) {
		printf("(null)");
		return;
	}
	if (from > 0)
		printf("...");
	for (i = from; i < end; i++) {
		if (s[i] == '\n')
			printf("\\n");
		else if (s[i] == '\r')
			printf("\\r");
		else if (s[i] == '\t')
			printf("\\t");
		else if (s[i] == '\\')
			printf("\\\\");
		else if (s[i] < 0x20 || s[i] == 0x7f)
			printf("\\x%02x", s[i]);
		else
			putchar(s[i]);
	}
	if (end < len)
		printf("...");
}

void
test_fail_mem(const char *file, int line, const char *what, const void *got,
    size_t gotlen, const void *want, size_t wantlen)
{
	size_t i = 0, from;

	if (got != NULL && want != NULL)
		while (i < gotlen && i < wantlen && ((const char *)got)[i] == ((const char *)want)[i])
			i++;
	from = i > 40 ? i - 40 : 0;
	test_fail(file, line, "%s differs at byte %zu (got %zu bytes, want %zu)", what, i,
	    gotlen, wantlen);
	printf("      got:  \"");
	print_escaped(got, gotlen, from);
	printf("\"\n      want: \"");
	print_escaped(want, wantlen, from);
	printf("\"\n");
	fflush(stdout);
}

const char *
test_source_dir(void)
{
	const char *d = getenv("GAZETTE_TESTS");

	return d && *d ? d : "tests";
}

const char *
test_tmp_dir(void)
{
	return tmp_dir;
}

/* Replays every file of tests/fuzz/corpus/NAME through the target. */
static void
replay_corpus(const struct test *t)
{
	char dir[512], path[1024];
	struct dirent *de;
	unsigned char *buf;
	struct stat st;
	int fd, files = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/fuzz/corpus/%s", test_source_dir(), t->name);
	if ((d = opendir(dir)) == NULL) {
		test_fail(__FILE__, __LINE__, "no corpus at %s", dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1) {
			test_fail(__FILE__, __LINE__, "%s: %s", path, strerror(errno));
			continue;
		}
		buf = malloc(st.st_size + 1);
		if (buf == NULL || read(fd, buf, st.st_size) != st.st_size)
			test_fail(__FILE__, __LINE__, "%s: short read", path);
		else {
			test_context("%s", path);
			t->fuzz(buf, st.st_size);
			files++;
		}
		free(buf);
		close(fd);
	}
	closedir(d);
	if (files == 0)
		test_fail(__FILE__, __LINE__, "empty corpus %s", dir);
	if (verbose)
		printf("    %d corpus files\n", files);
}

static int
run_one(const struct test *t)
{
	int status;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		alarm(TEST_TIMEOUT_S);
		failures = 0;
		if (t->fuzz)
			replay_corpus(t);
		else
			t->fn();
		fflush(stdout);
		_exit(failures > 0 ? 1 : skipped ? EXIT_SKIPPED : 0);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		printf("    killed by signal %d (%s)\n", WTERMSIG(status),
		    WTERMSIG(status) == SIGALRM ? "timeout" : strsignal(WTERMSIG(status)));
		return 1;
	}
	return WEXITSTATUS(status) == EXIT_SKIPPED ? EXIT_SKIPPED : WEXITSTATUS(status) != 0;
}

static int
cmp_test(const void *a, const void *b)
{
	const struct test *x = a, *y = b;
	int c;

	/* Unit tests, then integration, then fuzz corpora; in file order within. */
	if ((c = strcmp(x->file, y->file)) != 0)
		return c;
	return x->order - y->order;
}

static int
selected(const struct test *t, int argc, char **argv)
{
	int i;

	if (argc == 0)
		return 1;
	for (i = 0; i < argc; i++)
		if (strstr(t->name, argv[i]) || strstr(t->file, argv[i]))
			return 1;
	return 0;
}

static void
remove_tree(const char *path)
{
	char cmd[600];

	/* Only ever our own mkdtemp folder. */
	if (strncmp(path, "/tmp/gazette-test.", 18) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", path);
	}
}

int
main(int argc, char **argv)
{
	int i, passed = 0, failed = 0, skips = 0, list = 0, opt, rc;
	struct timespec t0, t1;

	while ((opt = getopt(argc, argv, "vl")) != -1) {
		if (opt == 'v')
			verbose = 1;
		else if (opt == 'l')
			list = 1;
		else {
			fprintf(stderr, "usage: gazette-test [-v] [-l] [substring...]\n");
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	qsort(tests, ntests, sizeof(tests[0]), cmp_test);
	if (list) {
		for (i = 0; i < ntests; i++)
			printf("%s %s\n", tests[i].file, tests[i].name);
		return 0;
	}
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/gazette-test.XXXXXX");
	if (mkdtemp(tmp_dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < ntests; i++) {
		const struct test *t = &tests[i];
		if (!selected(t, argc, argv))
			continue;
		if ((rc = run_one(t)) == 0) {
			passed++;
			if (verbose)
				printf("ok   %s\n", t->name);
		} else if (rc == EXIT_SKIPPED) {
			skips++;
			printf("SKIP %s (%s)\n", t->name, t->file);
		} else {
			failed++;
			printf("FAIL %s (%s)\n", t->name, t->file);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (failed == 0)
		remove_tree(tmp_dir);
	else
		printf("scratch files kept in %s\n", tmp_dir);
	printf("time: %.1f s\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (skips > 0)
		printf("%d skipped\n", skips);
	printf("%d passed, %d failed\n", passed, failed);
	return failed > 0;
}
