/*
 * Confinement, in the order a worker applies it: privileges, chroot,
 * Landlock, seccomp. By then everything that needs more has been done: ports
 * bound, keys and certificates loaded, the magic database and the posts read,
 * the log opened.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

int
sandbox_lookup(const char *user, struct sandbox_user *u, char *err, size_t errsize)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	u->root = geteuid() == 0;
	/* Looked up whoever starts it: a user that does not exist is a mistake either way. */
	/* cppcheck's getpwnamCalled: non-reentrant, fine at start-up with no threads. */
	/* cppcheck-suppress getpwnamCalled */
	pw = getpwnam(user);
	/* The default user may not exist on a machine set up by hand. */
	if (pw == NULL && strcmp(user, "gazette") == 0)
		/* cppcheck-suppress getpwnamCalled */
		pw = getpwnam("nobody");
	if (pw == NULL) {
		snprintf(err, errsize, "user %s does not exist", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errsize, "user %s is root; name an unprivileged user", user);
		return -1;
	}
	u->found = true;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	return 0;
}

int
sandbox_drop(const struct sandbox_user *u, char *err, size_t errsize)
{
	if (!u->root || !u->found)
		return 0;
	if (setgroups(0, NULL) == -1 || setresgid(u->gid, u->gid, u->gid) == -1 ||
	    setresuid(u->uid, u->uid, u->uid) == -1) {
		snprintf(err, errsize, "cannot become %s: %s", u->name, strerror(errno));
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1) {
		snprintf(err, errsize, "root could be regained after dropping to %s", u->name);
		return -1;
	}
	return 0;
}

int
sandbox_chroot(const char *dir, char *err, size_t errsize)
{
	if (chroot(dir) == -1 || chdir("/") == -1) {
		snprintf(err, errsize, "chroot %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

static int
add_rule(int rfd, int fd, unsigned long long access, char *err, size_t errsize)
{
	struct landlock_path_beneath_attr beneath = { 0 };

	beneath.allowed_access = access;
	beneath.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) == -1) {
		snprintf(err, errsize, "landlock_add_rule: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The ruleset attribute as newer kernels take it: network rights from ABI 4,
 * scopes from ABI 6 (Debian 12's headers stop at handled_access_fs).
 */
struct ruleset_attr {
	unsigned long long handled_access_fs;
	unsigned long long handled_access_net;
	unsigned long long scoped;
};
#define NET_BIND_TCP (1ULL << 0)
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

int
sandbox_landlock(const int *rootfds, int n, int statefd, bool state_write,
    const int *writable, int nwritable, char *said, size_t saidsize, char *err, size_t errsize)
{
	/* The search index's writer: SQLite makes, writes, truncates and removes its journal. */
	unsigned long long writes = LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE;
	unsigned long long reads = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	struct ruleset_attr attr = { 0 };
	size_t attr_size = sizeof(attr.handled_access_fs);
	int abi, rfd, i;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		log_warn("landlock: not available (%s); the file system is not confined",
		    strerror(errno));
		return 0;
	}
	/* Everything the kernel's ABI can restrict is handled, so denied by default. */
	attr.handled_access_fs = (1ULL << 13) - 1;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	/* No rule grants them: no TCP bind or connect, no signal or abstract socket out. */
	if (abi >= 4) {
		attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
		attr_size = offsetof(struct ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL;
		attr_size = sizeof(attr);
	}
	snprintf(said, saidsize, "%s; %s", abi >= 4 ? "no TCP bind or connect" :
	    "TCP not restricted (network rules need ABI 4)", abi >= 6 ?
	    "no signal or abstract socket beyond itself" :
	    "signals and abstract sockets not scoped (scopes need ABI 6)");
	if ((rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0)) == -1) {
		snprintf(err, errsize, "landlock_create_ruleset: %s", strerror(errno));
		return -1;
	}
	if (abi >= 3)
		writes |= LANDLOCK_ACCESS_FS_TRUNCATE;
	for (i = 0; i < n; i++)
		if (add_rule(rfd, rootfds[i], reads, err, errsize) == -1) {
			close(rfd);
			return -1;
		}
	if (statefd != -1 && add_rule(rfd, statefd, reads | (state_write ? writes : 0), err,
	    errsize) == -1) {
		close(rfd);
		return -1;
	}
	/* A post replaced keeps its last version: a folder made, a link into it, a rename. */
	for (i = 0; i < nwritable; i++)
		if (add_rule(rfd, writable[i], reads | writes | LANDLOCK_ACCESS_FS_MAKE_DIR |
		    (abi >= 2 ? LANDLOCK_ACCESS_FS_REFER : 0), err, errsize) == -1) {
			close(rfd);
			return -1;
		}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    syscall(SYS_landlock_restrict_self, rfd, 0) == -1) {
		snprintf(err, errsize, "landlock_restrict_self: %s", strerror(errno));
		close(rfd);
		return -1;
	}
	close(rfd);
	return abi;
}

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#endif

/* AddressSanitizer's leak check at exit needs ptrace and more: no filter under it. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* What every confined process does: I/O on what it holds, memory, time, signals, exit. */
static const int common_calls[] = {
	__NR_read, __NR_write, __NR_readv, __NR_writev, __NR_pread64, __NR_close, __NR_lseek,
	__NR_recvfrom, __NR_sendto, __NR_recvmsg, __NR_sendmsg, __NR_fcntl,
	/* Opening files beneath the roots (Landlock decides which). */
	__NR_openat, __NR_fstat, __NR_newfstatat, __NR_getdents64,
#ifdef __NR_openat2
	__NR_openat2,
#endif
#ifdef __NR_statx
	__NR_statx,
#endif
	__NR_brk, __NR_mmap, __NR_munmap, __NR_mremap, __NR_madvise, __NR_futex,
	__NR_clock_gettime, __NR_gettimeofday, __NR_clock_nanosleep, __NR_getrandom,
	__NR_getpid, __NR_gettid, __NR_rt_sigreturn, __NR_rt_sigprocmask, __NR_rt_sigaction,
	__NR_restart_syscall, __NR_exit, __NR_exit_group, __NR_sysinfo,
	__NR_getuid, __NR_geteuid, __NR_getgid, __NR_getegid,
};

/*
 * A worker: sockets and its event loop; its search thread (started after
 * confinement, see allow_threads) and SQLite reading the search index.
 */
static const int worker_calls[] = {
	__NR_set_robust_list, __NR_access, __NR_faccessat,
#ifdef __NR_faccessat2
	__NR_faccessat2,
#endif
#ifdef __NR_rseq
	__NR_rseq,
#endif
	__NR_accept4, __NR_shutdown, __NR_setsockopt, __NR_getsockopt, __NR_getsockname,
	__NR_getpeername, __NR_dup,
	/* A raw file over plain TCP goes from the page cache to the socket (conn.c). */
	__NR_sendfile,
	/* An upload's body handed to the publisher, sealed (titan.c). */
	__NR_memfd_create,
	/* A symlink inside a root is judged by the name it leads to (files.c). */
	__NR_readlinkat,
	__NR_epoll_ctl, __NR_epoll_pwait,
#ifdef __NR_epoll_wait
	__NR_epoll_wait,
#endif
#ifdef __NR_epoll_pwait2
	__NR_epoll_pwait2,
#endif
};

/*
 * The indexer: inotify, the memfds it fills and seals, poll; SQLite writing
 * its files; the image it saves.
 */
static const int indexer_calls[] = {
	__NR_inotify_init1, __NR_inotify_add_watch, __NR_inotify_rm_watch,
	__NR_memfd_create, __NR_ftruncate, __NR_ppoll,
#ifdef __NR_poll
	__NR_poll,
#endif
	__NR_pwrite64, __NR_fsync, __NR_fdatasync, __NR_unlink, __NR_unlinkat, __NR_fchmod,
	__NR_access, __NR_faccessat,
	/* The image saved for the next start, renamed into place. */
	__NR_rename, __NR_renameat,
#ifdef __NR_renameat2
	__NR_renameat2,
#endif
#ifdef __NR_faccessat2
	__NR_faccessat2,
#endif
};

/*
 * Refused with EPERM rather than killed for: what an attacker would try
 * first (a socket or connection out, a program, another process's memory).
 * The process survives the attempt, so a test can make it and see it fail;
 * every other call outside the lists still kills.
 */
static const int denied_calls[] = {
	__NR_socket, __NR_socketpair, __NR_connect, __NR_bind, __NR_listen,
	__NR_execve, __NR_execveat, __NR_ptrace, __NR_process_vm_readv,
	__NR_process_vm_writev,
};

/* The publisher: its sockets, and writing posts whole (publisher.c). */
static const int publisher_calls[] = {
	__NR_ppoll,
#ifdef __NR_poll
	__NR_poll,
#endif
	__NR_fsync, __NR_fdatasync, __NR_linkat, __NR_unlinkat, __NR_mkdirat, __NR_renameat,
	__NR_flock,
#ifdef __NR_renameat2
	__NR_renameat2,
#endif
	__NR_faccessat,
#ifdef __NR_faccessat2
	__NR_faccessat2,
#endif
};

/* The key holder: its sockets, and signing (common_calls has the rest). */
static const int keys_calls[] = {
	__NR_ppoll,
#ifdef __NR_poll
	__NR_poll,
#endif
};

#define FILTER_MAX 256

/* Appends "if nr == calls[i]: return action" for each call. */
static size_t
add_calls(struct sock_filter *f, size_t n, const int *calls, size_t ncalls, unsigned action)
{
	size_t i;

	for (i = 0; i < ncalls && n + 2 < FILTER_MAX; i++) {
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)calls[i],
		    0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action);
	}
	return n;
}

/*
 * ioctl for the one request a worker makes, FIONREAD (how much its shared
 * inotify instance holds); any other is answered ENOTTY, as for a file that
 * is no terminal. Leaves the system call number loaded.
 */
static size_t
allow_ioctl(struct sock_filter *f, size_t n)
{
	const unsigned request = offsetof(struct seccomp_data, args) + 8;

	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 6);
	/* args[1], the request: its low word, then its high word (little-endian). */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, request);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FIONREAD, 0, 3);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, request + 4);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
	return n;
}

/*
 * What starting a thread takes, and no more: clone only with CLONE_THREAD
 * (a thread, never a new process), clone3 answered ENOSYS so that glibc
 * falls back to clone (its flags are behind a pointer a filter cannot
 * read), and mprotect for the stack's guard page, never to make memory
 * executable. Leaves the system call number loaded.
 */
static size_t
allow_threads(struct sock_filter *f, size_t n)
{
	const unsigned args = offsetof(struct seccomp_data, args);

	/* clone: allowed when args[0] (its flags, low 32 bits) has CLONE_THREAD. */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, args);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#ifdef __NR_clone3
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
#endif
	/* mprotect: allowed unless args[2] (prot) asks for PROT_EXEC. */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 0, 4);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, args + 2 * 8);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
	return n;
}

int
sandbox_seccomp(enum sandbox_role role, char *err, size_t errsize)
{
#ifdef SECCOMP_ARCH
	struct sock_filter filter[FILTER_MAX];
	struct sock_fprog prog;
	size_t n = 0;

	filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch));
	filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
	n = add_calls(filter, n, common_calls, sizeof(common_calls) / sizeof(common_calls[0]),
	    SECCOMP_RET_ALLOW);
	n = add_calls(filter, n, denied_calls, sizeof(denied_calls) / sizeof(denied_calls[0]),
	    SECCOMP_RET_ERRNO | EPERM);
	if (role == SANDBOX_WORKER) {
		n = allow_threads(filter, n);
		n = allow_ioctl(filter, n);
		n = add_calls(filter, n, worker_calls,
		    sizeof(worker_calls) / sizeof(worker_calls[0]), SECCOMP_RET_ALLOW);
	}
	else if (role == SANDBOX_INDEXER)
		n = add_calls(filter, n, indexer_calls,
		    sizeof(indexer_calls) / sizeof(indexer_calls[0]), SECCOMP_RET_ALLOW);
	else if (role == SANDBOX_PUBLISHER)
		n = add_calls(filter, n, publisher_calls,
		    sizeof(publisher_calls) / sizeof(publisher_calls[0]), SECCOMP_RET_ALLOW);
	else
		n = add_calls(filter, n, keys_calls, sizeof(keys_calls) / sizeof(keys_calls[0]),
		    SECCOMP_RET_ALLOW);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	prog.len = (unsigned short)n;
	prog.filter = filter;
#ifdef UNDER_ASAN
	(void)prog;
	(void)err;
	(void)errsize;
	log_warn("seccomp: not applied in a sanitizer build (its leak check needs ptrace)");
	return 0;
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1) {
		if (errno == EINVAL) {
			log_warn("seccomp: not available; system calls are not filtered");
			return 0;
		}
		snprintf(err, errsize, "seccomp: %s", strerror(errno));
		return -1;
	}
	return 1;
#else
	(void)role;
	(void)err;
	(void)errsize;
	log_warn("seccomp: no filter for this architecture; system calls are not filtered");
	return 0;
#endif
}
