/* SPDX-License-Identifier: MIT */
/*
 * run_internal.h — struct run, private to the run module (steerd/run/):
 * every other module goes through the functions of run.h.
 */
#ifndef STEERD_RUN_INTERNAL_H
#define STEERD_RUN_INTERNAL_H

#include "run.h"

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
	const run_driver *driver; /* the search (run.h, drivers), or NULL */
	void *driver_ctx;       /* its state; owned */
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
	/* MPI with N > 1: writes checkpoint files with every rank
	 * (steerd/storage/checkpoint_mpi.h); NULL: checkpoint_write. */
	run_file_writer write_file;
	void *write_file_ctx;
};

/* Whether a driver holds the run now (it steps even while paused). */
bool run_driven(const run *r);

#endif
