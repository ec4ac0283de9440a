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
	if (!u->root)
		return 0;
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

int
sandbox_landlock(const int *rootfds, int n, char *err, size_t errsize)
{
	struct landlock_ruleset_attr attr = { 0 };
	struct landlock_path_beneath_attr beneath = { 0 };
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
	if ((rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0)) == -1) {
		snprintf(err, errsize, "landlock_create_ruleset: %s", strerror(errno));
		return -1;
	}
	beneath.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	for (i = 0; i < n; i++) {
		beneath.parent_fd = rootfds[i];
		if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &beneath,
		    0) == -1) {
			snprintf(err, errsize, "landlock_add_rule: %s", strerror(errno));
			close(rfd);
			return -1;
		}
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

#define ALLOW(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

int
sandbox_seccomp(char *err, size_t errsize)
{
#ifdef SECCOMP_ARCH
	static struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* I/O on sockets, files and the inotify descriptor. */
		ALLOW(__NR_read), ALLOW(__NR_write), ALLOW(__NR_readv), ALLOW(__NR_writev),
		ALLOW(__NR_pread64), ALLOW(__NR_close), ALLOW(__NR_lseek),
		ALLOW(__NR_recvfrom), ALLOW(__NR_sendto), ALLOW(__NR_recvmsg),
		ALLOW(__NR_sendmsg), ALLOW(__NR_accept4), ALLOW(__NR_shutdown),
		ALLOW(__NR_setsockopt), ALLOW(__NR_getsockopt), ALLOW(__NR_getsockname),
		ALLOW(__NR_getpeername), ALLOW(__NR_ioctl), ALLOW(__NR_fcntl),
		/* Opening files beneath the roots (Landlock decides which). */
		ALLOW(__NR_openat), ALLOW(__NR_fstat), ALLOW(__NR_newfstatat),
		ALLOW(__NR_getdents64), ALLOW(__NR_dup),
#ifdef __NR_openat2
		ALLOW(__NR_openat2),
#endif
#ifdef __NR_statx
		ALLOW(__NR_statx),
#endif
		/* The event loop. */
		ALLOW(__NR_epoll_ctl), ALLOW(__NR_epoll_pwait),
#ifdef __NR_epoll_wait
		ALLOW(__NR_epoll_wait),
#endif
#ifdef __NR_epoll_pwait2
		ALLOW(__NR_epoll_pwait2),
#endif
		/* Memory, time, randomness, signals, exit. */
		ALLOW(__NR_brk), ALLOW(__NR_mmap), ALLOW(__NR_munmap), ALLOW(__NR_mremap),
		ALLOW(__NR_madvise), ALLOW(__NR_futex), ALLOW(__NR_clock_gettime),
		ALLOW(__NR_gettimeofday), ALLOW(__NR_clock_nanosleep), ALLOW(__NR_getrandom),
		ALLOW(__NR_getpid), ALLOW(__NR_gettid), ALLOW(__NR_rt_sigreturn),
		ALLOW(__NR_rt_sigprocmask), ALLOW(__NR_rt_sigaction), ALLOW(__NR_restart_syscall),
		ALLOW(__NR_exit), ALLOW(__NR_exit_group), ALLOW(__NR_sysinfo),
		ALLOW(__NR_getuid), ALLOW(__NR_geteuid), ALLOW(__NR_getgid), ALLOW(__NR_getegid),
		/* syslog(3) reconnects to /dev/log on its own. */
		ALLOW(__NR_socket), ALLOW(__NR_connect),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};

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
	(void)err;
	(void)errsize;
	log_warn("seccomp: no filter for this architecture; system calls are not filtered");
	return 0;
#endif
}
