/*
 * A fuzz target, written once: under libFuzzer (make fuzz, -DFUZZ_LIBFUZZER)
 * it is LLVMFuzzerTestOneInput; in the test runner it is a test that replays
 * tests/fuzz/corpus/NAME/, so a crash once found stays found.
 */
#ifndef GAZETTE_FUZZ_H
#define GAZETTE_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * An invariant of a target: under libFuzzer a broken one aborts (a crash the
 * fuzzer keeps); replayed by the test runner, it is a failed check.
 */
#ifdef FUZZ_LIBFUZZER
#include <stdio.h>
#include <stdlib.h>
#define EXPECT(cond)                                                          \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                              \
		}                                                             \
	} while (0)
#define FUZZ_TARGET(name)                                                     \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);         \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#else
#include "test.h"
#define EXPECT(cond) CHECK(cond)
#define FUZZ_TARGET(name)                                                     \
	static int fuzz_##name(const uint8_t *data, size_t size);             \
	__attribute__((constructor)) static void fuzz_reg_##name(void)        \
	{                                                                     \
		test_register_fuzz(#name, fuzz_##name);                       \
	}                                                                     \
	static int fuzz_##name(const uint8_t *data, size_t size)
#endif

/* True when path has seg as one of its '/'-separated segments. */
static inline bool
has_segment(const char *path, const char *seg)
{
	size_t n = strlen(seg);
	const char *p;

	for (p = path; (p = strchr(p, '/')) != NULL; p++)
		if (strncmp(p + 1, seg, n) == 0 && (p[1 + n] == '/' || p[1 + n] == '\0'))
			return true;
	return false;
}

#endif
