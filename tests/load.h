/*
 * What load and lifecycle tests share: time, counters in memory shared by
 * fork()ed client processes (no -pthread), and a look at the server's
 * processes through /proc (descriptors, memory).
 */
#ifndef GAZETTE_TEST_LOAD_H
#define GAZETTE_TEST_LOAD_H

#include <stdbool.h>
#include <sys/types.h>

struct reply;

/* Whether the tests run under AddressSanitizer, which changes memory figures. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

long now_ms(void);
long now_us(void);
void sleep_ms(long ms);
/* Sorts v and returns its median (0 when n is 0). */
long median(long *v, int n);

/* Counters every client process of a test adds to. */
struct shared {
	volatile int stop;
	long requests;
	long failures;
	long n20, n40, n51;	/* how a page was answered */
	long resumed;		/* handshakes that resumed a session */
	long worst_ms;		/* the slowest request */
};

struct shared *shared_new(void);
void shared_free(struct shared *s);
long shared_get(long *p);
void shared_add(long *p, long n);
/* Raises *p to v when v is larger. */
void shared_max(long *p, long v);

/* A failure seen by a client process: counted, and the first few shown. */
void child_fail(struct shared *s, int *shown, const char *what, const struct reply *r);

/* Runs fn(id, arg, s) in a child process; reap_child waits and checks it exited 0. */
typedef void (*child_fn)(int id, void *arg, struct shared *s);
pid_t spawn_child(child_fn fn, int id, void *arg, struct shared *s);
void reap_child(pid_t pid);

/* A process's open descriptors and resident memory (KiB); -1 when it is gone. */
int fd_count(pid_t pid);
long rss_kb(pid_t pid);

/* Polls until every process has want[i] descriptors; true when they did. */
bool wait_fds(const pid_t *pids, const int *want, int n, int *got, long ms);

/* Polls until the descriptor counts hold still for 200 ms (connections drained). */
void settled_fds(const pid_t *pids, int n, int *got);

/* How many times what occurs in s. */
int count_str(const char *s, const char *what);

#endif
