/*
 * gazette: a Gemini and Gopher capsule server.
 *
 * Start-up order matters: configuration, then everything that needs files or
 * privileges (certificates, content roots, the magic database, the ports),
 * then the event loop. Nothing is read from outside before the loop starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "supervisor.h"

#ifndef GAZETTE_VERSION
#define GAZETTE_VERSION "0.12"
#endif

#ifndef GAZETTE_CONF
#define GAZETTE_CONF "/etc/gazette.conf"
#endif

/* Descriptors beyond the connections: listeners, roots, logs, files being sent. */
#define FD_RESERVE 64

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: gazette [-fhnV] [-c file] [-o key=value]\n"
	    "  -c file       configuration file (default " GAZETTE_CONF ")\n"
	    "  -f            stay in the foreground, log to stderr\n"
	    "  -n            check the configuration and exit\n"
	    "  -o key=value  override a global configuration key\n"
	    "  -h, --help    print this help\n"
	    "  -V, --version print the version\n");
}

/* Raises the descriptor limit as far as allowed; trims max_connections to fit. */
static void
fit_descriptors(struct config *c)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Each connection may hold a socket and a file being streamed. */
	if (rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)c->max_connections * 2 + FD_RESERVE > rl.rlim_cur) {
		int fit = (int)((rl.rlim_cur - FD_RESERVE) / 2);
		log_warn("max_connections %d needs more descriptors than the limit %llu; "
		    "using %d", c->max_connections, (unsigned long long)rl.rlim_cur, fit);
		c->max_connections = fit > 1 ? fit : 1;
	}
}

struct options {
	const char *conf;
	const char *overrides[32];
	int noverrides;
};

/* Reads the configuration: the file, then the -o overrides. Used again on SIGHUP. */
static int
load_config(void *arg, struct config *cfg, char *err, size_t errsize)
{
	const struct options *o = arg;
	int i;

	config_defaults(cfg);
	if (config_load(cfg, o->conf, err, errsize) == -1)
		return -1;
	for (i = 0; i < o->noverrides; i++)
		if (config_override(cfg, o->overrides[i], err, errsize) == -1)
			return -1;
	if (config_finish(cfg, err, errsize) == -1)
		return -1;
	fit_descriptors(cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct options opts = { .conf = GAZETTE_CONF };
	struct config *cfg;
	char err[1200];
	int ch, check = 0, foreground = 0;

	/* The long forms every tool answers to, before getopt sees them. */
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		argv[1] = "-h";
	else if (argc == 2 && strcmp(argv[1], "--version") == 0)
		argv[1] = "-V";
	while ((ch = getopt(argc, argv, "c:fhno:V")) != -1) {
		switch (ch) {
		case 'c':
			opts.conf = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("gazette %s\n", GAZETTE_VERSION);
			return 0;
		case 'o':
			if (opts.noverrides == (int)(sizeof(opts.overrides) /
			    sizeof(opts.overrides[0]))) {
				fprintf(stderr, "gazette: too many -o\n");
				return 1;
			}
			opts.overrides[opts.noverrides++] = optarg;
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		fprintf(stderr, "gazette: out of memory\n");
		return 1;
	}
	if (load_config(&opts, cfg, err, sizeof(err)) == -1)
		goto config_error;
	if (check) {
		if (supervisor_check(cfg, err, sizeof(err)) == -1)
			goto config_error;
		printf("gazette: %s: configuration OK\n", opts.conf);
		free(cfg);
		return 0;
	}
	if (log_open(foreground || strcmp(cfg->log_file, "-") != 0 ? cfg->log_file :
	    "syslog") == -1) {
		fprintf(stderr, "gazette: log_file %s: %s\n", cfg->log_file, strerror(errno));
		free(cfg);
		return 1;
	}
	return supervisor_run(cfg, load_config, &opts, foreground);

config_error:
	fprintf(stderr, "gazette: %s\n", err);
	free(cfg);
	return 1;
}
