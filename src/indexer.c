/*
 * One inotify instance watches, for every site, the root (for posts/ itself
 * appearing, vanishing or being replaced) and posts/ (for its files). Each
 * watch is added through /proc/self/fd, so it is on the very folder that was
 * opened, whatever has since been renamed. Overflow, or a posts/ that changed,
 * means a full rescan, which costs a stat per unchanged file.
 *
 * After an image that took T to build, the next one waits until 2T have
 * passed (PUBLISH_GAP), so a burst of changes to a large archive (an rsync of
 * thousands of posts) builds a few images, not thousands, and the indexer
 * spends at most a third of its time building; a small archive's images
 * cost next to nothing, and follow every change. An
 * image is a sealed memfd: once sent, nobody can change or shrink it under
 * a worker that maps it.
 */
#include "indexer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "ctl.h"
#include "fts.h"
#include "index.h"
#include "log.h"
#include "postdir.h"
#include "store.h"

#define PUBLISH_GAP 2		/* times an image's build time before the next */
#define FOLLOW_MS 2000		/* checks where posts/ leads at least this often */
#define POLL_RESCAN_MS 2000	/* without inotify: full rescans this often */
#define SEARCH_RETRY_MS 2000	/* a search index that cannot be opened is tried again */
#define REBUILD_BATCH 500	/* posts indexed per cycle while the search index is rebuilt */
#define SAVE_MS 60000		/* the saved image lags the latest by at most this */
#define ROOT_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR)
#define POSTS_MASK (IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | \
	IN_MOVED_TO | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct isite {
	const struct indexer_site *cfg;
	struct postdir *dir;
	int root_wd, posts_wd;		/* -1: none */
	bool follow;			/* posts/ may lead elsewhere now */
	bool rescan;
	unsigned long version;
	long long last_publish_ms;
	long long gap_ms;		/* the pause before the next image may be built */
	long long last_follow_ms;
	long long last_rescan_ms;
	int id;				/* the site's place in the configuration */
	long long started_ms;
	int unsent;			/* an image the supervisor has not taken yet, or -1 */
	unsigned long unsent_version;
	bool announced;			/* the first image was logged */
	struct fts *fts;		/* the search index, or NULL */
	bool rebuilding;		/* ... being filled from scratch */
	long long fts_tried_ms;		/* when it was last opened, or tried */
	long long rebuild_ms;		/* when the rebuild began */
	bool fts_warned;		/* that it cannot be opened */
	int latest;			/* the latest image, to save, or -1 */
	bool save_due;			/* ... not saved yet */
	long long saved_ms;		/* when an image was last saved, or 0 */
	int seed;			/* the earlier image, while nothing differs from it, or -1 */
};

static int
watch_fd(int ifd, int fd, uint32_t mask)
{
	char path[64];

	if (ifd == -1 || fd == -1)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return inotify_add_watch(ifd, path, mask);
}

/* posts/ may lead to another folder: follow it, watch it, read it. */
static void
follow(struct isite *s, int ifd)
{
	bool had = postdir_fd(s->dir) != -1;

	s->follow = false;
	s->last_follow_ms = clock_ms();
	if (!postdir_follow(s->dir))
		return;
	if (s->posts_wd != -1)
		inotify_rm_watch(ifd, s->posts_wd);	/* gone with its folder, maybe: no matter */
	s->posts_wd = watch_fd(ifd, postdir_fd(s->dir), POSTS_MASK);
	if (ifd != -1 && postdir_fd(s->dir) != -1 && s->posts_wd == -1)
		log_warn("%s: cannot watch %s/posts: %s; rescanning every %d ms instead",
		    s->cfg->label, s->cfg->root, strerror(errno), POLL_RESCAN_MS);
	if (s->announced)
		log_info("%s: %s/posts %s", s->cfg->label, s->cfg->root,
		    postdir_fd(s->dir) == -1 ? "is gone: no posts until it is back" :
		    had ? "was replaced: reading the new folder" : "appeared: reading it");
	s->rescan = true;
}

int
indexer_seal(const void *img, size_t size)
{
	const char *p = img;
	size_t done = 0;
	ssize_t n;
	int fd;

	if ((fd = memfd_create("gazette-index", MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		return -1;
	while (done < size) {
		if ((n = write(fd, p + done, size - done)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Hands the waiting image to the supervisor; false while its queue is full. */
static bool
send_unsent(struct isite *s, int ctl)
{
	struct ctl_msg m = { .type = CTL_IMAGE };

	if (s->unsent == -1)
		return true;
	m.site = (uint8_t)s->id;
	m.version = s->unsent_version;
	if (ctl_send(ctl, &m, s->unsent) == -1)
		return false;
	close(s->unsent);
	s->unsent = -1;
	return true;
}

/*
 * Saves the latest image where the next start looks first (a new file
 * renamed into place), so that a restart reads only the posts changed
 * meanwhile. A failure costs only that: the next start reads them all.
 */
static void
save_image(struct isite *s)
{
	char tmp[PATH_MAX];
	struct stat st;
	void *map = MAP_FAILED;
	bool ok = false;
	ssize_t n;
	size_t done = 0;
	int fd = -1;

	s->save_due = false;
	s->saved_ms = clock_ms();
	if (s->cfg->image_file == NULL || s->latest == -1 || fstat(s->latest, &st) == -1 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", s->cfg->image_file) >= (int)sizeof(tmp))
		return;
	if ((map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, s->latest, 0)) ==
	    MAP_FAILED || (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) == -1)
		goto out;
	while (done < (size_t)st.st_size && (n = write(fd, (char *)map + done,
	    (size_t)st.st_size - done)) > 0)
		done += (size_t)n;
	ok = done == (size_t)st.st_size;
	/* Closed whatever the write did; renamed only when whole. */
	ok = close(fd) == 0 && ok && rename(tmp, s->cfg->image_file) == 0;
	fd = -1;
out:
	if (!ok) {
		log_warn("%s: cannot save the post index in %s: %s", s->cfg->label,
		    s->cfg->state_dir, strerror(errno));
		unlink(tmp);
	}
	if (fd != -1)
		close(fd);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
}

/*
 * A sealed copy of the seed, when the first rescan found every post as the
 * seed has it: a restart then builds nothing (a quarter of its start-up with
 * 100,000 posts). -1 when the seed cannot be read: build as usual.
 */
static int
seal_seed(struct isite *s)
{
	struct stat st;
	void *map;
	int fd = -1;

	if (fstat(s->seed, &st) == 0 && st.st_size > 0 &&
	    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, s->seed, 0)) !=
	    MAP_FAILED) {
		fd = indexer_seal(map, (size_t)st.st_size);
		munmap(map, (size_t)st.st_size);
	}
	return fd;
}

/*
 * Sends the image of the site's posts as they are now: the seed itself
 * when nothing differs from it, or one built from the records.
 */
static void
publish(struct isite *s, int ctl, struct indexer_progress *progress)
{
	long long t0 = clock_ms();
	size_t size, posts, skipped;
	bool saved = false;
	void *img = NULL;
	int fd = -1;

	if (s->seed != -1) {
		if (!postdir_changed(s->dir) && (fd = seal_seed(s)) != -1)
			saved = s->cfg->seed_saved;
		close(s->seed);
		s->seed = -1;
	}
	if (fd == -1) {
		if ((img = postdir_image(s->dir, s->version + 1, &size)) == NULL ||
		    (fd = indexer_seal(img, size)) == -1) {
			log_err("%s: cannot build the post index: %s", s->cfg->label,
			    img ? strerror(errno) : "out of memory");
			free(img);
			return;
		}
		free(img);
		s->version++;
	}
	atomic_store(&progress->latest[s->id], s->version);
	/* A newer image supersedes one still waiting. */
	if (s->unsent != -1)
		close(s->unsent);
	s->unsent = fd;
	s->unsent_version = s->version;
	if (s->cfg->image_file != NULL) {
		if (s->latest != -1)
			close(s->latest);
		s->latest = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		/* A seed read from the saved file is that file already. */
		s->save_due = !saved;
		if (saved)
			s->saved_ms = clock_ms();
		else if (clock_ms() - s->saved_ms >= SAVE_MS || s->saved_ms == 0)
			save_image(s);
	}
	s->last_publish_ms = clock_ms();
	s->gap_ms = PUBLISH_GAP * (s->last_publish_ms - t0);
	if (!s->announced) {
		postdir_counts(s->dir, &posts, &skipped);
		log_info("%s: %zu post(s) in %s/posts (%zu skipped), indexed in %lld ms",
		    s->cfg->label, posts, s->cfg->root, skipped, s->last_publish_ms -
		    s->started_ms);
		s->announced = true;
	}
	send_unsent(s, ctl);
}

int
indexer_sync_name(struct fts *f, struct postdir *dir, const char *name, size_t *read)
{
	struct index_file file;
	struct post p;
	int rc = 0;

	if (!postdir_lookup(dir, name, &file))
		return fts_remove(f, name);
	if (!fts_has(f, name, &file) && postdir_read(dir, name, &file, &p) == 0) {
		rc = fts_put(f, name, &file, &p);
		post_free(&p);
		(*read)++;
	}
	return rc;
}

/* One touched name brought into the search index, until a write fails. */
struct sync {
	struct isite *s;
	bool failed;
	size_t read;
};

static void
sync_name(void *arg, const char *name)
{
	struct sync *y = arg;

	if (!y->failed)
		y->failed = indexer_sync_name(y->s->fts, y->s->dir, name, &y->read) == -1;
}

/* A name the search index holds: touched, so that one gone from posts/ is dropped. */
static void
indexed_name(void *arg, const char *name)
{
	postdir_touch(arg, name);
}

static void
ignore_name(void *arg, const char *name)
{
	(void)arg;
	(void)name;
}

/* Closes the search index; a damaged one is deleted, to be built again. */
static void
search_close(struct isite *s, const char *why)
{
	bool broken = fts_broken(s->fts);

	log_warn("%s: search index %s/search-%s.db: %s%s", s->cfg->label, s->cfg->state_dir,
	    s->cfg->label, why, broken ? ": damaged, building it again" : "");
	fts_close(s->fts);
	s->fts = NULL;
	s->fts_tried_ms = 0;
	if (broken)
		fts_destroy(s->cfg->search_db);
}

/*
 * Opens the search index; one that is new, or was left incomplete, is
 * filled from scratch, a batch each cycle; any other is checked against
 * posts/ whole (a stat per post, a read only of what changed meanwhile).
 */
static void
search_open(struct isite *s)
{
	char err[256];

	s->fts_tried_ms = clock_ms();
	if ((s->fts = fts_open_writer(s->cfg->search_db, err, sizeof(err))) == NULL) {
		if (!s->fts_warned)
			log_err("%s: search index %s/search-%s.db: %s; searches say it is being "
			    "rebuilt (trying again every %d ms)", s->cfg->label, s->cfg->state_dir,
			    s->cfg->label, err, SEARCH_RETRY_MS);
		s->fts_warned = true;
		return;
	}
	s->fts_warned = false;
	s->rebuilding = !fts_complete(s->fts);
	if (s->rebuilding) {
		s->rebuild_ms = clock_ms();
		log_info("%s: building the search index %s/search-%s.db", s->cfg->label,
		    s->cfg->state_dir, s->cfg->label);
	}
	/* Every name indexed, and every post: all touched, all checked. */
	postdir_touch_all(s->dir);
	if (fts_each_name(s->fts, indexed_name, s->dir) == -1)
		search_close(s, "unreadable");
}

/*
 * Brings the search index up to date with the records, before they are
 * published: whatever an image lists, a search finds. While rebuilding, a
 * batch a cycle (searches meanwhile say so); a failure closes it, to be
 * opened again and checked whole.
 */
static void
search_sync(struct isite *s)
{
	struct sync y = { s, false, 0 };
	bool left;

	if (s->cfg->search_db == NULL) {
		postdir_take_touched(s->dir, (size_t)-1, ignore_name, NULL);
		return;
	}
	if (s->fts != NULL && !fts_current(s->fts))
		search_close(s, "deleted or replaced: building it again");
	else if (s->fts != NULL && fts_broken(s->fts))
		search_close(s, "unreadable");
	if (s->fts == NULL) {
		if (clock_ms() - s->fts_tried_ms < SEARCH_RETRY_MS)
			return;
		search_open(s);
		if (s->fts == NULL)
			return;
	}
	if (!postdir_touched(s->dir) && !s->rebuilding)
		return;
	if (fts_begin(s->fts) == -1) {
		search_close(s, "cannot write");
		return;
	}
	postdir_take_touched(s->dir, s->rebuilding ? REBUILD_BATCH : (size_t)-1, sync_name, &y);
	left = postdir_touched(s->dir);
	if (!y.failed && s->rebuilding && !left)
		y.failed = fts_set_complete(s->fts, true) == -1;
	if (y.failed || fts_commit(s->fts) == -1) {
		search_close(s, "cannot write");
		return;
	}
	if (s->rebuilding && !left) {
		s->rebuilding = false;
		log_info("%s: search index built in %lld ms", s->cfg->label,
		    clock_ms() - s->rebuild_ms);
	}
}

/* Starts from the earlier image the supervisor passed, if any. */
static void
seed(struct isite *s)
{
	struct index x;
	const char *why;
	struct stat st;
	void *map;

	if (s->cfg->seed == -1)
		return;
	if (fstat(s->cfg->seed, &st) == 0 && st.st_size > 0 &&
	    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, s->cfg->seed, 0)) !=
	    MAP_FAILED) {
		if (index_map(map, (size_t)st.st_size, &x, &why) == 0 &&
		    postdir_seed(s->dir, &x, !s->cfg->seed_saved) == 0) {
			s->version = x.version;
			s->seed = s->cfg->seed;
		}
		munmap(map, (size_t)st.st_size);
	}
	if (s->seed == -1)
		close(s->cfg->seed);
}

/* Sorts one inotify event to its site and what it means there. */
static void
on_event(struct isite *sites, int n, const struct inotify_event *ev)
{
	enum postdir_change what;
	int i;

	if (ev->mask & IN_Q_OVERFLOW) {
		/* Events were lost: only a full look tells what changed. */
		log_warn("inotify: too many changes at once; reading every posts/ again");
		for (i = 0; i < n; i++)
			sites[i].follow = sites[i].rescan = true;
		return;
	}
	for (i = 0; i < n; i++) {
		struct isite *s = &sites[i];
		if (ev->wd == s->root_wd && ev->len > 0 &&
		    strcmp(ev->name, STORE_POSTS_DIR) == 0)
			s->follow = true;
		else if (ev->wd == s->posts_wd) {
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				s->follow = true;
				continue;
			}
			if (ev->len == 0)
				continue;
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE))
				what = POSTDIR_DONE;
			else if (ev->mask & (IN_CREATE | IN_MODIFY))
				what = POSTDIR_WRITING;
			else
				what = POSTDIR_TOUCHED;
			postdir_event(s->dir, ev->name, what);
		}
	}
}

/* Takes in every queued event; whether there was any. */
static bool
drain(int ifd, struct isite *sites, int n)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t len;
	char *p;
	bool any = false;

	while ((len = read(ifd, buf, sizeof(buf))) > 0)
		for (p = buf; p < buf + len; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			on_event(sites, n, ev);
			any = true;
		}
	return any;
}

/* What postdir_hear calls: the queued events of every site, taken in. */
struct hearing {
	int ifd;
	struct isite *sites;
	int n;
	bool heard;	/* events came in mid-cycle: what they ask is not done yet */
};

static void
hear(void *arg)
{
	struct hearing *h = arg;

	if (drain(h->ifd, h->sites, h->n))
		h->heard = true;
}

/* Brings one site up to date; returns ms until it wants to be looked at again. */
static long
step(struct isite *s, int ifd, int ctl, struct indexer_progress *progress)
{
	long long now = clock_ms(), since;
	long next = FOLLOW_MS, wait;

	if (s->follow || now - s->last_follow_ms >= FOLLOW_MS)
		follow(s, ifd);
	/* Without a watch on posts/, only looking tells. */
	if (s->posts_wd == -1 && postdir_fd(s->dir) != -1 &&
	    now - s->last_rescan_ms >= POLL_RESCAN_MS)
		s->rescan = true;
	if (s->rescan) {
		s->rescan = false;
		s->last_rescan_ms = now;
		postdir_rescan(s->dir);
	}
	if ((wait = postdir_apply(s->dir)) >= 0 && wait < next)
		next = wait;
	/* Pages first: the search index follows in the same cycle. */
	if (postdir_changed(s->dir) || s->seed != -1) {
		since = clock_ms() - s->last_publish_ms;
		if (since >= s->gap_ms)
			publish(s, ctl, progress);
		else if (s->gap_ms - since < next)
			next = (long)(s->gap_ms - since);
	}
	search_sync(s);
	if (s->rebuilding)
		next = 0;
	if (s->save_due) {
		since = clock_ms() - s->saved_ms;
		if (since >= SAVE_MS)
			save_image(s);
		else if (SAVE_MS - since < next)
			next = (long)(SAVE_MS - since);
	}
	return next;
}

bool
indexer_behind(const struct indexer_watch *w, int site, unsigned long have,
    unsigned long *ticket)
{
	const struct indexer_progress *p = w->progress;
	uint64_t one = 1;
	int queued = 0;

	if (p == NULL)
		return false;
	if (*ticket != 0)
		return atomic_load(&p->done) < *ticket || atomic_load(&p->latest[site]) > have;
	if (!(w->inotify != -1 && ioctl(w->inotify, FIONREAD, &queued) == 0 && queued > 0) &&
	    atomic_load(&p->started) == atomic_load(&p->done) &&
	    atomic_load(&p->latest[site]) <= have)
		return false;
	/* The next cycle starts after this moment, so it reads what was queued before. */
	*ticket = atomic_load(&p->started) + 1;
	if (w->doorbell != -1 && write(w->doorbell, &one, sizeof(one)) == -1 && errno != EAGAIN)
		return false;
	return true;
}

int
indexer_run(const struct indexer_site *cfg, int n, int ctl, int ifd, int doorbell,
    struct indexer_progress *progress)
{
	struct isite sites[CONFIG_MAX_HOSTS];
	struct hearing hearing = { ifd, sites, n, false };
	struct ctl_msg m;
	struct pollfd p[3];
	unsigned long cycle;
	uint64_t rung;
	long next, wait;
	bool backlog, behind;
	int i, fd, rc;

	if (ifd == -1)
		log_warn("inotify: not available; rescanning posts every %d ms instead",
		    POLL_RESCAN_MS);
	memset(sites, 0, sizeof(sites));
	for (i = 0; i < n; i++) {
		struct isite *s = &sites[i];
		s->id = i;
		s->cfg = &cfg[i];
		s->unsent = -1;
		s->latest = -1;
		s->seed = -1;
		s->posts_wd = -1;
		s->started_ms = clock_ms();
		if ((s->dir = postdir_new(cfg[i].rootfd, cfg[i].max_post_size,
		    cfg[i].label)) == NULL) {
			log_err("%s: out of memory", cfg[i].label);
			return 1;
		}
		if (ifd != -1)
			postdir_hear(s->dir, hear, &hearing);
		seed(s);
		s->root_wd = watch_fd(ifd, cfg[i].rootfd, ROOT_MASK);
		s->follow = s->rescan = true;
	}
	p[0] = (struct pollfd){ .fd = ctl, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = ifd, .events = POLLIN };
	p[2] = (struct pollfd){ .fd = doorbell, .events = POLLIN };
	for (;;) {
		/* A cycle: read all that is queued, then publish what changed. */
		cycle = atomic_fetch_add(&progress->started, 1) + 1;
		if (doorbell != -1)
			while (read(doorbell, &rung, sizeof(rung)) > 0)
				;
		if (ifd != -1)
			drain(ifd, sites, n);
		next = FOLLOW_MS;
		behind = hearing.heard = false;
		for (i = 0; i < n; i++) {
			if ((wait = step(&sites[i], ifd, ctl, progress)) < next)
				next = wait;
			behind |= postdir_changed(sites[i].dir);
		}
		/* Events taken in while reading wait for the next cycle, which comes at once. */
		if (hearing.heard) {
			behind = true;
			next = 0;
		}
		/* Changes held back for a moment (PUBLISH_GAP) are not done. */
		if (!behind)
			atomic_store(&progress->done, cycle);
		log_flush();
		backlog = log_backlog();
		for (i = 0; i < n; i++)
			if (!send_unsent(&sites[i], ctl))
				backlog = true;
		p[0].events = POLLIN | (backlog ? POLLOUT : 0);
		if (poll(p, 3, (int)next) == -1 && errno != EINTR)
			return 1;
		/* The supervisor is gone (or confused): nobody to index for. */
		if (p[0].revents & (POLLHUP | POLLERR))
			return 0;
		if (p[0].revents & POLLIN) {
			while ((rc = ctl_recv(ctl, &m, &fd)) == 1)
				if (fd != -1)
					close(fd);
			if (rc == -1)
				return 0;
		}
	}
}
