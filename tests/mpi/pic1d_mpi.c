/* SPDX-License-Identifier: MIT */
/*
 * pic1d_mpi.c — the MPI test driver of pic1d: what the MPI host will do,
 * without steerd. Every rank creates pic1d through its sa_adapter with a
 * sa_host whose mpi_comm points at MPI_COMM_WORLD (--serial: NULL, each rank
 * a serial run), steps it and reads its diagnostics; rank 0 prints one JSON
 * object for tests/mpi/test_pic1d_mpi.py.
 *
 *   mpirun -np N build/mpi/bin/pic1d_mpi [options] knob=value ...
 *     -c FILE            knob values from a steerd config (simulation.knobs;
 *                        the rest of the file is not read here)
 *     --steps N          steps per run (default 1000)
 *     --avg-from S       average phi over steps >= S (every 50th) -> "phi_avg"
 *     --onset K LO HI I  bisect knob K in [LO, HI] over I fresh runs of
 *                        --steps each for the least value that forms a
 *                        virtual cathode -> "onset"
 *     --serial           no communicator (a serial run on each rank)
 *     --on-rank R k=v    knob k = v on rank R only (a wrong host, for a test)
 *     --bench            time the steps (after --fill steps) -> "steps_per_s"
 *     --fill N           steps before the timed ones (--bench)
 *     --until S          step until the simulation's step is S (instead of --steps)
 *     --checkpoint-at S FILE  after step S, write the checkpoint FILE: with
 *                        parallel HDF5 by every rank (checkpoint_mpi_write), or
 *                        with --serial the serial steerd's checkpoint_write
 *     --restart FILE     start from the checkpoint FILE (rank 0 reads steerd's
 *                        part, every rank restores: checkpoint_mpi_read_into;
 *                        --serial: checkpoint_read, as serial steerd)
 *     --snapshot-at S --rewind-at T  each rank keeps an in-memory image of its
 *                        own state at step S (checkpoint_to_image) and restores
 *                        it into the live instance after step T
 *                        (checkpoint_from_image_into): snapshot-state/rewind
 *                        in an MPI run; --until then counts the steps anew
 *     --fail-in-checkpoint R  on rank R the writer is given an invalid name
 *                        (one rank's write fails): every checkpoint fails on
 *                        every rank, the run goes on -> "checkpoint_errors"
 *     --die-in-checkpoint R  rank R is killed (SIGKILL) in the middle of
 *                        writing a checkpoint: the test of a rank that dies
 *     --checkpoint-bench N FILE  after --fill steps, N rounds of: a parallel
 *                        checkpoint to FILE, then a plain collective HDF5 write
 *                        of as many bytes to FILE.plain (the particles as one
 *                        dataset each, every rank its part at its offset in one
 *                        collective H5Dwrite, the rest from rank 0, then fsync)
 *                        -> "checkpoint_s", "plain_s" (lists), "bytes"
 *
 * Every step, each rank hashes its scalars and the grid arrays and the ranks
 * compare (an extra allreduce only this driver makes): "identical" says
 * whether they agreed at every step. "hash" chains the scalars of every
 * step and the final arrays: two runs are bitwise the same iff it is.
 * read_scalars is checked against diag_read of each scalar at every step.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <mpi.h>
#include <yaml.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <hdf5.h>

#include "adapter.h"
#include "checkpoint.h"
#include "checkpoint_mpi.h"
#include "pic1d/pic1d.h"
#include "pic1d/pic1d_internal.h"

static const sa_adapter *sa;
static int rank, nranks;

static void die(const char *fmt, const char *what)
{
	fprintf(stderr, "pic1d_mpi (rank %d): ", rank);
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	MPI_Abort(MPI_COMM_WORLD, 2);
	exit(2);
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *b = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* knob=value: a number, or the name of an enum choice */
static void parse_knob(sa_value *v, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq)
		die("not knob=value: %s", arg);
	char name[64];
	snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
	int k = adapter_knob_index(sa, name);
	if (k < 0)
		die("no knob %s", name);
	const sa_knob *kn = &sa->knobs[k];
	if (kn->type == SA_ENUM) {
		for (int64_t c = 0; kn->choices[c]; c++)
			if (!strcmp(kn->choices[c], eq + 1)) {
				v[k].i = c;
				return;
			}
		die("no such choice: %s", arg);
	}
	char *end;
	double x = strtod(eq + 1, &end);
	if (*end || end == eq + 1)
		die("not a number: %s", arg);
	if (kn->type == SA_DOUBLE)
		v[k].d = x;
	else
		v[k].i = (int64_t)x;
}

/* The knobs of a steerd config: the scalars of simulation.knobs, in order. */
static void read_config(sa_value *v, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot open %s", path);
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc))
		die("%s: not YAML", path);
	fclose(f);
	yaml_node_t *node = yaml_document_get_root_node(&doc);
	const char *keys[] = { "simulation", "knobs" };
	for (size_t depth = 0; node && depth < 2; depth++) {
		yaml_node_t *found = NULL;
		if (node->type == YAML_MAPPING_NODE)
			for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
			     p < node->data.mapping.pairs.top; p++) {
				yaml_node_t *k = yaml_document_get_node(&doc, p->key);
				if (k && k->type == YAML_SCALAR_NODE &&
				    !strcmp((const char *)k->data.scalar.value, keys[depth]))
					found = yaml_document_get_node(&doc, p->value);
			}
		node = found;
	}
	if (!node || node->type != YAML_MAPPING_NODE)
		die("%s: no simulation.knobs mapping", path);
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&doc, p->key);
		yaml_node_t *x = yaml_document_get_node(&doc, p->value);
		if (!k || !x || k->type != YAML_SCALAR_NODE || x->type != YAML_SCALAR_NODE)
			die("%s: simulation.knobs holds a non-scalar", path);
		char arg[256];
		snprintf(arg, sizeof arg, "%s=%s", k->data.scalar.value, x->data.scalar.value);
		parse_knob(v, arg);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}

typedef struct run_opts {
	long steps, avg_from, fill, until, checkpoint_at, die_rank, ckpt_bench, snapshot_at, rewind_at;
	int serial, bench;
	const char *checkpoint, *restart;
} run_opts;

typedef struct run_out {
	double *scalars; /* final */
	double *phi_avg; /* [cells + 1] */
	int vc_seen, identical;
	uint64_t hash;
	double steps_per_s;
	json_t *state; /* the final state: step, knobs, particles */
	json_t *ckpt_s, *plain_s; /* --checkpoint-bench: seconds per write */
	uint64_t ckpt_bytes;
} run_out;

/* ---- checkpoints ------------------------------------------------------ */

static int (*real_save)(const void *, const sa_writer *, char *, size_t);
static long die_rank = -1;

/* --die-in-checkpoint: the rank dies once the file is open on every rank. */
static int dying_save(const void *sim, const sa_writer *w, char *err, size_t errlen)
{
	if (rank == die_rank)
		raise(SIGKILL);
	return real_save(sim, w, err, errlen);
}

/* --fail-in-checkpoint: rank fail_rank's part of particles/v goes to an invalid name. */
static long fail_rank = -1;
static const sa_writer *inner;

static int failing_part(void *ctx, const char *name, sa_dtype t, size_t n, const void *data)
{
	(void)ctx;
	if (rank == fail_rank && !strcmp(name, "particles/v"))
		name = "particles/v!";
	return inner->array_part(inner->ctx, name, t, n, data);
}

static int failing_save(const void *sim, const sa_writer *w, char *err, size_t errlen)
{
	sa_writer f = *w;
	inner = w;
	f.array_part = failing_part;
	return real_save(sim, &f, err, errlen);
}

static json_t *ckpt_errors;

/* What every checkpoint of the driver records as its steering journal. */
#define JOURNAL_LINE "{\"step\":1,\"client\":\"pic1d_mpi\",\"knob\":\"seed\",\"old\":1,\"new\":1}"
static json_t *restored_journal; /* rank 0, after --restart */

static uint64_t checkpoint(const run_opts *o, void *s)
{
	sa_value knobs[64];
	for (size_t k = 0; k < sa->n_knobs; k++)
		knobs[k] = sa->get(s, k);
	checkpoint_info info = { .step = sa->step_count(s), .time = sa->time(s), .knobs = knobs,
		                 .next_ramp_id = 1, .config_text = "# pic1d_mpi\n",
		                 .journal_text = JOURNAL_LINE };
	char err[1024];
	uint64_t bytes = 0;
	int rc = o->serial ? checkpoint_write(o->checkpoint, sa, s, &info, &bytes, err, sizeof err)
	                   : checkpoint_mpi_write(MPI_COMM_WORLD, o->checkpoint, sa, s, &info, &bytes,
	                                          err, sizeof err);
	if (rc < 0 && fail_rank < 0)
		die("checkpoint: %s", err);
	if (rc < 0)
		json_array_append_new(ckpt_errors, json_string(err));
	return bytes;
}

/*
 * The bench's reference: the same bytes as a checkpoint of `bytes`, written
 * as plainly as parallel HDF5 allows: x, v, w of every rank's particles at
 * their offsets (one collective write each), the rest as one array from
 * rank 0, closed and synced.
 */
static void plain_write(const char *path, const pic1d *p, uint64_t bytes)
{
	uint64_t n = p->p.n, off = 0, total = 0;
	MPI_Exscan(&n, &off, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
	if (rank == 0)
		off = 0;
	MPI_Allreduce(&n, &total, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
	uint64_t rest = bytes > 24 * total ? (bytes - 24 * total) / 8 : 0;
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), dxpl = H5Pcreate(H5P_DATASET_XFER);
	H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
	H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
	if (f < 0)
		die("cannot create %s", path);
	hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
	H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
	const double *data[4] = { p->p.x, p->p.v, p->p.w, p->grid.q };
	const char *names[4] = { "x", "v", "w", "rest" };
	double *fill = calloc(rest ? rest : 1, sizeof *fill);
	for (int i = 0; i < 4; i++) {
		hsize_t dims[1] = { i < 3 ? total : rest }, start[1] = { i < 3 ? off : 0 };
		hsize_t cnt[1] = { i < 3 ? n : (rank == 0 ? rest : 0) };
		hid_t fs = H5Screate_simple(1, dims, NULL);
		hid_t ds = H5Dcreate2(f, names[i], H5T_IEEE_F64LE, fs, H5P_DEFAULT, dcpl, H5P_DEFAULT);
		hsize_t mdims[1] = { cnt[0] ? cnt[0] : 1 };
		hid_t ms = H5Screate_simple(1, mdims, NULL);
		if (cnt[0])
			H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
		else {
			H5Sselect_none(fs);
			H5Sselect_none(ms);
		}
		if (dims[0] &&
		    H5Dwrite(ds, H5T_NATIVE_DOUBLE, ms, fs, dxpl, i < 3 ? data[i] : fill) < 0)
			die("cannot write %s", path);
		H5Sclose(ms);
		H5Sclose(fs);
		H5Dclose(ds);
	}
	free(fill);
	H5Pclose(dcpl);
	H5Fclose(f);
	H5Pclose(fapl);
	H5Pclose(dxpl);
	if (rank == 0) {
		int fd = open(path, O_RDONLY);
		if (fd < 0 || fsync(fd) < 0)
			die("cannot sync %s", path);
		close(fd);
	}
	MPI_Barrier(MPI_COMM_WORLD);
}

/* snapshot-state on every rank: an image of its own state, in memory. */
static void *snapshot(void *s, size_t *len)
{
	sa_value knobs[64];
	for (size_t k = 0; k < sa->n_knobs; k++)
		knobs[k] = sa->get(s, k);
	checkpoint_info info = { .step = sa->step_count(s), .time = sa->time(s), .knobs = knobs,
		                 .next_ramp_id = 1 };
	void *image;
	char err[1024];
	if (checkpoint_to_image(sa, s, &info, &image, len, err, sizeof err) < 0)
		die("snapshot: %s", err);
	return image;
}

/* rewind on every rank: its own image back into the live instance. */
static void rewind_to(void *s, const void *image, size_t len)
{
	checkpoint_loaded l;
	char err[1024];
	if (checkpoint_from_image_into(image, len, sa, s, &l, err, sizeof err) < 0)
		die("rewind: %s", err);
	checkpoint_loaded_free(sa, &l);
}

/* A simulation from the checkpoint --restart names. */
static void *restart(const run_opts *o, const sa_host *host)
{
	char err[1024];
	checkpoint_loaded l;
	if (o->serial) {
		if (checkpoint_read(o->restart, sa, &l, err, sizeof err) < 0)
			die("restart: %s", err);
		void *s = l.sim;
		l.sim = NULL;
		restored_journal = json_incref(l.journal);
		checkpoint_loaded_free(sa, &l);
		return s;
	}
	/* rank 0 reads steerd's part; every rank creates with the saved knobs */
	sa_value knobs[64];
	int ok = 1;
	if (rank == 0) {
		ok = checkpoint_read_meta(o->restart, sa, &l, err, sizeof err) == 0;
		if (ok) {
			memcpy(knobs, l.knobs, sa->n_knobs * sizeof *knobs);
			restored_journal = json_incref(l.journal);
			checkpoint_loaded_free(sa, &l);
		} else {
			fprintf(stderr, "pic1d_mpi: restart: %s\n", err);
		}
	}
	MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
	if (!ok)
		die("%s", "restart refused");
	MPI_Bcast(knobs, (int)(sa->n_knobs * sizeof *knobs), MPI_BYTE, 0, MPI_COMM_WORLD);
	void *s = sa->create(knobs, host, err, sizeof err);
	if (!s)
		die("create: %s", err);
	if (checkpoint_mpi_read_into(MPI_COMM_WORLD, o->restart, sa, s, err, sizeof err) < 0)
		die("restart: %s", err);
	return s;
}

/* The final state: step, knobs, global particle count and charge, per-rank hashes. */
static json_t *state_json(const run_opts *o, const pic1d *p)
{
	json_t *st = json_object();
	json_object_set_new(st, "step", json_integer((json_int_t)p->step));
	json_t *kn = json_object();
	for (size_t k = 0; k < sa->n_knobs; k++)
		json_object_set_new(kn, sa->knobs[k].name,
		                    sa->knobs[k].type == SA_DOUBLE ? json_real(p->knob[k].d)
		                                                   : json_integer(p->knob[k].i));
	json_object_set_new(st, "knobs", kn);
	double w = 0.0;
	for (size_t i = 0; i < p->p.n; i++)
		w += p->p.w[i];
	uint64_t h = fnv(0xcbf29ce484222325ull, p->p.x, p->p.n * sizeof(double));
	h = fnv(fnv(h, p->p.v, p->p.n * sizeof(double)), p->p.w, p->p.n * sizeof(double));
	double sums[2] = { (double)p->p.n, w }, tot[2] = { sums[0], sums[1] };
	uint64_t *hs = calloc((size_t)nranks, sizeof *hs);
	if (!hs)
		die("%s", "out of memory");
	hs[0] = h;
	if (!o->serial) {
		MPI_Allreduce(sums, tot, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
		MPI_Allgather(&h, 1, MPI_UINT64_T, hs, 1, MPI_UINT64_T, MPI_COMM_WORLD);
	}
	json_object_set_new(st, "particles", json_integer((json_int_t)tot[0]));
	json_object_set_new(st, "weight", json_real(tot[1]));
	json_t *ha = json_array();
	for (int r = 0; r < (o->serial ? 1 : nranks); r++) {
		char hex[17];
		snprintf(hex, sizeof hex, "%016llx", (unsigned long long)hs[r]);
		json_array_append_new(ha, json_string(hex));
	}
	free(hs);
	json_object_set_new(st, "particle_hashes", ha);
	/* the global state every rank holds: fields and averages */
	uint64_t g = fnv(0xcbf29ce484222325ull, p->grid.q, (p->grid.cells + 2) * sizeof(double));
	g = fnv(g, p->avg.ring, p->avg.window * PIC1D_AVG_N * sizeof(double));
	g = fnv(g, p->avg.sum, sizeof p->avg.sum);
	char hex[17];
	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)g);
	json_object_set_new(st, "global_hash", json_string(hex));
	return st;
}

static size_t n_scalars(void)
{
	size_t n = 0;
	for (size_t d = 0; d < sa->n_diags; d++)
		n += sa->diags[d].rank == 0;
	return n;
}

static void run(const sa_value *v, const run_opts *o, run_out *out)
{
	MPI_Comm world = MPI_COMM_WORLD;
	sa_host host = { .size = sizeof host, .mpi_comm = o->serial ? NULL : &world };
	char err[256] = "";
	void *s = o->restart ? restart(o, &host) : sa->create(v, &host, err, sizeof err);
	if (!s)
		die("create: %s", err);
	long steps = o->steps;
	if (o->until >= 0)
		steps = o->until - (long)sa->step_count(s);
	if (steps < 0)
		die("%s", "--until is before the start");
	const size_t ns = n_scalars(), nodes = (size_t)v[adapter_knob_index(sa, "cells")].i + 1;
	const int d_phi = adapter_diag_index(sa, "phi"), d_rho = adapter_diag_index(sa, "rho");
	const int d_e = adapter_diag_index(sa, "efield"), d_vc = adapter_diag_index(sa, "virtual_cathode");
	double *sc = calloc(ns, sizeof *sc), *arr = calloc(3 * nodes, sizeof *arr);
	out->phi_avg = calloc(nodes, sizeof *out->phi_avg);
	if (!sc || !arr || !out->phi_avg)
		die("%s", "out of memory");
	out->hash = 0xcbf29ce484222325ull;
	out->identical = 1;
	out->vc_seen = 0;
	int samples = 0;
	double t0 = 0.0;
	void *image = NULL;
	size_t image_len = 0;
	for (long i = 0; i < o->fill + steps; i++) {
		if (o->bench && i == o->fill) {
			MPI_Barrier(MPI_COMM_WORLD);
			t0 = MPI_Wtime();
		}
		if (o->ckpt_bench && i == o->fill) {
			out->ckpt_s = json_array();
			out->plain_s = json_array();
			char plain[4096];
			snprintf(plain, sizeof plain, "%s.plain", o->checkpoint);
			for (long c = 0; c < o->ckpt_bench; c++) {
				for (int which = 0; which < 2; which++) {
					MPI_Barrier(MPI_COMM_WORLD);
					double c0 = MPI_Wtime();
					if (which == 0)
						out->ckpt_bytes = checkpoint(o, s);
					else
						plain_write(plain, s, out->ckpt_bytes);
					double dt = MPI_Wtime() - c0, dmax;
					MPI_Allreduce(&dt, &dmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
					json_array_append_new(which ? out->plain_s : out->ckpt_s, json_real(dmax));
				}
			}
			if (rank == 0)
				unlink(plain);
		}
		if (sa->step(s, err, sizeof err) < 0)
			die("step: %s", err);
		if (o->checkpoint && (long)sa->step_count(s) == o->checkpoint_at)
			checkpoint(o, s);
		if ((long)sa->step_count(s) == o->snapshot_at && !image)
			image = snapshot(s, &image_len);
		if ((long)sa->step_count(s) == o->rewind_at && image) {
			rewind_to(s, image, image_len);
			free(image);
			image = NULL;
			steps += o->rewind_at - o->snapshot_at;
		}
		if (o->bench)
			continue;
		if (sa->read_scalars(s, sc, ns) < 0)
			die("%s", "read_scalars failed");
		for (size_t d = 0, j = 0; d < sa->n_diags; d++) {
			if (sa->diags[d].rank != 0)
				continue;
			double x;
			if (sa->diag_read(s, d, &x, 1) != 1 || memcmp(&x, &sc[j], sizeof x))
				die("read_scalars disagrees with diag_read of %s", sa->diags[d].name);
			j++;
		}
		out->vc_seen |= sc[d_vc] != 0.0; /* scalars come first in pic1d's diags */
		sa->diag_read(s, (size_t)d_phi, arr, nodes);
		sa->diag_read(s, (size_t)d_rho, arr + nodes, nodes);
		sa->diag_read(s, (size_t)d_e, arr + 2 * nodes, nodes);
		uint64_t h = fnv(fnv(0xcbf29ce484222325ull, sc, ns * sizeof *sc), arr,
		                 3 * nodes * sizeof *arr);
		out->hash = fnv(out->hash, &h, sizeof h);
		if (!o->serial) {
			uint64_t mine[2] = { h, ~h }, all[2];
			MPI_Allreduce(mine, all, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
			if (all[0] != ~all[1])
				out->identical = 0;
		}
		if (o->avg_from >= 0 && i >= o->avg_from && i % 50 == 0) {
			for (size_t j = 0; j < nodes; j++)
				out->phi_avg[j] += arr[j];
			samples++;
		}
	}
	if (o->bench) {
		double t = MPI_Wtime() - t0, tmax;
		MPI_Allreduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
		out->steps_per_s = (double)o->steps / tmax;
		if (sa->read_scalars(s, sc, ns) < 0)
			die("%s", "read_scalars failed");
	}
	for (size_t j = 0; samples && j < nodes; j++)
		out->phi_avg[j] /= samples;
	if (!o->bench && sa->read_scalars(s, sc, ns) < 0)
		die("%s", "read_scalars failed");
	out->state = state_json(o, s);
	out->scalars = sc;
	free(arr);
	sa->destroy(s);
}

static json_t *scalars_json(const double *sc)
{
	json_t *o = json_object();
	for (size_t d = 0, j = 0; d < sa->n_diags; d++)
		if (sa->diags[d].rank == 0)
			json_object_set_new(o, sa->diags[d].name, json_real(sc[j++]));
	return o;
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	sa = pic1d_adapter();
	sa_value v[64];
	for (size_t k = 0; k < sa->n_knobs; k++)
		v[k] = sa->knobs[k].def;
	run_opts o = { .steps = 1000, .avg_from = -1, .until = -1, .checkpoint_at = -1,
		       .snapshot_at = -1, .rewind_at = -1 };
	const char *onset_knob = NULL;
	double lo = 0, hi = 0;
	int iters = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--steps") && i + 1 < argc)
			o.steps = atol(argv[++i]);
		else if (!strcmp(argv[i], "--avg-from") && i + 1 < argc)
			o.avg_from = atol(argv[++i]);
		else if (!strcmp(argv[i], "--fill") && i + 1 < argc)
			o.fill = atol(argv[++i]);
		else if (!strcmp(argv[i], "--on-rank") && i + 2 < argc) {
			int r = atoi(argv[++i]);
			++i;
			if (r == rank)
				parse_knob(v, argv[i]);
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			read_config(v, argv[++i]);
		else if (!strcmp(argv[i], "--until") && i + 1 < argc)
			o.until = atol(argv[++i]);
		else if (!strcmp(argv[i], "--checkpoint-at") && i + 2 < argc) {
			o.checkpoint_at = atol(argv[++i]);
			o.checkpoint = argv[++i];
		} else if (!strcmp(argv[i], "--restart") && i + 1 < argc)
			o.restart = argv[++i];
		else if (!strcmp(argv[i], "--snapshot-at") && i + 1 < argc)
			o.snapshot_at = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rewind-at") && i + 1 < argc)
			o.rewind_at = atol(argv[++i]);
		else if (!strcmp(argv[i], "--fail-in-checkpoint") && i + 1 < argc)
			fail_rank = atol(argv[++i]);
		else if (!strcmp(argv[i], "--die-in-checkpoint") && i + 1 < argc)
			die_rank = atol(argv[++i]);
		else if (!strcmp(argv[i], "--checkpoint-bench") && i + 2 < argc) {
			o.ckpt_bench = atol(argv[++i]);
			o.checkpoint = argv[++i];
		} else if (!strcmp(argv[i], "--serial"))
			o.serial = 1;
		else if (!strcmp(argv[i], "--bench"))
			o.bench = 1;
		else if (!strcmp(argv[i], "--onset") && i + 4 < argc) {
			onset_knob = argv[++i];
			lo = atof(argv[++i]);
			hi = atof(argv[++i]);
			iters = atoi(argv[++i]);
		} else
			parse_knob(v, argv[i]);
	}

	ckpt_errors = json_array();
	if (die_rank >= 0 || fail_rank >= 0) {
		static sa_adapter wrapped;
		wrapped = *sa;
		real_save = sa->save;
		wrapped.save = die_rank >= 0 ? dying_save : failing_save;
		sa = &wrapped;
	}
	json_t *res = json_pack("{s:i, s:b}", "ranks", nranks, "serial", o.serial);
	run_out out = { 0 };
	if (onset_knob) {
		int k = adapter_knob_index(sa, onset_knob);
		if (k < 0)
			die("no knob %s", onset_knob);
		int identical = 1;
		for (int it = 0; it < iters; it++) {
			v[k].d = 0.5 * (lo + hi);
			run(v, &o, &out);
			identical &= out.identical;
			if (out.vc_seen)
				hi = v[k].d;
			else
				lo = v[k].d;
			free(out.scalars);
			json_decref(out.state);
			free(out.phi_avg);
		}
		json_object_set_new(res, "onset", json_real(0.5 * (lo + hi)));
		json_object_set_new(res, "onset_halfwidth", json_real(0.5 * (hi - lo)));
		json_object_set_new(res, "identical", json_boolean(identical));
	} else {
		run(v, &o, &out);
		json_object_set_new(res, "scalars", scalars_json(out.scalars));
		json_object_set_new(res, "vc_seen", json_boolean(out.vc_seen));
		json_object_set_new(res, "identical", json_boolean(out.identical));
		char hex[17];
		snprintf(hex, sizeof hex, "%016llx", (unsigned long long)out.hash);
		json_object_set_new(res, "hash", json_string(hex));
		if (o.bench)
			json_object_set_new(res, "steps_per_s", json_real(out.steps_per_s));
		json_object_set_new(res, "state", out.state);
		json_object_set_new(res, "checkpoint_errors", json_incref(ckpt_errors));
		if (restored_journal)
			json_object_set_new(res, "journal", restored_journal);
		if (out.ckpt_s) {
			json_object_set_new(res, "checkpoint_s", out.ckpt_s);
			json_object_set_new(res, "plain_s", out.plain_s);
			json_object_set_new(res, "bytes", json_integer((json_int_t)out.ckpt_bytes));
		}
		if (o.avg_from >= 0) {
			json_t *a = json_array();
			size_t nodes = (size_t)v[adapter_knob_index(sa, "cells")].i + 1;
			for (size_t j = 0; j < nodes; j++)
				json_array_append_new(a, json_real(out.phi_avg[j]));
			json_object_set_new(res, "phi_avg", a);
		}
		free(out.scalars);
		free(out.phi_avg);
	}
	if (rank == 0) {
		json_dumpf(res, stdout, JSON_COMPACT | JSON_REAL_PRECISION(17));
		putchar('\n');
	}
	json_decref(res);
	json_decref(ckpt_errors);
	MPI_Finalize();
	return 0;
}
