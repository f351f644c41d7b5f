/* SPDX-License-Identifier: MIT */
/*
 * embed_mpi.c — an MPI code that embeds steerd (steerd_mpi.h), built as a
 * user builds theirs: mpicc embed_mpi.c $(pkg-config --cflags --libs steerd-mpi).
 * tests/mpi/test_steerd_mpi.py drives it.
 *
 * The model, "ring": every rank r holds x_r and adds rate * (r + 1) to it at
 * each step; one MPI_Allreduce per step gives the global total and whether
 * the ranks stepped with different rates (the count `mismatches`, which
 * stays 0 when every change reaches every rank at the same step). knobs
 * fail_rank and fail_step make the step of one rank fail (after the step's
 * collective, so the others are not left waiting): steerd must pause all
 * ranks and name that rank. save/restore keep each rank's own x.
 *
 * With --collective-diags the descriptor sets SA_MPI_COLLECTIVE_DIAGS and
 * diag_read sums x over the ranks when it is called (an MPI_Allreduce):
 * steerd must then call it on every rank together.
 *
 *   mpirun -np 2 embed_mpi [--collective-diags] -c ring.yaml --connection-file ring.json
 */
#include <mpi.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "steerd_mpi.h"

enum { K_RATE, K_FAIL_RANK, K_FAIL_STEP, N_KNOBS };
enum { D_TOTAL, D_MISMATCHES, D_RANKS, N_DIAGS };

typedef struct ring {
	int rank, size;
	MPI_Comm comm;
	uint64_t step;
	double x, total, mismatches;
	sa_value knob[N_KNOBS];
} ring;

static const sa_knob knobs[N_KNOBS] = {
	{ "rate", SA_DOUBLE, "1/s", -1e6, 1e6, { .d = 1.0 }, "added to x_r per step, times r + 1", 1, NULL },
	{ "fail_rank", SA_INT, "", -1, 1 << 20, { .i = -1 }, "the rank whose step fails (-1: none)", 1, NULL },
	{ "fail_step", SA_INT, "", 0, 1e12, { .i = 0 }, "the step that fails on fail_rank", 1, NULL },
};

static const sa_diag diags[N_DIAGS] = {
	{ "total", "", "the sum of x over the ranks", 0, NULL },
	{ "mismatches", "", "steps the ranks took with different rates", 0, NULL },
	{ "ranks", "", "the number of ranks", 0, NULL },
};

static int ring_step(ring *s, char *err, size_t errlen)
{
	double rate = s->knob[K_RATE].d;
	s->x += rate * (s->rank + 1);
	double mine[3] = { s->x, rate, -rate }, sum[3], max[3];
	MPI_Allreduce(mine, sum, 1, MPI_DOUBLE, MPI_SUM, s->comm);
	MPI_Allreduce(mine + 1, max + 1, 2, MPI_DOUBLE, MPI_MAX, s->comm);
	s->total = sum[0];
	s->mismatches += max[1] != -max[2];
	s->step++;
	if (s->knob[K_FAIL_RANK].i == s->rank && (int64_t)s->step == s->knob[K_FAIL_STEP].i) {
		snprintf(err, errlen, "injected failure on rank %d at step %llu", s->rank,
		         (unsigned long long)s->step);
		return -1;
	}
	return 0;
}

static uint64_t r_step_count(const void *sim) { return ((const ring *)sim)->step; }
static double r_time(const void *sim) { return (double)((const ring *)sim)->step; }
static sa_value r_get(const void *sim, size_t k) { return ((const ring *)sim)->knob[k]; }

static int r_set(void *sim, size_t k, sa_value v, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	((ring *)sim)->knob[k] = v;
	return 0;
}

static size_t r_diag_len(const void *sim, size_t d)
{
	(void)sim;
	(void)d;
	return 1;
}

static bool collective_diags;

static size_t r_diag_read(const void *sim, size_t d, double *out, size_t cap)
{
	const ring *s = sim;
	double total = s->total;
	if (collective_diags) /* every rank is here together (SA_MPI_COLLECTIVE_DIAGS) */
		MPI_Allreduce(&s->x, &total, 1, MPI_DOUBLE, MPI_SUM, s->comm);
	if (!cap)
		return 0;
	out[0] = d == D_TOTAL ? total : d == D_MISMATCHES ? s->mismatches : s->size;
	return 1;
}

static int r_save(const void *sim, const sa_writer *w, char *err, size_t errlen)
{
	const ring *s = sim;
	/* x is each rank's own: a part of a file (every rank's in one array) */
	if (w->attr(w->ctx, "state/step", SA_U64, &s->step) < 0 ||
	    (w->array_part ? w->array_part(w->ctx, "state/x", SA_F64, 1, &s->x)
	                   : w->attr(w->ctx, "state/x", SA_F64, &s->x)) < 0 ||
	    w->attr(w->ctx, "state/total", SA_F64, &s->total) < 0 ||
	    w->attr(w->ctx, "state/mismatches", SA_F64, &s->mismatches) < 0 ||
	    w->attr(w->ctx, "knobs/rate", SA_F64, &s->knob[K_RATE].d) < 0 ||
	    w->attr(w->ctx, "knobs/fail_rank", SA_I64, &s->knob[K_FAIL_RANK].i) < 0 ||
	    w->attr(w->ctx, "knobs/fail_step", SA_I64, &s->knob[K_FAIL_STEP].i) < 0) {
		snprintf(err, errlen, "cannot write the state");
		return -1;
	}
	return 0;
}

static int r_restore(void *sim, const sa_reader *r, char *err, size_t errlen)
{
	ring *s = sim, t = *s;
	size_t n = 0; /* a restart on another number of ranks has no x to give each */
	if (r->attr(r->ctx, "state/step", SA_U64, &t.step) < 0 ||
	    (r->part ? r->part_size(r->ctx, "state/x", SA_F64, &n) < 0 || n != 1 ||
	                   r->part(r->ctx, "state/x", SA_F64, 1, &t.x) < 0
	             : r->attr(r->ctx, "state/x", SA_F64, &t.x) < 0) ||
	    r->attr(r->ctx, "state/total", SA_F64, &t.total) < 0 ||
	    r->attr(r->ctx, "state/mismatches", SA_F64, &t.mismatches) < 0 ||
	    r->attr(r->ctx, "knobs/rate", SA_F64, &t.knob[K_RATE].d) < 0 ||
	    r->attr(r->ctx, "knobs/fail_rank", SA_I64, &t.knob[K_FAIL_RANK].i) < 0 ||
	    r->attr(r->ctx, "knobs/fail_step", SA_I64, &t.knob[K_FAIL_STEP].i) < 0) {
		snprintf(err, errlen, "the saved state is incomplete");
		return -1;
	}
	*s = t;
	return 0;
}

static sa_adapter desc = {
	SA_ABI_INIT,
	.name = "ring",
	.version = "1",
	.description = "every rank adds its rate; one allreduce per step",
	.knobs = knobs,
	.n_knobs = N_KNOBS,
	.diags = diags,
	.n_diags = N_DIAGS,
	.step_count = r_step_count,
	.time = r_time,
	.get = r_get,
	.set = r_set,
	.diag_len = r_diag_len,
	.diag_read = r_diag_read,
	.save = r_save,
	.restore = r_restore,
};

int main(int argc, char **argv)
{
	int provided;
	MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
	ring s = { .comm = MPI_COMM_WORLD };
	MPI_Comm_rank(s.comm, &s.rank);
	MPI_Comm_size(s.comm, &s.size);
	for (int k = 0; k < N_KNOBS; k++)
		s.knob[k] = knobs[k].def;

	if (argc > 1 && !strcmp(argv[1], "--collective-diags")) {
		collective_diags = true;
		desc.flags |= SA_MPI_COLLECTIVE_DIAGS;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	char err[512];
	steerd_options o = STEERD_OPTIONS_INIT;
	o.handle_signals = 1;
	if (steerd_options_from_args(&o, &argc, argv, err, sizeof err) < 0) {
		fprintf(stderr, "embed_mpi: %s\n", err);
		MPI_Finalize();
		return 64;
	}
	steerd *st = steerd_open_mpi(MPI_COMM_WORLD, &desc, &s, &o, err, sizeof err);
	if (!st) {
		if (s.rank == 0)
			fprintf(stderr, "embed_mpi: %s\n", err);
		MPI_Finalize();
		return 1;
	}
	while (steerd_boundary(st) == STEERD_GO)
		if (ring_step(&s, err, sizeof err) < 0)
			steerd_step_failed(st, err);
	int rc = steerd_close(&st) < 0 ? 1 : 0;
	MPI_Finalize();
	return rc;
}
