/*
 * A fuzz target, written once: under libFuzzer (make fuzz, -DFUZZ_LIBFUZZER)
 * it is LLVMFuzzerTestOneInput; in the test runner it is a test that replays
 * tests/fuzz/corpus/NAME/, so a crash once found stays found.
 */
#ifndef GAZETTE_FUZZ_H
#define GAZETTE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#ifdef FUZZ_LIBFUZZER
#define FUZZ_TARGET(name)                                                     \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);         \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#else
#include "test.h"
#define FUZZ_TARGET(name)                                                     \
	static int fuzz_##name(const uint8_t *data, size_t size);             \
	__attribute__((constructor)) static void fuzz_reg_##name(void)        \
	{                                                                     \
		test_register_fuzz(#name, fuzz_##name);                       \
	}                                                                     \
	static int fuzz_##name(const uint8_t *data, size_t size)
#endif

#endif
