/* SPDX-License-Identifier: MIT */
/*
 * config.h — the daemon's YAML configuration, checked against a schema.
 *
 * The schema has two parts: the daemon's own settings, a table of typed and
 * bounded entries (config.c), and the simulation's knobs, taken from the
 * adapter's descriptor. Unknown keys, duplicate keys, wrong types and values
 * out of range are refused with "file:line:col: message" (1-based), and
 * nothing is returned.
 */
#ifndef STEERD_CONFIG_H
#define STEERD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"

/* A scheduled change: at step `at`, set a knob or start a ramp on it. */
typedef enum { SCHED_SET, SCHED_RAMP } sched_kind;

typedef struct sched_entry {
	uint64_t at;     /* step boundary at which it applies */
	sched_kind kind;
	size_t knob;     /* index into the adapter's knobs */
	sa_value value;  /* SCHED_SET: the value; SCHED_RAMP: the target */
	uint64_t steps;  /* SCHED_RAMP: duration in steps, or 0 when rate is given */
	double rate;     /* SCHED_RAMP: knob units per step (> 0), or 0 when steps is given */
} sched_entry;

typedef enum { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level;

/* One entry of security.clients. */
typedef struct config_client {
	char *key;     /* the client's public key file (NAME.key), resolved: see config_security */
	char *name;    /* `name`, or NULL: the key file's metadata name, else its base name */
	int role;      /* zap_role (zap.h): ZAP_ROLE_OBSERVER or ZAP_ROLE_OPERATOR */
	unsigned line; /* where it was given in the file (1-based), for messages */
} config_client;

/*
 * The security section: CURVE on both sockets, clients admitted by key.
 * Its paths, like every path setting (simulation.adapter when a .so,
 * checkpoint.directory, endpoints.connection_file, the path of ipc://
 * endpoints), are resolved when read: relative ones against the directory of
 * the config file (config_load), or of the checkpoint it was read from
 * (config_parse_beside); a leading ~/ or $XDG_STATE_HOME/ is expanded. A
 * config parsed by config_parse keeps them relative to the current directory.
 */
typedef struct config_security {
	char *server_key;         /* security.server_key: the server's NAME.key_secret */
	config_client *clients;   /* security.clients: at least one */
	size_t n_clients;
} config_security;

typedef struct config {
	char *path;           /* as given */
	char *text;           /* the whole file, NUL-terminated (kept for checkpoints) */

	adapter *adapter;     /* loaded from simulation.adapter; owned */
	sa_value *knobs;      /* initial value of each adapter knob (defaults filled in) */
	bool *knob_given;     /* per knob: given in simulation.knobs (an embedded code
	                         keeps its own value of the others) */

	char *control_endpoint;     /* endpoints.control, default tcp://127.0.0.1:* */
	char *diagnostics_endpoint; /* endpoints.diagnostics, default tcp://127.0.0.1:* */
	char *connection_file;      /* endpoints.connection_file, or NULL */
	bool allow_remote;          /* endpoints.allow_remote, default false; with
	                               security configured, remote binds are allowed */

	bool start_paused;    /* run.start: running (default) | paused */
	uint64_t max_steps;   /* run.max_steps: stop (as on SIGTERM) after it; 0 = never */
	int32_t simulation_cpu; /* run.simulation_cpu: the simulation thread's own CPU,
	                           steerd's other threads stay off it; -1 (absent) = not pinned */
	unsigned max_steps_per_second; /* run.max_steps_per_second: pacing; 0 (default) = unpaced */

	unsigned scalars_every;   /* diagnostics.scalars_every, default 1 (0 = never) */
	unsigned arrays_every;    /* diagnostics.arrays_every, default 100 (0 = never) */
	unsigned *every;          /* per adapter diagnostic: publish cadence in steps,
	                             from the two above unless diagnostics.every names it */
	unsigned heartbeat_ms;    /* diagnostics.heartbeat_ms, default 1000 */
	unsigned send_hwm;        /* diagnostics.send_hwm, default 1000 messages */
	char **indicators;        /* diagnostics.indicators: scalar diagnostics whose
	                             0 <-> non-0 edges are published as events;
	                             default: "virtual_cathode" if the adapter has it */
	size_t n_indicators;
	unsigned indicator_dwell_steps; /* diagnostics.indicator_dwell_steps, default 1000: an
	                                   indicator's change is published once it has lasted
	                                   this many steps (1 = at once) */

	sched_entry *schedule;    /* sorted by `at` (stable) */
	size_t n_schedule;

	char *checkpoint_dir;     /* checkpoint.directory; "." when a checkpoint section gives
	                             none; NULL: no checkpoint section (only the `checkpoint`
	                             command writes, to ".") */
	uint64_t checkpoint_every_steps;   /* checkpoint.every_steps; 0 = off */
	unsigned checkpoint_every_seconds; /* checkpoint.every_seconds (wall time); 0 = off */
	unsigned checkpoint_keep;          /* checkpoint.keep: newest periodic ones kept, default 3 */
	unsigned checkpoint_keep_named;    /* checkpoint.keep_named: newest named ones kept, default 16 */
	bool checkpoint_on_exit;           /* checkpoint.on_exit, default true */

	uint64_t history_max_bytes;      /* history.max_bytes: the whole store, default 64 MiB; 0: none */
	unsigned history_levels;         /* history.levels: full resolution + coarser ones, default 4 */
	unsigned history_bucket_samples; /* history.bucket_samples: rows per bucket of the next level, 64 */

	size_t max_message_bytes; /* limits.max_message_bytes, default 65536 */
	log_level log_level;      /* log_level: error|warn|info|debug, default info */

	config_security *security; /* the security section; NULL: not configured */
	unsigned mpi_ranks;        /* an MPI run's ranks (steerd/mpi/, hello's ranks); 0 serially */
	bool adapter_borrowed;     /* config_reload: adapter is the running config's, not owned */
} config;

/* Why config_load failed (its negative return value). */
#define CONFIG_E_INVALID (-1) /* absent, unreadable as a config, or a schema error */
#define CONFIG_E_IO (-2)      /* could not be read now (EMFILE, ENFILE, EIO, ...) */
#define CONFIG_E_UNSAFE (-3)  /* another user could change it (fileperm.h) */

/*
 * Read and check the file at path. On success *out owns a new config.
 * On failure returns a CONFIG_E_* code (below) and writes "path:line:col:
 * message" (or "path: message" when no position applies) into err. The file
 * is refused when another user could change it (fileperm.h).
 */
int config_load(const char *path, config **out, char *err, size_t errlen);

/* Same, from text in memory; path is only used in messages. */
int config_parse(const char *path, const char *text, size_t len, config **out,
                 char *err, size_t errlen);

/* Same, with relative paths resolved against the directory of file (a config
 * read from a checkpoint: the checkpoint file). */
int config_parse_beside(const char *path, const char *file, const char *text, size_t len,
                        config **out, char *err, size_t errlen);

/*
 * The same for a code that embeds steerd: its descriptor a (adapter_wrap) is
 * borrowed, not loaded; the simulation section is optional and its adapter
 * key, if given, must name a. base_file: resolve relative paths against its
 * directory (a checkpoint's config), or NULL.
 */
int config_load_embedded(const char *path, const adapter *a, config **out, char *err,
                         size_t errlen);
int config_parse_embedded(const char *path, const char *base_file, const char *text, size_t len,
                          const adapter *a, config **out, char *err, size_t errlen);

/* Free; sets *cp to NULL. NULL-safe. */
void config_destroy(config **cp);

/* `steerd --dump-config`: the settings table as JSON (name, type, min, max,
 * choices, default, reload), for doc/gen-man.py. 0, or -1 on error. */
int config_dump_table(FILE *out);

/*
 * Read the file at path again and parse only its security section (the rest
 * of the file is not looked at): what a reload (SIGHUP) uses. Errors as
 * config_load; a file without a security section is an error. *out owns a
 * new section.
 */
int config_load_security(const char *path, config_security **out, char *err, size_t errlen);

/*
 * SIGHUP: read cur->path again, checked as at start but against the running
 * adapter (no adapter is loaded; a change of simulation.adapter is only
 * logged). *out is the file's config (config_destroy it). Errors as
 * config_load.
 */
int config_reload(const config *cur, config **out, char *err, size_t errlen);

/*
 * Copy into cur the settings marked reloadable in the table (config.c:
 * log_level, checkpoint.every_steps/every_seconds/keep/on_exit, the
 * diagnostics cadences, diagnostics.indicator_dwell_steps,
 * run.max_steps_per_second) that differ in fresh, logging each (INFO), and log a
 * WARN for every other setting that differs (read only at start). Returns
 * CONFIG_RELOADED_* flags for what the caller must act on. Call on the
 * thread that reads those settings (the simulation thread).
 */
#define CONFIG_RELOADED_LOG_LEVEL 1u
#define CONFIG_RELOADED_CHECKPOINT_TIMER 2u
unsigned config_apply_reload(config *cur, const config *fresh);

/* Free a security section; sets *sp to NULL. NULL-safe. */
void config_security_free(config_security **sp);

#endif
