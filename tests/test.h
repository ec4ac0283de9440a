/*
 * A small test framework. A test is a function declared with TEST(name); it
 * registers itself before main runs. CHECK macros record a failure and carry
 * on, so one run shows every broken expectation of a test.
 */
#ifndef GAZETTE_TEST_H
#define GAZETTE_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void (*test_fn)(void);
typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

void test_register(const char *name, const char *file, test_fn fn);
void test_register_fuzz(const char *name, fuzz_fn fn);

/* Records one failed expectation of the running test. */
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Marks the running test skipped, saying why ("no writable pids cgroup");
 * the test then returns. A test that also failed counts as failed.
 */
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A program a test runs: its path, from PATH then the sbin folders root's
 * PATH has, or NULL. test_need_tool() skips the test when it is missing,
 * naming the Debian package (make test installs them when it can).
 */
const char *test_tool_path(const char *name, char *buf, size_t size);
bool test_need_tool(const char *name, const char *package);

/* Shows both sides of a byte comparison, escaped, at the first difference. */
void test_fail_mem(const char *file, int line, const char *what, const void *got,
    size_t gotlen, const void *want, size_t wantlen);

#define TEST(name)                                                            \
	static void test_##name(void);                                        \
	__attribute__((constructor)) static void test_reg_##name(void)        \
	{                                                                     \
		test_register(#name, __FILE__, test_##name);                  \
	}                                                                     \
	static void test_##name(void)

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond))                                                  \
			test_fail(__FILE__, __LINE__, "%s", #cond);           \
	} while (0)

#define CHECK_INT(got, want)                                                  \
	do {                                                                  \
		long long g_ = (long long)(got), w_ = (long long)(want);      \
		if (g_ != w_)                                                 \
			test_fail(__FILE__, __LINE__, "%s: got %lld, want %lld", \
			    #got, g_, w_);                                    \
	} while (0)

#define CHECK_STR(got, want)                                                  \
	do {                                                                  \
		const char *g_ = (got), *w_ = (want);                         \
		if (g_ == NULL || w_ == NULL ? g_ != w_ : strcmp(g_, w_) != 0) \
			test_fail_mem(__FILE__, __LINE__, #got, g_,           \
			    g_ ? strlen(g_) : 0, w_, w_ ? strlen(w_) : 0);    \
	} while (0)

#define CHECK_MEM(got, gotlen, want, wantlen)                                 \
	do {                                                                  \
		size_t gl_ = (gotlen), wl_ = (wantlen);                       \
		if (gl_ != wl_ || memcmp((got), (want), gl_) != 0)            \
			test_fail_mem(__FILE__, __LINE__, #got, (got), gl_,   \
			    (want), wl_);                                     \
	} while (0)

/* For table-driven tests: the row being checked, shown with any failure; NULL clears it. */
void test_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Where tests find their fixtures (tests/), and a scratch folder per run. */
const char *test_source_dir(void);
const char *test_tmp_dir(void);

#endif
