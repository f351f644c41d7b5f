/* SPDX-License-Identifier: MIT */
/* openpmd.c — the openPMD 1.1.0 view of a checkpoint (see openpmd.h). */
#include "openpmd.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "h5io.h"
#include "units.h"
#include "version.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- root ------------------------------------------------------------- */

#define BASE_PATH "/data/%T/"

/*
 * Every checkpoint file holds one iteration and stands alone (its name
 * carries the write sequence, so no name pattern spans a series of files):
 * groupBased, and openPMD then requires iterationFormat to equal basePath.
 */
#define ITERATION_ENCODING "groupBased"

static int write_root(hid_t file, const openpmd_iteration *it, bool meshes, bool particles)
{
	if (h5io_attr_str(file, "openPMD", "1.1.0") < 0 ||
	    h5io_attr_u32(file, "openPMDextension", 0) < 0 ||
	    h5io_attr_str(file, "basePath", BASE_PATH) < 0 ||
	    (meshes && h5io_attr_str(file, "meshesPath", "meshes/") < 0) ||
	    (particles && h5io_attr_str(file, "particlesPath", "particles/") < 0) ||
	    h5io_attr_str(file, "iterationEncoding", ITERATION_ENCODING) < 0 ||
	    h5io_attr_str(file, "iterationFormat", BASE_PATH) < 0 ||
	    h5io_attr_str(file, "author", "steerd") < 0 ||
	    h5io_attr_str(file, "software", "steerd") < 0 ||
	    h5io_attr_str(file, "softwareVersion", STEERD_VERSION) < 0 ||
	    h5io_attr_str(file, "date", it->date) < 0 ||
	    h5io_attr_str(file, "comment",
	                  "steerd checkpoint: the complete restart state is under /steerd") < 0)
		return -1;
	return 0;
}

/* ---- meshes ------------------------------------------------------------ */

typedef struct mesh {
	size_t d;            /* diagnostic */
	const char *axis;    /* its axis diagnostic's name */
	double *data;
	size_t n;
	double x0, dx, grid_si;
	double dim[UNIT_NDIM], si;
} mesh;

/* Read diagnostic d (rank 1) into a new buffer; its length in *n. */
static double *read_diag(const sa_adapter *sa, const void *sim, size_t d, size_t *n)
{
	size_t len = sa->diag_len(sim, d);
	double *buf = malloc((len ? len : 1) * sizeof *buf);
	if (!buf)
		return NULL;
	*n = sa->diag_read(sim, d, buf, len);
	return buf;
}

/* Evenly spaced, increasing, finite: x[i] = x0 + i dx within rounding. */
static bool evenly_spaced(const double *x, size_t n, double *x0, double *dx)
{
	if (n < 2 || !isfinite(x[0]) || !isfinite(x[n - 1]))
		return false;
	double step = (x[n - 1] - x[0]) / (double)(n - 1);
	if (!(step > 0.0) || !isfinite(step))
		return false;
	double tol = 1e-9 * fmax(fabs(x[0]), fabs(x[n - 1])) + 1e-6 * step;
	for (size_t i = 0; i < n; i++)
		if (!(fabs(x[i] - (x[0] + (double)i * step)) <= tol))
			return false;
	*x0 = x[0];
	*dx = step;
	return true;
}

/* The meshes: every rank-1 diagnostic over an evenly spaced rank-1 axis. */
static int plan_meshes(const sa_adapter *sa, const void *sim, mesh **out, size_t *count)
{
	mesh *m = calloc(sa->n_diags ? sa->n_diags : 1, sizeof *m);
	size_t k = 0;
	if (!m)
		return -1;
	for (size_t d = 0; d < sa->n_diags; d++) {
		const sa_diag *dg = &sa->diags[d];
		if (dg->rank != 1 || !dg->axis)
			continue;
		int a = adapter_diag_index(sa, dg->axis);
		if (a < 0 || (size_t)a == d || sa->diags[a].rank != 1)
			continue;
		mesh *e = &m[k];
		double adim[UNIT_NDIM];
		if (units_parse(dg->unit, e->dim, &e->si) < 0 ||
		    units_parse(sa->diags[a].unit, adim, &e->grid_si) < 0)
			continue;
		size_t na;
		double *ax = read_diag(sa, sim, (size_t)a, &na);
		if (!ax)
			goto oom;
		bool even = evenly_spaced(ax, na, &e->x0, &e->dx);
		free(ax);
		if (!even)
			continue;
		if (!(e->data = read_diag(sa, sim, d, &e->n)))
			goto oom;
		if (e->n != na) {
			free(e->data);
			e->data = NULL;
			continue;
		}
		e->d = d;
		e->axis = dg->axis;
		k++;
	}
	*out = m;
	*count = k;
	return 0;
oom:
	for (size_t i = 0; i < k; i++)
		free(m[i].data);
	free(m);
	return -1;
}

static int write_mesh(hid_t meshes, const sa_adapter *sa, const mesh *e)
{
	const sa_diag *dg = &sa->diags[e->d];
	hid_t ds = h5io_array_put_fletcher32(meshes, dg->name, SA_F64, e->n, e->data);
	if (ds < 0)
		return -1;
	const char *labels[1] = { e->axis };
	const double pos[1] = { 0.0 };
	char comment[512];
	snprintf(comment, sizeof comment, "%s [%s]", dg->description ? dg->description : dg->name,
	         dg->unit ? dg->unit : "");
	int rc = 0;
	if (h5io_attr_str(ds, "geometry", "cartesian") < 0 ||
	    h5io_attr_str(ds, "dataOrder", "C") < 0 ||
	    h5io_attr_strs(ds, "axisLabels", labels, 1) < 0 ||
	    h5io_attr_f64s(ds, "gridSpacing", &e->dx, 1) < 0 ||
	    h5io_attr_f64s(ds, "gridGlobalOffset", &e->x0, 1) < 0 ||
	    h5io_attr_f64(ds, "gridUnitSI", e->grid_si) < 0 ||
	    h5io_attr_f64(ds, "unitSI", e->si) < 0 ||
	    h5io_attr_f64s(ds, "unitDimension", e->dim, UNIT_NDIM) < 0 ||
	    h5io_attr_f64(ds, "timeOffset", 0.0) < 0 ||
	    h5io_attr_f64s(ds, "position", pos, 1) < 0 ||
	    h5io_attr_str(ds, "comment", comment) < 0)
		rc = -1;
	H5Dclose(ds);
	return rc;
}

/* ---- particles --------------------------------------------------------- */

typedef struct rec_path {
	char buf[H5IO_MAX_NAME + 1];
	const char *species, *record, *comp; /* comp NULL for a scalar record */
} rec_path;

/* "particles/<species>/<record>[/<component>]" */
static int parse_record_path(const char *path, rec_path *rp)
{
	if (!h5io_valid_path(path))
		return -1;
	strcpy(rp->buf, path);
	char *seg[5];
	size_t n = 0;
	for (char *p = rp->buf; p && n < 5; n++) {
		seg[n] = p;
		p = strchr(p, '/');
		if (p)
			*p++ = '\0';
	}
	if (n < 3 || n > 4 || strcmp(seg[0], "particles") != 0 || strchr(path, '/') == NULL)
		return -1;
	if (n == 4 && strchr(seg[3], '/'))
		return -1;
	rp->species = seg[1];
	rp->record = seg[2];
	rp->comp = n == 4 ? seg[3] : NULL;
	return 0;
}

typedef struct species {
	const char *name;
	bool have_n;
	uint64_t n;
} species;

/* Element count of a saved state array of any element type, or -1. */
static int state_len(hid_t state, const char *name, size_t *n)
{
	const sa_dtype types[] = { SA_F64, SA_I64, SA_U64 };
	for (size_t i = 0; i < 3; i++)
		if (h5io_array_size(state, name, types[i], n) == 0)
			return 0;
	return -1;
}

static bool nonzero_dimension(const double *dim)
{
	for (size_t i = 0; i < UNIT_NDIM; i++)
		if (dim[i] != 0.0)
			return true;
	return false;
}

/*
 * openPMD fixes weighting: dimensionless, unitSI 1, macroWeighted 1,
 * weightingPower 1 (the validator checks all four). A model of fewer than
 * three dimensions weighs per unit of what it leaves out (pic1d: electrons per
 * m^2 of a slab); that dimension goes to steerd_unitDimension, and the stored
 * number reads as real particles in a transverse extent of one SI unit.
 */
static int weighting_attrs(hid_t obj, const sa_record *r)
{
	if (h5io_attr_u32(obj, "macroWeighted", 1) < 0 ||
	    h5io_attr_f64(obj, "weightingPower", 1.0) < 0)
		return -1;
	if (!nonzero_dimension(r->unit_dimension))
		return 0;
	if (h5io_attr_f64s(obj, "steerd_unitDimension", r->unit_dimension, UNIT_NDIM) < 0 ||
	    h5io_attr_str(obj, "comment",
	                  "real particles per macroparticle, per unit of the transverse extent the "
	                  "model leaves out: steerd_unitDimension is the weights' own dimension "
	                  "(L^-2: per m^2 of a 1D slab), unitDimension is 0 as openPMD requires") < 0)
		return -1;
	return 0;
}

/*
 * unitDimension and timeOffset of a record (once, from its first component).
 * timeOffset is in timeUnitSI (s): the adapter's offset in steps times dt.
 */
static int record_attrs(hid_t obj, const sa_record *r, bool weighting, double dt)
{
	if (H5Aexists(obj, "unitDimension") > 0)
		return 0;
	static const double dimensionless[UNIT_NDIM];
	/* A saved record's `constant` is its time offset in steps (steerd_adapter.h). */
	double offset = r->state && isfinite(r->constant) ? r->constant * dt : 0.0;
	if (h5io_attr_f64s(obj, "unitDimension", weighting ? dimensionless : r->unit_dimension,
	                   UNIT_NDIM) < 0 ||
	    h5io_attr_f64(obj, "timeOffset", offset) < 0 || (weighting && weighting_attrs(obj, r) < 0))
		return -1;
	return 0;
}

static int constant_group(hid_t loc, const char *name, double value, uint64_t n,
                          double unit_si, hid_t *out)
{
	hid_t gcpl = h5io_gcpl();
	hid_t g = gcpl >= 0 ? H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT)
	                    : H5I_INVALID_HID;
	if (gcpl >= 0)
		H5Pclose(gcpl);
	if (g < 0)
		return -1;
	if (h5io_attr_f64(g, "value", value) < 0 || h5io_attr_u64s(g, "shape", &n, 1) < 0 ||
	    h5io_attr_f64(g, "unitSI", unit_si) < 0) {
		H5Gclose(g);
		return -1;
	}
	*out = g;
	return 0;
}

/* One record component: a hard link to the state array, or a constant. */
static int write_record(hid_t sg, hid_t state, const sa_record *r, const rec_path *rp,
                        uint64_t n, double dt, char *err, size_t errlen)
{
	hid_t rg = H5I_INVALID_HID, obj = H5I_INVALID_HID;
	const char *leaf = rp->record;
	hid_t where = sg;
	bool weighting = strcmp(rp->record, "weighting") == 0;
	int rc = -1;
	if (rp->comp) {
		if ((rg = h5io_mkgroups(sg, rp->record)) < 0 || record_attrs(rg, r, weighting, dt) < 0)
			goto out;
		where = rg;
		leaf = rp->comp;
	}
	if (r->state) {
		if (H5Lcreate_hard(state, r->state, where, leaf, H5P_DEFAULT, H5P_DEFAULT) < 0 ||
		    (obj = H5Oopen(where, leaf, H5P_DEFAULT)) < 0)
			goto out;
		if (H5Aexists(obj, "unitSI") > 0) {
			rc = fail(err, errlen, "record %s: state array %s already backs another record",
			          r->path, r->state);
			goto out;
		}
		if (h5io_attr_f64(obj, "unitSI", r->unit_si) < 0)
			goto out;
	} else if (constant_group(where, leaf, r->constant, n, r->unit_si, &obj) < 0) {
		goto out;
	}
	if (!rp->comp && record_attrs(obj, r, weighting, dt) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && !err[0])
		fail(err, errlen, "cannot write the openPMD record %s", r->path);
	if (obj >= 0)
		H5Oclose(obj);
	if (rg >= 0)
		H5Gclose(rg);
	return rc;
}

/* positionOffset: constant 0 for every component of position, unless given. */
static int position_offset(hid_t sg, const sa_adapter *sa, const species *sp)
{
	if (h5io_exists(sg, "positionOffset") != 0 || h5io_exists(sg, "position") != 1)
		return 0;
	hid_t og = H5I_INVALID_HID;
	int rc = 0;
	for (size_t i = 0; i < sa->n_records && rc == 0; i++) {
		rec_path rp;
		if (parse_record_path(sa->records[i].path, &rp) < 0 ||
		    strcmp(rp.species, sp->name) != 0 || strcmp(rp.record, "position") != 0 ||
		    !rp.comp)
			continue;
		if (og < 0) {
			static const sa_record length = { .unit_dimension = { 1, 0, 0, 0, 0, 0, 0 } };
			if ((og = h5io_mkgroups(sg, "positionOffset")) < 0 ||
			    record_attrs(og, &length, false, 0.0) < 0) {
				rc = -1;
				break;
			}
		}
		hid_t c;
		if (constant_group(og, rp.comp, 0.0, sp->n, 1.0, &c) < 0)
			rc = -1;
		else
			H5Gclose(c);
	}
	if (og >= 0)
		H5Gclose(og);
	return rc;
}

/* The adapter's record of species sp at record/comp, or NULL. */
static const sa_record *find_record(const sa_adapter *sa, const char *sp, const char *record,
                                    const char *comp)
{
	for (size_t i = 0; i < sa->n_records; i++) {
		rec_path rp;
		if (parse_record_path(sa->records[i].path, &rp) == 0 && strcmp(rp.species, sp) == 0 &&
		    strcmp(rp.record, record) == 0 && rp.comp && strcmp(rp.comp, comp) == 0)
			return &sa->records[i];
	}
	return NULL;
}

/* The SI range of one component over every particle; -1 when unknown. */
static int component_range(const h5io_state *saved, const sa_record *r, double *lo, double *hi)
{
	if (!r->state) {
		*lo = *hi = r->constant * r->unit_si;
	} else {
		const h5io_range *rg = saved ? h5io_state_range(saved, r->state) : NULL;
		if (!rg || !(rg->lo <= rg->hi))
			return -1;
		*lo = rg->lo * r->unit_si;
		*hi = rg->hi * r->unit_si;
	}
	if (*lo > *hi) { /* a negative unitSI */
		double t = *lo;
		*lo = *hi;
		*hi = t;
	}
	return isfinite(*lo) && isfinite(*hi) ? 0 : -1;
}

/*
 * The patch of component rp->comp, in the units of its position record:
 * offset at or below the lowest position + positionOffset, offset + extent
 * above the highest (the upper bound is excluded); from the ranges the writer
 * noted, so a per-particle positionOffset gives a box that is not tight but
 * holds them all. 0 and 0 without particles. -1 when not known (patches are
 * only recommended: then none).
 */
static int patch_bounds(const h5io_state *saved, const sa_adapter *sa, const species *sp,
                        const rec_path *rp, const sa_record *pos, double *offset, double *extent)
{
	if (sp->n == 0) {
		*offset = *extent = 0.0;
		return 0;
	}
	const sa_record *off = find_record(sa, sp->name, "positionOffset", rp->comp);
	double lo, hi, olo = 0.0, ohi = 0.0;
	if (!(pos->unit_si > 0.0) || component_range(saved, pos, &lo, &hi) < 0 ||
	    (off && component_range(saved, off, &olo, &ohi) < 0))
		return -1;
	lo += olo;
	hi += ohi;
	*offset = lo / pos->unit_si;
	/* Just enough more than hi - lo that offset + extent, rounded, is above hi. */
	double e = (hi - lo) / pos->unit_si;
	double bump = fmax(fabs(hi / pos->unit_si), DBL_MIN) * DBL_EPSILON;
	while (!((*offset + e) * pos->unit_si > hi) && isfinite(e)) {
		e += bump;
		bump *= 2.0;
	}
	*extent = e;
	return isfinite(e) ? 0 : -1;
}

/* A patch record component: a one-element array with its unitSI. */
static int patch_value(hid_t g, const char *name, sa_dtype t, const void *v, double unit_si)
{
	hid_t ds = h5io_array_put_fletcher32(g, name, t, 1, v);
	if (ds < 0)
		return -1;
	int rc = h5io_attr_f64(ds, "unitSI", unit_si);
	H5Dclose(ds);
	return rc;
}

/* A patch record (offset/extent): a group with the position record's attributes. */
static hid_t patch_record(hid_t pg, const char *name, const sa_record *pos)
{
	hid_t g = h5io_mkgroups(pg, name);
	if (g >= 0 && (h5io_attr_f64s(g, "unitDimension", pos->unit_dimension, UNIT_NDIM) < 0 ||
	               h5io_attr_f64(g, "timeOffset", 0.0) < 0)) {
		H5Gclose(g);
		return H5I_INVALID_HID;
	}
	return g;
}

/*
 * particlePatches (recommended by openPMD): one patch holding every particle
 * of the species, bounded by the positions (position + positionOffset).
 */
static int particle_patches(hid_t sg, const h5io_state *saved, const sa_adapter *sa,
                            const species *sp)
{
	size_t nc = 0;
	double *bounds = malloc(2 * (sa->n_records ? sa->n_records : 1) * sizeof *bounds);
	const sa_record **pos = calloc(sa->n_records ? sa->n_records : 1, sizeof *pos);
	const char **comp = calloc(sa->n_records ? sa->n_records : 1, sizeof *comp);
	rec_path *rps = calloc(sa->n_records ? sa->n_records : 1, sizeof *rps);
	hid_t pg = H5I_INVALID_HID, og = H5I_INVALID_HID, eg = H5I_INVALID_HID;
	int rc = -1;
	if (!bounds || !pos || !comp || !rps)
		goto out;
	for (size_t i = 0; i < sa->n_records; i++) {
		rec_path *rp = &rps[nc];
		if (parse_record_path(sa->records[i].path, rp) < 0 || strcmp(rp->species, sp->name) != 0 ||
		    strcmp(rp->record, "position") != 0 || !rp->comp)
			continue;
		if (patch_bounds(saved, sa, sp, rp, &sa->records[i], &bounds[2 * nc],
		                 &bounds[2 * nc + 1]) < 0) {
			rc = 0; /* no patches for positions that are not F64 arrays */
			goto out;
		}
		pos[nc] = &sa->records[i];
		comp[nc++] = rp->comp;
	}
	if (nc == 0) {
		rc = 0;
		goto out;
	}
	const uint64_t count = sp->n, first = 0;
	if ((pg = h5io_mkgroups(sg, "particlePatches")) < 0 ||
	    patch_value(pg, "numParticles", SA_U64, &count, 1.0) < 0 ||
	    patch_value(pg, "numParticlesOffset", SA_U64, &first, 1.0) < 0 ||
	    (og = patch_record(pg, "offset", pos[0])) < 0 ||
	    (eg = patch_record(pg, "extent", pos[0])) < 0)
		goto out;
	for (size_t c = 0; c < nc; c++)
		if (patch_value(og, comp[c], SA_F64, &bounds[2 * c], pos[c]->unit_si) < 0 ||
		    patch_value(eg, comp[c], SA_F64, &bounds[2 * c + 1], pos[c]->unit_si) < 0)
			goto out;
	rc = 0;
out:
	if (eg >= 0)
		H5Gclose(eg);
	if (og >= 0)
		H5Gclose(og);
	if (pg >= 0)
		H5Gclose(pg);
	free(bounds);
	free(pos);
	free(comp);
	free(rps);
	return rc;
}

static int write_particles(hid_t iter, hid_t state, const h5io_state *saved,
                           const sa_adapter *sa, double dt, char *err, size_t errlen)
{
	species *sp = calloc(sa->n_records, sizeof *sp);
	rec_path *rps = calloc(sa->n_records, sizeof *rps);
	size_t nsp = 0;
	int rc = -1;
	if (!sp || !rps) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	/* Species and their particle counts, from the arrays backing them. */
	for (size_t i = 0; i < sa->n_records; i++) {
		const sa_record *r = &sa->records[i];
		rec_path *rp = &rps[i];
		if (!r->path || parse_record_path(r->path, rp) < 0) {
			fail(err, errlen, "record %s: not particles/<species>/<record>[/<component>]",
			     r->path ? r->path : "(null)");
			goto out;
		}
		size_t s = 0;
		while (s < nsp && strcmp(sp[s].name, rp->species) != 0)
			s++;
		if (s == nsp)
			sp[nsp++].name = rp->species;
		if (!r->state)
			continue;
		size_t n;
		if (!h5io_valid_path(r->state) || state_len(state, r->state, &n) < 0) {
			fail(err, errlen, "record %s: the adapter saved no array %s", r->path, r->state);
			goto out;
		}
		if (sp[s].have_n && sp[s].n != n) {
			fail(err, errlen, "record %s: %zu elements, other records of %s have %" PRIu64,
			     r->path, n, rp->species, sp[s].n);
			goto out;
		}
		sp[s].have_n = true;
		sp[s].n = n;
	}
	for (size_t i = 0; i < sa->n_records; i++) {
		size_t s = 0;
		while (strcmp(sp[s].name, rps[i].species) != 0)
			s++;
		char path[H5IO_MAX_NAME + 16];
		snprintf(path, sizeof path, "particles/%s", rps[i].species);
		hid_t sg = h5io_mkgroups(iter, path);
		if (sg < 0) {
			fail(err, errlen, "cannot make the openPMD species group %s", path);
			goto out;
		}
		int r = write_record(sg, state, &sa->records[i], &rps[i], sp[s].n, dt, err, errlen);
		H5Gclose(sg);
		if (r < 0)
			goto out;
	}
	for (size_t s = 0; s < nsp; s++) {
		char path[H5IO_MAX_NAME + 16];
		snprintf(path, sizeof path, "particles/%s", sp[s].name);
		hid_t sg = h5io_mkgroups(iter, path);
		int r = sg < 0 ? -1 : position_offset(sg, sa, &sp[s]);
		if (r < 0) {
			if (sg >= 0)
				H5Gclose(sg);
			fail(err, errlen, "cannot write positionOffset of species %s", sp[s].name);
			goto out;
		}
		r = sp[s].have_n ? particle_patches(sg, saved, sa, &sp[s]) : 0;
		H5Gclose(sg);
		if (r < 0) {
			fail(err, errlen, "cannot write the particlePatches of species %s", sp[s].name);
			goto out;
		}
	}
	rc = 0;
out:
	free(sp);
	free(rps);
	return rc;
}

/* ---- all --------------------------------------------------------------- */

int openpmd_write(hid_t file, hid_t state, const sa_adapter *sa, const void *sim,
                  const openpmd_iteration *it, char *err, size_t errlen)
{
	mesh *m = NULL;
	size_t nm = 0;
	hid_t iter = H5I_INVALID_HID, meshes = H5I_INVALID_HID;
	int rc = -1;
	err[0] = '\0';
	if (plan_meshes(sa, sim, &m, &nm) < 0)
		return fail(err, errlen, "out of memory reading the diagnostics");
	bool particles = sa->records && sa->n_records > 0;
	if (write_root(file, it, nm > 0, particles) < 0) {
		fail(err, errlen, "cannot write the openPMD root attributes");
		goto out;
	}
	char path[64];
	snprintf(path, sizeof path, "data/%" PRIu64, it->step);
	if ((iter = h5io_mkgroups(file, path)) < 0 || h5io_attr_f64(iter, "time", it->time) < 0 ||
	    h5io_attr_f64(iter, "dt", it->dt) < 0 || h5io_attr_f64(iter, "timeUnitSI", 1.0) < 0) {
		fail(err, errlen, "cannot write the openPMD iteration group /%s", path);
		goto out;
	}
	if (nm) {
		if ((meshes = h5io_mkgroups(iter, "meshes")) < 0) {
			fail(err, errlen, "cannot make the meshes group");
			goto out;
		}
		for (size_t i = 0; i < nm; i++)
			if (write_mesh(meshes, sa, &m[i]) < 0) {
				fail(err, errlen, "cannot write the mesh %s", sa->diags[m[i].d].name);
				goto out;
			}
	}
	if (particles && write_particles(iter, state, it->saved, sa, it->dt, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	if (meshes >= 0)
		H5Gclose(meshes);
	if (iter >= 0)
		H5Gclose(iter);
	for (size_t i = 0; i < nm; i++)
		free(m[i].data);
	free(m);
	return rc;
}
