/*
 * files_open, files_hidden and files_list against a scratch tree this file
 * builds itself: files, folders, dotfiles, a FIFO, and symlinks that stay
 * inside the root or lead out of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files.h"
#include "test.h"

/* The parent of the root, which holds a file the root must never reach. */
static char base[512];

static void
make_dir(const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	if (mkdir(p, 0755) == -1 && errno != EEXIST)
		test_fail(__FILE__, __LINE__, "mkdir %s: %s", p, strerror(errno));
}

static void
make_file(const char *rel, const char *text)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	if ((f = fopen(p, "w")) == NULL) {
		test_fail(__FILE__, __LINE__, "create %s: %s", p, strerror(errno));
		return;
	}
	fputs(text, f);
	fclose(f);
}

static void
make_link(const char *target, const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	if (symlink(target, p) == -1)
		test_fail(__FILE__, __LINE__, "symlink %s: %s", p, strerror(errno));
}

/* Builds the tree once per test process; returns the root's descriptor. */
static int
setup(void)
{
	char p[1024];
	int fd;

	snprintf(base, sizeof(base), "%s/files.%d", test_tmp_dir(), (int)getpid());
	if (mkdir(base, 0755) == -1) {
		test_fail(__FILE__, __LINE__, "mkdir %s: %s", base, strerror(errno));
		return -1;
	}
	make_file("outside.txt", "secret outside the root\n");
	make_dir("outside");
	make_file("outside/x.txt", "x\n");
	make_dir("root");
	make_file("root/index.gmi", "# Home\n");
	make_file("root/a.txt", "a\n");
	make_file("root/b.gmi", "b\n");
	make_file("root/Zed.txt", "z\n");
	make_file("root/.hidden.txt", "hidden\n");
	make_dir("root/.secret");
	make_file("root/.secret/key.txt", "key\n");
	make_dir("root/aaa-dir");
	make_dir("root/empty");
	make_dir("root/sub");
	make_file("root/sub/c.txt", "c\n");
	make_file("root/sub/.dot", "dot\n");
	make_dir("root/sub/deeper");
	make_file("root/sub/deeper/d.txt", "d\n");
	make_dir("root/sub/deeper/.x");
	make_file("root/sub/deeper/.x/y.txt", "y\n");
	make_link("a.txt", "root/link-in");
	make_link("sub", "root/link-sub");
	make_link("/etc/passwd", "root/link-abs");
	make_link("../outside.txt", "root/link-up");
	make_link("../outside", "root/link-updir");
	make_link("nope", "root/link-dangling");
	make_link("link-loop", "root/link-loop");
	make_link("fifo", "root/link-fifo");
	make_link("../a.txt", "root/sub/link-back");
	make_link("../../outside.txt", "root/sub/link-escape");
	make_link("../sub/../../outside.txt", "root/sub/link-zigzag");
	snprintf(p, sizeof(p), "%s/root/fifo", base);
	if (mkfifo(p, 0644) == -1)
		test_fail(__FILE__, __LINE__, "mkfifo %s: %s", p, strerror(errno));
	/* A device node, where we may make one (root outside a container). */
	snprintf(p, sizeof(p), "%s/root/dev-null", base);
	(void)mknod(p, S_IFCHR | 0666, makedev(1, 3));
	snprintf(p, sizeof(p), "%s/root", base);
	if ((fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		test_fail(__FILE__, __LINE__, "open %s: %s", p, strerror(errno));
	return fd;
}

struct open_case {
	const char *path;
	enum files_status want;
	bool is_dir;
};

static const struct open_case open_cases[] = {
	{ "/", FILES_OK, true },
	{ "/index.gmi", FILES_OK, false },
	{ "/a.txt", FILES_OK, false },
	{ "/Zed.txt", FILES_OK, false },
	{ "/sub/", FILES_OK, true },
	{ "/sub/c.txt", FILES_OK, false },
	{ "/sub/deeper/", FILES_OK, true },
	{ "/sub/deeper/d.txt", FILES_OK, false },
	{ "/empty/", FILES_OK, true },
	/* Folders without their slash; files with one. */
	{ "/sub", FILES_NEEDS_SLASH, true },
	{ "/sub/deeper", FILES_NEEDS_SLASH, true },
	{ "/empty", FILES_NEEDS_SLASH, true },
	{ "/a.txt/", FILES_NOT_FOUND, false },
	{ "/sub/c.txt/", FILES_NOT_FOUND, false },
	{ "/index.gmi/x", FILES_NOT_FOUND, false },
	/* Missing. */
	{ "/nope", FILES_NOT_FOUND, false },
	{ "/nope/", FILES_NOT_FOUND, false },
	{ "/sub/nope.txt", FILES_NOT_FOUND, false },
	{ "/A.TXT", FILES_NOT_FOUND, false },
	/* Dotfiles and dot-folders, at any depth. */
	{ "/.hidden.txt", FILES_NOT_FOUND, false },
	{ "/.secret", FILES_NOT_FOUND, false },
	{ "/.secret/", FILES_NOT_FOUND, false },
	{ "/.secret/key.txt", FILES_NOT_FOUND, false },
	{ "/sub/.dot", FILES_NOT_FOUND, false },
	{ "/sub/deeper/.x/", FILES_NOT_FOUND, false },
	{ "/sub/deeper/.x/y.txt", FILES_NOT_FOUND, false },
	/* Dot segments never reach the file system. */
	{ "/.", FILES_NOT_FOUND, false },
	{ "/./", FILES_NOT_FOUND, false },
	{ "/./a.txt", FILES_NOT_FOUND, false },
	{ "/..", FILES_NOT_FOUND, false },
	{ "/../", FILES_NOT_FOUND, false },
	{ "/../outside.txt", FILES_NOT_FOUND, false },
	{ "/sub/../a.txt", FILES_NOT_FOUND, false },
	{ "/sub/../../outside.txt", FILES_NOT_FOUND, false },
	/* Not a path from the root at all. */
	{ "", FILES_NOT_FOUND, false },
	{ "a.txt", FILES_NOT_FOUND, false },
	{ "//etc/passwd", FILES_NOT_FOUND, false },
	{ "//", FILES_NOT_FOUND, false },
	/* Symlinks: followed while they stay inside the root. */
	{ "/link-in", FILES_OK, false },
	{ "/link-in/", FILES_NOT_FOUND, false },
	{ "/link-sub", FILES_NEEDS_SLASH, true },
	{ "/link-sub/", FILES_OK, true },
	{ "/link-sub/c.txt", FILES_OK, false },
	{ "/link-sub/link-back", FILES_OK, false },
	{ "/sub/link-back", FILES_OK, false },
	{ "/link-abs", FILES_NOT_FOUND, false },
	{ "/link-up", FILES_NOT_FOUND, false },
	{ "/link-updir", FILES_NOT_FOUND, false },
	{ "/link-updir/", FILES_NOT_FOUND, false },
	{ "/link-updir/x.txt", FILES_NOT_FOUND, false },
	{ "/link-dangling", FILES_NOT_FOUND, false },
	{ "/link-loop", FILES_NOT_FOUND, false },
	{ "/sub/link-escape", FILES_NOT_FOUND, false },
	{ "/sub/link-zigzag", FILES_NOT_FOUND, false },
	{ "/link-sub/link-escape", FILES_NOT_FOUND, false },
	/* Only regular files and folders: a FIFO must not even block the open. */
	{ "/fifo", FILES_NOT_FOUND, false },
	{ "/fifo/", FILES_NOT_FOUND, false },
	{ "/link-fifo", FILES_NOT_FOUND, false },
	{ "/dev-null", FILES_NOT_FOUND, false },
};

/*
 * Runs the table. Without openat2 no symlink is followed at all, so every
 * row through a link expects NOT_FOUND.
 */
static void
open_table(bool walk)
{
	struct files_entry e;
	enum files_status st, want;
	int rootfd;
	size_t i;

	if ((rootfd = setup()) == -1)
		return;
	/* Opening a FIFO that blocks would hang here: fail fast instead. */
	alarm(20);
	for (i = 0; i < sizeof(open_cases) / sizeof(open_cases[0]); i++) {
		const struct open_case *c = &open_cases[i];
		want = walk && strstr(c->path, "link-") ? FILES_NOT_FOUND : c->want;
		test_context("%s%s", c->path, walk ? " (without openat2)" : "");
		st = files_open(rootfd, c->path, &e);
		CHECK_INT(st, want);
		if (st == FILES_OK) {
			CHECK(e.fd >= 0);
			CHECK_INT(e.is_dir, c->is_dir);
			CHECK_INT(S_ISDIR(e.st.st_mode), c->is_dir);
			CHECK(c->is_dir || S_ISREG(e.st.st_mode));
			CHECK_STR(e.name, strrchr(c->path, '/') + 1);
			if (e.fd >= 0)
				close(e.fd);
		} else
			CHECK_INT(e.fd, -1);
		if (st == FILES_NEEDS_SLASH)
			CHECK(e.is_dir);
	}
	test_context("%s", "");
	close(rootfd);
}

TEST(files_open_table)
{
	open_table(false);
}

/*
 * Makes openat2 fail with ENOSYS in this test's process, as on a kernel older
 * than 5.6, so files.c falls back to its walk. Returns false where it cannot.
 */
static bool
no_openat2(void)
{
#if defined(__x86_64__)
	const unsigned arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
	const unsigned arch = AUDIT_ARCH_AARCH64;
#else
	const unsigned arch = 0;
#endif
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(filter) / sizeof(filter[0]), filter };

	if (arch == 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		return false;
	return syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0) == -1 && errno == ENOSYS;
}

TEST(files_open_table_without_openat2)
{
	if (!no_openat2()) {
		printf("    skipped: cannot filter openat2 here\n");
		return;
	}
	open_table(true);
}

/* What a served file holds is the file named, not where a link leads out. */
TEST(files_open_content)
{
	struct files_entry e;
	char buf[64];
	ssize_t n;
	int rootfd;

	if ((rootfd = setup()) == -1)
		return;
	CHECK_INT(files_open(rootfd, "/sub/link-back", &e), FILES_OK);
	n = read(e.fd, buf, sizeof(buf));
	CHECK_MEM(buf, (size_t)(n < 0 ? 0 : n), "a\n", 2);
	CHECK_INT(e.st.st_size, 2);
	close(e.fd);
	CHECK_INT(files_open(rootfd, "/link-sub/c.txt", &e), FILES_OK);
	n = read(e.fd, buf, sizeof(buf));
	CHECK_MEM(buf, (size_t)(n < 0 ? 0 : n), "c\n", 2);
	close(e.fd);
	/* The root's descriptor is not moved by an open. */
	CHECK_INT(files_open(rootfd, "/a.txt", &e), FILES_OK);
	close(e.fd);
	CHECK_INT(files_open(rootfd, "/a.txt", &e), FILES_OK);
	close(e.fd);
	close(rootfd);
}

/* A segment longer than any name the file system allows. */
TEST(files_open_long_names)
{
	char path[1100];
	struct files_entry e;
	int rootfd;

	if ((rootfd = setup()) == -1)
		return;
	path[0] = '/';
	memset(path + 1, 'a', 300);
	path[301] = '\0';
	CHECK_INT(files_open(rootfd, path, &e), FILES_NOT_FOUND);
	memcpy(path + 301, "/b", 3);
	CHECK_INT(files_open(rootfd, path, &e), FILES_NOT_FOUND);
	memset(path, '/', 1000);
	path[1000] = '\0';
	CHECK_INT(files_open(rootfd, path, &e), FILES_NOT_FOUND);
	close(rootfd);
}

struct hidden_case {
	const char *path;
	bool hidden;
};

static const struct hidden_case hidden_cases[] = {
	{ "", false },
	{ "/", false },
	{ "a", false },
	{ "a/", false },
	{ "a.b", false },
	{ "a./b", false },
	{ "a/b.", false },
	{ "a/b/c.txt", false },
	{ "/a/b/c.txt", false },
	{ "index.gmi", false },
	{ "a..b/c", false },
	{ "-a/_b/~c", false },
	{ ".", true },
	{ "..", true },
	{ ".a", true },
	{ "/.a", true },
	{ "a/.b", true },
	{ "a/..", true },
	{ "a/./b", true },
	{ "a/b/.c/d", true },
	{ "/a/b/.c.txt", true },
	{ ".git/config", true },
	{ "a/.well-known/", true },
	{ "a/b/c/d/e/f/.g", true },
	{ "a//.b", true },
};

TEST(files_hidden_table)
{
	size_t i;

	for (i = 0; i < sizeof(hidden_cases) / sizeof(hidden_cases[0]); i++) {
		test_context("%s", hidden_cases[i].path);
		CHECK_INT(files_hidden(hidden_cases[i].path), hidden_cases[i].hidden);
	}
	test_context("%s", "");
}

/* Lists path and compares names and kinds: "name/" for a folder. */
static void
expect_list(int rootfd, const char *path, const char *const *want, size_t nwant)
{
	struct files_item *items;
	struct files_entry e;
	size_t n, i;
	int pass;

	test_context("list %s", path);
	if (files_open(rootfd, path, &e) != FILES_OK || !e.is_dir) {
		test_fail(__FILE__, __LINE__, "cannot open the folder");
		return;
	}
	/* Twice on the same descriptor: the listing starts over each time. */
	for (pass = 0; pass < 2; pass++) {
		if (files_list(rootfd, path, e.fd, &items, &n) == -1) {
			test_fail(__FILE__, __LINE__, "files_list: %s", strerror(errno));
			break;
		}
		CHECK_INT(n, nwant);
		for (i = 0; i < n && i < nwant; i++) {
			char got[300];
			snprintf(got, sizeof(got), "%s%s", items[i].name,
			    items[i].is_dir ? "/" : "");
			CHECK_STR(got, want[i]);
		}
		files_list_free(items, n);
	}
	close(e.fd);
	test_context("%s", "");
}

TEST(files_list_order)
{
	/* Folders first, then files, each by byte order; nothing hidden or outside. */
	static const char *const root[] = {
		"aaa-dir/", "empty/", "link-sub/", "sub/",
		"Zed.txt", "a.txt", "b.gmi", "index.gmi", "link-in",
	};
	static const char *const sub[] = { "deeper/", "c.txt", "link-back" };
	static const char *const deeper[] = { "d.txt" };
	int rootfd;

	if ((rootfd = setup()) == -1)
		return;
	alarm(20);
	expect_list(rootfd, "/", root, sizeof(root) / sizeof(root[0]));
	expect_list(rootfd, "/sub/", sub, sizeof(sub) / sizeof(sub[0]));
	/* Through a symlinked folder, links are judged from the root as well. */
	expect_list(rootfd, "/link-sub/", sub, sizeof(sub) / sizeof(sub[0]));
	expect_list(rootfd, "/sub/deeper/", deeper, 1);
	expect_list(rootfd, "/empty/", NULL, 0);
	close(rootfd);
}

/* Without openat2, no symlink is listed, since none would open. */
TEST(files_list_without_openat2)
{
	static const char *const root[] = {
		"aaa-dir/", "empty/", "sub/", "Zed.txt", "a.txt", "b.gmi", "index.gmi",
	};
	static const char *const sub[] = { "deeper/", "c.txt" };
	int rootfd;

	if ((rootfd = setup()) == -1)
		return;
	if (!no_openat2()) {
		printf("    skipped: cannot filter openat2 here\n");
		close(rootfd);
		return;
	}
	alarm(20);
	expect_list(rootfd, "/", root, sizeof(root) / sizeof(root[0]));
	expect_list(rootfd, "/sub/", sub, sizeof(sub) / sizeof(sub[0]));
	close(rootfd);
}

/* A huge folder lists at most FILES_LIST_MAX entries, still in order. */
TEST(files_list_max)
{
	struct files_item *items;
	struct files_entry e;
	char rel[64];
	size_t n, i;
	int rootfd, fd;

	if ((rootfd = setup()) == -1)
		return;
	make_dir("root/big");
	for (i = 0; i < FILES_LIST_MAX + 7; i++) {
		snprintf(rel, sizeof(rel), "big/f%05zu", i);
		if ((fd = openat(rootfd, rel, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)) == -1) {
			test_fail(__FILE__, __LINE__, "create %s: %s", rel, strerror(errno));
			close(rootfd);
			return;
		}
		close(fd);
	}
	make_dir("root/big/zz-folder");
	if (files_open(rootfd, "/big/", &e) != FILES_OK) {
		test_fail(__FILE__, __LINE__, "cannot open /big/");
		close(rootfd);
		return;
	}
	CHECK_INT(files_list(rootfd, "/big/", e.fd, &items, &n), 0);
	CHECK_INT(n, FILES_LIST_MAX);
	for (i = 1; i < n; i++)
		if (items[i - 1].is_dir < items[i].is_dir ||
		    (items[i - 1].is_dir == items[i].is_dir &&
		    strcmp(items[i - 1].name, items[i].name) >= 0)) {
			test_fail(__FILE__, __LINE__, "out of order at %zu: %s, %s", i,
			    items[i - 1].name, items[i].name);
			break;
		}
	files_list_free(items, n);
	close(e.fd);
	close(rootfd);
}
