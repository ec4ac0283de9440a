/*
 * Confinement of a worker or the indexer: chroot (workers only), drop root,
 * Landlock, seccomp.
 * Each step says in the log what it did; a kernel without a feature gets a
 * warning, not a failure.
 */
#ifndef GAZETTE_SANDBOX_H
#define GAZETTE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

/* Looks the user up now, while /etc/passwd can still be read. */
struct sandbox_user {
	bool root;		/* running as root: there is something to drop */
	bool found;
	unsigned uid, gid;
	char name[64];
};
int sandbox_lookup(const char *user, struct sandbox_user *u, char *err, size_t errsize);

/* setgroups(0), setgid, setuid; then checks root cannot be regained. */
int sandbox_drop(const struct sandbox_user *u, char *err, size_t errsize);

/* chroot(dir) and chdir("/"); only as root. */
int sandbox_chroot(const char *dir, char *err, size_t errsize);

/*
 * Landlock: from here on, the file system is read-only and only beneath the
 * given roots (open folder descriptors), and the state folder statefd (-1:
 * none), where state_write also allows making, writing and removing files;
 * beneath the folders writable[0..nwritable) files and folders may also be
 * made, written, linked, renamed and removed (the publisher's posts/);
 * no TCP bind or connect (ABI 4), no signal or abstract Unix socket beyond
 * the process (ABI 6). said gets what of the last two the kernel applied.
 * Returns the ABI (>= 1) when applied, 0 when the kernel has no Landlock (a
 * warning was logged), -1 on error.
 */
int sandbox_landlock(const int *rootfds, int n, int statefd, bool state_write,
    const int *writable, int nwritable, char *said, size_t saidsize, char *err, size_t errsize);

enum sandbox_role {
	SANDBOX_WORKER,		/* sockets and an event loop */
	SANDBOX_INDEXER,	/* inotify, memfds, poll */
	SANDBOX_KEYS,		/* the key holder: its sockets, poll */
	SANDBOX_PUBLISHER,	/* its sockets, poll, writing posts */
};

/*
 * seccomp-bpf: an allow-list of the system calls the role needs (ioctl for
 * FIONREAD alone); sockets, connections, exec and ptrace fail with EPERM;
 * any other call kills the process. Returns 1 when applied, 0 when
 * unsupported, -1 on error.
 */
int sandbox_seccomp(enum sandbox_role role, char *err, size_t errsize);

#endif
