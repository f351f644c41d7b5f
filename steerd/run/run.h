/* SPDX-License-Identifier: MIT */
/*
 * run.h — the hosted run: the simulation instance and everything that
 * changes it, owned by the simulation thread.
 *
 * Changes happen only at step boundaries. Boundary S is the state after S
 * steps; a change applied there "takes effect at step S" and step S+1 is the
 * first computed with it. At each boundary, in order: ramps advance,
 * scheduled changes due at S apply, then changes from clients apply in the
 * order they arrived.
 */
#ifndef STEERD_RUN_H
#define STEERD_RUN_H

#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "checkpoint.h"
#include "change.h"
#include "config.h"
#include "journal.h"
#include "reload.h"
#include "mirror.h"
#include "stream.h"

#define RUN_MAX_STATES 8 /* in-memory states kept by snapshot-state */

typedef struct run_state_image {
	char name[128];
	void *image; /* an HDF5 file image (checkpoint_to_image) */
	size_t len;
	uint64_t step;
} run_state_image;

/*
 * Create the simulation from the config's knob values (sim NULL), or take
 * the instance sim: a restart's (owns_sim: destroyed with the run) or the
 * embedding code's (not owned). NULL with a message on error; sim is then
 * left to the caller.
 */
run *run_new(const config *cfg, stream *st, mirror *m, void *pipe, void *sim, bool owns_sim,
             char *err, size_t errlen);
void run_destroy(run **rp);

/* An embedded code's run, before its first step: set the knobs its config
 * gives (fixed ones too) through the code's set(). 0, or -1 with err. */
int run_apply_config_knobs(run *r, char *err, size_t errlen);

/*
 * The run's life, for a hosted loop and an embedded code alike:
 *   run_begin(r);
 *   while (run_next(r, signalled)) { step; run_stepped(r) or run_step_failed(r, why); }
 *   run_end(r);
 * run_next serves changes and waits while paused or paced; it returns false
 * once stopped: by `shutdown`, run.max_steps, or *signalled becoming nonzero
 * (set by a signal handler; signalled may be NULL). run_end writes the
 * on_exit checkpoint and announces the end.
 */
void run_begin(run *r);
bool run_next(run *r, volatile sig_atomic_t *signalled);
void run_stepped(run *r);
void run_step_failed(run *r, const char *message);
void run_end(run *r);

/*
 * MPI (steerd/mpi/): after a step, before run_stepped. True when run_stepped
 * and run_next at this boundary would call the simulation for nothing but
 * reads of its diagnostics (no set, save, restore, checkpoint) and would say
 * go at once: running, no steps queued, no search, ramp, due schedule entry,
 * due checkpoint, max_steps, pace, pending change or signal. Kept beside
 * run_next so that the two cannot drift. Then r->quiet is set: run_next
 * returns go without looking at changes or signals (they are seen at the
 * next boundary) and no checkpoint falls due by the clock in between.
 */
bool run_boundary_quiet(run *r, volatile sig_atomic_t *signalled);

/* MPI: the boundary judged quiet is not after all (the other ranks follow it). */
void run_not_quiet(run *r);
/* MPI: restores go into the live instance (every rank restores its own). */
void run_restore_in_place(run *r);
/* MPI with N > 1: who writes checkpoint files in place of checkpoint_write
 * (with every rank: steerd/storage/checkpoint_mpi.h); NULL: serially. */
typedef int (*run_file_writer)(void *ctx, const char *path, const checkpoint_info *info,
                               uint64_t *bytes, char *err, size_t errlen);
void run_set_file_writer(run *r, run_file_writer write, void *ctx);

/* The hosted loop above, stepping with the adapter's step(). */
void run_loop(run *r, volatile sig_atomic_t *signalled);

/* --- for the commands' apply functions (simulation thread only) --- */

/* Set several knobs at this boundary, all or none. Reply body or error in ch. */
void run_set_knobs(run *r, change *ch);

/* Start ramps (one per knob; a new ramp on a knob replaces its old one). */
void run_start_ramps(run *r, change *ch);

/* A scalar diagnostic of the adapter by name, read now from the simulation
 * (not the last boundary's copy: a knob may have changed since). NAN if the
 * adapter has none. */
double run_scalar_now(const run *r, const char *name);
/* The time per step: the adapter's `dt` diagnostic (known before the first
 * step), else the time per step so far. 0 if unknown. */
double run_seconds_per_step(const run *r);
/* seconds / per_step (> 0) as a whole number of steps in [1, max]: 0, or -1
 * with a message naming `what` in err. Used by ramp durations and search holds. */
int run_seconds_to_steps(double seconds, double per_step, uint64_t max, const char *what,
                         uint64_t *out, char *err, size_t errlen);

/* Cancel ramp ch->count (0: all), the search, or the queued steps (ch->name). */
void run_cancel_ramps(run *r, change *ch);

/* Pause, resume, step N while paused, stop. */
void run_set_state(run *r, run_state state, const char *client);
void run_request_steps(run *r, uint64_t n, const char *client);
void run_stop(run *r, const char *reason);

/* --- checkpoints (run_checkpoint.c) --- */

/*
 * Write a checkpoint now: `name` (a checked file name) or
 * ckpt_SEQ_stepSTEP.h5 (SEQ: the write sequence, 20 digits) in the
 * checkpoint directory. Publishes checkpoint_written or checkpoint_failed;
 * the run goes on either way. Reply body in *result (absolute path).
 */
int run_checkpoint(run *r, const char *name, json_t **result, char *err, size_t errlen);

/* Periodic checkpoints by the config's policy; called at every boundary. */
void run_checkpoint_policy(run *r);

/*
 * Keep the whole state in memory under name (-3: RUN_MAX_STATES other names
 * are kept) / go back to it / forget it (-2: no such name).
 */
int run_save_state(run *r, const char *name, const char *client, json_t **result, char *err,
                   size_t errlen);
int run_drop_state(run *r, const char *name, const char *client, json_t **result, char *err,
                   size_t errlen);
int run_rewind(run *r, const char *name, const char *client, json_t **result, char *err,
               size_t errlen);

/*
 * Take over a loaded checkpoint (restart): its simulation, step, knobs,
 * ramps, schedule position and journal. Refused when its fixed knobs differ
 * from the config's. l is emptied on success.
 */
int run_adopt(run *r, checkpoint_loaded *l, bool keep_journal, char *err, size_t errlen);

/* The whole state as an in-memory HDF5 image (snapshot-state, search). */
int run_image(run *r, void **image, size_t *len, char *err, size_t errlen);

/* Free an image made by run_image (NULL: nothing). */
void run_image_free(void *image);

/*
 * MPI (steerd/mpi/): made(ctx, image) is called for every image run_image
 * makes, freed(ctx, image) when it is freed, so that the other ranks keep
 * their parts of that state exactly as long. NULLs: none (serial). One
 * steerd per process: process-wide.
 */
void run_image_hooks(void (*made)(void *ctx, const void *image),
                     void (*freed)(void *ctx, const void *image), void *ctx);

/* Go back to an image made by run_image (journal kept). */
int run_restore_image(run *r, const void *image, size_t len, char *err, size_t errlen);

/* --- drivers: who takes the run through its boundaries for a while --- */

/*
 * A driver (the search, steerd/search/) steps the run in place of the
 * clients: the run calls it, it calls the run's functions above, never the
 * other way round. One is registered at a time (run_set_driver); it stays
 * registered while idle (the search watches its result then).
 */
typedef struct run_driver {
	/* At every boundary after a step, after the run's own work. */
	void (*boundary)(run *r, void *ctx);
	/* Stop what is under way and answer its request with code/message:
	 * 1 if something was under way, else 0. */
	int (*abort)(run *r, void *ctx, const char *code, const char *message);
	/* While it holds the run (the run steps, other changes are refused):
	 * the client it acts for; NULL when idle. */
	const char *(*client)(const void *ctx);
	/* What is under way, for the refusal of another change ("a search of x"). */
	void (*describe)(const run *r, const void *ctx, char *buf, size_t len);
	/* Free ctx (the run's end, or another driver taking over). */
	void (*destroy)(void *ctx);
} run_driver;

/* Register d with its ctx (ownership of ctx passes to the run). */
void run_set_driver(run *r, const run_driver *d, void *ctx);
/* ctx if d is the driver registered, else NULL. */
void *run_driver_ctx(const run *r, const run_driver *d);
/* Stop the driver's work: 1 if something was under way. */
int run_driver_abort(run *r, const char *code, const char *message);
/* Refuse ch with bad_state while a driver holds the run (true if refused). */
bool run_busy(run *r, change *ch);

/* --- what a driver reads and does (simulation thread) --- */

const sa_adapter *run_adapter(const run *r);
uint64_t run_step(const run *r);
run_state run_state_now(const run *r);
uint64_t run_steps_left(const run *r);
sa_value run_knob(const run *r, size_t k);
/* The scalar diagnostics of the last boundary, and their names. */
const double *run_scalars(const run *r, size_t *n);
const char *run_scalar_name(const run *r, size_t i);
/* Set knob k through the adapter without journal or event (the driver
 * journals its own). 0, or -1 with err. */
int run_set_knob_quiet(run *r, size_t k, sa_value v, char *err, size_t errlen);
/* Publish the state to the control thread's mirror now. */
void run_publish_state(run *r);

/* --- for the library's front door (lib.c) --- */

void *run_sim(const run *r);
bool run_owns_sim(const run *r);
uint64_t run_write_seq(const run *r);
/* The control thread's pending flag and the SIGHUP reload context (not owned). */
void run_connect(run *r, atomic_uint *pending, reload_ctx *reload);

/* Hand a deferred change back to the control thread to be answered. */
void run_answer(run *r, change *ch);

/* Free the in-memory states and the list of checkpoint files. */
void run_checkpoint_free(run *r);

/* Refresh scalars and publish indicator edges at once, without waiting for
 * diagnostics.indicator_dwell_steps (after a jump of state: rewind, search). */
void run_refresh(run *r);

/* Append to the steering journal (consumed); bounded, see journal.h. */
void run_journal_add(run *r, json_t *entry);

/* --- the run's past (run_history.c) --- */

/* Make the history the config asks for and show it to the control thread. */
int run_history_init(run *r, char *err, size_t errlen);
/* A sample of the boundary just reached (after_step). */
void run_history_record(run *r);
/* A journal entry as a marker; a rewind's or a search's return starts a stretch. */
void run_history_marker(run *r, const json_t *entry);
void run_history_free(run *r);

/* Publish an event stamped with the current step and time. */
void run_event(run *r, const char *name, json_t *fields /* consumed */);

#endif
