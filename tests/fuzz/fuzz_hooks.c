/* SPDX-License-Identifier: MIT */
/*
 * fuzz_hooks.c — linked into every harness.
 *
 * dlopen() is turned off: a config naming an external adapter ("x.so", or a
 * path) would otherwise load whatever file the fuzzer's bytes happen to name,
 * and HDF5 would load filter plugins. Both then fail as for a missing file.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"

static int dlopen_refused;

void *dlopen(const char *file, int mode)
{
	(void)file;
	(void)mode;
	dlopen_refused = 1;
	return NULL;
}

char *dlerror(void)
{
	static char *(*real)(void);
	if (dlopen_refused) {
		dlopen_refused = 0;
		return (char *)"dlopen is turned off in the fuzzers";
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "dlerror");
	return real ? real() : NULL;
}

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	abort();
}
