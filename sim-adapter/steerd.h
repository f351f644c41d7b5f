/* SPDX-License-Identifier: MIT — libsteerd's public API; embed steerd in any code. */
/*
 * steerd.h — steer a code that keeps its own main() and time loop (libsteerd).
 *
 * The code describes its knobs and diagnostics with an sa_adapter
 * (steerd_adapter.h; create/destroy/step may be NULL), opens steerd with a
 * config, and calls steerd_boundary() between its steps:
 *
 *     steerd_options o = STEERD_OPTIONS_INIT;
 *     if (steerd_options_from_args(&o, &argc, argv, err, sizeof err) < 0) ...
 *     steerd *s = steerd_open(&my_adapter, &my_state, &o, err, sizeof err);
 *     while (steerd_boundary(s) == STEERD_GO)
 *         my_step(&my_state);
 *     steerd_close(&s);
 *
 * steerd_boundary() is where everything steerd does to the code happens:
 * changes due at this step are applied through set(), the diagnostics due
 * are read and published, `pause` blocks here (the control thread still
 * answers clients), `step N` lets N steps through, checkpoints are written
 * through save(), and rewind and search restore through restore(). Clients
 * attach exactly as to the steerd daemon (connection file, PROTOCOL.md).
 *
 * Threads. steerd runs two threads of its own (control and publisher), which
 * never call the code. Every callback of the descriptor runs on the thread
 * that called steerd_open(), inside steerd_open(), steerd_boundary() or
 * steerd_close(); call all three from that one thread. A call from another
 * thread is refused (STEERD_ERROR and a message), never run. One steerd is
 * open per process at a time.
 *
 * Errors. Functions that can fail return a negative value (or NULL) and
 * write a one-line message into err (errlen bytes) or keep it for
 * steerd_last_error(). Nothing of the code is changed by a failed call.
 *
 * Ownership. The descriptor and the code's state (sim) stay the code's: they
 * must live until steerd_close() returns; steerd never frees them. Options and
 * their strings are copied by steerd_open().
 *
 * Save and restore. Without them steerd still steers, publishes and pauses,
 * but refuses `checkpoint`, `snapshot-state`, `rewind` and `search` with the
 * error `unsupported` naming what is missing, and writes no checkpoints.
 * With them, restore() always overwrites the code's live state in place
 * (steerd never makes a second instance of an embedded code): steerd keeps a
 * copy first and puts it back if restore() fails.
 *
 * HDF5. A code that uses HDF5 itself may: steerd links the same shared
 * libhdf5 (Debian's serial libhdf5-dev: pkg-config hdf5-serial), uses only
 * its own file handles, and never closes the library; the code's HDF5 error
 * handler (H5Eset_auto2) is its own again whenever a steerd call returns.
 * Build the code's HDF5 use with `pkg-config --cflags --libs hdf5-serial`
 * (`pkg-config steerd` gives libsteerd only); mixing a static or other build
 * of HDF5 (e.g. libhdf5-openmpi) into one process is not supported by HDF5
 * itself.
 *
 * Versions. STEERD_VERSION_* are this header's; steerd_version() is the
 * library's. The library's soname changes with the major version.
 */
#ifndef STEERD_H
#define STEERD_H

#include <stddef.h>

#include "steerd_adapter.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(STEERD_STATIC)
#define STEERD_EXPORT __attribute__((visibility("default")))
#else
#define STEERD_EXPORT
#endif

/*
 * The release: the one place the project's version is written. The Makefile
 * reads it for pkg-config and the library's soname (libsteerd.so.MAJOR),
 * `steerd --version` and `hello` print it.
 */
#define STEERD_VERSION_MAJOR 0
#define STEERD_VERSION_MINOR 2
#define STEERD_VERSION_PATCH 0
#define STEERD_VERSION_STRING "0.2.0"

typedef struct steerd steerd; /* opaque */

/* steerd_boundary() */
#define STEERD_GO 1    /* take one step, then call steerd_boundary() again */
#define STEERD_STOP 0  /* stop stepping (shutdown, run.max_steps, a signal): steerd_close() */
#define STEERD_ERROR (-1) /* misuse (wrong thread, after close, NULL): see steerd_last_error() */

typedef struct steerd_options {
	size_t size;                 /* sizeof(steerd_options) (STEERD_OPTIONS_INIT sets it) */
	const char *config_path;     /* the YAML config (steerd.yaml(5)), or NULL */
	const char *config_text;     /* or the config's YAML in memory (config_path NULL);
	                                both NULL: every setting at its default */
	const char *connection_file; /* where clients find the run; NULL: the config's
	                                connection_file, else $XDG_RUNTIME_DIR/steerd-PID.json */
	const char *restart;         /* a checkpoint file, or a directory (its newest usable
	                                file), to continue from; NULL: start afresh */
	int handle_signals;          /* nonzero: SIGINT/SIGTERM end the run at the next boundary
	                                (STEERD_STOP), SIGHUP reloads keys and settings, SIGPIPE
	                                is ignored, as in the steerd daemon. 0: the code's own;
	                                call steerd_request_stop() from its handler */
	int log_level;               /* SA_LOG_ERROR..SA_LOG_DEBUG, or -1: the config's */
} steerd_options;

#define STEERD_OPTIONS_INIT { sizeof(steerd_options), NULL, NULL, NULL, NULL, 0, -1 }

/*
 * Take steerd's options from a command line, as the steerd daemon reads them:
 * -c FILE / --config FILE, --connection-file PATH, --restart FILE|DIR and
 * --log-level LEVEL. They are removed from argv (argc updated) so the code
 * parses the rest; the strings stay argv's. 0, or -1 with a message when one
 * lacks its value. Unknown arguments are left alone.
 */
STEERD_EXPORT int steerd_options_from_args(steerd_options *o, int *argc, char **argv, char *err,
                                           size_t errlen);

/*
 * Open: read the config, check the descriptor (duplicate names, min > max,
 * a missing required function: refused with a message), bind the control and
 * diagnostics endpoints, write the connection file, and — with o->restart —
 * restore the code's state from the checkpoint (through restore(), into sim).
 * The config's `simulation.adapter`, if given, must be the descriptor's name;
 * its `knobs:` values are applied with set() now, fixed knobs included.
 *
 * desc: the code's descriptor (create, destroy and step may be NULL).
 * sim:  the code's state, passed back to every callback; not owned.
 * desc NULL and sim NULL: host the adapter named by the config's
 * simulation.adapter and step it with steerd_run() (what the steerd program
 * does).
 * Returns NULL with a message in err on failure; nothing is left running.
 * With o->restart, a failed restore may have overwritten part of sim.
 */
STEERD_EXPORT steerd *steerd_open(const sa_adapter *desc, void *sim, const steerd_options *o,
                                  char *err, size_t errlen);

/*
 * Between two steps (and once before the first): see the top of this file.
 * STEERD_GO, STEERD_STOP or STEERD_ERROR. Blocks while the run is paused.
 * After STEERD_STOP it keeps returning STEERD_STOP.
 */
STEERD_EXPORT int steerd_boundary(steerd *s);

/*
 * The step just taken failed (call before the next steerd_boundary()): that
 * boundary pauses the run, publishes `step_failed` with message, and blocks
 * until a client resumes or stops it. message is copied.
 */
STEERD_EXPORT void steerd_step_failed(steerd *s, const char *message);

/* Hosted (steerd_open(NULL, NULL, ...)): step the adapter until stopped. 0 or -1. */
STEERD_EXPORT int steerd_run(steerd *s);

/*
 * Ask the run to stop at its next boundary. Async-signal-safe: call it from
 * a signal handler. Works on the open steerd (NULL-safe).
 */
STEERD_EXPORT void steerd_request_stop(void);

/*
 * Close: end the run (when the code stops on its own: reason "closed by the
 * code"), write the on_exit checkpoint if configured, answer waiting clients,
 * stop steerd's threads, remove the connection file, free everything, set *sp
 * to NULL. 0, or -1 when something could not be done cleanly (logged). NULL
 * and *sp NULL are no-ops.
 */
STEERD_EXPORT int steerd_close(steerd **sp);

/* Write a line to steerd's log (stderr or journald), with its level filter. */
STEERD_EXPORT void steerd_log(sa_log_level level, const char *message);

/*
 * The message of the last failed call of this thread ("" if none). Valid
 * until the next call into steerd from this thread.
 */
STEERD_EXPORT const char *steerd_last_error(void);

/* The library's version, e.g. "0.2.0", and its parts. */
STEERD_EXPORT const char *steerd_version(void);
STEERD_EXPORT int steerd_version_major(void);
STEERD_EXPORT int steerd_version_minor(void);

/*
 * ---- The variable-binding descriptor builder ----
 *
 * For a code whose knobs, diagnostics and state are plain variables (Fortran
 * above all; simple C and C++): instead of writing an sa_adapter with
 * callbacks, bind the variables by address and let libsteerd write the
 * callbacks. steerd reads and writes the bound variables only inside
 * steerd_open(), steerd_boundary() and steerd_close(), on the code's thread:
 * a knob set by a client is written into its variable between two steps.
 *
 *     static double alpha = 1e-5, u[101];
 *     static int64_t step;
 *     static double t;
 *     static int32_t n = 101;
 *     steerd_desc *d = steerd_desc_new("heat", "1.0", "1D heat equation");
 *     steerd_desc_knob_double(d, "alpha", "m^2/s", 1e-6, 1e-4, 1, "diffusivity", &alpha);
 *     steerd_desc_array(d, "u", "K", "temperature", u, 101, NULL, NULL);
 *     steerd_desc_clock(d, &step, &t);
 *     steerd_desc_state_f64(d, "u", u, 101, NULL);
 *     steerd *s = steerd_open(steerd_desc_adapter(d), d, &o, err, sizeof err);
 *     while (steerd_boundary(s) == STEERD_GO) { my_step(); step++; t += dt; }
 *     steerd_close(&s);
 *     steerd_desc_destroy(&d);
 *
 * Ownership and lifetimes. steerd_desc_new() returns a descriptor the code
 * owns and frees with steerd_desc_destroy(), after steerd_close(). Every
 * string is copied (a Fortran temporary may go right after the call). The
 * bound variables are not copied: each must stay at its address, alive,
 * until steerd_close() returns (in Fortran: TARGET or SAVE/module variables,
 * not reallocated meanwhile). Pass the descriptor itself as steerd_open's sim.
 *
 * Knobs. A knob's default is its variable's value when it is declared (so
 * initialise it first; a value outside [min, max] is refused). runtime
 * nonzero: clients may change it while the run goes on; 0: only the config
 * (simulation.knobs) sets it, once, inside steerd_open().
 *
 * Lengths. An array (diagnostic or state) has room for len elements at data;
 * n, when not NULL, points at the count in use now (read at every boundary,
 * save and restore, clamped to [0, len]); NULL: always len.
 *
 * Save and restore. With at least one state array declared, save() writes the
 * clock, every knob and every state array, and restore() reads them back in
 * place (a checkpoint's array must have the length in use now). Without any,
 * save/restore stay NULL: `checkpoint`, `snapshot-state`, `rewind`, `search`
 * and --restart are refused with `unsupported`.
 *
 * Errors. The declaring calls return 0, or -1 and a message for
 * steerd_last_error(): NULL descriptor, name or variable, a name that is not
 * [a-z][a-z0-9_]* of at most 64 characters, a name used twice (knobs and
 * diagnostics share one set of names; state arrays have their own),
 * min > max, an axis that names no array declared before, or any call after
 * steerd_desc_adapter(). A refused call changes nothing. steerd_desc_adapter() returns NULL with a message when the
 * descriptor is not complete (no clock) or was refused earlier.
 *
 * Threads. A descriptor is used by one thread at a time; no global state.
 */
typedef struct steerd_desc steerd_desc; /* opaque */

/* A new, empty descriptor (name [a-z][a-z0-9_]*), or NULL with a message. */
STEERD_EXPORT steerd_desc *steerd_desc_new(const char *name, const char *version,
                                           const char *description);

/* A knob bound to a double, an int32_t (Fortran default integer) or an int64_t. */
STEERD_EXPORT int steerd_desc_knob_double(steerd_desc *d, const char *name, const char *unit,
                                          double min, double max, int runtime,
                                          const char *description, double *var);
STEERD_EXPORT int steerd_desc_knob_int32(steerd_desc *d, const char *name, const char *unit,
                                         int32_t min, int32_t max, int runtime,
                                         const char *description, int32_t *var);
STEERD_EXPORT int steerd_desc_knob_int64(steerd_desc *d, const char *name, const char *unit,
                                         int64_t min, int64_t max, int runtime,
                                         const char *description, int64_t *var);

/* A scalar diagnostic: the double at var, read at each boundary it is due. */
STEERD_EXPORT int steerd_desc_scalar(steerd_desc *d, const char *name, const char *unit,
                                     const char *description, const double *var);

/*
 * An array diagnostic (see Lengths). axis: the name of an array declared
 * before that gives each element's coordinate (e.g. "x"), or NULL.
 */
STEERD_EXPORT int steerd_desc_array(steerd_desc *d, const char *name, const char *unit,
                                    const char *description, const double *data, size_t len,
                                    const int32_t *n, const char *axis);

/*
 * The code's step count and simulated time (s): required. The code advances
 * them; restore() writes them back.
 */
STEERD_EXPORT int steerd_desc_clock(steerd_desc *d, int64_t *step, double *time);

/* A state array that save() writes and restore() reads back in place (see Lengths). */
STEERD_EXPORT int steerd_desc_state_f64(steerd_desc *d, const char *name, double *data, size_t len,
                                        const int32_t *n);
STEERD_EXPORT int steerd_desc_state_i64(steerd_desc *d, const char *name, int64_t *data,
                                        size_t len, const int32_t *n);

/*
 * The descriptor for steerd_open(steerd_desc_adapter(d), d, ...); it lives as
 * long as d. After this call d takes no more declarations.
 */
STEERD_EXPORT const sa_adapter *steerd_desc_adapter(steerd_desc *d);

/* Free d and set *dp to NULL (after steerd_close). NULL and *dp NULL are no-ops. */
STEERD_EXPORT void steerd_desc_destroy(steerd_desc **dp);

#ifdef __cplusplus
}
#endif

#endif /* STEERD_H */
