/* SPDX-License-Identifier: MIT */
/*
 * startup.h — what a run starts from: its config (a file, text in memory, or
 * the one saved in a checkpoint) and, on restart, the checkpoint to continue
 * from. Shared by steerd_open() (lib.c) and `steerd --check` (main.c).
 */
#ifndef STEERD_STARTUP_H
#define STEERD_STARTUP_H

#include <stdbool.h>

#include "checkpoint.h"
#include "config.h"

/* What a restart reads of the checkpoint chosen. */
typedef enum startup_read {
	STARTUP_READ_ALL = 0, /* everything, the simulation restored (serially) */
	STARTUP_READ_META,    /* all but the simulation (checkpoint_read_meta): rank 0 of
	                         an MPI run, whose ranks then restore it together */
	STARTUP_READ_CONFIG,  /* only the config (given, else the checkpoint's): the
	                         other ranks of an MPI run, restart naming a file */
} startup_read;

typedef struct startup_args {
	const char *config;       /* -c FILE, or NULL */
	const char *config_text;  /* or the config in memory (config NULL), or NULL */
	const char *restart;      /* --restart FILE|DIR, or NULL */
	bool trust_adapter;       /* --trust-checkpoint-adapter */
	const adapter *embedded;  /* a code's own descriptor (adapter_wrap), or NULL: hosted */
	void *into;               /* embedded: the code's live state, restored in place */
	startup_read read;        /* with restart: what is read (0: all) */
} startup_args;

/*
 * Load the configuration (a->config, else a->config_text, else the one saved
 * in the checkpoint, else — embedded only — every default) and, with
 * a->restart, read the checkpoint to continue from into *l: the file given,
 * or the newest usable one in the directory given, damaged ones skipped with
 * a warning naming each. The state is restored into a->into when given, else
 * into a new instance (l->sim, which the run then takes). *chosen gets its
 * path (malloc'd). a->read less than all: l holds the metadata only (l->sim
 * NULL), or nothing. 0, or a sysexits status with err: 78 a bad config, 65 no
 * usable checkpoint, 77 an external adapter not trusted.
 */
int startup_load(const startup_args *a, config **cfg, checkpoint_loaded *l, char **chosen,
                 char *err, size_t errlen);

#endif
