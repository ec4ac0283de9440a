/*
 * A site's posts/ folder as the indexer follows it: every .txt file by name
 * with the file it was read from (device, inode, size, modification time) and
 * its parsed metadata. Only a file whose identity changed is read again, so a
 * rescan costs a stat per file and a read per changed one; the index image
 * is built from these records when something changed.
 *
 * posts/ itself may come and go: created after start, deleted, renamed away
 * and back, replaced by another folder. A rescan first checks which folder
 * the name leads to now and follows it.
 *
 * A file still being written is left alone: told that it was modified and
 * not yet closed (postdir_event), the folder keeps its previous record until
 * the writer closes it or POSTDIR_WRITE_GRACE_MS pass without news.
 */
#ifndef GAZETTE_POSTDIR_H
#define GAZETTE_POSTDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "index.h"

#define POSTDIR_WRITE_GRACE_MS 2000

struct postdir;

/* posts/ under rootfd; label names the host in the log. */
struct postdir *postdir_new(int rootfd, size_t max_post_size, const char *label);
void postdir_free(struct postdir *p);

/*
 * Takes the records of an earlier image of the same folder (a reload's, or
 * one saved by the last run), so that the first rescan reads only what
 * changed since. Files it names are not read again, nor warned about again,
 * while they stay the same; with skipped false, those it skipped are read
 * once more (their limits may have changed since). Until something differs
 * from it, postdir_changed() is false: x is the image of the folder.
 */
int postdir_seed(struct postdir *p, const struct index *x, bool skipped);

/*
 * Follows posts/ to the folder it names now: true when that is another one
 * than before, or it appeared or went away (then rescan it).
 */
bool postdir_follow(struct postdir *p);

/* Reads the whole folder: what appeared, changed or vanished. */
void postdir_rescan(struct postdir *p);

/* The open posts/ folder, or -1 while there is none. */
int postdir_fd(const struct postdir *p);

/* What inotify told of a file in posts/. */
enum postdir_change {
	POSTDIR_WRITING,	/* created or modified, still open (IN_CREATE, IN_MODIFY) */
	POSTDIR_DONE,		/* closed, moved or deleted */
	POSTDIR_TOUCHED,	/* its attributes (IN_ATTRIB): no news of a writer */
};
void postdir_event(struct postdir *p, const char *name, enum postdir_change what);

/*
 * Applies the pending changes whose writers are done. Returns how many ms
 * until a writer's grace runs out (call again then), or -1 when nothing waits.
 */
long postdir_apply(struct postdir *p);

/*
 * hear(arg) takes in the change events queued so far (postdir_event); it
 * is called after each file read, so that a writer who began meanwhile is
 * heard before what was read is kept.
 */
void postdir_hear(struct postdir *p, void (*hear)(void *arg), void *arg);

/* Whether anything changed since the last image. */
bool postdir_changed(const struct postdir *p);

/* Builds the image of the current records (a malloc'd buffer of *size bytes). */
void *postdir_image(struct postdir *p, unsigned long version, size_t *size);

/*
 * The search index follows the records: each name whose record was read
 * anew or forgotten is "touched" until taken. Takes up to max of them,
 * calling fn for each; returns how many.
 */
size_t postdir_take_touched(struct postdir *p, size_t max,
    void (*fn)(void *arg, const char *name), void *arg);
/* Touches a name, or every record (a search index checked whole). */
void postdir_touch(struct postdir *p, const char *name);
void postdir_touch_all(struct postdir *p);
bool postdir_touched(const struct postdir *p);

/* Whether name is a post, and which file its record is. */
bool postdir_lookup(const struct postdir *p, const char *name, struct index_file *file);

/* Reads posts/NAME in full, if it is still that file: 0, or -1. */
int postdir_read(const struct postdir *p, const char *name, const struct index_file *file,
    struct post *out);

/* Counts, for the log and the benchmark. */
void postdir_counts(const struct postdir *p, size_t *posts, size_t *skipped);

#endif
