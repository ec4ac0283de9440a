#include "load.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "test.h"

#define MAX_PROCS 64

long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

long
median(long *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_long);
	return n > 0 ? v[n / 2] : 0;
}

int
fd_count(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

long
rss_kb(pid_t pid)
{
	char buf[128];

	return proc_status(pid, "VmRSS", buf, sizeof(buf)) ? atol(buf) : -1;
}

bool
wait_fds(const pid_t *pids, const int *want, int n, int *got, long ms)
{
	long deadline = now_ms() + ms;
	bool same;
	int i;

	for (;;) {
		same = true;
		for (i = 0; i < n; i++)
			if ((got[i] = fd_count(pids[i])) != want[i])
				same = false;
		if (same || now_ms() >= deadline)
			return same;
		sleep_ms(10);
	}
}

void
settled_fds(const pid_t *pids, int n, int *got)
{
	int prev[MAX_PROCS], i, still = 0;
	long deadline = now_ms() + 10000;

	if (n > MAX_PROCS)
		n = MAX_PROCS;
	for (i = 0; i < n; i++)
		prev[i] = fd_count(pids[i]);
	while (still < 20 && now_ms() < deadline) {
		sleep_ms(10);
		still++;
		for (i = 0; i < n; i++)
			if ((got[i] = fd_count(pids[i])) != prev[i]) {
				prev[i] = got[i];
				still = 0;
			}
	}
	memcpy(got, prev, n * sizeof(*got));
}

struct shared *
shared_new(void)
{
	struct shared *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (s == MAP_FAILED)
		abort();
	memset(s, 0, sizeof(*s));
	return s;
}

long
shared_get(long *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

void
shared_add(long *p, long n)
{
	__atomic_fetch_add(p, n, __ATOMIC_SEQ_CST);
}

void
shared_max(long *p, long v)
{
	long cur = shared_get(p);

	while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, false, __ATOMIC_SEQ_CST,
	    __ATOMIC_SEQ_CST))
		;
}

void
shared_free(struct shared *s)
{
	munmap(s, sizeof(*s));
}

void
child_fail(struct shared *s, int *shown, const char *what, const struct reply *r)
{
	char head[120];

	shared_add(&s->failures, 1);
	if ((*shown)++ >= 3)
		return;
	reply_header(r, head, sizeof(head));
	printf("    [pid %d] %s: %zu bytes, header \"%s\"%s%s%s\n", (int)getpid(), what,
	    r->len, head, r->close_notify ? ", close_notify" : "",
	    r->reset ? ", reset/EOF" : "", r->timed_out ? ", timed out" : "");
	fflush(stdout);
}

pid_t
spawn_child(child_fn fn, int id, void *arg, struct shared *s)
{
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		fn(id, arg, s);
		fflush(stdout);
		_exit(0);
	}
	return pid;
}

void
reap_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		test_fail(__FILE__, __LINE__, "client process %d ended badly (0x%x)", (int)pid,
		    status);
}

int
count_str(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}
