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
#include "server.h"

#ifndef GAZETTE_CONF
#define GAZETTE_CONF "/etc/gazette.conf"
#endif

/* Descriptors beyond the connections: listeners, roots, logs, files being sent. */
#define FD_RESERVE 64

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: gazette [-fhn] [-c file] [-o key=value]\n"
	    "  -c file       configuration file (default " GAZETTE_CONF ")\n"
	    "  -f            stay in the foreground, log to stderr\n"
	    "  -n            check the configuration and exit\n"
	    "  -o key=value  override a global configuration key\n"
	    "  -h            print this help\n");
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

static int
daemonize(void)
{
	int fd;

	switch (fork()) {
	case -1:
		return -1;
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		return -1;
	switch (fork()) {
	case -1:
		return -1;
	case 0:
		break;
	default:
		_exit(0);
	}
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
main(int argc, char **argv)
{
	static struct config cfg;
	static struct server srv;
	const char *conf = GAZETTE_CONF;
	const char *overrides[32];
	char err[1200];
	int ch, check = 0, foreground = 0, noverrides = 0, i;

	while ((ch = getopt(argc, argv, "c:fhno:")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
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
		case 'o':
			if (noverrides == (int)(sizeof(overrides) / sizeof(overrides[0]))) {
				fprintf(stderr, "gazette: too many -o\n");
				return 1;
			}
			overrides[noverrides++] = optarg;
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

	config_defaults(&cfg);
	if (config_load(&cfg, conf, err, sizeof(err)) == -1)
		goto config_error;
	for (i = 0; i < noverrides; i++)
		if (config_override(&cfg, overrides[i], err, sizeof(err)) == -1)
			goto config_error;
	if (config_finish(&cfg, err, sizeof(err)) == -1)
		goto config_error;
	if (check) {
		for (i = 0; i < cfg.nhosts; i++)
			if (access(cfg.hosts[i].root, R_OK | X_OK) == -1) {
				snprintf(err, sizeof(err), "%s: host %s: root %s: %s", conf,
				    cfg.hosts[i].name, cfg.hosts[i].root, strerror(errno));
				goto config_error;
			}
		printf("gazette: %s: configuration OK\n", conf);
		return 0;
	}

	if (log_open(foreground || strcmp(cfg.log_file, "-") != 0 ? cfg.log_file :
	    "syslog") == -1) {
		fprintf(stderr, "gazette: log_file %s: %s\n", cfg.log_file, strerror(errno));
		return 1;
	}
	fit_descriptors(&cfg);
	if (server_init(&srv, &cfg, err, sizeof(err)) == -1 ||
	    server_listen(&srv, err, sizeof(err)) == -1) {
		log_err("%s", err);
		server_clear(&srv);
		return 1;
	}
	if (!foreground && daemonize() == -1) {
		log_err("cannot daemonize: %s", strerror(errno));
		return 1;
	}
	log_info("gazette started: gemini://%s:%d/", cfg.hosts[0].name, cfg.gemini_port);
	server_run(&srv);
	server_clear(&srv);
	log_info("gazette stopped");
	log_close();
	return 0;

config_error:
	fprintf(stderr, "gazette: %s\n", err);
	return 1;
}
