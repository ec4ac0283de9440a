/*
 * The publisher: the one process that writes posts, for the sites that take
 * Titan uploads (titan.h). Forked by the supervisor and confined (Landlock:
 * the content roots read-only, each such site's posts/ folder writable; no
 * network), it answers each worker over a socket pair made before either
 * was confined, so a worker never opens a file for writing.
 *
 * A worker sends CTL_PUBLISH: the site, the folder (status: 0 posts/, else
 * one of titan_files), a request id (version), "NAME\0AUTHOR" as data, and a
 * sealed memfd with the body (none: delete). The publisher checks it again
 * (a post must parse), writes it to a temporary file, fsyncs it, keeps the
 * version it replaces or deletes in the folder's .versions/, renames it into
 * place and fsyncs the folder; then answers CTL_PUBLISHED with the same id,
 * status 0 (done) or a Gemini status, and a reason as data. The indexer sees
 * a post's change through its usual events.
 */
#ifndef GAZETTE_PUBLISHER_H
#define GAZETTE_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>

#include "titan.h"

#define PUBLISHER_VERSIONS ".versions"	/* in posts/: earlier versions, hidden */

struct publisher_site {
	int rootfd;
	const char *label;	/* the host name, for the log */
	bool titan;		/* takes uploads: its folders may be written */
	int nfolders;		/* titan_folders: [0] posts/, then titan_files' */
	char folders[TITAN_FOLDERS_MAX + 1][TITAN_FOLDER_MAX];
	int dirs[TITAN_FOLDERS_MAX + 1];	/* each as it was at start (Landlock's rule), or -1 */
	long long max_size;	/* titan_max_size */
	int versions;		/* titan_versions: earlier versions kept of a file; 0 all */
};

/*
 * Answers the workers' sockets fds[0..nfds) until ctl (its channel to the
 * supervisor) closes. Returns the process's exit status: 0, or 1 when it
 * must be started anew (a folder was replaced: Landlock holds the old one).
 */
int publisher_run(const struct publisher_site *sites, int n, int ctl, const int *fds,
    int nfds);

#endif
