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

#include "adapter.h"
#include "pic1d/pic1d.h"

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
	long steps, avg_from, fill;
	int serial, bench;
} run_opts;

typedef struct run_out {
	double *scalars; /* final */
	double *phi_avg; /* [cells + 1] */
	int vc_seen, identical;
	uint64_t hash;
	double steps_per_s;
} run_out;

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
	void *s = sa->create(v, &host, err, sizeof err);
	if (!s)
		die("create: %s", err);
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
	for (long i = 0; i < o->fill + o->steps; i++) {
		if (o->bench && i == o->fill) {
			MPI_Barrier(MPI_COMM_WORLD);
			t0 = MPI_Wtime();
		}
		if (sa->step(s, err, sizeof err) < 0)
			die("step: %s", err);
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
	run_opts o = { .steps = 1000, .avg_from = -1 };
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
		else if (!strcmp(argv[i], "--serial"))
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
	MPI_Finalize();
	return 0;
}
