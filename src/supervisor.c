/*
 * The supervisor and its workers.
 *
 * A generation is one loaded configuration: struct config, struct server
 * (certificates, TLS contexts, content roots, post stores, listening sockets)
 * and the user to run as. Workers are forked from it, so they share its
 * memory copy-on-write and its session-ticket keys (resumption works whichever
 * worker a client reaches). On SIGHUP a new generation is loaded; it takes over
 * the listening sockets that did not change, its workers start accepting, and
 * the old workers get SIGTERM, which lets each finish what it is sending.
 *
 * The supervisor keeps root (to read keys and reopen logs on reload) and never
 * touches a client's bytes. Workers drop privileges and confine themselves
 * before their loop starts. They log through a pipe the supervisor reads, so
 * the log can be reopened (SIGUSR1) by the one process allowed to.
 *
 * The supervisor's own loop is poll(2) on a signalfd and that pipe, not
 * libevent: a forked worker must not inherit an event base whose epoll
 * instance and signal pipe it would share with its parent.
 */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "server.h"
#include "store.h"

#define MAX_WORKERS 256
#define RESTART_BACKOFF_MS 1000	/* a worker dying at once is restarted after this */

struct generation {
	int id;
	struct config *cfg;
	struct server srv;
	struct sandbox_user user;
	int nworkers;
	pid_t pids[MAX_WORKERS];
	struct timespec started[MAX_WORKERS];
};

struct worker_ref {
	pid_t pid;
	int gen;		/* generation id */
	int slot;
};

struct supervisor {
	struct generation *gen;		/* the current one */
	struct worker_ref refs[4 * MAX_WORKERS];	/* every live worker, any generation */
	int nrefs;
	int logpipe[2];
	int sigfd;
	sigset_t sigs, oldmask;
	struct timespec restart_at;	/* when to refill empty slots, if pending */
	bool restart_pending;
	supervisor_load_fn load;
	void *load_arg;
	bool stopping;
};

static long long
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000LL + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static int
worker_count(const struct config *cfg)
{
	long n = cfg->workers > 0 ? cfg->workers : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

/* Confines a fresh worker: watch posts, drop root, Landlock, seccomp. */
static int
worker_confine(struct generation *g, pid_t supervisor)
{
	int rootfds[CONFIG_MAX_HOSTS], i, r;
	char err[512];

	for (i = 0; i < g->srv.nsites; i++)
		rootfds[i] = g->srv.sites[i].rootfd;
	/* chroot needs root, so it comes before the drop; open descriptors survive it. */
	if (g->cfg->chroot[0] != '\0') {
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
		log_info("worker %d: running as %s (uid %u), no supplementary groups",
		    (int)getpid(), g->user.name, g->user.uid);
	} else
		log_info("worker %d: not started as root: no privileges to drop",
		    (int)getpid());
	/* Dropping privileges cleared the death signal; set it now. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != supervisor)
		return -1;
	if ((r = sandbox_landlock(rootfds, g->srv.nsites, err, sizeof(err))) == -1) {
		log_err("%s", err);
		return -1;
	}
	if (r > 0)
		log_info("worker %d: landlock (ABI %d): content roots read-only, nothing else",
		    (int)getpid(), r);
	if (!g->cfg->seccomp) {
		log_warn("worker %d: seccomp = no: system calls are not filtered",
		    (int)getpid());
		r = 0;
	} else if ((r = sandbox_seccomp(err, sizeof(err))) == -1) {
		log_err("%s", err);
		return -1;
	}
	if (r > 0)
		log_info("worker %d: seccomp: system call allow-list in force", (int)getpid());
	return 0;
}

/* The child side of a fork: never returns. */
static void __attribute__((noreturn))
worker_main(struct supervisor *sv, struct generation *g, pid_t supervisor)
{
	int rc;

	/* Signals were blocked for the supervisor's signalfd: the worker's own. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	sigprocmask(SIG_SETMASK, &sv->oldmask, NULL);
	close(sv->sigfd);
	close(sv->logpipe[0]);
	log_open_fd(sv->logpipe[1]);
	/* Its own inotify instances first: server_prepare() watches them. */
	for (int i = 0; i < g->srv.nsites; i++)
		store_watch(g->srv.sites[i].store);
	if (server_prepare(&g->srv) == -1 || worker_confine(g, supervisor) == -1)
		_exit(1);
	log_info("worker %d: serving", (int)getpid());
	rc = server_run(&g->srv);
	_exit(rc == 0 ? 0 : 1);
}

static int
spawn(struct supervisor *sv, struct generation *g, int slot)
{
	pid_t pid, me = getpid();

	if (sv->nrefs == (int)(sizeof(sv->refs) / sizeof(sv->refs[0]))) {
		log_err("too many workers still finishing; not starting another");
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		worker_main(sv, g, me);
	g->pids[slot] = pid;
	clock_gettime(CLOCK_MONOTONIC, &g->started[slot]);
	sv->refs[sv->nrefs++] = (struct worker_ref){ pid, g->id, slot };
	return 0;
}

static struct generation *
generation_load(struct config *cfg, struct server *old, int id, char *err,
    size_t errsize)
{
	struct generation *g;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	g->id = id;
	g->cfg = cfg;
	if (config_check_paths(cfg, err, errsize) == -1 ||
	    sandbox_lookup(cfg->user, &g->user, err, errsize) == -1 ||
	    server_init(&g->srv, cfg, old ? &old->tls : NULL, err, errsize) == -1 ||
	    server_listen(&g->srv, old, err, errsize) == -1) {
		server_clear(&g->srv);
		free(g);
		return NULL;
	}
	g->nworkers = worker_count(cfg);
	for (int i = 0; i < g->srv.nlisteners; i++)
		log_info("listening on %s (%s)", g->srv.listeners[i].addr,
		    g->srv.listeners[i].proto == PROTO_GEMINI ? "gemini" : "gopher");
	return g;
}

static void
generation_free(struct generation *g)
{
	if (g == NULL)
		return;
	server_clear(&g->srv);
	free(g->cfg);
	free(g);
}

static void
signal_generation(struct supervisor *sv, int gen, int sig)
{
	int i;

	for (i = 0; i < sv->nrefs; i++)
		if (gen < 0 || sv->refs[i].gen == gen)
			kill(sv->refs[i].pid, sig);
}

static void
reload(struct supervisor *sv)
{
	struct generation *old = sv->gen, *g;
	struct config *cfg;
	char err[1200];
	int i;

	log_info("SIGHUP: reloading the configuration, certificates and posts");
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL || sv->load(sv->load_arg, cfg, err,
	    sizeof(err)) == -1) {
		log_err("reload failed, keeping the running configuration: %s",
		    cfg ? err : "out of memory");
		free(cfg);
		return;
	}
	if ((g = generation_load(cfg, &old->srv, old->id + 1, err, sizeof(err))) == NULL) {
		log_err("reload failed, keeping the running configuration: %s", err);
		free(cfg);
		return;
	}
	sv->gen = g;
	for (i = 0; i < g->nworkers; i++)
		spawn(sv, g, i);
	/* The new workers accept on the same sockets; the old ones finish and go. */
	signal_generation(sv, old->id, SIGTERM);
	log_info("reloaded: generation %d, %d worker(s)", g->id, g->nworkers);
	generation_free(old);
}

static void
restart_missing(struct supervisor *sv)
{
	struct generation *g = sv->gen;
	int i;

	sv->restart_pending = false;
	for (i = 0; i < g->nworkers && !sv->stopping; i++)
		if (g->pids[i] == 0 && spawn(sv, g, i) == 0)
			log_info("worker %d restarted in slot %d", (int)g->pids[i], i);
}

static void
reap(struct supervisor *sv)
{
	struct generation *g = sv->gen;
	bool later = false;
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < sv->nrefs && sv->refs[i].pid != pid; i++)
			;
		if (i == sv->nrefs)
			continue;
		struct worker_ref ref = sv->refs[i];
		sv->refs[i] = sv->refs[--sv->nrefs];
		if (ref.gen != g->id || sv->stopping)
			continue;
		/* A worker of the running generation died: say how, and replace it. */
		if (WIFSIGNALED(status))
			log_err("worker %d died: %s", (int)pid, strsignal(WTERMSIG(status)));
		else
			log_err("worker %d exited with status %d", (int)pid, WEXITSTATUS(status));
		g->pids[ref.slot] = 0;
		if (ms_since(&g->started[ref.slot]) < RESTART_BACKOFF_MS)
			later = true;
		else if (spawn(sv, g, ref.slot) == 0)
			log_info("worker %d restarted in slot %d", (int)g->pids[ref.slot], ref.slot);
	}
	/* One that died at once is not restarted in a tight loop. */
	if (later && !sv->restart_pending) {
		clock_gettime(CLOCK_MONOTONIC, &sv->restart_at);
		sv->restart_at.tv_sec += RESTART_BACKOFF_MS / 1000;
		sv->restart_pending = true;
	}
}

static void
on_signal(struct supervisor *sv, int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		if (sv->stopping)
			return;
		log_info("%s: stopping %d worker(s) once their responses are out",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT", sv->nrefs);
		sv->stopping = true;
		signal_generation(sv, -1, SIGTERM);
		/*
		 * The workers close their copies of the listening sockets; ours
		 * must go too, or the kernel keeps accepting connections that no
		 * one will serve until we exit: new clients are refused instead.
		 */
		for (int i = 0; i < sv->gen->srv.nlisteners; i++)
			if (sv->gen->srv.listeners[i].fd != -1) {
				close(sv->gen->srv.listeners[i].fd);
				sv->gen->srv.listeners[i].fd = -1;
			}
		break;
	case SIGHUP:
		if (!sv->stopping)
			reload(sv);
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

/* Copies what the workers logged to the real destination. */
static void
relay_log(struct supervisor *sv)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(sv->logpipe[0], buf, sizeof(buf))) > 0)
		log_relay(buf, (size_t)n);
}

static int
poll_timeout(const struct supervisor *sv)
{
	long long ms;

	if (!sv->restart_pending)
		return -1;
	ms = -ms_since(&sv->restart_at);
	return ms < 0 ? 0 : (int)ms;
}

static void
loop(struct supervisor *sv)
{
	struct signalfd_siginfo si;
	struct pollfd p[2];

	p[0] = (struct pollfd){ .fd = sv->sigfd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = sv->logpipe[0], .events = POLLIN };
	while (!sv->stopping || sv->nrefs > 0) {
		if (poll(p, 2, poll_timeout(sv)) == -1 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			return;
		}
		while (read(sv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			on_signal(sv, (int)si.ssi_signo);
		relay_log(sv);
		if (sv->restart_pending && poll_timeout(sv) == 0)
			restart_missing(sv);
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

int
supervisor_run(struct config *cfg, supervisor_load_fn load, void *arg, bool foreground)
{
	struct supervisor sv = { .load = load, .load_arg = arg, .sigfd = -1 };
	char err[1200];
	int w;

	signal(SIGPIPE, SIG_IGN);
	/* Load, bind and check everything while errors still reach the terminal. */
	if ((sv.gen = generation_load(cfg, NULL, 1, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		free(cfg);
		return 1;
	}
	if (!foreground && daemonize() == -1) {
		log_err("cannot daemonize: %s", strerror(errno));
		generation_free(sv.gen);
		return 1;
	}
	sigemptyset(&sv.sigs);
	sigaddset(&sv.sigs, SIGTERM);
	sigaddset(&sv.sigs, SIGINT);
	sigaddset(&sv.sigs, SIGHUP);
	sigaddset(&sv.sigs, SIGUSR1);
	sigaddset(&sv.sigs, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &sv.sigs, &sv.oldmask) == -1 ||
	    (sv.sigfd = signalfd(-1, &sv.sigs, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    pipe2(sv.logpipe, O_CLOEXEC) == -1) {
		log_err("supervisor set-up: %s", strerror(errno));
		generation_free(sv.gen);
		return 1;
	}
	fcntl(sv.logpipe[0], F_SETFL, O_NONBLOCK);
	for (w = 0; w < sv.gen->nworkers; w++)
		spawn(&sv, sv.gen, w);
	log_info("gazette started: %d worker(s), gemini://%s:%d/", sv.gen->nworkers,
	    cfg->hosts[0].name, cfg->gemini_port);
	loop(&sv);
	relay_log(&sv);
	generation_free(sv.gen);
	close(sv.sigfd);
	close(sv.logpipe[0]);
	close(sv.logpipe[1]);
	log_info("gazette stopped");
	return 0;
}
