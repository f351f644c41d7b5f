/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c — libFuzzer harness for the YAML config loader: the input is a
 * config file. It goes through config_parse (from memory) and, through a
 * memfd, through config_load_security (the SIGHUP reload path, which reads a
 * file). Whatever is accepted is freed with config_destroy.
 *
 * External adapters (simulation.adapter with a '/' or ".so") would dlopen()
 * whatever path the fuzzer makes up: fuzz_hooks.c turns dlopen off.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"

static int memfd = -1, verbose;
static char memfd_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memfd = memfd_create("fuzz_config.yaml", MFD_CLOEXEC);
	if (memfd < 0) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
	verbose = getenv("FUZZ_VERBOSE") != NULL; /* say what each input gave */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	config *cfg = NULL;
	if (config_parse("fuzz.yaml", (const char *)data, size, &cfg, err, sizeof err) == 0) {
		/* success returns a complete config */
		FUZZ_CHECK(cfg && cfg->adapter && cfg->knobs && cfg->text);
		if (verbose)
			fprintf(stderr, "config_parse: accepted\n");
		config_destroy(&cfg);
	} else {
		FUZZ_CHECK(!cfg && err[0]); /* failure returns nothing and says why */
		if (verbose)
			fprintf(stderr, "config_parse: %s\n", err);
	}

	if (ftruncate(memfd, 0) == 0 && pwrite(memfd, data, size, 0) == (ssize_t)size) {
		config_security *sec = NULL;
		if (config_load_security(memfd_path, &sec, err, sizeof err) == 0) {
			FUZZ_CHECK(sec && sec->server_key && sec->n_clients);
			if (verbose)
				fprintf(stderr, "config_load_security: accepted\n");
			config_security_free(&sec);
		} else {
			FUZZ_CHECK(!sec && err[0]);
			if (verbose)
				fprintf(stderr, "config_load_security: %s\n", err);
		}
	}
	return 0;
}
