/*
 * The supervisor: one process that owns the ports and the log, and runs a
 * key holder, an indexer and N worker processes that serve. It restarts a worker that dies,
 * reloads on SIGHUP (a new generation of workers starts on the same
 * listening sockets before the old one finishes its connections and exits),
 * forwards SIGTERM, and reopens the log on SIGUSR1.
 */
#ifndef GAZETTE_SUPERVISOR_H
#define GAZETTE_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Reads the configuration again, as at start (file plus -o overrides). */
typedef int (*supervisor_load_fn)(void *arg, struct config *cfg, char *err,
    size_t errsize);

/*
 * Loads everything for cfg (certificates, contexts, roots, posts, ports),
 * then forks the workers and supervises them until SIGTERM. cfg must be
 * heap-allocated; the supervisor owns it from here. Returns the exit status.
 */
/*
 * gazette -n: checks what a start would, short of binding the ports and
 * generating certificates: roots, user, ticket key file, the magic
 * database, every certificate and key. Returns -1 with err set.
 */
int supervisor_check(const struct config *cfg, char *err, size_t errsize);

int supervisor_run(struct config *cfg, supervisor_load_fn load, void *arg, bool foreground);

#endif
