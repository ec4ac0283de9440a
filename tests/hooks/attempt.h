/*
 * Test hooks, built into build/gazette-hooks only (GAZETTE_TEST_HOOKS), never
 * into the installed gazette: a Gemini request for /.gazette-attempt/NAME
 * asks the worker that takes it to try, confined as it is, what its
 * confinement must refuse, and answers "20 text/plain" with the outcome
 * ("NAME: refused: EACCES ... [worker PID]" or "NAME: allowed [worker
 * PID]"), so a test proves each
 * refusal by attempt. The path is hidden (a dot segment), so the same
 * request names nothing in a real gazette.
 */
#ifndef GAZETTE_HOOKS_ATTEMPT_H
#define GAZETTE_HOOKS_ATTEMPT_H

#include <stdbool.h>
#include <event2/buffer.h>

#include "server.h"

#define HOOKS_PREFIX "/.gazette-attempt/"

/*
 * Makes the attempt path names (its argument in query), writing the answer
 * into out; false when path is not a hook's.
 */
bool hooks_attempt(const struct server *s, const struct site *site, const char *path,
    const char *query, struct evbuffer *out);

#endif
