/* SPDX-License-Identifier: MIT */
/*
 * identity.h — who this run and this process are, for `hello`: a run id (the
 * run's identity, kept in checkpoints and so across `--restart`; new for a
 * fresh run) and a start id (new at every process start). Clients compare
 * them on reconnect to tell the same process, the same run restarted and a
 * different run apart. Thread-safe: set by main, read by the control thread.
 */
#ifndef STEERD_IDENTITY_H
#define STEERD_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#define IDENTITY_ID_LEN 32 /* hex digits of a 128-bit random id */

typedef struct run_identity {
	char run_id[IDENTITY_ID_LEN + 1];
	char start_id[IDENTITY_ID_LEN + 1];
	bool restarted;         /* this process continued a run from a checkpoint */
	uint64_t restart_step;  /* the checkpoint's step, when restarted */
} run_identity;

/* Fresh ids for a new process (and, until identity_restarted, a new run). */
void identity_init(void);

/*
 * This process continues the run saved at step: keep its run id, or (a
 * checkpoint written before run ids existed: run_id NULL or "") make a new one.
 */
void identity_restarted(const char *run_id, uint64_t step);

/* A copy of the identity as it is now. */
run_identity identity_get(void);

/* true when s is a run id as identity makes them (32 lowercase hex digits). */
bool identity_valid(const char *s);

#endif
