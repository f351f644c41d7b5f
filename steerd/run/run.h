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
#include "cmd.h"
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

typedef struct run_search run_search; /* run_search.c */

/* The arguments of `search`, checked on the control thread. */
typedef struct search_args {
	size_t knob;
	double from, to, tol;
	uint64_t hold;         /* steps; 0 when hold_time is given or by default */
	double hold_time;      /* s; converted at the start with the time per step; 0: not given */
	bool down;             /* direction down: from a state where the condition holds */
	uint64_t max_steps;
	bool cond_is_knob;     /* condition on a knob, else on a scalar */
	size_t cond_index;     /* knob index or scalar slot */
	int cond_op;           /* SEARCH_NONZERO or one of == != < <= > >= (SEARCH_EQ...) */
	double cond_value;
	char cond_text[128];
} search_args;

/* The largest hold of a probe, in steps (hold, hold_time, or the default). */
#define SEARCH_MAX_HOLD ((uint64_t)1 << 40)
/* The default hold: this many transit times (the adapter's transit_time). */
#define SEARCH_HOLD_TRANSITS 50.0

/* A search left at its result: warn once if its condition turns true there. */
typedef struct search_watch {
	bool on;
	double value;     /* the knob's value at the result; steering it ends the watch */
	search_args cond; /* the knob and the condition */
	char client[64];
} search_watch;

enum { SEARCH_NONZERO, SEARCH_EQ, SEARCH_NE, SEARCH_LT, SEARCH_LE, SEARCH_GT, SEARCH_GE };

struct run {
	const config *cfg;
	const sa_adapter *sa;
	void *sim;              /* owned when owns_sim */
	bool owns_sim;          /* created here (hosted); else the embedding code's */
	bool in_place;          /* restore into the live instance (embedded, SA_SINGLE_INSTANCE) */
	stream *stream;         /* not owned */
	mirror *mirror;         /* not owned */
	void *pipe;             /* inproc PAIR to the control thread; not owned */
	atomic_uint *pending;   /* set when a change was sent (control_pending); or NULL */
	double next_signal_check; /* wall time (s) to look at the SIGHUP flag while stepping */

	mirror_state pub;       /* the authoritative state; copied to the mirror */
	size_t *scalar_diag;    /* adapter index of each rank-0 diagnostic */
	size_t *indicator_slot; /* index into pub.scalars of each indicator */
	struct run_indicator *indicators; /* each indicator's published state (run.c) */
	size_t sched_pos;       /* next schedule entry */
	uint64_t next_ramp_id;
	journal journal;        /* every change: step, client, knob, old, new */
	char stop_reason[64];

	run_state_image states[RUN_MAX_STATES]; /* snapshot-state */
	size_t n_states;
	char **ckpt_files;      /* rotated checkpoints written, oldest first */
	size_t n_ckpt_files;
	char **named_files;     /* named checkpoints written, oldest first (checkpoint.keep_named) */
	size_t n_named_files;
	uint64_t ckpt_seq;      /* write sequence of the last checkpoint (checkpoint_dir.h) */
	bool ckpt_seq_scanned;  /* the checkpoint directory's highest sequence was taken into ckpt_seq */
	double next_ckpt_time;  /* wall time of the next every_seconds checkpoint */
	bool ckpt_dir_made;     /* the checkpoint directory existed or was made once */
	run_search *search;     /* the search under way, or NULL */
	search_watch watch;     /* the result of the last search, watched (run_search.c) */
	reload_ctx *reload;     /* SIGHUP: what to reload (reload.h), or NULL; not owned */
	uint64_t steps_taken;   /* steps computed by this process (searches included) */
	double rate_t0, rate_t1, rate_last; /* steps_per_second's window (run.c, update_rate) */
	uint64_t rate_n0, rate_n1;
	double pace_t0;         /* run.max_steps_per_second: when pace_n0 steps had been taken */
	uint64_t pace_n0;
	unsigned pace;          /* the pace they count for (a reload may change it) */
	struct history *history; /* the run's past (history.h, run_history.c); owned */
	double *history_values; /* one sample: knobs, then scalars */
	double boundary_t0;     /* when the last step ended (0: a wait came since) */
	double step_t0;         /* when the step under way began (run_next said go) */
	double boundary_fraction; /* steerd_boundary_fraction (own_scalars.h) of the last step */
	bool quiet;             /* MPI: this pass was found quiet (run_boundary_quiet): run_next
	                           says go at once; cleared by run_next */
	/* MPI: writes the simulation's part of a checkpoint file collectively
	 * (steerd/storage/checkpoint_mpi.h); NULL in a serial run. */
	int (*write_sim_file)(void *ctx, const char *path, char *err, size_t errlen);
	void *write_sim_ctx;
};

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

/* --- search (run_search.c) --- */

/* Start the search of ch (deferred: answered when it ends). */
void run_search_start(run *r, change *ch);

/* Advance the search at a boundary; called after every step while one runs. */
void run_search_boundary(run *r);

/* Stop the search: its request is answered with code/message. 0 if none ran. */
int run_search_abort(run *r, const char *code, const char *message);

/* The client (key name with security) that started the search under way, or NULL. */
const char *run_search_client(const run *r);
/* At every boundary: warn (event search_warning) if the condition of the last
 * search turns true while its knob is still at the result. */
void run_search_watch(run *r);

/* Refuse ch with bad_state when a search is under way (true if refused). */
bool run_busy(run *r, change *ch);

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
