/* SPDX-License-Identifier: MIT */
/*
 * pic1d_par.c — pic1d over MPI: particle decomposition (built with
 * -DSTEERD_MPI; without it, a serial stand-in that refuses a communicator).
 *
 * Each rank owns a share of the particles: of the particles_per_step emitted
 * in a step (index k = 0 .. P-1, the same emission as serially), rank r keeps
 * those with k % N == r. The grid, the field and every diagnostic are global
 * and the same on every rank:
 *   - a step pushes the rank's particles and deposits them (local), then one
 *     MPI_Allreduce sums the deposited charge together with the push's
 *     tallies (transmitted, reflected, kinetic), the particle count and a
 *     failure flag: one collective of cells + 8 doubles per step;
 *   - emission is then computed identically on every rank for all P (its
 *     positions are a deterministic function of the global field, the step
 *     and the counter-based random numbers of (seed, step, k)): every rank
 *     deposits all of them in the same order and tallies them, and stores
 *     only its own. The space-charge-limited weight comes from the summed
 *     charge, so scl mode needs no second collective;
 *   - the field solve, the current averages, the potential minimum, the
 *     field and kinetic energies, particles and particles_dropped are thus
 *     global on every rank without any further communication: read_scalars
 *     and diag_read need no collective.
 * The emitted particles do not depend on N; only the order in which the
 * charge is summed does, so a run is bitwise deterministic for a given N (an
 * allreduce gives the same sum on every rank and in every run of the same
 * N), and N = 1 over MPI is bitwise the serial run.
 *
 * max_particles caps the global count, as serially: what exceeds it in a
 * step is dropped, the same particles on every rank.
 *
 * phase_x/phase_v, the particle sample, is drawn from the particles of the
 * rank that reads it: on rank 0 (which publishes) every N-th emitted
 * particle, a strided sample of the whole beam with no communication.
 *
 * A rank that cannot make room for its share (out of memory) still joins the
 * step's allreduce; every rank then fails the step together, naming the
 * rank. The push of that step is done by then: the run continues only from a
 * checkpoint.
 *
 * Checkpoints of an MPI run (pic1d_state.c; the host's writer and reader:
 * steerd/storage/checkpoint_mpi.c): the same openPMD layout as
 * serially, one file written collectively. Global state (knobs, step,
 * averages, fields/charge, phi, E) is the same on every rank and written by
 * once (sa_writer array/attr). particles/x, v and w go through
 * sa_writer.array_part: one dataset each of n_global elements, rank r's n_r
 * elements at offset sum_{q<r} n_q, written by a collective H5Dwrite, so the
 * file does not depend on N except for the order of the particles and the
 * checksums (one per part). A restart with the same N
 * reads back the same slices (bitwise); with another N, rank r reads
 * elements [n_global r / N, n_global (r+1) / N): the particles are
 * redistributed, the emission continues as before (it does not depend on N).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pic1d_internal.h"

/* The emitted particles of a step that this rank keeps: k % nranks == rank. */
size_t pic1d_inject_share(const pic1d *s)
{
	size_t per_step = (size_t)s->knob[PIC1D_K_PPS].i, n = (size_t)s->nranks, r = (size_t)s->rank;
	return per_step > r ? (per_step - r + n - 1) / n : 0;
}

/* The host's communicator, or NULL: hosts built before ABI 2.1 have none. */
static const void *pic1d_host_comm(const sa_host *host)
{
	if (!host || host->size < offsetof(sa_host, mpi_comm) + sizeof host->mpi_comm)
		return NULL;
	return host->mpi_comm;
}

#ifndef STEERD_MPI

int pic1d_par_init(pic1d *s, const sa_host *host, int failed, char *err, size_t errlen)
{
	s->rank = 0;
	s->nranks = 1;
	if (pic1d_host_comm(host))
		return pic1d_fail(err, errlen, "this pic1d was built without MPI: use the MPI build "
		                  "(make mpi) for an MPI run");
	return failed ? pic1d_fail(err, errlen, "out of memory") : 0;
}

void pic1d_par_free(pic1d *s)
{
	(void)s;
}

/* Serially there is nothing to sum (and a step without room failed before). */
int pic1d_par_reduce(pic1d *s, pic1d_tally *t, int no_room, char *err, size_t errlen)
{
	(void)t;
	(void)no_room;
	(void)err;
	(void)errlen;
	s->n_global = s->p.n;
	return 0;
}

int pic1d_par_count(pic1d *s, size_t n_local, int failed, size_t *n_global, char *err,
                    size_t errlen)
{
	(void)s;
	(void)err;
	(void)errlen;
	*n_global = n_local;
	return failed ? -1 : 0;
}

#else /* STEERD_MPI */

#include <mpi.h>

/* The allreduce buffer: the charge per node (cells + 2), then these. */
enum { PIC1D_RED_TR, PIC1D_RED_REF, PIC1D_RED_KE, PIC1D_RED_N, PIC1D_RED_FAILED,
       PIC1D_RED_FAILED_RANK, PIC1D_RED_COUNT };

struct pic1d_par {
	MPI_Comm comm; /* a duplicate of the host's: the adapter's messages stay apart */
	double *buf;   /* [cells + 2 + PIC1D_RED_COUNT] */
};

/* FNV-1a of the knob values: every rank must be created with the same. */
static uint64_t pic1d_knob_hash(const pic1d *s)
{
	const unsigned char *b = (const unsigned char *)s->knob;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < sizeof s->knob; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

int pic1d_par_init(pic1d *s, const sa_host *host, int failed, char *err, size_t errlen)
{
	s->rank = 0;
	s->nranks = 1;
	const void *comm = pic1d_host_comm(host);
	if (!comm)
		return failed ? pic1d_fail(err, errlen, "out of memory") : 0;
	int up = 0, down = 0;
	MPI_Initialized(&up);
	MPI_Finalized(&down);
	if (!up || down)
		return pic1d_fail(err, errlen, "an MPI communicator was given, but MPI is not running");
	/* Every rank reaches the collectives below, failed or not, so that a
	 * failure on one rank fails create() on all instead of hanging them. */
	MPI_Comm dup;
	if (MPI_Comm_dup(*(const MPI_Comm *)comm, &dup) != MPI_SUCCESS)
		return pic1d_fail(err, errlen, "MPI_Comm_dup failed");
	struct pic1d_par *par = calloc(1, sizeof *par);
	if (par) {
		par->comm = dup;
		s->par = par;
		par->buf = calloc(s->grid.cells + 2 + PIC1D_RED_COUNT, sizeof *par->buf);
	} else {
		MPI_Comm_free(&dup);
	}
	MPI_Comm_rank(*(const MPI_Comm *)comm, &s->rank);
	MPI_Comm_size(*(const MPI_Comm *)comm, &s->nranks);

	/* Ranks created with different knobs would step apart silently. */
	uint64_t h = pic1d_knob_hash(s);
	uint64_t mine[3] = { h, ~h, failed || !par || !par->buf }, all[3];
	if (MPI_Allreduce(mine, all, 3, MPI_UINT64_T, MPI_MAX, *(const MPI_Comm *)comm) !=
	    MPI_SUCCESS)
		return pic1d_fail(err, errlen, "MPI_Allreduce failed");
	if (all[2])
		return pic1d_fail(err, errlen, "out of memory (on %s of the %d ranks)",
		                  mine[2] ? "this and maybe other" : "another", s->nranks);
	if (all[0] != ~all[1])
		return pic1d_fail(err, errlen, "the %d ranks were created with different knob values",
		                  s->nranks);
	return 0;
}

void pic1d_par_free(pic1d *s)
{
	struct pic1d_par *par = s->par;
	if (!par)
		return;
	int down = 0;
	MPI_Finalized(&down);
	if (par->comm != MPI_COMM_NULL && !down)
		MPI_Comm_free(&par->comm);
	free(par->buf);
	free(par);
	s->par = NULL;
}

int pic1d_par_reduce(pic1d *s, pic1d_tally *t, int no_room, char *err, size_t errlen)
{
	struct pic1d_par *par = s->par;
	if (!par) { /* serial (a step without room failed before) */
		s->n_global = s->p.n;
		return 0;
	}
	const size_t nq = s->grid.cells + 2;
	double *b = par->buf, *extra = b + nq;
	memcpy(b, s->grid.q, nq * sizeof *b);
	extra[PIC1D_RED_TR] = t->w_transmitted;
	extra[PIC1D_RED_REF] = t->w_reflected;
	extra[PIC1D_RED_KE] = t->kinetic;
	extra[PIC1D_RED_N] = (double)s->p.n;
	extra[PIC1D_RED_FAILED] = no_room ? 1.0 : 0.0;
	extra[PIC1D_RED_FAILED_RANK] = no_room ? (double)s->rank : 0.0;
	int rc = MPI_Allreduce(MPI_IN_PLACE, b, (int)(nq + PIC1D_RED_COUNT), MPI_DOUBLE, MPI_SUM,
	                       par->comm);
	if (rc != MPI_SUCCESS)
		return pic1d_fail(err, errlen, "MPI_Allreduce of the charge failed (%d)", rc);
	if (extra[PIC1D_RED_FAILED] > 0.0) {
		if (extra[PIC1D_RED_FAILED] == 1.0)
			return pic1d_fail(err, errlen, "rank %.0f of %d: out of memory for its particles",
			                  extra[PIC1D_RED_FAILED_RANK], s->nranks);
		return pic1d_fail(err, errlen, "%.0f of %d ranks: out of memory for their particles",
		                  extra[PIC1D_RED_FAILED], s->nranks);
	}
	memcpy(s->grid.q, b, nq * sizeof *b);
	t->w_transmitted = extra[PIC1D_RED_TR];
	t->w_reflected = extra[PIC1D_RED_REF];
	t->kinetic = extra[PIC1D_RED_KE];
	s->n_global = (size_t)extra[PIC1D_RED_N];
	return 0;
}

int pic1d_par_count(pic1d *s, size_t n_local, int failed, size_t *n_global, char *err,
                    size_t errlen)
{
	struct pic1d_par *par = s->par;
	if (!par) {
		*n_global = n_local;
		return failed ? -1 : 0;
	}
	uint64_t mine[2] = { n_local, failed ? 1 : 0 }, all[2];
	if (MPI_Allreduce(mine, all, 2, MPI_UINT64_T, MPI_SUM, par->comm) != MPI_SUCCESS)
		return pic1d_fail(err, errlen, "MPI_Allreduce of the particle count failed");
	if (all[1] && !failed)
		return pic1d_fail(err, errlen, "the restore failed on %llu of the %d ranks",
		                  (unsigned long long)all[1], s->nranks);
	*n_global = (size_t)all[0];
	return all[1] ? -1 : 0;
}

#endif /* STEERD_MPI */
