/* SPDX-License-Identifier: MIT */
/*
 * lib_mpi.c — an MPI run: rank 0 is steerd (lib.c, run.c as serially, over
 * the adapter mpi_layer.c wraps), the other ranks follow its boundaries.
 *
 * A boundary, after every rank's step:
 *   1. one MPI_Allreduce of two ints: any rank's step failure, and rank 0's
 *      "something to do" (run_boundary_quiet false: a change waiting,
 *      paused, a ramp, a checkpoint due, ...);
 *   2. neither: every rank says go (rank 0 after run_stepped and run_next,
 *      which then call the simulation for diagnostics only);
 *   3. else a failure's message is gathered (mpi_agree), the other ranks
 *      serve rank 0's ops (mpi_serve) while its run goes through the
 *      boundary, and OP_GO or OP_STOP ends it.
 * The first boundary (run_begin) is always of the third kind.
 */
#include "lib_mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "checkpoint.h"
#include "checkpoint_mpi.h"
#include "h5io.h"
#include "log.h"
#include "mpi_layer.h"
#include "run.h"
#include "startup.h"

/*
 * --restart with N > 1 ranks (stage 3 until rank 0 has said how it went):
 *   1. rank 0 resolves the path (a directory: the checkpoint written last)
 *      and reads all but the simulation (startup.c, STARTUP_READ_META);
 *   2. it tells every rank the outcome (restart_tell): on failure the
 *      status and message, which every rank then fails with; else the path
 *      and the saved knob values;
 *   3. a hosted run's ranks create their instances with those values (an
 *      embedded code's are its own), then every rank restores its instance
 *      with checkpoint_mpi_read_into (the same outcome everywhere);
 *   4. rank 0's run adopts the metadata in place (lib.c start, run_adopt).
 * Blocking broadcasts: no nonblocking one (mpi_send) is pending before it.
 */
enum { STAGE_RESTART = 3 };

typedef struct restart_head {
	int32_t status;    /* 0, or the sysexits status every rank fails with */
	uint32_t n_knobs;  /* values that follow (status 0) */
	char text[4096];   /* the checkpoint's path (status 0), else the message */
} restart_head;

static void restart_tell(mpi_layer *L, int status, const char *text, const sa_value *knobs,
                         size_t n)
{
	restart_head h = { .status = status, .n_knobs = status ? 0 : (uint32_t)n };
	snprintf(h.text, sizeof h.text, "%s", text);
	MPI_Bcast(&h, (int)sizeof h, MPI_BYTE, 0, L->comm);
	if (h.n_knobs)
		MPI_Bcast((void *)knobs, (int)(n * sizeof *knobs), MPI_BYTE, 0, L->comm);
	L->stage = 1;
}

/* The other ranks: rank 0's outcome. 0 with *path and *knobs (malloc'd), or
 * its status with its message in err. */
static int restart_learn(mpi_layer *L, char **path, sa_value **knobs, size_t *n, char *err,
                         size_t errlen)
{
	restart_head h;
	MPI_Bcast(&h, (int)sizeof h, MPI_BYTE, 0, L->comm);
	h.text[sizeof h.text - 1] = '\0';
	if (h.status) {
		snprintf(err, errlen, "%s", h.text);
		return h.status;
	}
	*n = h.n_knobs;
	*knobs = calloc(h.n_knobs ? h.n_knobs : 1, sizeof **knobs);
	*path = strdup(h.text);
	if (!*knobs || !*path) /* the broadcast of the values follows: cannot take part */
		MPI_Abort(L->comm, EX_OSERR);
	if (h.n_knobs)
		MPI_Bcast(*knobs, (int)(h.n_knobs * sizeof **knobs), MPI_BYTE, 0, L->comm);
	return 0;
}

/* prepare (lib.h): the config is loaded on rank 0. */
static int prepare_rank0(void *ctx, config *cfg, checkpoint_loaded *restored, const char *from,
                         void **sim, char *err, size_t errlen)
{
	mpi_layer *L = ctx;
	const sa_adapter *sa = cfg->adapter->sa;
	bool restart = L->stage == STAGE_RESTART; /* restored holds the metadata only */
	if (restart)
		restart_tell(L, 0, from, restored->knobs, sa->n_knobs);
	/* hosted: every rank creates its instance (one rank restarting: restored's) */
	if (!cfg->adapter->embedded && !(restored && restored->sim)) {
		L->stage = -1;
		if (mpi_agree(L, 0, NULL, err, errlen) < 0)
			return EX_SOFTWARE; /* another rank could not load the config */
		L->host = *log_adapter_host();
		L->host.mpi_comm = &L->comm;
		char why[512] = "";
		void *made = sa->create(restart ? restored->knobs : cfg->knobs, &L->host, why, sizeof why);
		if (mpi_agree(L, made ? 0 : -1, why, err, errlen) < 0) {
			if (made)
				sa->destroy(made);
			return restart ? EX_DATAERR : EX_SOFTWARE;
		}
		*sim = made;
	}
	if (restart) {
		void *into = cfg->adapter->embedded ? L->run_sim : *sim;
		L->stage = -1;
		if (checkpoint_mpi_read_into(L->comm, from, sa, into, err, errlen) < 0)
			return EX_DATAERR; /* *sim: steerd_open_with destroys it */
		restored->sim = into; /* restored in place: the run adopts the rest */
		restored->in_place = true;
	}
	L->stage = 2; /* the other ranks serve ops now */
	L->listening = true;
	cfg->mpi_ranks = (unsigned)L->size; /* hello: ranks */
	if (L->size > 1)
		mpi_wrap_adapter(L, &cfg->adapter->desc);
	return 0;
}

static steerd *open_rank0(mpi_layer *L, const steerd_open_args *a, int *status, char *err,
                          size_t errlen)
{
	steerd_open_args b = *a;
	b.prepare = prepare_rank0;
	b.prepare_ctx = L;
	b.restart_meta = L->restarting;
	L->stage = b.restart_meta ? STAGE_RESTART : a->desc ? 2 : 0;
	L->run_sim = a->sim; /* embedded: restored in place by prepare */
	steerd *s = steerd_open_with(&b, status, err, errlen);
	if (!s) {
		if (L->stage == STAGE_RESTART) /* before the checkpoint was read: tell the others */
			restart_tell(L, *status ? *status : EX_SOFTWARE, err, NULL, 0);
		else if (L->stage == 0) /* the config failed here: tell the others */
			mpi_agree(L, -1, err, err, errlen);
		else if (L->stage == 2)
			mpi_send(L, OP_OPENED, 1, 0, 0, err, (uint32_t)strlen(err) + 1);
		mpi_layer_free(&L);
		return NULL;
	}
	mpi_send(L, OP_OPENED, 0, 0, 0, NULL, 0);
	s->mpi = L;
	L->run_sim = run_sim(s->r);
	if (L->size > 1) {
		run_set_file_writer(s->r, mpi_write_file, L);
		log_info("MPI: %d ranks; rank 0 steers, the others follow its boundaries", L->size);
	}
	return s;
}

/* The other ranks of a hosted run: the config, then their own instance
 * (restart: from the checkpoint rank 0 chose, with its knob values). */
static int worker_hosted(steerd *s, mpi_layer *L, const steerd_open_args *a, const char *from,
                         const sa_value *knobs, size_t n_knobs, char *err, size_t errlen)
{
	checkpoint_loaded restored = { 0 };
	char *chosen = NULL;
	startup_args sa = { .config = a->config, .config_text = a->config_text, .restart = from,
		            .trust_adapter = a->trust_adapter, .read = STARTUP_READ_CONFIG };
	char why[512] = "";
	int rc = startup_load(&sa, &s->cfg, &restored, &chosen, why, sizeof why);
	free(chosen);
	if (rc == 0)
		log_set_level(a->log_level >= 0 ? (log_level)a->log_level : s->cfg->log_level);
	if (mpi_agree(L, rc == 0 ? 0 : -1, why, err, errlen) < 0)
		return EX_SOFTWARE;
	L->sa = s->cfg->adapter->sa;
	L->host = *log_adapter_host();
	L->host.mpi_comm = &L->comm;
	if (from && n_knobs != L->sa->n_knobs)
		snprintf(why, sizeof why, "rank 0 sent %zu knob values for %zu knobs", n_knobs,
		         L->sa->n_knobs);
	else
		L->sim = L->sa->create(from ? knobs : s->cfg->knobs, &L->host, why, sizeof why);
	L->owns_sim = L->sim != NULL;
	return mpi_agree(L, L->sim ? 0 : -1, why, err, errlen) < 0 ? (from ? EX_DATAERR : EX_SOFTWARE)
	                                                           : 0;
}

static steerd *open_worker(mpi_layer *L, const steerd_open_args *a, int *status, char *err,
                           size_t errlen)
{
	steerd *s = calloc(1, sizeof *s);
	if (!s) /* every rank must reach the same collectives: this one cannot */
		MPI_Abort(L->comm, EX_OSERR);
	s->owner = pthread_self();
	s->mpi = L;
	if (a->handle_signals) /* a signal mpirun passes on stops rank 0; here it is ignored */
		steerd_install_signal_handlers();
	if (a->log_level >= 0)
		log_set_level((log_level)a->log_level);
	char *from = NULL;
	sa_value *knobs = NULL;
	size_t n_knobs = 0;
	int rc = L->restarting ? restart_learn(L, &from, &knobs, &n_knobs, err, errlen) : 0;
	if (rc == 0 && !a->desc) {
		rc = worker_hosted(s, L, a, from, knobs, n_knobs, err, errlen);
	} else if (rc == 0) {
		/* rank 0 checks the same descriptor and fails the open if it is wrong */
		char why[256];
		s->own = adapter_wrap(a->desc, "embedded", false, why, sizeof why);
		L->sa = s->own ? s->own->sa : NULL;
		L->sim = a->sim;
	}
	if (rc == 0 && from && checkpoint_mpi_read_into(L->comm, from, L->sa, L->sim, err, errlen) < 0)
		rc = EX_DATAERR; /* the same on every rank */
	free(from);
	free(knobs);
	if (rc == 0) {
		int opened = 1;
		char why[512] = "";
		mpi_serve(L, &opened, why, sizeof why); /* rank 0's open may set knobs */
		if (opened) {
			snprintf(err, errlen, "%s", why);
			rc = EX_SOFTWARE;
		}
	}
	L->stage = rc == 0 ? 2 : -1;
	if (rc != 0) {
		*status = rc;
		steerd *gone = s;
		mpi_worker_close(&gone);
		return NULL;
	}
	*status = 0;
	return s;
}

steerd *steerd_open_mpi_with(MPI_Comm comm, const steerd_open_args *a, int *status, char *err,
                             size_t errlen)
{
	*status = EX_SOFTWARE;
	int up = 0, down = 0;
	MPI_Initialized(&up);
	MPI_Finalized(&down);
	if (!up || down) {
		snprintf(err, errlen, "steerd_open_mpi: MPI is not running (MPI_Init first)");
		return NULL;
	}
	mpi_layer *L = mpi_layer_new(comm, err, errlen);
	if (!L) /* the others wait in the collectives that follow: end the job */
		MPI_Abort(comm, EX_OSERR);
	if (L->size > 1) { /* options are read on rank 0: its restart is every rank's */
		int restarting = a->restart != NULL;
		MPI_Bcast(&restarting, 1, MPI_INT, 0, L->comm);
		L->restarting = restarting;
	}
	return L->rank == 0 ? open_rank0(L, a, status, err, errlen)
	                    : open_worker(L, a, status, err, errlen);
}

steerd *steerd_open_mpi(MPI_Comm comm, const sa_adapter *desc, void *sim,
                        const steerd_options *o, char *err, size_t errlen)
{
	char buf[1024];
	if (!err || !errlen) {
		err = buf;
		errlen = sizeof buf;
	}
	if (!desc || !sim) { /* the same on every rank */
		snprintf(err, errlen, "steerd_open_mpi: give the descriptor and this rank's state");
		steerd_set_last_error(err);
		return NULL;
	}
	/* Options as steerd_open checks them. Rank 0's decide (steerd_mpi.h): its
	 * verdict and message go to every rank; another rank's options are used
	 * only where valid (its log level, signals), else the defaults. */
	int rank = 0, bad = 0, up = 0, down = 0;
	MPI_Initialized(&up);
	MPI_Finalized(&down);
	if (!up || down) {
		snprintf(err, errlen, "steerd_open_mpi: MPI is not running (MPI_Init first)");
		steerd_set_last_error(err);
		return NULL;
	}
	MPI_Comm_rank(comm, &rank);
	steerd_open_args a;
	char why[512] = "";
	if (rank == 0)
		bad = steerd_args_from_options(o, desc, sim, &a, why, sizeof why) < 0;
	else if (steerd_args_from_options(o, desc, sim, &a, why, sizeof why) < 0)
		steerd_args_from_options(NULL, desc, sim, &a, why, sizeof why);
	MPI_Bcast(&bad, 1, MPI_INT, 0, comm);
	if (bad) {
		MPI_Bcast(why, sizeof why, MPI_CHAR, 0, comm);
		snprintf(err, errlen, "%s", why);
		steerd_set_last_error(err);
		return NULL;
	}
	int status;
	steerd *s = steerd_open_mpi_with(comm, &a, &status, err, errlen);
	h5io_unquiet();
	if (!s)
		steerd_set_last_error(err);
	return s;
}

/* The other ranks at a boundary that is not quiet: rank 0's ops, then go or stop. */
static int follow(steerd *s)
{
	int status;
	char msg[8];
	int op = mpi_serve(s->mpi, &status, msg, sizeof msg);
	if (op == OP_GO)
		return STEERD_GO;
	s->stopped = true;
	s->ended = op == OP_END;
	return STEERD_STOP;
}

int mpi_boundary(steerd *s, volatile sig_atomic_t *signalled)
{
	mpi_layer *L = s->mpi;
	run *r = s->r; /* rank 0 only */
	bool first = !s->begun, failed = s->failed;
	s->begun = true;
	s->failed = false;
	L->unchanged = false; /* a step since */
	char why[512] = "";
	if (!first) {
		int mine[2] = { failed ? L->size - L->rank : 0, 0 }, all[2];
		if (r)
			mine[1] = !run_boundary_quiet(r, signalled) || L->collective_diags;
		MPI_Allreduce(mine, all, 2, MPI_INT, MPI_MAX, L->comm);
		if (!all[0] && !all[1]) { /* the quiet boundary: one collective, every rank goes */
			if (r) {
				run_stepped(r);
				run_next(r, signalled);
			}
			return STEERD_GO;
		}
		if (r) {
			run_not_quiet(r);
			mpi_listening(L, true); /* the others follow this boundary */
		}
		if (all[0]) /* the same as mpi_agree: every rank knows one failed */
			mpi_agree(L, failed ? -1 : 0, s->fail_msg, why, sizeof why);
		if (!r)
			return follow(s);
		if (all[0])
			run_step_failed(r, why);
		else
			run_stepped(r);
	} else if (r) {
		run_begin(r);
	} else {
		return follow(s);
	}
	bool go = run_next(r, signalled);
	h5io_unquiet();
	mpi_send(L, go ? OP_GO : OP_STOP, 0, 0, 0, NULL, 0);
	if (go) {
		mpi_listening(L, false); /* until the next boundary's slow path */
		return STEERD_GO;
	}
	s->stopped = true;
	return STEERD_STOP;
}

int mpi_run(steerd *s)
{
	mpi_layer *L = s->mpi;
	/* (rank 0: step() is never wrapped; in place, the run's instance never changes) */
	const sa_adapter *sa = s->r ? run_adapter(s->r) : L->sa;
	void *sim = s->r ? run_sim(s->r) : L->sim;
	if (!sa || !sa->step) {
		steerd_set_last_error("steerd_run: the descriptor has no step(): call steerd_boundary()");
		return -1; /* the same on every rank */
	}
	while (steerd_boundary(s) == STEERD_GO) {
		char err[256] = "";
		if (sa->step(sim, err, sizeof err) < 0)
			steerd_step_failed(s, err);
	}
	return 0;
}

void mpi_ended(steerd *s)
{
	mpi_send(s->mpi, OP_END, 0, 0, 0, NULL, 0);
	mpi_listening(s->mpi, false); /* the others have let go: nothing to release */
}

int mpi_worker_close(steerd **sp)
{
	steerd *s = *sp;
	mpi_layer *L = s->mpi;
	/* Rank 0's steerd_close may still write (on_exit checkpoint): follow it. */
	if (L->stage == 2 && !s->ended) {
		int status;
		char msg[8];
		while (mpi_serve(L, &status, msg, sizeof msg) != OP_END)
			;
	}
	if (L->owns_sim)
		L->sa->destroy(L->sim);
	mpi_layer_free(&s->mpi);
	adapter_destroy(&s->own);
	config_destroy(&s->cfg);
	free(s);
	*sp = NULL;
	return 0;
}
