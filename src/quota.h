/*
 * Per-client limits: open connections and a token-bucket request rate, kept
 * per address (IPv4 address, or IPv6 /64, since one client owns a whole /64)
 * in a fixed-size table, so an address flood costs no memory.
 */
#ifndef GAZETTE_QUOTA_H
#define GAZETTE_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct quota;

/* A table of about slots clients; rate (requests/s, 0: unlimited) and burst. */
struct quota *quota_new(size_t slots, int max_conns, int rate, int burst);
void quota_free(struct quota *l);

/*
 * Counts a new connection from sa. Returns the client's slot, to hand back
 * to quota_close() and quota_request(), or -1 when the table is too busy to
 * track it (then nothing limits it). *over is set when the client already had
 * its share of connections open.
 */
long quota_open(struct quota *l, const struct sockaddr *sa, bool *over);
void quota_close(struct quota *l, long slot);

/* Takes a token for one request; false when the client's bucket is empty. */
bool quota_request(struct quota *l, long slot);

#endif
