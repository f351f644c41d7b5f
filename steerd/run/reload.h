/* SPDX-License-Identifier: MIT */
/*
 * reload.h — SIGHUP: take in what may change while the run goes on.
 *
 * The handler only sets reload_signal; never does SIGHUP end a run, with or
 * without security. The simulation thread calls reload_poll between steps
 * (every 10 ms while stepping, at every wake-up while paused). It then:
 *   - with security, reloads the client keys (security.h), or retries once a
 *     second while the key list cannot be read;
 *   - with a config file (-c), reads it again, checked as at start, and
 *     applies the settings the table in config.c marks reloadable (log_level,
 *     checkpoint.every_steps/every_seconds/keep/on_exit, the diagnostics
 *     cadences), logging each change; every other changed setting is logged
 *     as needing a restart. A file that does not parse, cannot be read or
 *     that another user could change (fileperm.h) changes no setting. A
 *     config taken from a checkpoint (--restart without -c) has no file:
 *     nothing but the key files is reloaded.
 * The work is done on the simulation thread, which owns what it changes (the
 * settings it reads at every step, the diagnostics socket a revocation binds
 * anew): while it runs no step is taken and no heartbeat is sent (a rebind
 * may take up to about 2 s, typically 5-200 ms; PROTOCOL.md, Security).
 */
#ifndef STEERD_RELOAD_H
#define STEERD_RELOAD_H

#include <signal.h>
#include <stdbool.h>

#include "config.h"
#include "security.h"
#include "stream.h"

/* Set by the SIGHUP handler (main.c); cleared when reload_poll takes it. */
extern volatile sig_atomic_t reload_signal;

typedef struct reload_ctx {
	config *cfg;     /* the running config: reloadable settings are updated in place */
	bool from_file;  /* cfg was read from cfg->path (-c), not from a checkpoint */
	bool log_level_fixed; /* --log-level was given: it wins over the file's log_level */
	security *sec;   /* NULL without security */
	stream *st;
} reload_ctx;

#define RELOAD_KEYS 1u             /* keys revoked or the list unavailable: cancel their work */
#define RELOAD_CHECKPOINT_TIMER 2u /* checkpoint.every_seconds changed: restart its clock */

/* On the simulation thread; RELOAD_* flags of what the run must act on. NULL-safe. */
unsigned reload_poll(reload_ctx *rc);

#endif
