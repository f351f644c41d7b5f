/* SPDX-License-Identifier: MIT */
/* checkpoint_mpi.c — checkpoints of an MPI run with parallel HDF5 (see checkpoint_mpi.h). */
#ifdef STEERD_MPI

#include "checkpoint_mpi.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint_internal.h"
#include "h5io.h"

#if !defined(H5_HAVE_PARALLEL)
#error "the MPI build needs parallel HDF5 (pkg-config hdf5-openmpi)"
#endif

#define MSG_LEN 768

static int fail(char *err, size_t errlen, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const char *label, const char *fmt, ...)
{
	char msg[MSG_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", label, msg);
	return -1;
}

/*
 * After a step that may fail on some ranks: 0 when it succeeded everywhere;
 * else -1 on every rank with the message of the lowest failing rank (named
 * when it is not rank 0) in err.
 */
static int all_agree(MPI_Comm comm, int ok, char *err, size_t errlen)
{
	int rank, nranks;
	MPI_Comm_rank(comm, &rank);
	MPI_Comm_size(comm, &nranks);
	int mine = ok ? nranks : rank, first;
	if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS) {
		snprintf(err, errlen, "checkpoint: an MPI collective failed");
		return -1;
	}
	if (first == nranks)
		return 0;
	char msg[MSG_LEN];
	snprintf(msg, sizeof msg, "%s", first == rank ? err : "");
	MPI_Bcast(msg, sizeof msg, MPI_CHAR, first, comm);
	msg[sizeof msg - 1] = '\0';
	if (first == 0)
		snprintf(err, errlen, "%s", msg);
	else
		snprintf(err, errlen, "rank %d of %d: %s", first, nranks, msg);
	return -1;
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *b = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t name_hash(const char *name, sa_dtype dtype)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, name ? name : "", name ? strlen(name) : 0);
	int t = (int)dtype;
	return fnv(h, &t, sizeof t);
}

/* The file access of every rank: MPI-IO on comm, the serial format settings. */
static hid_t mpio_fapl(MPI_Comm comm)
{
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	if (fapl < 0)
		return fapl;
	if (H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0 ||
	    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0 ||
	    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
		H5Pclose(fapl);
		return H5I_INVALID_HID;
	}
	return fapl;
}

/* ---- the writer ------------------------------------------------------- */

typedef struct mpi_writer {
	h5io_state st; /* first: group, detail, and the global ranges of F64 arrays */
	MPI_Comm comm;
	int rank, nranks;
	hid_t dxpl; /* collective transfer */
} mpi_writer;

/*
 * Every rank's verdict on one call and a hash of what it was given: 0 when
 * all succeeded with the same, else -1 on every rank (noted).
 */
static int agree(mpi_writer *c, int ok, uint64_t h, const char *name)
{
	/* [0]: nranks - the lowest failing rank (0: none failed) */
	uint64_t mine[3] = { ok ? 0 : (uint64_t)(c->nranks - c->rank), h, ~h }, all[3];
	if (MPI_Allreduce(mine, all, 3, MPI_UINT64_T, MPI_MAX, c->comm) != MPI_SUCCESS)
		return h5io_note(&c->st, "an MPI collective failed writing %s%s", name, "");
	if (all[0]) {
		char where[64];
		snprintf(where, sizeof where, " (on rank %d of %d)", c->nranks - (int)all[0],
		         c->nranks);
		return h5io_note(&c->st, "cannot write the state %s%s", name, where);
	}
	if (all[1] != ~all[2])
		return h5io_note(&c->st, "state %s%s", name,
		                 " differs between the ranks (global state must be the same on every "
		                 "rank; distributed state goes through array_part)");
	return 0;
}

/* The group of name's parent (created, collectively) and its leaf. */
static hid_t parent_group(mpi_writer *c, const char *name, const char **leaf)
{
	char parent[H5IO_MAX_NAME + 1];
	*leaf = h5io_split_path(name, parent, sizeof parent);
	return *leaf ? h5io_mkgroups(c->st.group, parent) : H5I_INVALID_HID;
}

static int mw_attr(void *ctx, const char *name, sa_dtype dtype, const void *value)
{
	mpi_writer *c = ctx;
	int ok = h5io_valid_path(name) && value && h5io_file_type(dtype) >= 0;
	uint64_t h = name_hash(ok ? name : "", dtype);
	if (ok)
		h = fnv(h, value, 8);
	if (agree(c, ok, h, ok ? name : "(invalid name)") < 0)
		return -1;
	const char *leaf;
	hid_t g = parent_group(c, name, &leaf);
	ok = g >= 0 && h5io_attr_put(g, leaf, dtype, value) == 0;
	if (g >= 0)
		H5Gclose(g);
	return agree(c, ok, 0, name);
}

/*
 * A contiguous dataset of n elements (created collectively) and the write of
 * [offset, offset + count) from data, collective (count 0: this rank writes
 * nothing but takes part).
 */
static int write_slice(mpi_writer *c, hid_t g, const char *leaf, sa_dtype t, size_t n,
                       size_t offset, size_t count, const void *data, hid_t *out)
{
	hsize_t dims[1] = { n };
	hid_t fs = H5Screate_simple(1, dims, NULL), dcpl = h5io_contiguous_dcpl();
	hid_t ds = H5I_INVALID_HID, ms = H5I_INVALID_HID;
	int rc = -1;
	if (fs >= 0 && dcpl >= 0)
		ds = H5Dcreate2(g, leaf, h5io_file_type(t), fs, H5P_DEFAULT, dcpl, H5P_DEFAULT);
	if (ds < 0)
		goto out;
	if (n == 0) { /* nothing to write on any rank */
		rc = 0;
		goto out;
	}
	hsize_t start[1] = { offset }, cnt[1] = { count ? count : 1 };
	ms = H5Screate_simple(1, cnt, NULL);
	if (ms < 0)
		goto out;
	herr_t sel = count ? H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL)
	                   : (H5Sselect_none(fs) < 0 ? -1 : H5Sselect_none(ms));
	if (sel >= 0 && H5Dwrite(ds, h5io_mem_type(t), ms, fs, c->dxpl, count ? data : dims) >= 0)
		rc = 0;
out:
	if (ms >= 0)
		H5Sclose(ms);
	if (fs >= 0)
		H5Sclose(fs);
	if (dcpl >= 0)
		H5Pclose(dcpl);
	if (rc < 0 && ds >= 0) {
		H5Dclose(ds);
		ds = H5I_INVALID_HID;
	}
	*out = ds;
	return rc;
}

/* Global state: the same n elements on every rank, written once (by rank 0). */
static int mw_array(void *ctx, const char *name, sa_dtype dtype, size_t n, const void *data)
{
	mpi_writer *c = ctx;
	int ok = h5io_valid_path(name) && h5io_file_type(dtype) >= 0 && (n == 0 || data) &&
	         n <= SIZE_MAX / 8;
	uint64_t sum = ok ? h5io_xxh64(n ? data : "", n * 8, 0) : 0;
	uint64_t h = fnv(fnv(name_hash(ok ? name : "", dtype), &n, sizeof n), &sum, sizeof sum);
	if (agree(c, ok, h, ok ? name : "(invalid name)") < 0)
		return -1;
	const char *leaf;
	hid_t g = parent_group(c, name, &leaf), ds = H5I_INVALID_HID;
	ok = g >= 0 && write_slice(c, g, leaf, dtype, n, 0, c->rank == 0 ? n : 0, data, &ds) == 0 &&
	     h5io_attr_u64(ds, H5IO_CHECKSUM_ATTR, sum) == 0;
	if (ok && dtype == SA_F64) {
		double lo, hi;
		h5io_finite_range(data, n, &lo, &hi);
		ok = h5io_state_add_range(&c->st, name, lo, hi) == 0;
	}
	if (ds >= 0)
		H5Dclose(ds);
	if (g >= 0)
		H5Gclose(g);
	return agree(c, ok, 0, name);
}

/* What every rank tells the others about its part (gathered). */
enum { P_OK, P_NAME, P_N, P_SUM, P_LO, P_HI, P_FIELDS };

/* Distributed state: this rank's n elements at the offset of the ranks before it. */
static int mw_array_part(void *ctx, const char *name, sa_dtype dtype, size_t n,
                         const void *data)
{
	mpi_writer *c = ctx;
	const size_t nr = (size_t)c->nranks;
	uint64_t mine[P_FIELDS] = { 0 };
	int ok = h5io_valid_path(name) && h5io_file_type(dtype) >= 0 && (n == 0 || data) &&
	         n <= SIZE_MAX / 8 && nr <= H5IO_MAX_PARTS;
	double lo = 0.0, hi = 0.0;
	if (ok) {
		mine[P_SUM] = h5io_xxh64(n ? data : "", n * 8, 0);
		if (dtype == SA_F64)
			h5io_finite_range(data, n, &lo, &hi);
	}
	mine[P_OK] = (uint64_t)ok;
	mine[P_NAME] = name_hash(ok ? name : "", dtype);
	mine[P_N] = n;
	memcpy(&mine[P_LO], &lo, sizeof lo);
	memcpy(&mine[P_HI], &hi, sizeof hi);
	uint64_t *all = malloc(nr * P_FIELDS * sizeof *all);
	uint64_t *count = malloc(nr * sizeof *count), *sums = malloc(nr * sizeof *sums);
	int rc = -1;
	if (agree(c, all && count && sums, 0, "(out of memory)") < 0)
		goto out;
	int gathered = MPI_Allgather(mine, P_FIELDS, MPI_UINT64_T, all, P_FIELDS, MPI_UINT64_T,
	                             c->comm) == MPI_SUCCESS;
	size_t offset = 0, total = 0;
	double glo = INFINITY, ghi = -INFINITY;
	if (agree(c, gathered, 0, ok ? name : "(invalid name)") < 0)
		goto out;
	/* every rank sees the same gathered values, so all find the same bad rank */
	size_t bad = nr;
	for (size_t r = 0; r < nr; r++) {
		const uint64_t *p = &all[r * P_FIELDS];
		if (p[P_OK] != 1 || p[P_NAME] != all[P_NAME] || p[P_N] > SIZE_MAX / 8 - total) {
			bad = r;
			break;
		}
		if (r < (size_t)c->rank)
			offset += (size_t)p[P_N];
		total += (size_t)p[P_N];
		count[r] = p[P_N];
		sums[r] = p[P_SUM];
		double l, h;
		memcpy(&l, &p[P_LO], sizeof l);
		memcpy(&h, &p[P_HI], sizeof h);
		if (l < glo)
			glo = l;
		if (h > ghi)
			ghi = h;
	}
	if (bad < nr) {
		char where[96];
		snprintf(where, sizeof where, " (%s on rank %zu of %zu)",
		         all[bad * P_FIELDS + P_OK] != 1 ? "refused" : "another name or size", bad, nr);
		h5io_note(&c->st, "cannot write the state %s%s", ok ? name : "(invalid name)", where);
		goto out;
	}
	const char *leaf;
	hid_t g = parent_group(c, name, &leaf), ds = H5I_INVALID_HID;
	ok = g >= 0 && write_slice(c, g, leaf, dtype, total, offset, n, data, &ds) == 0 &&
	     h5io_attr_u64s(ds, H5IO_PARTS_ATTR, count, nr) == 0 &&
	     h5io_attr_u64s(ds, H5IO_PARTS_CHECKSUM_ATTR, sums, nr) == 0 &&
	     (dtype != SA_F64 || h5io_state_add_range(&c->st, name, glo, ghi) == 0);
	if (ds >= 0)
		H5Dclose(ds);
	if (g >= 0)
		H5Gclose(g);
	rc = agree(c, ok, 0, name);
out:
	free(all);
	free(count);
	free(sums);
	return rc;
}

/* What rank 0 tells every rank before the collective part. */
typedef struct write_head {
	int ok;
	char tmp[PATH_MAX + 64];
	char date[64];
} write_head;

/*
 * 2: the adapter's state into the temporary file, every rank (the file is
 * closed when it returns). The global ranges of its F64 arrays go to
 * ranges (rank 0 needs them for the particle patches).
 */
static int write_state(MPI_Comm comm, const char *tmp, const char *label, const sa_adapter *sa,
                       const void *sim, h5io_state *ranges, char *err, size_t errlen)
{
	mpi_writer c = { .comm = comm };
	MPI_Comm_rank(comm, &c.rank);
	MPI_Comm_size(comm, &c.nranks);
	sa_writer w = { &c, mw_array, mw_attr, mw_array_part };
	h5io_writer(&(sa_writer){ 0 }, &c.st); /* a fresh state: detail, no ranges */
	hid_t fapl = mpio_fapl(comm), fcpl = checkpoint_fcpl(), fid = H5I_INVALID_HID;
	hid_t g = H5I_INVALID_HID, st = H5I_INVALID_HID;
	c.dxpl = H5Pcreate(H5P_DATASET_XFER);
	int ok = fapl >= 0 && fcpl >= 0 && c.dxpl >= 0 &&
	         H5Pset_dxpl_mpio(c.dxpl, H5FD_MPIO_COLLECTIVE) >= 0;
	if (ok)
		fid = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
	if (!(ok = ok && fid >= 0))
		fail(err, errlen, label, "cannot create the HDF5 file %s with MPI-IO", tmp);
	int rc = all_agree(comm, ok, err, errlen);
	if (rc < 0)
		goto out;
	ok = (g = h5io_mkgroups(fid, "steerd")) >= 0 && (st = h5io_mkgroups(g, "state")) >= 0;
	if (!ok)
		fail(err, errlen, label, "cannot create the /steerd groups");
	if ((rc = all_agree(comm, ok, err, errlen)) < 0)
		goto out;
	c.st.group = st;
	char aerr[512] = "";
	ok = sa->save(sim, &w, aerr, sizeof aerr) == 0;
	if (!ok)
		fail(err, errlen, label, "adapter '%s' could not save its state: %s%s%s%s", sa->name,
		     aerr, c.st.detail[0] ? " (" : "", c.st.detail, c.st.detail[0] ? ")" : "");
	rc = all_agree(comm, ok, err, errlen);
out:
	if (st >= 0)
		H5Gclose(st);
	if (g >= 0)
		H5Gclose(g);
	if (fid >= 0) {
		/* collective; MPI_File_close syncs the file (MPI: as MPI_File_sync) */
		herr_t crc = H5Fclose(fid);
		if (crc < 0)
			checkpoint_mark_damaged();
		if (rc == 0) {
			if (crc < 0)
				fail(err, errlen, label, "cannot close %s (disk full or file too large?)", tmp);
			rc = all_agree(comm, crc >= 0, err, errlen);
		}
	}
	if (c.dxpl >= 0)
		H5Pclose(c.dxpl);
	if (fapl >= 0)
		H5Pclose(fapl);
	if (fcpl >= 0)
		H5Pclose(fcpl);
	if (rc == 0) {
		*ranges = c.st;
		c.st.ranges = NULL;
	}
	h5io_state_free(&c.st);
	return rc;
}

/* 3 and 4, rank 0: /steerd and the openPMD view, serially; then sync and rename. */
static int write_rest(const char *tmp, const char *path, const sa_adapter *sa, const void *sim,
                      const checkpoint_info *info, const char *journal, const char *date,
                      h5io_state *ranges, uint64_t *bytes, char *err, size_t errlen)
{
	hid_t fapl = checkpoint_fapl();
	hid_t fid = fapl < 0 ? H5I_INVALID_HID : H5Fopen(tmp, H5F_ACC_RDWR, fapl);
	if (fapl >= 0)
		H5Pclose(fapl);
	if (fid < 0)
		return fail(err, errlen, path, "cannot reopen %s on rank 0", tmp);
	hid_t g = h5io_open_group(fid, "steerd");
	hid_t st = g < 0 ? H5I_INVALID_HID : h5io_open_group(g, "state");
	int rc = st < 0 ? fail(err, errlen, path, "the /steerd/state written by the ranks is missing")
	                : checkpoint_write_rest(fid, g, st, ranges, sa, sim, info, journal, date, path,
	                                        err, errlen);
	if (st >= 0)
		H5Gclose(st);
	if (g >= 0)
		H5Gclose(g);
	if (H5Fclose(fid) < 0) {
		checkpoint_mark_damaged();
		if (rc == 0)
			rc = fail(err, errlen, path, "cannot close %s (disk full or file too large?)", tmp);
	}
	if (rc < 0)
		return 1; /* not renamed */
	return checkpoint_commit(tmp, path, bytes, err, errlen);
}

int checkpoint_mpi_write(MPI_Comm comm, const char *path, const sa_adapter *sa, const void *sim,
                         const checkpoint_info *info, uint64_t *bytes, char *err, size_t errlen)
{
	int rank;
	MPI_Comm_rank(comm, &rank);
	h5io_quiet();
	err[0] = '\0';
	write_head head = { 0 };
	char *journal = NULL;
	bool created = false;
	/* 1: rank 0 checks, names and creates the temporary file */
	if (rank == 0) {
		if (!path || !*path)
			fail(err, errlen, "checkpoint", "no file name given");
		else if (strlen(path) >= PATH_MAX)
			fail(err, errlen, "checkpoint", "file name too long");
		else if (checkpoint_check_info(sa, info, path, err, errlen) == 0) {
			if (!(journal = checkpoint_dump_journal(info)))
				fail(err, errlen, path, "out of memory");
			else if (checkpoint_tmp_create(path, head.tmp, sizeof head.tmp, err, errlen) == 0)
				created = (head.ok = 1) != 0;
		}
		checkpoint_date(head.date, sizeof head.date);
	}
	MPI_Bcast(&head, sizeof head, MPI_BYTE, 0, comm);
	const char *label = rank == 0 ? path : head.tmp;
	int rc = all_agree(comm, head.ok, err, errlen);
	h5io_state ranges = { 0 };
	if (rc == 0)
		rc = write_state(comm, head.tmp, label, sa, sim, &ranges, err, errlen);
	if (rank == 0) {
		if (rc == 0) {
			int c = write_rest(head.tmp, path, sa, sim, info, journal, head.date, &ranges, bytes,
			                   err, errlen);
			if (c != 1)
				created = false; /* renamed */
			rc = c == 0 ? 0 : -1;
		}
		if (created)
			unlink(head.tmp);
	}
	h5io_state_free(&ranges);
	free(journal);
	/* the outcome of 3 and 4, and the size, from rank 0 */
	struct {
		int rc;
		uint64_t bytes;
		char msg[MSG_LEN];
	} out = { rc, bytes && rank == 0 ? *bytes : 0, "" };
	if (rank == 0)
		snprintf(out.msg, sizeof out.msg, "%s", err);
	MPI_Bcast(&out, sizeof out, MPI_BYTE, 0, comm);
	out.msg[sizeof out.msg - 1] = '\0';
	if (out.rc < 0 && rc == 0 && rank != 0) /* failed on rank 0 after the ranks agreed */
		snprintf(err, errlen, "%s", out.msg);
	if (bytes)
		*bytes = out.bytes;
	return out.rc < 0 || rc < 0 ? -1 : 0;
}

/* ---- the reader ------------------------------------------------------- */

typedef struct mpi_reader {
	h5io_state st; /* first: h5io's own reader calls take this as their context */
	int rank, nranks;
} mpi_reader;

/* This rank's slice of `name`: [*offset, *offset + *n). */
static int part_slice(mpi_reader *c, const char *name, sa_dtype dtype, hid_t *ds, size_t *offset,
                      size_t *n)
{
	size_t total;
	if (!h5io_valid_path(name) || (*ds = h5io_array_open(c->st.group, name, dtype, &total)) < 0)
		return -1;
	h5io_parts p;
	int parted = h5io_parts_get(*ds, total, &p);
	if (parted < 0) {
		H5Dclose(*ds);
		return h5io_note(&c->st, "state array %s has malformed parts%s", name, "");
	}
	if (parted == 1 && p.n == (size_t)c->nranks) { /* as many ranks: each its own part */
		*offset = 0;
		for (int r = 0; r < c->rank; r++)
			*offset += (size_t)p.count[r];
		*n = (size_t)p.count[c->rank];
	} else { /* an even share of the whole */
		unsigned __int128 t = total;
		*offset = (size_t)(t * (unsigned)c->rank / (unsigned)c->nranks);
		*n = (size_t)(t * (unsigned)(c->rank + 1) / (unsigned)c->nranks) - *offset;
	}
	if (parted == 1)
		h5io_parts_free(&p);
	return 0;
}

static int mr_part_size(void *ctx, const char *name, sa_dtype dtype, size_t *n)
{
	hid_t ds;
	size_t offset;
	if (!n || part_slice(ctx, name, dtype, &ds, &offset, n) < 0)
		return -1;
	H5Dclose(ds);
	return 0;
}

/* Independent reads: a rank's restore never waits for another's. */
static int mr_part(void *ctx, const char *name, sa_dtype dtype, size_t n, void *out)
{
	mpi_reader *c = ctx;
	hid_t ds;
	size_t offset, have;
	if (part_slice(c, name, dtype, &ds, &offset, &have) < 0)
		return -1;
	int rc = have == n && (n == 0 || out) &&
	                 h5io_slice_get(ds, dtype, offset, n, H5P_DEFAULT, out) == 0
	             ? 0
	             : h5io_note(&c->st, "cannot read this rank's part of %s%s", name, "");
	H5Dclose(ds);
	return rc;
}

/* The file's own checks (stat, superblock, HDF5) on rank 0, with clear messages. */
static int precheck(MPI_Comm comm, int rank, const char *path, char *err, size_t errlen)
{
	int ok = 1;
	if (rank == 0) {
		hid_t fid = checkpoint_open_untrusted(path, err, errlen);
		ok = fid >= 0;
		if (ok)
			H5Fclose(fid);
	}
	return all_agree(comm, ok, err, errlen);
}

/*
 * Restore and check the step and knobs against /steerd, on every rank. The
 * ranks agree before the adapter's restore (whose collectives every rank must
 * reach) and after it.
 */
static int restore(MPI_Comm comm, hid_t fid, int rank, int nranks, const char *label,
                   const sa_adapter *sa, void *sim, char *err, size_t errlen)
{
	checkpoint_loaded l = { 0 };
	hid_t g = h5io_open_group(fid, "steerd");
	hid_t st = g < 0 ? H5I_INVALID_HID : h5io_open_group(g, "state");
	int ok = 0;
	if (st < 0)
		fail(err, errlen, label, "/steerd/state is missing");
	else if (!sa->restore)
		fail(err, errlen, label, "adapter '%s' cannot restore a saved state (no restore)",
		     sa->name);
	else
		ok = checkpoint_read_head(g, sa, &l, label, err, errlen) == 0;
	int rc = all_agree(comm, ok, err, errlen);
	if (rc < 0)
		goto out;
	rc = -1;
	mpi_reader c = { .rank = rank, .nranks = nranks };
	sa_reader r;
	h5io_reader(&r, &c.st); /* attr, array_size, array: h5io's, every rank reads the whole */
	r.ctx = &c;
	r.part_size = mr_part_size;
	r.part = mr_part;
	c.st.group = st;
	char aerr[512] = "";
	ok = sa->restore(sim, &r, aerr, sizeof aerr) == 0;
	if (!ok)
		fail(err, errlen, label, "cannot restore the %s state: %s%s%s%s", sa->name, aerr,
		     c.st.detail[0] ? " (" : "", c.st.detail, c.st.detail[0] ? ")" : "");
	if (all_agree(comm, ok, err, errlen) < 0)
		goto out;
	if (sa->step_count(sim) != l.step) {
		fail(err, errlen, label, "the saved state is at step %" PRIu64 ", /steerd says %" PRIu64,
		     sa->step_count(sim), l.step);
		goto out;
	}
	for (size_t k = 0; k < sa->n_knobs; k++)
		if (!adapter_value_equal(&sa->knobs[k], sa->get(sim, k), l.knobs[k])) {
			fail(err, errlen, label, "knob '%s' in the saved state differs from /steerd/knobs",
			     sa->knobs[k].name);
			goto out;
		}
	rc = 0;
out:
	if (st >= 0)
		H5Gclose(st);
	if (g >= 0)
		H5Gclose(g);
	checkpoint_loaded_free(sa, &l);
	return rc;
}

int checkpoint_mpi_read_into(MPI_Comm comm, const char *path, const sa_adapter *sa, void *sim,
                             char *err, size_t errlen)
{
	int rank, nranks;
	MPI_Comm_rank(comm, &rank);
	MPI_Comm_size(comm, &nranks);
	h5io_quiet();
	err[0] = '\0';
	char name[PATH_MAX];
	snprintf(name, sizeof name, "%s", rank == 0 && path ? path : "");
	MPI_Bcast(name, sizeof name, MPI_CHAR, 0, comm);
	name[sizeof name - 1] = '\0';
	if (precheck(comm, rank, name, err, errlen) < 0)
		return -1;
	hid_t fapl = mpio_fapl(comm);
	hid_t fid = fapl < 0 ? H5I_INVALID_HID : H5Fopen(name, H5F_ACC_RDONLY, fapl);
	if (fapl >= 0)
		H5Pclose(fapl);
	if (fid < 0)
		fail(err, errlen, name, "cannot open with MPI-IO: truncated or corrupt HDF5 file");
	if (all_agree(comm, fid >= 0, err, errlen) < 0) {
		if (fid >= 0)
			H5Fclose(fid);
		return -1;
	}
	/* every array against its checksums, the work shared; then the restore */
	char why[512];
	int ok = h5io_verify_arrays_shared(fid, (size_t)rank, (size_t)nranks, why, sizeof why) == 0;
	if (!ok)
		fail(err, errlen, name, "/%s", why);
	int rc = all_agree(comm, ok, err, errlen);
	if (rc == 0)
		rc = all_agree(comm, restore(comm, fid, rank, nranks, name, sa, sim, err, errlen) == 0,
		               err, errlen);
	H5Fclose(fid);
	return rc;
}

#endif /* STEERD_MPI */
