/*
 * The table is open addressing over a short probe window with a per-process
 * random key in the hash, so addresses an attacker picks cannot be aimed at
 * one window. A slot with connections still open is never reused; among idle
 * ones in the window, the least recently seen is.
 */
#include "quota.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"

#define WINDOW 16

struct client {
	unsigned char addr[16];
	bool used;
	unsigned conns;
	double tokens;
	long long seen_ms;
};

struct quota {
	struct client *slots;
	size_t mask;
	int max_conns, rate, burst;
	uint64_t key;
};

struct quota *
quota_new(size_t slots, int max_conns, int rate, int burst)
{
	struct quota *l;
	size_t cap = 64;

	while (cap < slots)
		cap <<= 1;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->slots = calloc(cap, sizeof(*l->slots))) == NULL) {
		free(l);
		return NULL;
	}
	l->mask = cap - 1;
	l->max_conns = max_conns;
	l->rate = rate;
	l->burst = burst < 1 ? 1 : burst;
	if (getrandom(&l->key, sizeof(l->key), 0) != sizeof(l->key))
		l->key = (uint64_t)clock_ms() * 0x9e3779b97f4a7c15ULL;
	return l;
}

void
quota_free(struct quota *l)
{
	if (l != NULL)
		free(l->slots);
	free(l);
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
hash(const struct quota *l, const unsigned char k[16])
{
	uint64_t a, b, h;

	memcpy(&a, k, 8);
	memcpy(&b, k + 8, 8);
	h = (a ^ l->key) * 0x9e3779b97f4a7c15ULL;
	h ^= (b + (h >> 29)) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 31;
	return (size_t)h;
}

long
quota_open(struct quota *l, const struct sockaddr *sa, bool *over)
{
	unsigned char k[16];
	struct client *c, *victim = NULL;
	size_t start, i;
	long long now = clock_ms();

	*over = false;
	client_key(sa, k);
	start = hash(l, k);
	for (i = 0; i < WINDOW; i++) {
		c = &l->slots[(start + i) & l->mask];
		if (c->used && memcmp(c->addr, k, 16) == 0)
			goto found;
		if (!c->used) {
			if (victim == NULL || victim->used)
				victim = c;
		} else if (c->conns == 0 && (victim == NULL ||
		    (victim->used && c->seen_ms < victim->seen_ms)))
			victim = c;
	}
	if ((c = victim) == NULL)
		return -1;
	memcpy(c->addr, k, 16);
	c->used = true;
	c->conns = 0;
	c->tokens = l->burst;
	c->seen_ms = now;
found:
	*over = l->max_conns > 0 && c->conns >= (unsigned)l->max_conns;
	c->conns++;
	return (long)(c - l->slots);
}

void
quota_close(struct quota *l, long slot)
{
	if (slot >= 0 && l->slots[slot].conns > 0)
		l->slots[slot].conns--;
}

bool
quota_request(struct quota *l, long slot)
{
	struct client *c;
	long long now = clock_ms();

	if (slot < 0 || l->rate <= 0)
		return true;
	c = &l->slots[slot];
	c->tokens += (double)(now - c->seen_ms) * l->rate / 1000.0;
	if (c->tokens > l->burst)
		c->tokens = l->burst;
	c->seen_ms = now;
	if (c->tokens < 1.0)
		return false;
	c->tokens -= 1.0;
	return true;
}
