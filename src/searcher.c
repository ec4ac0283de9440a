#include "searcher.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"

/* "Being rebuilt" is true for a moment only: after this, such a search runs again. */
#define REBUILDING_MS 1000

enum job_state { JOB_FREE, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
	enum job_state state;
	const char *db;		/* the site's path: compared by pointer, like the site */
	unsigned long version;
	long offset, limit;
	char *words;
	unsigned long long used;	/* when last asked for, for eviction */
	long long done_ms;		/* when it finished */
	struct fts_result result;
};

/* An index the thread has open. */
struct open_db {
	const char *db;
	struct fts *fts;
};

struct searcher {
	pthread_mutex_t lock;
	pthread_cond_t work;
	pthread_t thread;
	bool started, stopping;
	struct job jobs[SEARCHER_JOBS];
	unsigned long long clock;	/* counts lookups, for eviction */
	struct open_db open[CONFIG_MAX_HOSTS];	/* the thread's alone */
	int efd;			/* the thread rings it when a search is done */
	struct event *ev;
	void (*done)(void *arg);
	void *arg;
};

/* The thread's index for db, opened again when it was deleted, replaced or damaged. */
static struct fts *
thread_fts(struct searcher *s, const char *db)
{
	struct open_db *o = NULL;
	char err[256];
	int i;

	for (i = 0; i < CONFIG_MAX_HOSTS && o == NULL; i++)
		if (s->open[i].db == db || s->open[i].db == NULL)
			o = &s->open[i];
	if (o == NULL)
		return NULL;
	o->db = db;
	if (o->fts != NULL && (!fts_current(o->fts) || fts_broken(o->fts))) {
		fts_close(o->fts);
		o->fts = NULL;
	}
	if (o->fts == NULL)
		o->fts = fts_open_reader(db, err, sizeof(err));
	return o->fts;
}

static void *
thread_main(void *arg)
{
	struct searcher *s = arg;
	struct fts_result r;
	struct fts *fts;
	uint64_t one = 1;
	struct job *j;
	int i;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		for (j = NULL, i = 0; i < SEARCHER_JOBS && j == NULL; i++)
			if (s->jobs[i].state == JOB_QUEUED)
				j = &s->jobs[i];
		if (j == NULL) {
			pthread_cond_wait(&s->work, &s->lock);
			continue;
		}
		/* Its key stays put while it runs: only the loop frees, and never a running job. */
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&s->lock);
		memset(&r, 0, sizeof(r));
		r.status = FTS_REBUILDING;
		if ((fts = thread_fts(s, j->db)) != NULL)
			fts_search(fts, j->words, j->offset, j->limit, &r);
		pthread_mutex_lock(&s->lock);
		j->result = r;
		j->done_ms = clock_ms();
		j->state = JOB_DONE;
		if (write(s->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			break;
	}
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < CONFIG_MAX_HOSTS; i++)
		fts_close(s->open[i].fts);
	return NULL;
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct searcher *s = arg;
	uint64_t n;

	(void)what;
	while (read(fd, &n, sizeof(n)) > 0)
		;
	s->done(s->arg);
}

struct searcher *
searcher_new(struct event_base *base, void (*done)(void *arg), void *arg)
{
	struct searcher *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->done = done;
	s->arg = arg;
	if ((s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		free(s);
		return NULL;
	}
	if ((s->ev = event_new(base, s->efd, EV_READ | EV_PERSIST, on_done, s)) == NULL ||
	    event_add(s->ev, NULL) == -1) {
		if (s->ev != NULL)
			event_free(s->ev);
		close(s->efd);
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	return s;
}

void
searcher_free(struct searcher *s)
{
	int i;

	if (s == NULL)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->work);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	for (i = 0; i < SEARCHER_JOBS; i++) {
		free(s->jobs[i].words);
		fts_result_free(&s->jobs[i].result);
	}
	event_free(s->ev);
	close(s->efd);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* A slot for a new job: a free one, else the least recently asked-for finished one. */
static struct job *
take_slot(struct searcher *s)
{
	struct job *best = NULL;
	int i;

	for (i = 0; i < SEARCHER_JOBS; i++) {
		struct job *j = &s->jobs[i];
		if (j->state == JOB_FREE)
			return j;
		if (j->state == JOB_DONE && (best == NULL || j->used < best->used))
			best = j;
	}
	if (best != NULL) {
		free(best->words);
		best->words = NULL;
		fts_result_free(&best->result);
		best->state = JOB_FREE;
	}
	return best;
}

enum searcher_state
searcher_find(struct searcher *s, const char *db, unsigned long version, const char *words,
    long offset, long limit, const struct fts_result **r)
{
	enum searcher_state state = SEARCHER_WAIT;
	struct job *j = NULL;
	int i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < SEARCHER_JOBS && j == NULL; i++) {
		struct job *k = &s->jobs[i];
		if (k->state != JOB_FREE && k->db == db && k->version == version &&
		    k->offset == offset && k->limit == limit && strcmp(k->words, words) == 0)
			j = k;
	}
	if (j == NULL) {
		if ((j = take_slot(s)) == NULL || (j->words = strdup(words)) == NULL)
			state = SEARCHER_BUSY;
		else {
			*j = (struct job){ JOB_QUEUED, db, version, offset, limit, j->words, 0, 0,
			    { 0 } };
			/* Started here, after confinement: the thread is confined as the worker is. */
			if (!s->started && pthread_create(&s->thread, NULL, thread_main, s) == 0)
				s->started = true;
			if (!s->started) {
				free(j->words);
				j->words = NULL;
				j->state = JOB_FREE;
				state = SEARCHER_BUSY;
			} else
				pthread_cond_signal(&s->work);
		}
	}
	/* An index being rebuilt a while ago may be there now: ask it again. */
	if (j != NULL && j->state == JOB_DONE && j->result.status == FTS_REBUILDING &&
	    clock_ms() - j->done_ms >= REBUILDING_MS) {
		fts_result_free(&j->result);
		j->state = JOB_QUEUED;
		pthread_cond_signal(&s->work);
	}
	if (j != NULL && state != SEARCHER_BUSY) {
		j->used = ++s->clock;
		if (j->state == JOB_DONE) {
			*r = &j->result;
			state = SEARCHER_DONE;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return state;
}
