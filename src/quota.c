/*
 * The table is open addressing over a short probe window with a random key
 * in the hash (drawn once, shared by all), so addresses an attacker picks
 * cannot be aimed at one window. A slot with connections still open is never
 * reused; among idle ones in the window, the least recently seen is.
 *
 * One process-shared robust mutex guards it all: every operation is a few
 * dozen instructions, and a worker that dies holding the lock leaves it to
 * the next taker (EOWNERDEAD), not locked forever.
 */
#include "quota.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "clock.h"

#define WINDOW 16
#define LEDGER_MAX 0xffff

struct client {
	unsigned char addr[16];
	bool used;
	unsigned conns;
	double tokens;
	long long seen_ms;
};

/* The mapping: this header, the slots, the ledger flags, then the ledgers. */
struct quota {
	pthread_mutex_t lock;
	size_t size;		/* of the whole mapping */
	size_t mask;		/* slots - 1 */
	int nledgers;
	uint64_t key;
	struct client *slots;	/* these three point into the mapping itself, */
	bool *ledger_used;	/* which is at the same address in every process */
	uint16_t *ledgers;	/* nledgers x slots: connections each worker holds */
};

struct quota *
quota_new(size_t slots, int nledgers)
{
	pthread_mutexattr_t attr;
	size_t cap = 64, size;
	struct quota *q;
	char *p;

	while (cap < slots)
		cap <<= 1;
	size = sizeof(*q) + cap * sizeof(struct client) + (size_t)nledgers * sizeof(bool) +
	    7 + (size_t)nledgers * cap * sizeof(uint16_t);
	/* Zeroed pages, touched only as clients come: a large table costs what it holds. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	q = (struct quota *)p;
	q->size = size;
	q->mask = cap - 1;
	q->nledgers = nledgers;
	q->slots = (struct client *)(p + sizeof(*q));
	q->ledger_used = (bool *)(q->slots + cap);
	q->ledgers = (uint16_t *)(((uintptr_t)(q->ledger_used + nledgers) + 7) & ~(uintptr_t)7);
	if (getrandom(&q->key, sizeof(q->key), 0) != sizeof(q->key))
		q->key = (uint64_t)clock_ms() * 0x9e3779b97f4a7c15ULL;
	if (pthread_mutexattr_init(&attr) != 0 ||
	    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&q->lock, &attr) != 0) {
		munmap(p, size);
		return NULL;
	}
	pthread_mutexattr_destroy(&attr);
	return q;
}

void
quota_free(struct quota *q)
{
	if (q != NULL)
		munmap(q, q->size);
}

static void
lock(struct quota *q)
{
	/* Its last owner died mid-operation: what it left is consistent enough. */
	if (pthread_mutex_lock(&q->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&q->lock);
}

static void
unlock(struct quota *q)
{
	pthread_mutex_unlock(&q->lock);
}

static uint16_t *
ledger(struct quota *q, int n)
{
	return q->ledgers + (size_t)n * (q->mask + 1);
}

int
quota_ledger_take(struct quota *q)
{
	int i, n = -1;

	lock(q);
	for (i = 0; i < q->nledgers && n == -1; i++)
		if (!q->ledger_used[i]) {
			q->ledger_used[i] = true;
			n = i;
		}
	unlock(q);
	return n;
}

void
quota_ledger_release(struct quota *q, int n)
{
	uint16_t *held;
	size_t i;

	if (n < 0 || n >= q->nledgers)
		return;
	held = ledger(q, n);
	lock(q);
	/* Whatever the worker still held: its connections are gone with it. */
	for (i = 0; i <= q->mask; i++)
		if (held[i] != 0) {
			q->slots[i].conns -= held[i] < q->slots[i].conns ? held[i] :
			    q->slots[i].conns;
			held[i] = 0;
		}
	q->ledger_used[n] = false;
	unlock(q);
}

/* IPv4 as ::ffff:a.b.c.d; IPv6 cut to its /64. */
static void
client_key(const struct sockaddr *sa, unsigned char out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			memcpy(out, a->s6_addr, 16);
		else
			memcpy(out, a->s6_addr, 8);
	} else if (sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	}
}

static size_t
hash(const struct quota *q, const unsigned char k[16])
{
	uint64_t a, b, h;

	memcpy(&a, k, 8);
	memcpy(&b, k + 8, 8);
	h = (a ^ q->key) * 0x9e3779b97f4a7c15ULL;
	h ^= (b + (h >> 29)) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 31;
	return (size_t)h;
}

/* The client's slot, taking a free or idle one for a new client; NULL when none. */
static struct client *
find(struct quota *q, const unsigned char k[16], const struct quota_limits *lim)
{
	struct client *c, *victim = NULL;
	size_t start = hash(q, k), i;

	for (i = 0; i < WINDOW; i++) {
		c = &q->slots[(start + i) & q->mask];
		if (c->used && memcmp(c->addr, k, 16) == 0)
			return c;
		if (!c->used) {
			if (victim == NULL || victim->used)
				victim = c;
		} else if (c->conns == 0 && (victim == NULL ||
		    (victim->used && c->seen_ms < victim->seen_ms)))
			victim = c;
	}
	if ((c = victim) != NULL) {
		memcpy(c->addr, k, 16);
		c->used = true;
		c->conns = 0;
		c->tokens = lim->burst < 1 ? 1 : lim->burst;
		c->seen_ms = clock_ms();
	}
	return c;
}

long
quota_open(struct quota *q, int n, const struct quota_limits *lim, const struct sockaddr *sa,
    bool *over)
{
	unsigned char k[16];
	struct client *c;
	long slot = -1;

	*over = false;
	client_key(sa, k);
	lock(q);
	if ((c = find(q, k, lim)) != NULL) {
		if (lim->max_conns > 0 && c->conns >= (unsigned)lim->max_conns)
			*over = true;
		else if (n < 0 || n >= q->nledgers || ledger(q, n)[c - q->slots] < LEDGER_MAX) {
			c->conns++;
			slot = (long)(c - q->slots);
			if (n >= 0 && n < q->nledgers)
				ledger(q, n)[slot]++;
		}
	}
	unlock(q);
	return slot;
}

void
quota_close(struct quota *q, int n, long slot)
{
	if (slot < 0 || (size_t)slot > q->mask)
		return;
	lock(q);
	if (q->slots[slot].conns > 0)
		q->slots[slot].conns--;
	if (n >= 0 && n < q->nledgers && ledger(q, n)[slot] > 0)
		ledger(q, n)[slot]--;
	unlock(q);
}

bool
quota_request(struct quota *q, const struct quota_limits *lim, long slot)
{
	long long now = clock_ms();
	int burst = lim->burst < 1 ? 1 : lim->burst;
	struct client *c;
	bool ok;

	if (slot < 0 || (size_t)slot > q->mask || lim->rate <= 0)
		return true;
	lock(q);
	c = &q->slots[slot];
	c->tokens += (double)(now - c->seen_ms) * lim->rate / 1000.0;
	if (c->tokens > burst)
		c->tokens = burst;
	c->seen_ms = now;
	if ((ok = c->tokens >= 1.0))
		c->tokens -= 1.0;
	unlock(q);
	return ok;
}
