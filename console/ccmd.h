/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ccmd.h — the console's commands, one per file (ccmd-NAME.c), each an entry
 * of the table in ccmd.c: name, usage, summary, exec, and what its arguments
 * complete to. Daemon commands the console has no entry for are passed
 * through as `CMD {json body}`, so new daemon commands work unchanged.
 */
#ifndef CONSOLE_CCMD_H
#define CONSOLE_CCMD_H

#include "console.h"

/* What an argument completes to. */
enum {
	CC_NONE,
	CC_COMMANDS,  /* console and daemon commands */
	CC_KNOBS,     /* knob names (and, after a knob, an enum's choices) */
	CC_NAMES,     /* knobs and scalar diagnostics */
	CC_ARRAYS,    /* array diagnostics and "phase" */
};

typedef struct ccmd_entry {
	const char *name;
	const char *usage;   /* e.g. "KNOB VALUE [KNOB VALUE ...]" */
	const char *summary; /* one line */
	const char *daemon;  /* the daemon command it stands for (its request body is
	                        built from the console's syntax), or NULL: the
	                        console's own (tests/integration/test_protocol_schema.py) */
	/* argv[0] is the command; rest is the text after it, as typed. 0 or -1
	 * (the error already reported). */
	int (*exec)(console *c, int argc, char **argv, const char *rest);
	int complete;
} ccmd_entry;

extern const ccmd_entry ccmd_help_entry, ccmd_hello_entry, ccmd_status_entry, ccmd_params_entry,
    ccmd_get_entry, ccmd_set_entry, ccmd_ramp_entry, ccmd_ramps_entry, ccmd_cancel_entry,
    ccmd_pause_entry, ccmd_resume_entry, ccmd_step_entry, ccmd_snapshot_entry,
    ccmd_shutdown_entry, ccmd_wait_entry, ccmd_expect_entry, ccmd_sleep_entry, ccmd_echo_entry,
    ccmd_watch_entry, ccmd_plot_entry, ccmd_quit_entry;
extern const ccmd_entry ccmd_checkpoint_entry, ccmd_snapshot_state_entry, ccmd_rewind_entry;
extern const ccmd_entry ccmd_drop_state_entry; /* ccmd-drop-state.c */
extern const ccmd_entry ccmd_history_entry, ccmd_monitor_entry; /* ccmd-history.c, ccmd-monitor.c */

/* All entries, NULL-terminated, in the order help lists them. */
const ccmd_entry *const *ccmd_all(void);
const ccmd_entry *ccmd_find(const char *name);

/* A line: commands separated by ';' (not inside quotes or a JSON body), '#'
 * starts a comment. Stops at the first command that fails: -1. */
int ccmd_run_line(console *c, const char *line);

/* --dump-commands: the console's commands as JSON (name, usage, summary, daemon). */
int ccmd_dump(FILE *out);

/* `CMD {json body}` for any daemon command. */
int ccmd_passthrough(console *c, const char *cmd, const char *rest);

/* Shared by the entries. */
int ccmd_usage(console *c, const ccmd_entry *e);
/* The request, and in --json mode its reply body printed as one line. -1 on
 * error; else *out is the body (caller decrefs), for the human printer. */
int ccmd_request(console *c, const char *cmd, json_t *body, json_t **out);
/* `CMD [NAME]` (required: `CMD NAME`) as e->daemon's {"name": NAME}; as ccmd_request. */
int ccmd_named_request(console *c, const ccmd_entry *e, bool required, int argc, char **argv,
                       json_t **out);

/* The hello entry of a knob, or NULL (reported). */
const json_t *ccmd_knob(console *c, const char *name);
/* The value at argv[*i] for knob, with an optional unit word after it
 * (consumed: *i moves to the last word used). NULL when bad (reported). */
json_t *ccmd_knob_value(console *c, const json_t *knob, int argc, char **argv, int *i);
/* "ramp 1: anode_voltage 900 V -> 1000 V, steps 5386..5486" (ccmd-ramp.c) */
void ccmd_print_ramp(console *c, const json_t *rp);
/* The ramps of a `ramps`/`snapshot` reply as a table (ccmd-ramps.c). */
void ccmd_ramps_table(console *c, const json_t *ramps);

#endif
