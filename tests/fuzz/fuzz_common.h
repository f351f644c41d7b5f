/* SPDX-License-Identifier: MIT */
/* fuzz_common.h — what the libFuzzer harnesses share (fuzz_hooks.c). */
#ifndef STEERD_FUZZ_COMMON_H
#define STEERD_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fail loudly: a property the harness checks does not hold. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                                   \
		if (!(cond))                                                                       \
			fuzz_fail(__FILE__, __LINE__, #cond);                                          \
	} while (0)
_Noreturn void fuzz_fail(const char *file, int line, const char *what);

#endif
