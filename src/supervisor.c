/*
 * The supervisor and its children.
 *
 * A generation is one loaded configuration: struct config, struct server
 * (certificates, TLS contexts, content roots, listening sockets), the user
 * to run as, a key holder, an indexer process and N workers forked from it,
 * which share its memory copy-on-write and its session-ticket keys. The
 * key holder alone reads the private keys (keys.h): the supervisor and the
 * workers never do. A generation goes live only once its key holder has read
 * every key and its indexer has sent a first image of every site's posts:
 * then its workers start, and the previous generation's children get
 * SIGTERM, which lets each finish what it is sending (its key holder goes
 * once they are gone).
 *
 * A reload (SIGHUP, or a content root that now leads to another folder)
 * builds the next generation beside the live one, which it does not touch:
 * listening sockets are duplicated, not taken, and the next generation's
 * indexer starts from the live one's last images. Whatever fails on the way
 * (configuration, keys, a port, a fork, the indexer) leaves the live
 * generation exactly as it was.
 *
 * Every child has a control channel to the supervisor (ctl.h): its log lines
 * come up it, never blocking the child; index images come up from the
 * indexer and go down to the workers. The supervisor keeps root (so that
 * a reload's key holder can read keys, and to reopen the log) and never
 * touches a client's bytes.
 *
 * A worker that dies is replaced; one that keeps dying is replaced after a
 * growing pause, and its last words are in the log. The supervisor's loop is
 * poll(2) on a signalfd and the channels, not libevent: a forked child must
 * not inherit an event base whose epoll instance it would share.
 */
#include "supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ctl.h"
#include "indexer.h"
#include "log.h"
#include "mime.h"
#include "publisher.h"
#include "quota.h"
#include "sandbox.h"
#include "server.h"
#include "store.h"
#include "tickets.h"
#include "titan.h"
#include "tls.h"

#define MAX_WORKERS CONFIG_MAX_WORKERS
#define MAX_CHILDREN (4 * MAX_WORKERS + 8)
#define BACKOFF_MIN_MS 1000	/* a child dying again soon is restarted after this, */
#define BACKOFF_MAX_MS 60000	/* doubling up to this */
#define STABLE_MS 10000		/* a child that lived this long starts afresh */
#define CRASH_LOOP 3		/* deaths in a row that make a crash loop worth saying */
#define LAST_WORDS 3		/* lines kept of what each child said last */
#define ROOT_CHECK_MS 2000	/* the roots are compared with their paths this often */
#define ROOT_SETTLE_MS 100	/* ... and this long after a change next to one */
#define HANDOVER_MS 5000	/* the longest each step of a handover waits */

enum role {
	ROLE_WORKER,
	ROLE_INDEXER,
	ROLE_KEYS,		/* the key holder */
	ROLE_PUBLISHER,		/* writes uploaded posts (publisher.h) */
};

struct child {
	pid_t pid;
	enum role role;
	int gen;		/* its generation's id */
	int slot;		/* a worker's place in its generation */
	int ctl;		/* the supervisor's end of its channel */
	int ledger;		/* a worker's in the quota table, or -1 */
	unsigned long sent[CONFIG_MAX_HOSTS];	/* image versions a worker has */
	bool ready;		/* a worker: confined and accepting */
	bool retired;		/* a worker: no longer accepting */
	char last[LAST_WORDS][256];	/* what it said last, oldest first */
	int nlast;
	long long started_ms;
};

/* A worker's place, or the indexer's, in a generation; refilled when empty. */
struct slot {
	pid_t pid;		/* 0: empty */
	int deaths;		/* quick deaths in a row */
	long long retry_ms;	/* when an empty slot is refilled */
};

struct generation {
	int id;
	struct config *cfg;
	struct server srv;
	struct sandbox_user user;
	int nworkers;
	struct slot workers[MAX_WORKERS];
	struct slot indexer;
	struct slot keys;		/* the key holder */
	bool keys_ready;		/* it has read every key: workers may start */
	/* Each worker slot's socket pair to the key holder: [0] the worker's, [1] its. */
	int keyfd[MAX_WORKERS][2];
	/* Likewise to the publisher, when a site takes uploads (-1 else). */
	int pubfd[MAX_WORKERS][2];
	bool titan;			/* some site takes uploads: a publisher runs */
	struct slot publisher;
	bool publisher_started;		/* ... once: later starts are restarts */
	/* The indexer's inotify instance and doorbell, shared with the workers. */
	struct indexer_watch watch;
	int inotify, doorbell;		/* -1: none */
	struct indexer_progress *progress;	/* shared with the indexer and workers */
	int image[CONFIG_MAX_HOSTS];	/* each site's latest index image (a memfd), or -1 */
	unsigned long version[CONFIG_MAX_HOSTS];
	dev_t root_dev[CONFIG_MAX_HOSTS];	/* the folder each root was at load */
	ino_t root_ino[CONFIG_MAX_HOSTS];
	dev_t tried_dev[CONFIG_MAX_HOSTS];	/* a folder a reload was tried for */
	ino_t tried_ino[CONFIG_MAX_HOSTS];
	bool root_missing[CONFIG_MAX_HOSTS];	/* said once */
	int statefd;			/* the state folder, or -1: no search index */
	char *index_db[CONFIG_MAX_HOSTS];	/* each search index, as the indexer opens it */
	char *image_file[CONFIG_MAX_HOSTS];	/* where the indexer saves each image */
	bool seed_saved[CONFIG_MAX_HOSTS];	/* its seed is the one saved by an earlier run */
};

struct supervisor {
	struct generation *gen;		/* live */
	struct generation *next;	/* loading: waits for its indexer's first images */
	struct quota *quota;		/* per-client limits, shared by every worker */
	struct tickets *tickets;	/* session-ticket keys, shared likewise */
	long long rotate_ms;		/* when the ticket key is next rotated; 0: never */
	struct child children[MAX_CHILDREN];
	int nchildren;
	int sigfd;
	sigset_t sigs, oldmask;
	supervisor_load_fn load;
	void *load_arg;
	bool stopping;
	/*
	 * A reload hands over in two steps: the old generation is told to stop
	 * once the new one's workers are ready, and the reload is done once the
	 * old workers no longer accept; so no moment has nobody accepting, and
	 * no request after "reloaded" meets the old configuration.
	 */
	int retiring;			/* the generation handing over, or 0 */
	int last_id;			/* ids only grow: a child is never taken for a later one's */
	bool retire_sent;		/* ... it was told to stop */
	long long handover_ms;		/* when the current step began */
	int rootwatch;			/* inotify on the folders that hold the roots */
	long long root_check_ms;	/* when to compare the roots with their paths */
};

static struct child *
find_child(struct supervisor *sv, pid_t pid)
{
	for (int i = 0; i < sv->nchildren; i++)
		if (sv->children[i].pid == pid)
			return &sv->children[i];
	return NULL;
}

static struct generation *
find_generation(struct supervisor *sv, int id)
{
	if (sv->gen != NULL && sv->gen->id == id)
		return sv->gen;
	if (sv->next != NULL && sv->next->id == id)
		return sv->next;
	return NULL;
}

/* ---- Generations --------------------------------------------------------- */

/*
 * Gives the state folder and what is in it to the children's user: systemd
 * hands a StateDirectory= back to root (the service's user) at each start.
 */
static int
state_give(int fd, const struct sandbox_user *u)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int dfd;

	if (fstat(fd, &st) == -1 || ((st.st_uid != u->uid || st.st_gid != u->gid) &&
	    fchown(fd, u->uid, u->gid) == -1))
		return -1;
	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	/* cppcheck-suppress readdirCalled */
	while ((de = readdir(d)) != NULL)
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_uid != u->uid || st.st_gid != u->gid))
			fchownat(fd, de->d_name, u->uid, u->gid, AT_SYMLINK_NOFOLLOW);
	closedir(d);
	return 0;
}

/*
 * The state folder, where the indexer writes the search indexes: made when
 * missing and, when we are root, given to the user the children run as.
 * Children reach it through /proc/self/fd (its parents may be closed to
 * that user), or inside the chroot. -1, with a warning, when it cannot be
 * had: searches then say the index is being rebuilt.
 */
static int
state_open(struct generation *g)
{
	const struct config *cfg = g->cfg;
	char real[PATH_MAX], jail[PATH_MAX];
	size_t n;
	int fd, i;

	if (cfg->state_dir[0] == '\0')
		return -1;
	if ((mkdir(cfg->state_dir, 0750) == -1 && errno != EEXIST) ||
	    (fd = open(cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("state_dir %s: %s; search is off", cfg->state_dir, strerror(errno));
		return -1;
	}
	if (g->user.root && g->user.found && state_give(fd, &g->user) == -1) {
		log_warn("state_dir %s: cannot give it to %s: %s; search is off", cfg->state_dir,
		    g->user.name, strerror(errno));
		close(fd);
		return -1;
	}
	for (i = 0; i < g->srv.nsites; i++) {
		const char *host = cfg->hosts[i].name;
		if (asprintf(&g->image_file[i], "/proc/self/fd/%d/posts-%s.img", fd, host) == -1)
			g->image_file[i] = NULL;
		if (asprintf(&g->index_db[i], "/proc/self/fd/%d/search-%s.db", fd, host) == -1) {
			g->index_db[i] = NULL;
			continue;
		}
		/* A worker in a chroot has no /proc: the path inside the chroot, if it is there. */
		if (cfg->chroot[0] != '\0' && g->user.root) {
			n = realpath(cfg->chroot, jail) != NULL && realpath(cfg->state_dir, real) !=
			    NULL ? strlen(jail) : 0;
			if (n == 0 || strncmp(real, jail, n) != 0 || real[n] != '/') {
				log_warn("state_dir %s is outside chroot %s: search is off",
				    cfg->state_dir, cfg->chroot);
				continue;
			}
			if (asprintf(&g->srv.sites[i].search_db, "%s/search-%s.db", real + n,
			    host) == -1)
				g->srv.sites[i].search_db = NULL;
		} else
			g->srv.sites[i].search_db = strdup(g->index_db[i]);
	}
	return fd;
}

static void
generation_close_watch(struct generation *g)
{
	if (g->inotify != -1)
		close(g->inotify);
	if (g->doorbell != -1)
		close(g->doorbell);
}

/*
 * What a start or a reload checks of cfg before it loads and binds: the
 * roots, the user, the ticket key file; messages name where a key was set.
 */
static int
check_setup(const struct config *cfg, struct tickets *tickets, struct sandbox_user *u,
    char *err, size_t errsize)
{
	char where[CONFIG_PATH_MAX + 32], why[600];

	if (config_check_paths(cfg, err, errsize) == -1)
		return -1;
	if (sandbox_lookup(cfg->user, u, why, sizeof(why)) == -1) {
		snprintf(err, errsize, "%s: %s", config_where(cfg, "user", where, sizeof(where)),
		    why);
		return -1;
	}
	if (cfg->ticket_key_file[0] != '\0' &&
	    tickets_load(tickets, cfg->ticket_key_file, why, sizeof(why)) == -1) {
		snprintf(err, errsize, "%s: %s", config_where(cfg, "ticket_key_file", where,
		    sizeof(where)), why);
		return -1;
	}
	return 0;
}

int
supervisor_check(const struct config *cfg, char *err, size_t errsize)
{
	struct tickets *tickets = tickets_new();
	struct sandbox_user user;
	struct mime *mime = NULL;
	int rc = -1;

	if (tickets == NULL)
		snprintf(err, errsize, "cannot make the session-ticket keys: %s", strerror(errno));
	else if (check_setup(cfg, tickets, &user, err, errsize) == 0 &&
	    (mime = mime_new(err, errsize)) != NULL && tls_check(cfg, err, errsize) == 0)
		rc = 0;
	mime_free(mime);
	tickets_free(tickets);
	return rc;
}

static void generation_free(struct generation *g);

static struct generation *
generation_load(struct config *cfg, const struct server *old, struct supervisor *sv, int id,
    char *err, size_t errsize)
{
	struct generation *g;
	struct stat st;
	int i;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	g->id = id;
	g->cfg = cfg;
	for (i = 0; i < MAX_WORKERS; i++)
		g->keyfd[i][0] = g->keyfd[i][1] = g->pubfd[i][0] = g->pubfd[i][1] = -1;
	g->statefd = -1;
	for (i = 0; i < CONFIG_MAX_HOSTS; i++)
		g->image[i] = -1;
	/* Made here, before the fork, so the indexer and the workers share them. */
	g->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	g->doorbell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	g->progress = mmap(NULL, sizeof(*g->progress), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g->progress == MAP_FAILED) {
		snprintf(err, errsize, "mmap: %s", strerror(errno));
		generation_close_watch(g);
		free(g);
		return NULL;
	}
	g->watch = (struct indexer_watch){ g->progress, g->inotify, g->doorbell };
	if (check_setup(cfg, sv->tickets, &g->user, err, errsize) == -1 ||
	    server_init(&g->srv, cfg, sv->tickets, sv->quota, err, errsize) == -1 ||
	    server_listen(&g->srv, old, err, errsize) == -1) {
		server_clear(&g->srv);
		generation_close_watch(g);
		munmap(g->progress, sizeof(*g->progress));
		free(g);
		return NULL;
	}
	for (i = 0; i < g->srv.nsites; i++)
		if (fstat(g->srv.sites[i].rootfd, &st) == 0) {
			g->root_dev[i] = st.st_dev;
			g->root_ino[i] = st.st_ino;
		}
	g->statefd = state_open(g);
	g->nworkers = config_workers(cfg);
	/* Kept open here for the generation's life: a worker or key holder restarts on them. */
	for (i = 0; i < cfg->nhosts; i++)
		g->titan |= cfg->hosts[i].titan;
	for (i = 0; i < g->nworkers; i++)
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, g->keyfd[i]) == -1 ||
		    (g->titan && ctl_pair(g->pubfd[i]) == -1)) {
			snprintf(err, errsize, "socketpair: %s", strerror(errno));
			g->cfg = NULL;	/* the caller's, on failure */
			generation_free(g);
			return NULL;
		}
	return g;
}

static void
generation_free(struct generation *g)
{
	if (g == NULL)
		return;
	for (int i = 0; i < CONFIG_MAX_HOSTS; i++) {
		if (g->image[i] != -1)
			close(g->image[i]);
		free(g->index_db[i]);
		free(g->image_file[i]);
	}
	if (g->statefd != -1)
		close(g->statefd);
	for (int i = 0; i < MAX_WORKERS; i++)
		for (int k = 0; k < 2; k++)
			if (g->keyfd[i][k] != -1)
				close(g->keyfd[i][k]);
	for (int i = 0; i < MAX_WORKERS; i++)
		for (int k = 0; k < 2; k++)
			if (g->pubfd[i][k] != -1)
				close(g->pubfd[i][k]);
	generation_close_watch(g);
	munmap(g->progress, sizeof(*g->progress));
	server_clear(&g->srv);
	free(g->cfg);
	free(g);
}

/* The children that answer workers (a key holder, a publisher): released_helpers stops them. */
static bool
serves_workers(enum role role)
{
	return role == ROLE_KEYS || role == ROLE_PUBLISHER;
}

/* Signals gen's children (every generation's for gen -1) but those that serve its workers. */
static void
signal_generation(struct supervisor *sv, int gen, int sig)
{
	for (int i = 0; i < sv->nchildren; i++)
		if ((gen < 0 || sv->children[i].gen == gen) && !serves_workers(sv->children[i].role))
			kill(sv->children[i].pid, sig);
}

/*
 * A key holder or publisher outlives the workers it serves, which finish
 * their handshakes and uploads after SIGTERM: it is stopped once its
 * generation is neither live nor loading (or everything stops) and none of
 * its workers is left.
 */
static void
release_helpers(struct supervisor *sv)
{
	struct child *c;
	int i, j;

	for (i = 0; i < sv->nchildren; i++) {
		c = &sv->children[i];
		if (!serves_workers(c->role) || c->retired || (!sv->stopping &&
		    ((sv->gen != NULL && c->gen == sv->gen->id) ||
		    (sv->next != NULL && c->gen == sv->next->id))))
			continue;
		for (j = 0; j < sv->nchildren; j++)
			if (sv->children[j].role == ROLE_WORKER && sv->children[j].gen == c->gen)
				break;
		if (j == sv->nchildren) {
			kill(c->pid, SIGTERM);
			c->retired = true;
		}
	}
}

/* ---- Children ------------------------------------------------------------ */

static int
fd_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * Closes every descriptor but stdio and keep: a child holds what its own
 * generation gave it and nothing of another (listeners, images, channels).
 */
static void
close_all_but(int *keep, int n)
{
	int from = 3, i;

	qsort(keep, n, sizeof(*keep), fd_cmp);
	for (i = 0; i < n; i++) {
		if (keep[i] < from)
			continue;
		if (keep[i] > from)
			close_range((unsigned)from, (unsigned)keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	close_range((unsigned)from, ~0U, 0);
}

/* What both kinds of child do first, in the fork's child. */
static void
child_start(struct supervisor *sv, int ctl, const char *name)
{
	prctl(PR_SET_NAME, name);
	/* Signals were blocked for the supervisor's signalfd: the child's own. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, &sv->oldmask, NULL);
	log_open_channel(ctl);
}

static const char *
sandbox_name(enum sandbox_role role)
{
	return role == SANDBOX_WORKER ? "worker" : role == SANDBOX_INDEXER ? "indexer" :
	    role == SANDBOX_PUBLISHER ? "publisher" : "key holder";
}

/*
 * Drops root and confines a fresh child: chroot (workers), Landlock (the key
 * holder: no file at all), seccomp.
 */
static int
confine(struct generation *g, enum sandbox_role role, pid_t supervisor, const int *writable,
    int nwritable)
{
	const char *what = sandbox_name(role);
	int rootfds[CONFIG_MAX_HOSTS], i, r, nroots = role == SANDBOX_KEYS ? 0 : g->srv.nsites;
	char err[512], said[200];

	for (i = 0; i < g->srv.nsites; i++)
		rootfds[i] = g->srv.sites[i].rootfd;
	/* chroot needs root, so it comes before the drop; open descriptors survive it. */
	if (role == SANDBOX_WORKER && g->cfg->chroot[0] != '\0') {
		if (!g->user.root)
			log_warn("worker %d: not started as root: cannot chroot to %s",
			    (int)getpid(), g->cfg->chroot);
		else if (sandbox_chroot(g->cfg->chroot, err, sizeof(err)) == -1) {
			log_err("%s", err);
			return -1;
		} else
			log_info("worker %d: chroot %s", (int)getpid(), g->cfg->chroot);
	}
	if (g->user.root) {
		if (sandbox_drop(&g->user, err, sizeof(err)) == -1) {
			log_err("%s", err);
			return -1;
		}
		log_info("%s %d: running as %s (uid %u), no supplementary groups", what,
		    (int)getpid(), g->user.name, g->user.uid);
	} else
		log_info("%s %d: not started as root: no privileges to drop", what,
		    (int)getpid());
	/* Dropping privileges cleared the death signal; set it now. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != supervisor)
		return -1;
	if ((r = sandbox_landlock(rootfds, nroots, role == SANDBOX_KEYS ||
	    role == SANDBOX_PUBLISHER ? -1 : g->statefd, role == SANDBOX_INDEXER, writable,
	    nwritable, said, sizeof(said), err, sizeof(err))) == -1) {
		log_err("%s", err);
		return -1;
	}
	if (r > 0 && role == SANDBOX_PUBLISHER)
		log_info("%s %d: landlock (ABI %d): content roots read-only, the %d folder(s) "
		    "taking uploads writable, no other file; %s", what, (int)getpid(), r, nwritable,
		    said);
	else if (r > 0 && role == SANDBOX_KEYS)
		log_info("%s %d: landlock (ABI %d): no file at all; %s", what, (int)getpid(), r,
		    said);
	else if (r > 0)
		log_info("%s %d: landlock (ABI %d): content roots read-only, %s, no other file; "
		    "%s", what, (int)getpid(), r, g->statefd == -1 ? "no state folder" :
		    role == SANDBOX_INDEXER ? "the state folder writable" :
		    "the state folder read-only", said);
	if (!g->cfg->seccomp) {
		log_warn("%s %d: seccomp = no: system calls are not filtered", what,
		    (int)getpid());
		r = 0;
	} else if ((r = sandbox_seccomp(role, err, sizeof(err))) == -1) {
		log_err("%s", err);
		return -1;
	}
	if (r > 0)
		log_info("%s %d: seccomp: system call allow-list in force", what, (int)getpid());
	return 0;
}

static void __attribute__((noreturn))
worker_main(struct supervisor *sv, struct generation *g, int slot, int ctl, pid_t supervisor)
{
	int keep[SERVER_MAX_LISTENERS + 2 * CONFIG_MAX_HOSTS + 6], n = 0, i, rc;
	char err[256];

	child_start(sv, ctl, "gazette-worker");
	keep[n++] = ctl;
	/* Its stand-in keys ask the key holder over its slot's socket. */
	keep[n++] = g->keyfd[slot][0];
	tls_keys_attach(&g->srv.tls, g->keyfd[slot][0]);
	/* Uploads go to the publisher over its slot's socket. */
	if (g->pubfd[slot][0] != -1)
		keep[n++] = g->srv.publisher = g->pubfd[slot][0];
	if (g->inotify != -1)
		keep[n++] = g->inotify;
	if (g->doorbell != -1)
		keep[n++] = g->doorbell;
	if (g->statefd != -1)
		keep[n++] = g->statefd;
	for (i = 0; i < g->srv.nlisteners; i++)
		keep[n++] = g->srv.listeners[i].fd;
	for (i = 0; i < g->srv.nsites; i++) {
		keep[n++] = g->srv.sites[i].rootfd;
		if (g->image[i] != -1)
			keep[n++] = g->image[i];
	}
	close_all_but(keep, n);
	/* The images as they are now; newer ones come down the channel. */
	for (i = 0; i < g->srv.nsites; i++) {
		store_follow(g->srv.sites[i].store, &g->watch, i);
		if (g->image[i] != -1) {
			if (store_set_image(g->srv.sites[i].store, g->image[i], err,
			    sizeof(err)) == -1)
				log_err("%s: %s", g->srv.sites[i].cfg->name, err);
			close(g->image[i]);
		}
	}
	if (server_prepare(&g->srv, ctl) == -1 || confine(g, SANDBOX_WORKER, supervisor, NULL, 0) == -1)
		_exit(1);
	ctl_send_type(ctl, CTL_READY);
	log_info("worker %d: serving", (int)getpid());
	rc = server_run(&g->srv);
	log_flush();
	_exit(rc == 0 ? 0 : 1);
}

static void __attribute__((noreturn))
indexer_main(struct supervisor *sv, struct generation *g, int ctl, const int *seeds,
    pid_t supervisor)
{
	struct indexer_site sites[CONFIG_MAX_HOSTS];
	int keep[2 * CONFIG_MAX_HOSTS + 4], n = 0, i, rc;

	child_start(sv, ctl, "gazette-indexer");
	keep[n++] = ctl;
	if (g->inotify != -1)
		keep[n++] = g->inotify;
	if (g->doorbell != -1)
		keep[n++] = g->doorbell;
	if (g->statefd != -1)
		keep[n++] = g->statefd;
	for (i = 0; i < g->srv.nsites; i++) {
		keep[n++] = g->srv.sites[i].rootfd;
		if (seeds[i] != -1)
			keep[n++] = seeds[i];
		sites[i] = (struct indexer_site){ g->srv.sites[i].rootfd,
		    (size_t)g->cfg->hosts[i].max_post_size, g->cfg->hosts[i].name,
		    g->cfg->hosts[i].root, seeds[i], g->seed_saved[i], g->index_db[i],
		    g->cfg->state_dir, g->image_file[i] };
	}
	close_all_but(keep, n);
	if (confine(g, SANDBOX_INDEXER, supervisor, NULL, 0) == -1)
		_exit(1);
	rc = indexer_run(sites, g->srv.nsites, ctl, g->inotify, g->doorbell, g->progress);
	log_flush();
	_exit(rc);
}

/*
 * The key holder: reads every host's key (as root, before the drop), says
 * READY, then answers each worker slot's socket until the supervisor goes.
 */
static void __attribute__((noreturn))
keys_main(struct supervisor *sv, struct generation *g, int ctl, pid_t supervisor)
{
	EVP_PKEY_CTX *signers[CONFIG_MAX_HOSTS];
	EVP_PKEY *key;
	struct pollfd p[MAX_WORKERS + 1];
	int keep[MAX_WORKERS + 1], i, n;
	char err[700];

	child_start(sv, ctl, "gazette-keys");
	keep[0] = ctl;
	for (i = 0; i < g->nworkers; i++)
		keep[i + 1] = g->keyfd[i][1];
	close_all_but(keep, g->nworkers + 1);
	for (n = 0; n < g->srv.nsites; n++)
		if ((key = keys_load(g->cfg->hosts[n].key,
		    SSL_CTX_get0_certificate(g->srv.tls.ctx[n]), err, sizeof(err))) == NULL ||
		    (signers[n] = keys_signer(key)) == NULL) {
			log_err("host %s: %s", g->cfg->hosts[n].name, key == NULL ? err :
			    "cannot sign with its key");
			log_flush();
			_exit(1);
		}
	/*
	 * Batch: a worker's request does not preempt it, so a busy worker goes
	 * on with its other connections and the key holder answers several
	 * requests a wake-up, not one (two context switches a handshake).
	 */
	sched_setscheduler(0, SCHED_BATCH, &(struct sched_param){ 0 });
	if (confine(g, SANDBOX_KEYS, supervisor, NULL, 0) == -1)
		_exit(1);
	ctl_send_type(ctl, CTL_READY);
	p[0] = (struct pollfd){ .fd = ctl, .events = POLLIN };
	for (i = 0; i < g->nworkers; i++)
		p[i + 1] = (struct pollfd){ .fd = g->keyfd[i][1], .events = POLLIN };
	for (;;) {
		log_flush();
		if (poll(p, (nfds_t)g->nworkers + 1, -1) == -1 && errno != EINTR)
			break;
		/* The supervisor is gone (it never writes here otherwise): so are we. */
		if (p[0].revents != 0)
			break;
		for (i = 1; i <= g->nworkers; i++)
			if ((p[i].revents & POLLIN) && keys_answer(signers, n, p[i].fd) == -1)
				p[i].fd = -1;
	}
	_exit(0);
}

/*
 * The publisher: opens each uploading site's posts/ (Landlock lets it write
 * there and nowhere else), then answers each worker slot's socket.
 */
static void __attribute__((noreturn))
publisher_main(struct supervisor *sv, struct generation *g, int ctl, pid_t supervisor)
{
	struct publisher_site sites[CONFIG_MAX_HOSTS];
	int keep[MAX_WORKERS + (TITAN_FOLDERS_MAX + 2) * CONFIG_MAX_HOSTS + 1],
	    dirs[(TITAN_FOLDERS_MAX + 1) * CONFIG_MAX_HOSTS];
	int fds[MAX_WORKERS], n = 0, ndirs = 0, nsites = g->srv.nsites, i, f, rc;
	const char *why;

	child_start(sv, ctl, "gazette-publish");
	keep[n++] = ctl;
	for (i = 0; i < g->nworkers; i++)
		keep[n++] = fds[i] = g->pubfd[i][1];
	for (i = 0; i < nsites; i++) {
		const struct host_config *h = &g->cfg->hosts[i];
		struct publisher_site *site = &sites[i];
		*site = (struct publisher_site){ .rootfd = g->srv.sites[i].rootfd,
		    .label = h->name, .titan = h->titan, .max_size = h->titan_max_size,
		    .versions = h->titan_versions };
		keep[n++] = site->rootfd;
		site->nfolders = h->titan ? titan_folders(h->titan_files, site->folders, &why) : 0;
		for (f = 0; f < site->nfolders; f++)
			if ((site->dirs[f] = openat(site->rootfd, site->folders[f], O_RDONLY |
			    O_DIRECTORY | O_CLOEXEC)) != -1)
				keep[n++] = dirs[ndirs++] = site->dirs[f];
	}
	close_all_but(keep, n);
	if (confine(g, SANDBOX_PUBLISHER, supervisor, dirs, ndirs) == -1)
		_exit(1);
	for (i = 0; i < nsites; i++)
		for (f = 0; f < sites[i].nfolders; f++)
			if (sites[i].dirs[f] == -1 ||
			    faccessat(sites[i].dirs[f], ".", W_OK | X_OK, AT_EACCESS) == -1)
				log_warn("%s: uploads to %s/ will fail: %s/%s is %s", sites[i].label,
				    sites[i].folders[f], g->cfg->hosts[i].root, sites[i].folders[f],
				    sites[i].dirs[f] == -1 ? "missing" : errno == EROFS ?
				    "on a read-only file system (under systemd: ReadWritePaths=)" :
				    "not writable by the user gazette runs as (chown it)");
	rc = publisher_run(sites, nsites, ctl, fds, g->nworkers);
	log_flush();
	_exit(rc);
}

/* Forks a child of g; returns its table entry, or NULL (errno set) when it could not. */
static struct child *
spawn(struct supervisor *sv, struct generation *g, enum role role, int slot,
    const int *seeds)
{
	pid_t pid, me = getpid();
	struct child *c;
	int ctl[2];

	if (sv->nchildren == MAX_CHILDREN) {
		errno = EAGAIN;
		return NULL;
	}
	if (ctl_pair(ctl) == -1)
		return NULL;
	/* Its own ledger of connections, given back when it is gone: in place before the fork. */
	g->srv.quota_ledger = role == ROLE_WORKER ? quota_ledger_take(sv->quota) : -1;
	if (role == ROLE_WORKER && g->srv.quota_ledger == -1)
		log_warn("worker slot %d: no quota ledger free; its connections are not given "
		    "back should it crash", slot);
	if ((pid = fork()) == -1) {
		int e = errno;
		close(ctl[0]);
		close(ctl[1]);
		quota_ledger_release(sv->quota, g->srv.quota_ledger);
		errno = e;
		return NULL;
	}
	if (pid == 0) {
		close(ctl[0]);
		if (role == ROLE_WORKER)
			worker_main(sv, g, slot, ctl[1], me);
		if (role == ROLE_KEYS)
			keys_main(sv, g, ctl[1], me);
		if (role == ROLE_PUBLISHER)
			publisher_main(sv, g, ctl[1], me);
		indexer_main(sv, g, ctl[1], seeds, me);
	}
	close(ctl[1]);
	c = &sv->children[sv->nchildren++];
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	c->role = role;
	c->gen = g->id;
	c->slot = slot;
	c->ctl = ctl[0];
	c->ledger = g->srv.quota_ledger;
	c->started_ms = clock_ms();
	/* A worker maps the images it was forked with. */
	for (int i = 0; i < CONFIG_MAX_HOSTS; i++)
		c->sent[i] = g->version[i];
	return c;
}

/* How long a slot waits before it is refilled after deaths quick deaths in a row. */
static long long
backoff_ms(int deaths)
{
	long long ms = BACKOFF_MIN_MS;

	if (deaths <= 1)
		return 0;
	for (int i = 2; i < deaths && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

static bool
start_worker(struct supervisor *sv, struct generation *g, int slot)
{
	struct slot *s = &g->workers[slot];
	struct child *c = spawn(sv, g, ROLE_WORKER, slot, NULL);

	if (c != NULL) {
		s->pid = c->pid;
		return true;
	}
	s->deaths++;
	s->retry_ms = clock_ms() + (backoff_ms(s->deaths) ? backoff_ms(s->deaths) :
	    BACKOFF_MIN_MS);
	log_err("cannot start a worker in slot %d: %s; trying again in %lld ms", slot,
	    strerror(errno), s->retry_ms - clock_ms());
	return false;
}

/*
 * Starts g's indexer from seeds: each site's earlier image of the same
 * folder (a reload's, or g's own after a crash), or -1.
 */
static bool
start_indexer(struct supervisor *sv, struct generation *g, const int *seeds)
{
	struct child *c = spawn(sv, g, ROLE_INDEXER, 0, seeds);

	if (c == NULL)
		return false;
	g->indexer.pid = c->pid;
	return true;
}

/* Starts g's key holder; g's workers start once it says it has every key. */
static bool
start_keys(struct supervisor *sv, struct generation *g)
{
	struct child *c = spawn(sv, g, ROLE_KEYS, 0, NULL);

	if (c == NULL)
		return false;
	g->keys.pid = c->pid;
	return true;
}

/* Starts g's publisher, when a site takes uploads; the workers' sockets wait meanwhile. */
static bool
start_publisher(struct supervisor *sv, struct generation *g)
{
	struct child *c = spawn(sv, g, ROLE_PUBLISHER, 0, NULL);

	if (c == NULL)
		return false;
	g->publisher.pid = c->pid;
	return true;
}

/* The images of from that g's indexer may start from: same folder, same limits. */
static void
seeds_from(const struct generation *from, const struct generation *g, int *seeds)
{
	int i, j;

	for (i = 0; i < CONFIG_MAX_HOSTS; i++)
		seeds[i] = -1;
	for (i = 0; from != NULL && i < g->srv.nsites; i++)
		for (j = 0; j < from->srv.nsites; j++)
			if (from->image[j] != -1 && from->root_dev[j] == g->root_dev[i] &&
			    from->root_ino[j] == g->root_ino[i] &&
			    from->cfg->hosts[j].max_post_size == g->cfg->hosts[i].max_post_size) {
				seeds[i] = from->image[j];
				break;
			}
}

/*
 * At start, no earlier image in memory: each site's image saved by the
 * last run, if there is one, so that only what changed since is read.
 */
static void
seeds_saved(struct generation *g, int *seeds)
{
	char name[300];
	int i;

	for (i = 0; i < g->srv.nsites && g->statefd != -1; i++) {
		if (seeds[i] != -1)
			continue;
		snprintf(name, sizeof(name), "posts-%s.img", g->cfg->hosts[i].name);
		seeds[i] = openat(g->statefd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		g->seed_saved[i] = seeds[i] != -1;
	}
}

/* ---- The live generation ------------------------------------------------- */

static void rootwatch_arm(struct supervisor *sv);

/* Whether a worker of generation gen has not yet reached the point (ready or retired). */
static bool
workers_pending(const struct supervisor *sv, int gen, bool retired)
{
	for (int i = 0; i < sv->nchildren; i++) {
		const struct child *c = &sv->children[i];
		if (c->role == ROLE_WORKER && c->gen == gen && !(retired ? c->retired : c->ready))
			return true;
	}
	return false;
}

/* Moves a reload's handover on, as its workers report (or HANDOVER_MS pass). */
static void
handover(struct supervisor *sv, bool now)
{
	bool timeout = clock_ms() - sv->handover_ms >= HANDOVER_MS;

	if (sv->retiring == 0)
		return;
	if (!sv->retire_sent) {
		if (!now && !timeout && workers_pending(sv, sv->gen->id, false))
			return;
		/* The new workers accept on the same sockets; the old ones finish and go. */
		signal_generation(sv, sv->retiring, SIGTERM);
		sv->retire_sent = true;
		sv->handover_ms = clock_ms();
		if (!now)
			return;
	}
	if (!now && !timeout && workers_pending(sv, sv->retiring, true))
		return;
	log_info("reloaded: generation %d, %d worker(s)", sv->gen->id, sv->gen->nworkers);
	sv->retiring = 0;
}

/* g has every image: its workers start, the previous generation's children go. */
static void
go_live(struct supervisor *sv, struct generation *g)
{
	struct generation *old = sv->gen;
	int i, started = 0;

	for (i = 0; i < g->nworkers; i++)
		started += start_worker(sv, g, i);
	if (started == 0 && old != NULL) {
		log_err("reload failed, keeping the running configuration: no worker could be "
		    "started");
		signal_generation(sv, g->id, SIGTERM);
		sv->next = NULL;
		generation_free(g);
		return;
	}
	sv->gen = g;
	sv->next = NULL;
	for (i = 0; i < g->srv.nlisteners; i++)
		log_info("listening on %s (%s)", g->srv.listeners[i].addr,
		    g->srv.listeners[i].proto == PROTO_GEMINI ? "gemini" : "gopher");
	if (old == NULL && g->cfg->gopher_port != 0)
		log_info("gazette started: %d worker(s), gemini://%s:%d/ gopher://%s:%d/",
		    g->nworkers, g->cfg->hosts[0].name, g->cfg->gemini_port,
		    g->cfg->hosts[0].name, g->cfg->gopher_port);
	else if (old == NULL)
		log_info("gazette started: %d worker(s), gemini://%s:%d/", g->nworkers,
		    g->cfg->hosts[0].name, g->cfg->gemini_port);
	else {
		/* A handover still under way (reloads in quick succession) ends now. */
		handover(sv, true);
		sv->retiring = old->id;
		sv->retire_sent = false;
		sv->handover_ms = clock_ms();
		generation_free(old);
	}
	rootwatch_arm(sv);
	/* A key file is rotated by its owner; else a new key every ticket_rotation. */
	if (g->cfg->ticket_key_file[0] != '\0')
		sv->rotate_ms = 0;
	else if (sv->rotate_ms == 0 || sv->rotate_ms > clock_ms() + g->cfg->ticket_rotation_ms)
		sv->rotate_ms = clock_ms() + g->cfg->ticket_rotation_ms;
}

static void
rotate_tickets(struct supervisor *sv)
{
	if (sv->rotate_ms == 0 || clock_ms() < sv->rotate_ms || sv->gen == NULL)
		return;
	if (tickets_rotate(sv->tickets) == 0)
		log_info("session-ticket key rotated; the previous one decrypts for %d s more",
		    sv->gen->cfg->ticket_rotation_ms / 1000);
	else
		log_err("cannot make a new session-ticket key; keeping the current one");
	sv->rotate_ms = clock_ms() + sv->gen->cfg->ticket_rotation_ms;
}

/* Loads the configuration again and starts the next generation beside the live one. */
static void
reload(struct supervisor *sv, const char *why)
{
	struct config *cfg;
	struct generation *g;
	int seeds[CONFIG_MAX_HOSTS];
	char err[1200];

	log_info("%s: reloading the configuration, certificates and posts", why);
	if (sv->next != NULL) {
		log_info("a reload was under way: starting it again");
		signal_generation(sv, sv->next->id, SIGTERM);
		generation_free(sv->next);
		sv->next = NULL;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL || sv->load(sv->load_arg, cfg, err,
	    sizeof(err)) == -1) {
		log_err("reload failed, keeping the running configuration: %s",
		    cfg ? err : "out of memory");
		free(cfg);
		return;
	}
	if ((g = generation_load(cfg, &sv->gen->srv, sv, ++sv->last_id, err,
	    sizeof(err))) == NULL) {
		log_err("reload failed, keeping the running configuration: %s", err);
		free(cfg);
		return;
	}
	seeds_from(sv->gen, g, seeds);
	if (!start_keys(sv, g) || !start_indexer(sv, g, seeds)) {
		log_err("reload failed, keeping the running configuration: cannot start the "
		    "%s: %s", g->keys.pid == 0 ? "key holder" : "indexer", strerror(errno));
		signal_generation(sv, g->id, SIGTERM);
		generation_free(g);
		return;
	}
	sv->next = g;
}

/* The next generation goes live once it has every image and every key. */
static void
maybe_go_live(struct supervisor *sv, struct generation *g)
{
	int i;

	if (g != sv->next || !g->keys_ready)
		return;
	for (i = 0; i < g->srv.nsites; i++)
		if (g->image[i] == -1)
			return;
	go_live(sv, g);
}

/* An image came up from g's indexer: keep it, and go live or pass it on. */
static void
image_arrived(struct supervisor *sv, struct child *c, const struct ctl_msg *m, int fd)
{
	struct generation *g = find_generation(sv, c->gen);

	if (g == NULL || c->role != ROLE_INDEXER || g->indexer.pid != c->pid ||
	    m->site >= g->srv.nsites) {
		close(fd);
		return;
	}
	if (g->image[m->site] != -1)
		close(g->image[m->site]);
	g->image[m->site] = fd;
	g->version[m->site] = (unsigned long)m->version;
	maybe_go_live(sv, g);
}

/* Hands the live generation's newest images to the workers that lack them. */
static bool
deliver_images(struct supervisor *sv, struct child *c)
{
	struct generation *g = sv->gen;
	struct ctl_msg m = { .type = CTL_IMAGE };
	int i;

	if (g == NULL || c->role != ROLE_WORKER || c->gen != g->id)
		return true;
	for (i = 0; i < g->srv.nsites; i++) {
		if (g->image[i] == -1 || c->sent[i] == g->version[i])
			continue;
		m.site = (uint8_t)i;
		m.version = g->version[i];
		if (ctl_send(c->ctl, &m, g->image[i]) == -1)
			return false;	/* its queue is full: on POLLOUT */
		c->sent[i] = g->version[i];
	}
	return true;
}

/* Keeps a child's log line as its last words, and passes it on. */
static void
hear(struct child *c, const struct ctl_msg *m)
{
	size_t n = m->len;
	const char *text;

	log_relay(m->data, n);
	/* Its words, without the time and "gazette: " the line starts with. */
	if ((text = memchr(m->data, ' ', n)) != NULL && (size_t)(text - m->data) + 10 < n &&
	    memcmp(text, " gazette: ", 10) == 0)
		text += 10;
	else
		text = m->data;
	n -= (size_t)(text - m->data);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	if (c->nlast == LAST_WORDS) {
		memmove(c->last[0], c->last[1], sizeof(c->last[0]) * (LAST_WORDS - 1));
		c->nlast--;
	}
	snprintf(c->last[c->nlast++], sizeof(c->last[0]), "%.*s", (int)n, text);
}

/* Reads what a child sent. */
/* A key holder has every key: its generation may go live. */
static void
keys_ready(struct supervisor *sv, struct child *c)
{
	struct generation *g = find_generation(sv, c->gen);

	c->ready = true;
	if (g == NULL || g->keys.pid != c->pid)
		return;
	g->keys_ready = true;
	maybe_go_live(sv, g);
}

/*
 * A worker asks for a connection to one of its site's FastCGI applications:
 * the supervisor makes it (workers may not: seccomp refuses them sockets)
 * to the configured address only, without waiting for it to be accepted,
 * and passes the socket down.
 */
static void
connect_for(struct supervisor *sv, const struct child *c, const struct ctl_msg *m)
{
	const struct generation *g = find_generation(sv, c->gen);
	/* The application goes back too: a call given up meanwhile frees its place by it. */
	struct ctl_msg r = { .type = CTL_CONNECTED, .site = m->site, .version = m->version,
	    .len = 1, .data = { (char)m->status } };
	const struct config_fastcgi *f;
	int fd = -1;

	if (g == NULL || c->role != ROLE_WORKER || m->site >= g->cfg->nhosts ||
	    m->status >= (uint32_t)g->cfg->hosts[m->site].nfastcgi)
		r.status = EINVAL;
	else {
		f = &g->cfg->hosts[m->site].fastcgi[m->status];
		if ((fd = socket(f->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0)) == -1 || (connect(fd, (const struct sockaddr *)&f->addr, f->addrlen) == -1 &&
		    errno != EINPROGRESS)) {
			r.status = (uint32_t)errno;
			if (fd != -1)
				close(fd);
			fd = -1;
		}
	}
	ctl_send(c->ctl, &r, fd);
	if (fd != -1)
		close(fd);
}

static void
listen_to(struct supervisor *sv, struct child *c)
{
	struct ctl_msg m;
	int fd;

	while (ctl_recv(c->ctl, &m, &fd) == 1) {
		if (m.type == CTL_LOG)
			hear(c, &m);
		else if (m.type == CTL_READY && c->role == ROLE_KEYS)
			keys_ready(sv, c);
		else if (m.type == CTL_READY)
			c->ready = true;
		else if (m.type == CTL_RETIRED)
			c->retired = true;
		else if (m.type == CTL_CONNECT)
			connect_for(sv, c, &m);
		else if (m.type == CTL_IMAGE && fd != -1) {
			image_arrived(sv, c, &m, fd);
			fd = -1;
		}
		if (fd != -1)
			close(fd);
	}
}

static const char *
role_name(enum role role)
{
	return role == ROLE_WORKER ? "worker" : role == ROLE_INDEXER ? "indexer" :
	    role == ROLE_PUBLISHER ? "publisher" : "key holder";
}

static void
last_words(const struct child *c, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < c->nlast && o + 1 < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s\"%s\"", i ? ", " : "", c->last[i]);
	if (c->nlast == 0)
		snprintf(out, size, "none");
}

/* A child of the live generation (or the next) died: say how, and replace it. */
static void
mourn(struct supervisor *sv, const struct child *c, int status)
{
	struct generation *g = find_generation(sv, c->gen);
	const char *what = role_name(c->role);
	char how[64], words[3 * 260];
	struct slot *s;

	if (g == NULL || sv->stopping)
		return;
	s = c->role == ROLE_WORKER ? &g->workers[c->slot] : c->role == ROLE_KEYS ? &g->keys :
	    c->role == ROLE_PUBLISHER ? &g->publisher : &g->indexer;
	if (s->pid != c->pid)
		return;
	s->pid = 0;
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "died: %s", strsignal(WTERMSIG(status)));
	else
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	last_words(c, words, sizeof(words));
	log_err("%s %d %s; its last words: %s", what, (int)c->pid, how, words);
	if (g == sv->next) {
		/* The indexer or key holder of a generation not yet live: the reload fails. */
		log_err("%s: %s (%s %s)", sv->gen ?
		    "reload failed, keeping the running configuration" : "cannot start",
		    c->role == ROLE_KEYS ? "the keys could not be loaded" :
		    "the post index could not be built", what, how);
		sv->next = NULL;
		signal_generation(sv, g->id, SIGTERM);
		generation_free(g);
		if (sv->gen == NULL)
			sv->stopping = true;
		return;
	}
	s->deaths = clock_ms() - c->started_ms < STABLE_MS ? s->deaths + 1 : 1;
	s->retry_ms = clock_ms() + backoff_ms(s->deaths);
	if (s->deaths >= CRASH_LOOP)
		log_err("%s %s %d keeps dying (%d times in a row): trying again in %lld ms",
		    what, c->role == ROLE_WORKER ? "slot" : "of generation",
		    c->role == ROLE_WORKER ? c->slot : g->id, s->deaths,
		    s->retry_ms - clock_ms());
}

static void
reap(struct supervisor *sv)
{
	struct child *c;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((c = find_child(sv, pid)) == NULL)
			continue;
		/* Its last lines may still be on their way. */
		listen_to(sv, c);
		mourn(sv, c, status);
		quota_ledger_release(sv->quota, c->ledger);
		close(c->ctl);
		*c = sv->children[--sv->nchildren];
	}
}

/* Says how restarting the child of slot s went; one that failed is tried again later. */
static void
restart_said(struct slot *s, bool started, const char *what, long long now)
{
	if (started) {
		log_info("%s %d restarted", what, (int)s->pid);
		return;
	}
	s->deaths++;
	s->retry_ms = now + BACKOFF_MIN_MS;
	log_err("cannot start the %s: %s; trying again in %d ms", what, strerror(errno),
	    BACKOFF_MIN_MS);
}

/* Refills the live generation's empty slots whose pause is over. */
static void
refill(struct supervisor *sv)
{
	struct generation *g = sv->gen;
	long long now = clock_ms();
	int seeds[CONFIG_MAX_HOSTS], i;

	if (g == NULL || sv->stopping)
		return;
	for (i = 0; i < g->nworkers; i++)
		if (g->workers[i].pid == 0 && g->workers[i].retry_ms <= now &&
		    start_worker(sv, g, i))
			log_info("worker %d restarted in slot %d", (int)g->workers[i].pid, i);
	/* The workers' sockets are the generation's: they are answered again at once. */
	if (g->keys.pid == 0 && g->keys.retry_ms <= now)
		restart_said(&g->keys, start_keys(sv, g), "key holder", now);
	/* Started once the generation is live; uploads sent before wait in its sockets. */
	if (g->titan && g->publisher.pid == 0 && g->publisher.retry_ms <= now) {
		if (g->publisher_started)
			restart_said(&g->publisher, start_publisher(sv, g), "publisher", now);
		else if (start_publisher(sv, g))
			g->publisher_started = true;
		else
			restart_said(&g->publisher, false, "publisher", now);
	}
	if (g->indexer.pid == 0 && g->indexer.retry_ms <= now) {
		/* It starts from its own last images: nothing to read again. */
		for (i = 0; i < CONFIG_MAX_HOSTS; i++)
			seeds[i] = g->image[i];
		restart_said(&g->indexer, start_indexer(sv, g, seeds), "indexer", now);
	}
}

/* When refill has something to do next, or -1. */
static long long
next_refill_ms(const struct supervisor *sv)
{
	const struct generation *g = sv->gen;
	long long next = -1;

	if (g == NULL || sv->stopping)
		return -1;
	for (int i = 0; i < g->nworkers; i++)
		if (g->workers[i].pid == 0 && (next == -1 || g->workers[i].retry_ms < next))
			next = g->workers[i].retry_ms;
	if (g->indexer.pid == 0 && (next == -1 || g->indexer.retry_ms < next))
		next = g->indexer.retry_ms;
	if (g->keys.pid == 0 && (next == -1 || g->keys.retry_ms < next))
		next = g->keys.retry_ms;
	if (g->titan && g->publisher.pid == 0 && (next == -1 || g->publisher.retry_ms < next))
		next = g->publisher.retry_ms;
	return next;
}

/* ---- Roots that move ----------------------------------------------------- */

/*
 * A root is opened once per generation, and workers are confined to the folder
 * it was then. When its path leads elsewhere (a release deployed by swapping
 * a symlink, a folder renamed into place), a new generation is started on the
 * new folder. inotify on the folder holding each root says when to look; a
 * timer looks anyway, for changes further up the path.
 */
static void
rootwatch_arm(struct supervisor *sv)
{
	char path[CONFIG_PATH_MAX];
	int i;

	if (sv->rootwatch != -1)
		close(sv->rootwatch);
	sv->rootwatch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	for (i = 0; sv->rootwatch != -1 && i < sv->gen->cfg->nhosts; i++) {
		snprintf(path, sizeof(path), "%s", sv->gen->cfg->hosts[i].root);
		inotify_add_watch(sv->rootwatch, dirname(path), IN_CREATE | IN_MOVED_TO |
		    IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_ONLYDIR);
	}
	sv->root_check_ms = clock_ms() + ROOT_CHECK_MS;
}

/* inotify saw a change beside a root: look soon (a swap may take two renames). */
static void
rootwatch_read(struct supervisor *sv)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	long long soon = clock_ms() + ROOT_SETTLE_MS;

	while (read(sv->rootwatch, buf, sizeof(buf)) > 0)
		if (sv->root_check_ms > soon)
			sv->root_check_ms = soon;
}

/* Whether a root's path leads to another folder than its generation's; reloads if so. */
static void
check_roots(struct supervisor *sv)
{
	struct generation *g = sv->gen;
	char why[CONFIG_PATH_MAX + 300];
	struct stat st;
	int i;

	sv->root_check_ms = clock_ms() + ROOT_CHECK_MS;
	if (g == NULL || sv->next != NULL || sv->stopping)
		return;
	for (i = 0; i < g->srv.nsites; i++) {
		const char *root = g->cfg->hosts[i].root;
		if (stat(root, &st) == -1) {
			if (!g->root_missing[i])
				log_warn("%s: root %s: %s; still serving the folder it was",
				    g->cfg->hosts[i].name, root, strerror(errno));
			g->root_missing[i] = true;
			continue;
		}
		g->root_missing[i] = false;
		if ((st.st_dev == g->root_dev[i] && st.st_ino == g->root_ino[i]) ||
		    (st.st_dev == g->tried_dev[i] && st.st_ino == g->tried_ino[i]))
			continue;
		/* Tried once per folder: a reload that fails is not retried in a loop. */
		g->tried_dev[i] = st.st_dev;
		g->tried_ino[i] = st.st_ino;
		snprintf(why, sizeof(why), "%s: root %s now leads to another folder; starting "
		    "a generation confined to it", g->cfg->hosts[i].name, root);
		reload(sv, why);
		return;
	}
}

/* ---- Signals and the loop ------------------------------------------------ */

static void
on_signal(struct supervisor *sv, int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		if (sv->stopping)
			return;
		log_info("%s: stopping %d worker(s) once their responses are out",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT", sv->nchildren);
		sv->stopping = true;
		sv->retiring = 0;
		signal_generation(sv, -1, SIGTERM);
		if (sv->next != NULL) {
			generation_free(sv->next);
			sv->next = NULL;
		}
		/*
		 * The workers close their copies of the listening sockets; ours
		 * must go too, or the kernel keeps accepting connections that no
		 * one will serve until we exit: new clients are refused instead.
		 */
		if (sv->gen != NULL)
			for (int i = 0; i < sv->gen->srv.nlisteners; i++)
				if (sv->gen->srv.listeners[i].fd != -1) {
					close(sv->gen->srv.listeners[i].fd);
					sv->gen->srv.listeners[i].fd = -1;
				}
		break;
	case SIGHUP:
		if (!sv->stopping)
			reload(sv, "SIGHUP");
		break;
	case SIGUSR1:
		if (log_reopen() == -1)
			log_err("cannot reopen the log: %s", strerror(errno));
		else
			log_info("SIGUSR1: log reopened");
		break;
	case SIGCHLD:
		reap(sv);
		break;
	}
}

static int
poll_timeout(const struct supervisor *sv)
{
	long long next = next_refill_ms(sv), now = clock_ms();

	if (sv->gen != NULL && !sv->stopping && (next == -1 || sv->root_check_ms < next))
		next = sv->root_check_ms;
	if (sv->retiring != 0 && (next == -1 || sv->handover_ms + HANDOVER_MS < next))
		next = sv->handover_ms + HANDOVER_MS;
	if (sv->rotate_ms != 0 && !sv->stopping && (next == -1 || sv->rotate_ms < next))
		next = sv->rotate_ms;
	if (next == -1)
		return -1;
	return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

static void
loop(struct supervisor *sv)
{
	struct pollfd p[MAX_CHILDREN + 2];
	struct signalfd_siginfo si;
	pid_t pids[MAX_CHILDREN];
	struct child *c;
	int n, i;

	while (!sv->stopping || sv->nchildren > 0) {
		p[0] = (struct pollfd){ .fd = sv->sigfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = sv->rootwatch, .events = POLLIN };
		for (i = 0; i < sv->nchildren; i++) {
			c = &sv->children[i];
			pids[i] = c->pid;
			p[i + 2] = (struct pollfd){ .fd = c->ctl, .events = POLLIN |
			    (deliver_images(sv, c) ? 0 : POLLOUT) };
		}
		n = sv->nchildren;
		if (poll(p, (nfds_t)n + 2, poll_timeout(sv)) == -1 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			return;
		}
		/* Children first: a child's last words come before its death is told. */
		for (i = 0; i < n; i++)
			if (p[i + 2].revents && (c = find_child(sv, pids[i])) != NULL)
				listen_to(sv, c);
		while (read(sv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			on_signal(sv, (int)si.ssi_signo);
		if (sv->rootwatch != -1 && (p[1].revents & POLLIN))
			rootwatch_read(sv);
		handover(sv, false);
		rotate_tickets(sv);
		refill(sv);
		release_helpers(sv);
		if (clock_ms() >= sv->root_check_ms)
			check_roots(sv);
	}
}

/* Forks; the parent exits at once. Returns -1 on failure, in the child 0. */
static int
fork_away(void)
{
	switch (fork()) {
	case -1:
		return -1;
	case 0:
		return 0;
	default:
		_exit(0);
	}
}

/* Detaches from the terminal: fork twice, new session, stdio to /dev/null. */
static int
daemonize(void)
{
	int fd;

	if (fork_away() == -1 || setsid() == -1 || fork_away() == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

/*
 * The table of client limits lives as long as the supervisor, across
 * reloads, so it is sized from the first configuration: clients to track
 * (twice the connections all workers may hold), and a ledger for each
 * worker with room for a reload's overlap.
 */
static size_t
quota_slots(const struct config *cfg)
{
	size_t n = 2 * (size_t)cfg->max_connections * (size_t)config_workers(cfg);

	return n < 1024 ? 1024 : n > 65536 ? 65536 : n;
}

static int
quota_ledgers(const struct config *cfg)
{
	int n = 4 * config_workers(cfg) + 4;

	return n > 1024 ? 1024 : n;
}

int
supervisor_run(struct config *cfg, supervisor_load_fn load, void *arg, bool foreground)
{
	static struct supervisor sv;
	int seeds[CONFIG_MAX_HOSTS];
	char err[1200];
	int status = 0, i;
	bool started;

	/* Zero already (static), and left untouched: a page of it costs memory once written. */
	sv.load = load;
	sv.load_arg = arg;
	sv.sigfd = -1;
	sv.rootwatch = -1;
	signal(SIGPIPE, SIG_IGN);
	if ((sv.quota = quota_new(quota_slots(cfg), quota_ledgers(cfg))) == NULL) {
		log_err("cannot map the table of client limits: %s", strerror(errno));
		free(cfg);
		return 1;
	}
	/* Load, bind and check everything while errors still reach the terminal. */
	if ((sv.tickets = tickets_new()) == NULL) {
		log_err("cannot make the session-ticket keys: %s", strerror(errno));
		free(cfg);
		quota_free(sv.quota);
		return 1;
	}
	if ((sv.next = generation_load(cfg, NULL, &sv, ++sv.last_id, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		free(cfg);
		quota_free(sv.quota);
		tickets_free(sv.tickets);
		return 1;
	}
	if (!foreground && daemonize() == -1) {
		log_err("cannot daemonize: %s", strerror(errno));
		generation_free(sv.next);
		quota_free(sv.quota);
		tickets_free(sv.tickets);
		return 1;
	}
	sigemptyset(&sv.sigs);
	sigaddset(&sv.sigs, SIGTERM);
	sigaddset(&sv.sigs, SIGINT);
	sigaddset(&sv.sigs, SIGHUP);
	sigaddset(&sv.sigs, SIGUSR1);
	sigaddset(&sv.sigs, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &sv.sigs, &sv.oldmask) == -1 ||
	    (sv.sigfd = signalfd(-1, &sv.sigs, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		log_err("supervisor set-up: %s", strerror(errno));
		generation_free(sv.next);
		quota_free(sv.quota);
		tickets_free(sv.tickets);
		return 1;
	}
	seeds_from(NULL, sv.next, seeds);
	seeds_saved(sv.next, seeds);
	started = start_keys(&sv, sv.next) && start_indexer(&sv, sv.next, seeds);
	/* The saved images are the indexer's now (or nobody's). */
	for (i = 0; i < sv.next->srv.nsites; i++)
		if (sv.next->seed_saved[i]) {
			close(seeds[i]);
			sv.next->seed_saved[i] = false;
		}
	if (!started) {
		log_err("cannot start the %s: %s", sv.next->keys.pid == 0 ? "key holder" :
		    "indexer", strerror(errno));
		signal_generation(&sv, sv.next->id, SIGTERM);
		generation_free(sv.next);
		quota_free(sv.quota);
		tickets_free(sv.tickets);
		return 1;
	}
	loop(&sv);
	if (sv.gen == NULL)
		status = 1;	/* it never went live: the reason is in the log */
	generation_free(sv.gen);
	generation_free(sv.next);
	quota_free(sv.quota);
	tickets_free(sv.tickets);
	close(sv.sigfd);
	if (sv.rootwatch != -1)
		close(sv.rootwatch);
	log_info("gazette stopped");
	return status;
}
