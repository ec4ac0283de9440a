/*
 * Per-client limits: open connections and a token-bucket request rate, kept
 * per address (IPv4 address, or IPv6 /64, since one client owns a whole /64)
 * in one table shared by every worker of every generation (a MAP_SHARED
 * mapping the supervisor makes at start), so the documented numbers are the
 * effective ones whatever worker a connection reaches. The table has a fixed
 * size, so an address flood costs no memory.
 *
 * Each worker counts the connections it holds in a ledger of its own in the
 * table, so that when a worker dies, however abruptly, the supervisor can
 * give its connections back (quota_ledger_release).
 */
#ifndef GAZETTE_QUOTA_H
#define GAZETTE_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct quota;

/* What a generation's configuration says: 0 means no limit. */
struct quota_limits {
	int max_conns;		/* connections open at once from one client */
	int rate;		/* requests a second */
	int burst;		/* requests at once */
};

/* A shared table for about slots clients and ledgers workers; NULL when out of memory. */
struct quota *quota_new(size_t slots, int ledgers);
void quota_free(struct quota *q);

/* The supervisor's side: a ledger for a new worker (-1 when none is free), and back. */
int quota_ledger_take(struct quota *q);
void quota_ledger_release(struct quota *q, int ledger);

/*
 * A worker's side. Counts a new connection from sa in ledger (which may be
 * -1: counted, but not given back should the worker die). Returns the
 * client's slot, to hand back to quota_close() and quota_request(), or -1
 * when the table is too busy to track it (then nothing limits it). *over is
 * set, and nothing counted, when the client already has its share open.
 */
long quota_open(struct quota *q, int ledger, const struct quota_limits *lim,
    const struct sockaddr *sa, bool *over);
void quota_close(struct quota *q, int ledger, long slot);

/* Takes a token for one request; false when the client's bucket is empty. */
bool quota_request(struct quota *q, const struct quota_limits *lim, long slot);

#endif
