/* SPDX-License-Identifier: MIT */
/*
 * cmd.h — the control commands, one per file (cmd-NAME.c), each an entry of
 * the table in cmd.c: name, usage, summary and the functions that run it.
 *
 * A command runs in up to two places:
 *   exec   on the control thread, always: checks the body and either answers
 *          at once from the mirror (reads) or fills in a change (writes);
 *   apply  on the simulation thread, between steps, for writes only: makes
 *          the change and fills in the reply. No write ever waits for more
 *          than the current step to end.
 */
#ifndef STEERD_CMD_H
#define STEERD_CMD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "change.h"
#include "config.h"
#include "mirror.h"
#include "wire.h"

/* What exec sees. */
typedef struct cmd_ctx {
	const config *cfg;
	const sa_adapter *sa;
	const mirror_state *state; /* the run as of this request (read from the mirror) */
	const char *stream_endpoint;
	const char *client;
	/* Out: an error, or the reply body of a read, or a change to forward. */
	const char *err_code;
	char err_msg[256];
	json_t *result;
	change *change;
	struct history *history;   /* the run's past (history.h); NULL: none */
	wire_frame frames[WIRE_MAX_FRAMES]; /* out: binary frames after the result (`history`) */
	size_t n_frames;
} cmd_ctx;

typedef struct cmd_entry {
	const char *name;
	const char *usage;   /* the body, e.g. {"values": {KNOB: VALUE, ...}}; names every
	                        key of args (checked by tests/integration/test_protocol_schema.py) */
	const char *summary; /* one line */
	const char *const *args; /* the body keys it takes (NULL-terminated); NULL: none */
	bool changes;        /* a write: may be refused to observers (security issue) */
	bool needs_state;    /* needs the simulation's save/restore: refused `unsupported`
	                        (before exec) when the adapter or embedding code has none */
	/* 0 and ctx->result or ctx->change set, or -1 and ctx->err_* set. */
	int (*exec)(cmd_ctx *ctx, const json_t *body);
	/* Simulation thread; fills ch->result or ch->err_*. */
	void (*apply)(run *r, change *ch);
} cmd_entry;

/* The entries, one per cmd-*.c file. */
extern const cmd_entry cmd_hello_entry, cmd_status_entry, cmd_params_entry, cmd_get_entry,
    cmd_set_entry, cmd_ramp_entry, cmd_ramps_entry, cmd_cancel_entry, cmd_pause_entry,
    cmd_resume_entry, cmd_step_entry, cmd_snapshot_entry, cmd_shutdown_entry,
    cmd_checkpoint_entry, cmd_snapshot_state_entry, cmd_rewind_entry, cmd_search_entry;
extern const cmd_entry cmd_drop_state_entry; /* cmd-drop-state.c */
extern const cmd_entry cmd_history_entry;    /* cmd-history.c */

/*
 * The table as JSON, one object per command in cmd_all() order: name, usage,
 * summary, args (the body keys it takes) and changes. `hello` lists it and
 * `steerd --dump-commands` prints it; tests check the schema, PROTOCOL.md and
 * the console against it. NULL when out of memory.
 */
json_t *cmd_table_json(void);

/* The command called name, or NULL. */
const cmd_entry *cmd_find(const char *name);

/* All commands, NULL-terminated, in the order `hello` lists them. */
const cmd_entry *const *cmd_all(void);

/* Helpers for exec/apply. */
int cmd_fail(cmd_ctx *ctx, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Refuse keys of body outside the NULL-terminated list `allowed`. */
int cmd_check_keys(cmd_ctx *ctx, const json_t *body, const char *const *allowed);

/* A new change for this command (the request is moved in by the control thread). */
change *change_new(const cmd_entry *cmd);
void change_destroy(change **chp);

/* Read a non-negative integer argument; -1 with ctx error when absent/wrong. */
int cmd_get_count(cmd_ctx *ctx, const json_t *body, const char *key, uint64_t min,
                  uint64_t max, uint64_t *out);

/* Resolve a knob that may change while running; -1 (unknown_name, fixed_knob) if not. */
int cmd_runtime_knob(cmd_ctx *ctx, const char *name, size_t *out);
/* "; did you mean NAME?" for a mistyped knob (or, with scalars, a knob or
 * scalar diagnostic) into buf, or "" when nothing is close. Returns buf. */
const char *cmd_did_you_mean(const sa_adapter *sa, const char *typed, bool scalars, char *buf,
                             size_t len);

/* exec of a write with no arguments: an empty change for `self`. */
int cmd_plain_change(cmd_ctx *ctx, const json_t *body, const cmd_entry *self);

/* exec of a write whose one argument is a required "name" (cmd-snapshot-state.c). */
int cmd_named_change(cmd_ctx *ctx, const json_t *body, const cmd_entry *self);
extern const char *const cmd_name_arg[]; /* { "name", NULL } */

/*
 * Read body[key] as a name of 1..100 characters [A-Za-z0-9._-], not starting
 * with '.', into ctx->change->name. Absent and not required: "" and 0.
 */
int cmd_get_name(cmd_ctx *ctx, const json_t *body, const char *key, bool required, char *out,
                 size_t outlen);

#endif
