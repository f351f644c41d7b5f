/* SPDX-License-Identifier: MIT */
/*
 * change.h — a change of the run, handed from the control thread (which
 * makes it from a request and answers it) to the simulation thread (which
 * applies it between steps: ch->apply, the command's, see cmd.h). The run fills in
 * the result or the error; it never makes or frees a change.
 */
#ifndef STEERD_CHANGE_H
#define STEERD_CHANGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "adapter.h"
#include "wire.h"

typedef struct run run;

/* One knob change of a set or ramp. */
typedef struct knob_change {
	size_t knob;
	sa_value value; /* set: the value; ramp: the target */
	uint64_t steps; /* ramp: duration, or 0 when rate is used */
	double rate;    /* ramp: units per step, or 0 */
	double duration; /* ramp: simulated seconds (steps computed when it starts), or 0 */
} knob_change;

/* A change handed from the control thread to the simulation thread. */
typedef struct change {
	const struct cmd_entry *cmd; /* the command (cmd.h) */
	void (*apply)(run *r, struct change *ch); /* its apply: the run calls only this */
	wire_request req;       /* the request; answered by the control thread */
	knob_change *items;     /* set/ramp; owned */
	size_t n_items;
	uint64_t count;         /* step: steps to run; cancel: ramp id (0: all) */
	char name[128];         /* checkpoint, snapshot-state, rewind: a checked name */
	void *args;             /* command-specific arguments (search); owned, freed with free() */
	bool deferred;          /* apply kept it: answered later with run_answer() */
	/* Filled by apply: */
	json_t *result;         /* reply body when ok */
	const char *err_code;   /* or an error */
	char err_msg[256];
} change;

/* Refuse ch: the error code (protocol.h) and its message. */
void change_fail(change *ch, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
