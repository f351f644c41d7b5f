/* SPDX-License-Identifier: MIT */
/* checkpoint.c — HDF5 checkpoints with exact restart (see checkpoint.h). */
#include "checkpoint.h"
#include "checkpoint_internal.h"
#include "log.h"
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "h5io.h"
#include "history_h5.h"
#include "openpmd.h"
#include "version.h"

#define CKPT_FORMAT "steerd-checkpoint"
#define CKPT_NAME_LEN 64 /* knob names and clients in the compound tables */

static checkpoint_test_hooks hooks;
static atomic_uint name_counter;

void checkpoint_set_test_hooks(const checkpoint_test_hooks *h)
{
	if (h)
		hooks = *h;
	else
		memset(&hooks, 0, sizeof hooks);
}

/* "label: message" into err; always -1. */
static int fail(char *err, size_t errlen, const char *label, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", label, msg);
	return -1;
}

/* ---- the compound tables ---------------------------------------------- */

typedef struct knob_rec {
	char name[CKPT_NAME_LEN];
	char type[8];
	double applied, requested;
	int64_t applied_int, requested_int;
} knob_rec;

typedef struct ramp_rec {
	uint64_t id;
	char knob[CKPT_NAME_LEN];
	double from, to;
	uint64_t start_step, steps;
	double progress;
	char client[CKPT_NAME_LEN];
} ramp_rec;

static hid_t fixed_str(size_t n)
{
	hid_t t = H5Tcopy(H5T_C_S1);
	if (t >= 0 && (H5Tset_size(t, n) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0)) {
		H5Tclose(t);
		return H5I_INVALID_HID;
	}
	return t;
}

static hid_t knob_type(void)
{
	hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(knob_rec));
	hid_t s64 = fixed_str(CKPT_NAME_LEN), s8 = fixed_str(8);
	bool ok = t >= 0 && s64 >= 0 && s8 >= 0 &&
	          H5Tinsert(t, "name", HOFFSET(knob_rec, name), s64) >= 0 &&
	          H5Tinsert(t, "type", HOFFSET(knob_rec, type), s8) >= 0 &&
	          H5Tinsert(t, "applied", HOFFSET(knob_rec, applied), H5T_NATIVE_DOUBLE) >= 0 &&
	          H5Tinsert(t, "requested", HOFFSET(knob_rec, requested), H5T_NATIVE_DOUBLE) >= 0 &&
	          H5Tinsert(t, "applied_int", HOFFSET(knob_rec, applied_int), H5T_NATIVE_INT64) >= 0 &&
	          H5Tinsert(t, "requested_int", HOFFSET(knob_rec, requested_int),
	                    H5T_NATIVE_INT64) >= 0;
	if (s64 >= 0)
		H5Tclose(s64);
	if (s8 >= 0)
		H5Tclose(s8);
	if (!ok && t >= 0) {
		H5Tclose(t);
		t = H5I_INVALID_HID;
	}
	return t;
}

static hid_t ramp_type(void)
{
	hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(ramp_rec));
	hid_t s64 = fixed_str(CKPT_NAME_LEN);
	bool ok = t >= 0 && s64 >= 0 && H5Tinsert(t, "id", HOFFSET(ramp_rec, id), H5T_NATIVE_UINT64) >= 0 &&
	          H5Tinsert(t, "knob", HOFFSET(ramp_rec, knob), s64) >= 0 &&
	          H5Tinsert(t, "from", HOFFSET(ramp_rec, from), H5T_NATIVE_DOUBLE) >= 0 &&
	          H5Tinsert(t, "to", HOFFSET(ramp_rec, to), H5T_NATIVE_DOUBLE) >= 0 &&
	          H5Tinsert(t, "start_step", HOFFSET(ramp_rec, start_step), H5T_NATIVE_UINT64) >= 0 &&
	          H5Tinsert(t, "steps", HOFFSET(ramp_rec, steps), H5T_NATIVE_UINT64) >= 0 &&
	          H5Tinsert(t, "progress", HOFFSET(ramp_rec, progress), H5T_NATIVE_DOUBLE) >= 0 &&
	          H5Tinsert(t, "client", HOFFSET(ramp_rec, client), s64) >= 0;
	if (s64 >= 0)
		H5Tclose(s64);
	if (!ok && t >= 0) {
		H5Tclose(t);
		t = H5I_INVALID_HID;
	}
	return t;
}

/* A rank-1 compound dataset of n rows (n may be 0), with its checksum. */
static int compound_put(hid_t loc, const char *name, hid_t type, size_t n, const void *rows,
                        size_t rowsize)
{
	hsize_t dims[1] = { n };
	hid_t sp = H5Screate_simple(1, dims, NULL);
	hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
	int rc = -1;
	if (sp >= 0 && dcpl >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0) {
		hid_t ds = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
		if (ds >= 0) {
			if ((n == 0 || H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0) &&
			    h5io_attr_u64(ds, H5IO_CHECKSUM_ATTR,
			                  h5io_xxh64(n ? rows : "", n * rowsize, 0)) >= 0)
				rc = 0;
			H5Dclose(ds);
		}
	}
	if (sp >= 0)
		H5Sclose(sp);
	if (dcpl >= 0)
		H5Pclose(dcpl);
	return rc;
}

/*
 * Read a rank-1 compound dataset of at most max rows into a zeroed buffer;
 * NULL with a reason in why.
 */
static void *compound_get(hid_t loc, const char *name, hid_t type, size_t max, size_t rowsize,
                          size_t *n, const char **why)
{
	*why = "is missing";
	if (h5io_exists(loc, name) != 1)
		return NULL;
	*why = "is not a dataset";
	H5O_info_t oi;
	if (H5Oget_info_by_name2(loc, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
	    oi.type != H5O_TYPE_DATASET)
		return NULL;
	hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
	if (ds < 0)
		return NULL;
	void *rows = NULL;
	hid_t ft = H5Dget_type(ds), sp = H5Dget_space(ds);
	hsize_t dims[1];
	uint64_t sum;
	if (ft < 0 || sp < 0 || H5Tget_class(ft) != H5T_COMPOUND ||
	    H5Sget_simple_extent_type(sp) != H5S_SIMPLE || H5Sget_simple_extent_ndims(sp) != 1 ||
	    H5Sget_simple_extent_dims(sp, dims, NULL) != 1) {
		*why = "is not a table of the expected type";
	} else if (dims[0] > max) {
		*why = "has too many rows";
	} else if (h5io_attr_get(ds, H5IO_CHECKSUM_ATTR, SA_U64, &sum) < 0) {
		*why = "has no checksum";
	} else if (!(rows = calloc(dims[0] ? dims[0] : 1, rowsize))) {
		*why = "cannot be read (out of memory)";
	} else if (dims[0] && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0) {
		*why = "is not a table of the expected type";
		free(rows);
		rows = NULL;
	} else if (!h5io_sum_matches(h5io_xxh64(dims[0] ? rows : "", dims[0] * rowsize, 0), sum)) {
		*why = "does not match its checksum (the file is corrupt)";
		free(rows);
		rows = NULL;
	} else {
		*n = (size_t)dims[0];
	}
	if (ft >= 0)
		H5Tclose(ft);
	if (sp >= 0)
		H5Sclose(sp);
	H5Dclose(ds);
	return rows;
}

/* ---- writing ----------------------------------------------------------- */

void checkpoint_date(char *buf, size_t cap)
{
	if (hooks.date) {
		snprintf(buf, cap, "%s", hooks.date);
		return;
	}
	time_t t = time(NULL);
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S %z", &tm))
		snprintf(buf, cap, "1970-01-01 00:00:00 +0000");
}

/* The time step for openPMD: a knob "dt" in s, else time / step, else 0. */
static double guess_dt(const sa_adapter *sa, const checkpoint_info *info)
{
	int k = adapter_knob_index(sa, "dt");
	if (k >= 0 && sa->knobs[k].type == SA_DOUBLE && strcmp(sa->knobs[k].unit, "s") == 0)
		return info->knobs[k].d;
	return info->step ? info->time / (double)info->step : 0.0;
}

/* Everything a reader would refuse is refused before writing. */
int checkpoint_check_info(const sa_adapter *sa, const checkpoint_info *info, const char *label,
                      char *err, size_t errlen)
{
	char why[256];
	if (!info || (sa->n_knobs && !info->knobs))
		return fail(err, errlen, label, "no knob values given");
	if (!isfinite(info->time))
		return fail(err, errlen, label, "the time is not finite");
	for (size_t k = 0; k < sa->n_knobs; k++) {
		const sa_knob *kn = &sa->knobs[k];
		if (strlen(kn->name) >= CKPT_NAME_LEN)
			return fail(err, errlen, label, "knob name %s is too long", kn->name);
		if (adapter_check_value(kn, info->knobs[k], why, sizeof why) < 0 ||
		    (info->requested && adapter_check_value(kn, info->requested[k], why, sizeof why) < 0))
			return fail(err, errlen, label, "knob %s", why);
	}
	if (info->n_ramps && !info->ramps)
		return fail(err, errlen, label, "no ramps given");
	for (size_t i = 0; i < info->n_ramps; i++) {
		const ramp *r = &info->ramps[i];
		if (r->knob >= sa->n_knobs || r->id == 0 || r->id >= info->next_ramp_id ||
		    r->steps == 0 || r->steps > RAMP_MAX_STEPS || !isfinite(r->from) ||
		    !isfinite(r->to) || memchr(r->client, '\0', sizeof r->client) == NULL ||
		    strlen(r->client) >= CKPT_NAME_LEN)
			return fail(err, errlen, label, "ramp %" PRIu64 " is malformed", r->id);
	}
	if (info->journal && !json_is_array(info->journal))
		return fail(err, errlen, label, "the journal is not a JSON array");
	return 0;
}

static int write_knobs(hid_t g, const sa_adapter *sa, const checkpoint_info *info)
{
	size_t n = sa->n_knobs;
	knob_rec *rows = calloc(n ? n : 1, sizeof *rows);
	hid_t t = knob_type();
	int rc = -1;
	if (rows && t >= 0) {
		for (size_t k = 0; k < n; k++) {
			const sa_knob *kn = &sa->knobs[k];
			sa_value a = info->knobs[k], q = info->requested ? info->requested[k] : a;
			snprintf(rows[k].name, sizeof rows[k].name, "%s", kn->name);
			snprintf(rows[k].type, sizeof rows[k].type, "%s", adapter_type_name(kn->type));
			rows[k].applied = adapter_value_as_double(kn, a);
			rows[k].requested = adapter_value_as_double(kn, q);
			rows[k].applied_int = kn->type == SA_DOUBLE ? 0 : a.i;
			rows[k].requested_int = kn->type == SA_DOUBLE ? 0 : q.i;
		}
		rc = compound_put(g, "knobs", t, n, rows, sizeof *rows);
	}
	if (t >= 0)
		H5Tclose(t);
	free(rows);
	return rc;
}

static int write_ramps(hid_t g, const sa_adapter *sa, const checkpoint_info *info)
{
	size_t n = info->n_ramps;
	ramp_rec *rows = calloc(n ? n : 1, sizeof *rows);
	hid_t t = ramp_type();
	int rc = -1;
	if (rows && t >= 0) {
		for (size_t i = 0; i < n; i++) {
			const ramp *r = &info->ramps[i];
			rows[i].id = r->id;
			snprintf(rows[i].knob, sizeof rows[i].knob, "%s", sa->knobs[r->knob].name);
			rows[i].from = r->from;
			rows[i].to = r->to;
			rows[i].start_step = r->start_step;
			rows[i].steps = r->steps;
			rows[i].progress = ramp_progress(r, info->step);
			snprintf(rows[i].client, sizeof rows[i].client, "%s", r->client);
		}
		rc = compound_put(g, "ramps", t, n, rows, sizeof *rows);
	}
	if (t >= 0)
		H5Tclose(t);
	free(rows);
	return rc;
}

static int write_meta(hid_t g, const sa_adapter *sa, const checkpoint_info *info)
{
	if (h5io_attr_str(g, "format", CKPT_FORMAT) < 0 ||
	    h5io_attr_u32(g, "format_version", CHECKPOINT_FORMAT_VERSION) < 0 ||
	    h5io_attr_u32(g, "abi_version", SA_ABI_MAJOR) < 0 ||
	    h5io_attr_str(g, "adapter", sa->name) < 0 ||
	    h5io_attr_str(g, "adapter_version", sa->version ? sa->version : "") < 0 ||
	    h5io_attr_str(g, "steerd_version", STEERD_VERSION) < 0 ||
	    h5io_attr_u64(g, "step", info->step) < 0 || h5io_attr_f64(g, "time", info->time) < 0 ||
	    h5io_attr_u64(g, "schedule_pos", info->schedule_pos) < 0 ||
	    h5io_attr_u64(g, "next_ramp_id", info->next_ramp_id) < 0 ||
	    (info->run_id && h5io_attr_str(g, "run_id", info->run_id) < 0) ||
	    h5io_attr_u64(g, "write_seq", info->write_seq) < 0)
		return -1;
	return 0;
}

int checkpoint_write_rest(hid_t file, hid_t g, hid_t st, const h5io_state *saved,
                          const sa_adapter *sa, const void *sim, const checkpoint_info *info,
                          const char *journal_text, const char *date, const char *label,
                          char *err, size_t errlen)
{
	const char *config = info->config_text ? info->config_text : "";
	if (write_meta(g, sa, info) < 0 || write_knobs(g, sa, info) < 0 ||
	    write_ramps(g, sa, info) < 0 || h5io_text_put(g, "config", config, strlen(config)) < 0 ||
	    h5io_text_put(g, "journal", journal_text, strlen(journal_text)) < 0 ||
	    (info->history && history_h5_save(info->history, g) < 0))
		return fail(err, errlen, label, "cannot write /steerd (disk full?)");
	char now[64], why[512];
	if (!date) {
		checkpoint_date(now, sizeof now);
		date = now;
	}
	openpmd_iteration it = { .step = info->step, .time = info->time,
	                         .dt = guess_dt(sa, info), .date = date,
	                         .saved = saved };
	if (openpmd_write(file, st, sa, sim, &it, why, sizeof why) < 0)
		return fail(err, errlen, label, "openPMD: %s", why);
	return 0;
}

/* The whole checkpoint into an open, empty file. */
static int write_contents(hid_t file, const char *label,
                          const sa_adapter *sa, const void *sim, const checkpoint_info *info,
                          const char *journal_text, char *err, size_t errlen)
{
	hid_t g = H5I_INVALID_HID, st = H5I_INVALID_HID;
	int rc = -1;
	h5io_state ctx;
	sa_writer w;
	h5io_writer(&w, &ctx);
	if ((g = h5io_mkgroups(file, "steerd")) < 0 || (st = h5io_mkgroups(g, "state")) < 0) {
		fail(err, errlen, label, "cannot create the /steerd groups");
		goto out;
	}
	/* The bulk first: the adapter's state. */
	ctx.group = st;
	char aerr[512] = "";
	if (sa->save(sim, &w, aerr, sizeof aerr) < 0) {
		fail(err, errlen, label, "adapter '%s' could not save its state: %s%s%s%s", sa->name,
		     aerr, ctx.detail[0] ? " (" : "", ctx.detail, ctx.detail[0] ? ")" : "");
		goto out;
	}
	rc = checkpoint_write_rest(file, g, st, &ctx, sa, sim, info, journal_text, NULL, label, err,
	                           errlen);
out:
	h5io_state_free(&ctx);
	if (st >= 0)
		H5Gclose(st);
	if (g >= 0)
		H5Gclose(g);
	return rc;
}

/* File access: HDF5 1.8+ format (checksummed metadata), strong close. */
hid_t checkpoint_fapl(void)
{
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	if (fapl < 0)
		return fapl;
	if (H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0 ||
	    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0
#if H5_VERSION_GE(1, 10, 7)
	    /* lock where the file system can, without failing where it cannot */
	    || H5Pset_file_locking(fapl, 1, 1) < 0
#endif
	) {
		H5Pclose(fapl);
		return H5I_INVALID_HID;
	}
	return fapl;
}

/* File creation: the root group records no times either (same state, same bytes). */
hid_t checkpoint_fcpl(void)
{
	hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
	if (fcpl >= 0 && H5Pset_obj_track_times(fcpl, 0) < 0) {
		H5Pclose(fcpl);
		return H5I_INVALID_HID;
	}
	return fcpl;
}

char *checkpoint_dump_journal(const checkpoint_info *info)
{
	if (info->journal_text) {
		/* Lines of objects: the array is the lines joined by commas. */
		journal j = { .text = (char *)info->journal_text, .len = strlen(info->journal_text) };
		return journal_json(&j);
	}
	if (!info->journal)
		return strdup("[]");
	return json_dumps(info->journal, JSON_COMPACT | JSON_ENSURE_ASCII);
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int fsync_dir_of(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return -1;
	char *slash = strrchr(dir, '/');
	const char *d = dir;
	if (!slash)
		d = ".";
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	int rc = fsync_path(d, O_RDONLY | O_DIRECTORY);
	free(dir);
	return rc;
}

static atomic_bool close_failed;

bool checkpoint_library_damaged(void) { return atomic_load(&close_failed); }

void checkpoint_mark_damaged(void) { atomic_store(&close_failed, true); }

int checkpoint_tmp_create(const char *path, char *tmp, size_t tlen, char *err, size_t errlen)
{
	/* Our own exclusive create: a clear errno, the umask respected, and never
	 * someone else's file. */
	for (int tries = 0;; tries++) {
		snprintf(tmp, tlen, "%s.tmp.%ld.%u", path, (long)getpid(),
		         atomic_fetch_add(&name_counter, 1));
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST || tries > 100)
			return fail(err, errlen, path, "cannot create %s: %s", tmp, strerror(errno));
	}
}

int checkpoint_commit(const char *tmp, const char *path, uint64_t *bytes, char *err,
                      size_t errlen)
{
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);
	struct stat stbuf;
	if (fd < 0 || fsync(fd) < 0 || fstat(fd, &stbuf) < 0) {
		fail(err, errlen, path, "cannot sync %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	close(fd);
	if (hooks.fail_before_rename)
		return fail(err, errlen, path, "injected failure before the rename"), 1;
	if (rename(tmp, path) < 0)
		return fail(err, errlen, path, "cannot rename %s to it: %s", tmp, strerror(errno)), 1;
	if (fsync_dir_of(path) < 0)
		return fail(err, errlen, path, "written, but its directory cannot be synced: %s",
		            strerror(errno));
	if (bytes)
		*bytes = (uint64_t)stbuf.st_size;
	return 0;
}

int checkpoint_write(const char *path, const sa_adapter *sa, const void *sim,
                     const checkpoint_info *info, uint64_t *bytes, char *err, size_t errlen)
{
	h5io_quiet();
	if (!path || !*path)
		return fail(err, errlen, "checkpoint", "no file name given");
	if (checkpoint_check_info(sa, info, path, err, errlen) < 0)
		return -1;
	size_t tlen = strlen(path) + 64;
	char *tmp = malloc(tlen);
	char *journal = checkpoint_dump_journal(info);
	hid_t fapl = checkpoint_fapl(), fid = H5I_INVALID_HID;
	int rc = -1;
	bool created = false;
	if (!tmp || !journal || fapl < 0) {
		fail(err, errlen, path, "out of memory");
		goto out;
	}
	if (checkpoint_tmp_create(path, tmp, tlen, err, errlen) < 0)
		goto out;
	created = true;
	hid_t fcpl = checkpoint_fcpl();
	fid = fcpl < 0 ? H5I_INVALID_HID : H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
	if (fcpl >= 0)
		H5Pclose(fcpl);
	if (fid < 0) {
		fail(err, errlen, path, "cannot create the HDF5 file %s", tmp);
		goto out;
	}
	int wrc = write_contents(fid, path, sa, sim, info, journal, err, errlen);
	herr_t crc = H5Fclose(fid);
	fid = H5I_INVALID_HID;
	if (crc < 0) /* after a failed write too: HDF5's exit handler would crash on it */
		checkpoint_mark_damaged();
	if (wrc < 0)
		goto out;
	if (crc < 0) {
		fail(err, errlen, path, "cannot close %s (disk full or file too large?)", tmp);
		goto out;
	}
	int c = checkpoint_commit(tmp, path, bytes, err, errlen);
	if (c != 1) /* renamed: the temporary name is gone, even if the directory sync failed */
		created = false;
	rc = c == 0 ? 0 : -1;
out:
	if (fid >= 0)
		H5Fclose(fid);
	if (created)
		unlink(tmp);
	if (fapl >= 0)
		H5Pclose(fapl);
	free(tmp);
	free(journal);
	return rc;
}

/* A writer that only adds up sizes: the image's memory is allocated once. */
static int count_array(void *ctx, const char *name, sa_dtype dtype, size_t n, const void *data)
{
	(void)name;
	(void)dtype;
	(void)data;
	*(size_t *)ctx += n * 8 + 512;
	return 0;
}

static int count_attr(void *ctx, const char *name, sa_dtype dtype, const void *value)
{
	(void)name;
	(void)dtype;
	(void)value;
	*(size_t *)ctx += 128;
	return 0;
}

static size_t estimate_image(const sa_adapter *sa, const void *sim, const checkpoint_info *info,
                             const char *journal)
{
	size_t total = 1u << 20;
	sa_writer w = { &total, count_array, count_attr, count_array };
	char e[256];
	sa->save(sim, &w, e, sizeof e);
	for (size_t d = 0; d < sa->n_diags; d++)
		if (sa->diags[d].rank == 1)
			total += sa->diag_len(sim, d) * 8 + 1024;
	total += strlen(journal) + (info->config_text ? strlen(info->config_text) : 0);
	total += (sa->n_knobs + info->n_ramps) * 256;
	return total + total / 16;
}

/*
 * The in-memory file's buffer is taken over when the file closes: the image is
 * then complete and consistent (H5Fget_file_image of an open file with the
 * 1.8+ superblock yields a stale superblock checksum in HDF5 1.10).
 */
typedef struct image_capture {
	void *buf;   /* the buffer at close */
	size_t size; /* the size last allocated */
} image_capture;

static void *im_malloc(size_t size, H5FD_file_image_op_t op, void *udata)
{
	(void)op;
	((image_capture *)udata)->size = size;
	return malloc(size);
}

static void *im_memcpy(void *dst, const void *src, size_t n, H5FD_file_image_op_t op, void *udata)
{
	(void)op;
	(void)udata;
	return memcpy(dst, src, n);
}

static void *im_realloc(void *p, size_t size, H5FD_file_image_op_t op, void *udata)
{
	(void)op;
	void *q = realloc(p, size);
	if (q)
		((image_capture *)udata)->size = size;
	return q;
}

static herr_t im_free(void *p, H5FD_file_image_op_t op, void *udata)
{
	image_capture *c = udata;
	if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && !c->buf)
		c->buf = p;
	else
		free(p);
	return 0;
}

static void *im_udata_copy(void *udata)
{
	return udata;
}

static herr_t im_udata_free(void *udata)
{
	(void)udata;
	return 0;
}

static hid_t core_fapl(size_t increment, const void *image, size_t len, image_capture *cap)
{
	hid_t fapl = checkpoint_fapl();
	if (fapl < 0)
		return fapl;
	H5FD_file_image_callbacks_t cb = { im_malloc, im_memcpy, im_realloc, im_free,
		                           im_udata_copy, im_udata_free, cap };
	if (H5Pset_fapl_core(fapl, increment, 0) < 0 ||
	    (cap && H5Pset_file_image_callbacks(fapl, &cb) < 0) ||
	    (image && H5Pset_file_image(fapl, (void *)image, len) < 0)) {
		H5Pclose(fapl);
		return H5I_INVALID_HID;
	}
	return fapl;
}

/* The file's length: the end-of-file address of its version 2/3 superblock. */
static size_t image_length(const unsigned char *buf, size_t cap)
{
	if (cap < 48 || memcmp(buf, "\x89HDF\r\n\x1a\n", 8) != 0 || (buf[8] != 2 && buf[8] != 3) ||
	    buf[9] != 8)
		return 0;
	uint64_t eoa = 0;
	for (int i = 7; i >= 0; i--)
		eoa = eoa << 8 | buf[28 + i];
	return eoa <= cap ? (size_t)eoa : 0;
}

static void image_name(char *buf, size_t cap)
{
	snprintf(buf, cap, "steerd-checkpoint-image-%ld-%u", (long)getpid(),
	         atomic_fetch_add(&name_counter, 1));
}

int checkpoint_to_image(const sa_adapter *sa, const void *sim, const checkpoint_info *info,
                        void **image, size_t *len, char *err, size_t errlen)
{
	const char *label = "checkpoint image";
	h5io_quiet();
	*image = NULL;
	*len = 0;
	if (checkpoint_check_info(sa, info, label, err, errlen) < 0)
		return -1;
	char *journal = checkpoint_dump_journal(info);
	if (!journal)
		return fail(err, errlen, label, "out of memory");
	image_capture cap = { NULL, 0 };
	size_t increment = estimate_image(sa, sim, info, journal);
	hid_t fapl = core_fapl(increment, NULL, 0, &cap);
	hid_t fid = H5I_INVALID_HID;
	int rc = -1;
	char name[96];
	image_name(name, sizeof name);
	hid_t fcpl = checkpoint_fcpl();
	if (fapl >= 0 && fcpl >= 0)
		fid = H5Fcreate(name, H5F_ACC_EXCL, fcpl, fapl);
	if (fcpl >= 0)
		H5Pclose(fcpl);
	if (fid < 0) {
		fail(err, errlen, label, "cannot create an HDF5 file in memory");
		goto out;
	}
	int wrc = write_contents(fid, label, sa, sim, info, journal, err, errlen);
	herr_t crc = H5Fclose(fid);
	fid = H5I_INVALID_HID;
	if (wrc < 0)
		goto out;
	size_t n = cap.buf ? image_length(cap.buf, cap.size) : 0;
	if (crc < 0 || n == 0) {
		fail(err, errlen, label, "cannot close the file in memory (out of memory?)");
		goto out;
	}
	void *shrunk = realloc(cap.buf, n);
	*image = shrunk ? shrunk : cap.buf;
	cap.buf = NULL;
	*len = n;
	rc = 0;
out:
	if (fid >= 0)
		H5Fclose(fid);
	if (fapl >= 0)
		H5Pclose(fapl);
	free(cap.buf);
	free(journal);
	return rc;
}

/* ---- reading ----------------------------------------------------------- */

void checkpoint_loaded_free(const sa_adapter *sa, checkpoint_loaded *l)
{
	if (!l)
		return;
	if (l->sim && sa && !l->in_place)
		sa->destroy(l->sim);
	free(l->knobs);
	free(l->requested);
	free(l->ramps);
	free(l->config_text);
	if (l->journal)
		json_decref(l->journal);
	history_destroy(&l->history);
	memset(l, 0, sizeof *l);
}

static int knob_value(const sa_knob *kn, double d, int64_t i, sa_value *v)
{
	if (kn->type == SA_DOUBLE)
		v->d = d;
	else
		v->i = i;
	return 0;
}

static int read_knobs(hid_t g, const sa_adapter *sa, checkpoint_loaded *l, const char *label,
                      char *err, size_t errlen)
{
	hid_t t = knob_type();
	if (t < 0)
		return fail(err, errlen, label, "out of memory");
	size_t n = 0;
	const char *why;
	knob_rec *rows = compound_get(g, "knobs", t, CHECKPOINT_MAX_KNOBS, sizeof *rows, &n, &why);
	H5Tclose(t);
	if (!rows)
		return fail(err, errlen, label, "/steerd/knobs %s", why);
	int rc = -1;
	bool *seen = calloc(sa->n_knobs ? sa->n_knobs : 1, sizeof *seen);
	l->knobs = calloc(sa->n_knobs ? sa->n_knobs : 1, sizeof *l->knobs);
	l->requested = calloc(sa->n_knobs ? sa->n_knobs : 1, sizeof *l->requested);
	if (!seen || !l->knobs || !l->requested) {
		fail(err, errlen, label, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		knob_rec *r = &rows[i];
		r->name[CKPT_NAME_LEN - 1] = '\0';
		r->type[sizeof r->type - 1] = '\0';
		int k = adapter_knob_index(sa, r->name);
		if (k < 0) {
			fail(err, errlen, label, "unknown knob '%s' (adapter '%s' has no such knob)",
			     r->name, sa->name);
			goto out;
		}
		const sa_knob *kn = &sa->knobs[k];
		if (seen[k]) {
			fail(err, errlen, label, "knob '%s' is saved twice", r->name);
			goto out;
		}
		seen[k] = true;
		if (strcmp(r->type, adapter_type_name(kn->type)) != 0) {
			fail(err, errlen, label, "knob '%s' is saved as %s, adapter '%s' has it as %s",
			     r->name, r->type, sa->name, adapter_type_name(kn->type));
			goto out;
		}
		knob_value(kn, r->applied, r->applied_int, &l->knobs[k]);
		knob_value(kn, r->requested, r->requested_int, &l->requested[k]);
		char why2[256];
		if (adapter_check_value(kn, l->knobs[k], why2, sizeof why2) < 0) {
			fail(err, errlen, label, "saved knob value refused: %s", why2);
			goto out;
		}
		if (adapter_check_value(kn, l->requested[k], why2, sizeof why2) < 0) {
			fail(err, errlen, label, "saved requested knob value refused: %s", why2);
			goto out;
		}
	}
	for (size_t k = 0; k < sa->n_knobs; k++)
		if (!seen[k]) {
			fail(err, errlen, label, "knob '%s' of adapter '%s' is missing",
			     sa->knobs[k].name, sa->name);
			goto out;
		}
	rc = 0;
out:
	free(seen);
	free(rows);
	return rc;
}

static int read_ramps(hid_t g, const sa_adapter *sa, checkpoint_loaded *l, const char *label,
                      char *err, size_t errlen)
{
	hid_t t = ramp_type();
	if (t < 0)
		return fail(err, errlen, label, "out of memory");
	size_t n = 0;
	const char *why;
	ramp_rec *rows = compound_get(g, "ramps", t, sa->n_knobs, sizeof *rows, &n, &why);
	H5Tclose(t);
	if (!rows)
		return fail(err, errlen, label, "/steerd/ramps %s", why);
	int rc = -1;
	l->ramps = calloc(n ? n : 1, sizeof *l->ramps);
	if (!l->ramps) {
		fail(err, errlen, label, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ramp_rec *r = &rows[i];
		r->knob[CKPT_NAME_LEN - 1] = '\0';
		r->client[CKPT_NAME_LEN - 1] = '\0';
		int k = adapter_knob_index(sa, r->knob);
		if (k < 0) {
			fail(err, errlen, label, "ramp %" PRIu64 " is on unknown knob '%s'", r->id,
			     r->knob);
			goto out;
		}
		const sa_knob *kn = &sa->knobs[k];
		sa_value from, to;
		char why2[256];
		if (!kn->runtime) {
			fail(err, errlen, label, "ramp %" PRIu64 " is on fixed knob '%s'", r->id, r->knob);
			goto out;
		}
		if (adapter_value_from_double(kn, r->from, &from, why2, sizeof why2) < 0 ||
		    adapter_check_value(kn, from, why2, sizeof why2) < 0 ||
		    adapter_value_from_double(kn, r->to, &to, why2, sizeof why2) < 0 ||
		    adapter_check_value(kn, to, why2, sizeof why2) < 0) {
			fail(err, errlen, label, "ramp %" PRIu64 ": %s", r->id, why2);
			goto out;
		}
		if (r->id == 0 || r->id >= l->next_ramp_id || r->steps == 0 ||
		    r->steps > RAMP_MAX_STEPS || r->start_step > l->step) {
			fail(err, errlen, label, "ramp %" PRIu64 " on '%s' is malformed", r->id, r->knob);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (l->ramps[j].id == r->id || l->ramps[j].knob == (size_t)k) {
				fail(err, errlen, label, "ramp %" PRIu64 " duplicates another ramp", r->id);
				goto out;
			}
		ramp *o = &l->ramps[i];
		o->id = r->id;
		o->knob = (size_t)k;
		o->from = r->from;
		o->to = r->to;
		o->start_step = r->start_step;
		o->steps = r->steps;
		snprintf(o->client, sizeof o->client, "%s", r->client);
		l->n_ramps = i + 1;
	}
	rc = 0;
out:
	free(rows);
	return rc;
}

static int read_journal(hid_t g, checkpoint_loaded *l, const char *label, char *err,
                        size_t errlen)
{
	char *text = NULL, why[256];
	size_t len;
	if (h5io_text_get(g, "journal", CHECKPOINT_MAX_JOURNAL, &text, &len, why, sizeof why) < 0)
		return fail(err, errlen, label, "/steerd/journal %s", why);
	json_error_t je;
	json_t *j = json_loadb(text, len, 0, &je);
	free(text);
	if (!j || !json_is_array(j)) {
		json_decref(j);
		return fail(err, errlen, label, "/steerd/journal is not a JSON array");
	}
	size_t i;
	json_t *e;
	json_array_foreach(j, i, e)
	{
		if (!json_is_object(e)) {
			json_decref(j);
			return fail(err, errlen, label, "/steerd/journal entry %zu is not an object", i);
		}
	}
	l->journal = j;
	return 0;
}

/* format and format_version of /steerd. */
static int check_format(hid_t g, const char *label, char *err, size_t errlen)
{
	char s[256];
	uint32_t v;
	if (h5io_attr_get_str(g, "format", s, sizeof s) < 0 || strcmp(s, CKPT_FORMAT) != 0)
		return fail(err, errlen, label, "not a steerd checkpoint (/steerd has no format '%s')",
		            CKPT_FORMAT);
	if (h5io_attr_get_u32(g, "format_version", &v) < 0)
		return fail(err, errlen, label, "/steerd lacks format_version");
	if (v != CHECKPOINT_FORMAT_VERSION)
		return fail(err, errlen, label, "checkpoint format version %u, this steerd reads version %u",
		            v, CHECKPOINT_FORMAT_VERSION);
	return 0;
}

/* write_seq of /steerd: 0 when absent (steerd 0.1 wrote none), refused when malformed. */
static int read_write_seq(hid_t g, uint64_t *seq, const char *label, char *err, size_t errlen)
{
	*seq = 0;
	htri_t has = H5Aexists(g, "write_seq");
	if (has < 0 || (has > 0 && h5io_attr_get(g, "write_seq", SA_U64, seq) < 0))
		return fail(err, errlen, label, "/steerd attribute write_seq is malformed");
	return 0;
}

static int read_meta(hid_t g, const sa_adapter *sa, checkpoint_loaded *l, const char *label,
                     char *err, size_t errlen)
{
	char s[256];
	uint32_t v;
	if (check_format(g, label, err, errlen) < 0 ||
	    read_write_seq(g, &l->write_seq, label, err, errlen) < 0)
		return -1;
	if (h5io_attr_get_u32(g, "abi_version", &v) < 0)
		return fail(err, errlen, label, "/steerd lacks abi_version");
	/* The saved state's layout (the sa_writer names) is the same in ABI 1 and 2. */
	if (v < 1 || v > SA_ABI_MAJOR)
		return fail(err, errlen, label, "written for adapter ABI version %u, this steerd has %u",
		            v, SA_ABI_MAJOR);
	if (h5io_attr_get_str(g, "adapter", s, sizeof s) < 0)
		return fail(err, errlen, label, "/steerd lacks the adapter name");
	if (strcmp(s, sa->name) != 0)
		return fail(err, errlen, label, "written by adapter '%s', this run hosts '%s'", s,
		            sa->name);
	const struct {
		const char *name;
		sa_dtype t;
		void *out;
	} attrs[] = {
		{ "step", SA_U64, &l->step },
		{ "time", SA_F64, &l->time },
		{ "schedule_pos", SA_U64, &l->schedule_pos },
		{ "next_ramp_id", SA_U64, &l->next_ramp_id },
	};
	for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
		if (h5io_attr_get(g, attrs[i].name, attrs[i].t, attrs[i].out) < 0)
			return fail(err, errlen, label, "/steerd attribute %s is missing or malformed",
			            attrs[i].name);
	if (!isfinite(l->time) || l->time < 0)
		return fail(err, errlen, label, "/steerd time is invalid");
	if (l->next_ramp_id == 0)
		return fail(err, errlen, label, "/steerd next_ramp_id is 0");
	/* Optional (files before run ids lack it); a malformed one is ignored the
	 * same way: the restarted run then gets a new id (identity_restarted). */
	if (H5Aexists(g, "run_id") > 0 &&
	    h5io_attr_get_str(g, "run_id", l->run_id, sizeof l->run_id) < 0)
		l->run_id[0] = '\0';
	return 0;
}

/* Create the simulation from the saved knobs (or take the live instance,
 * into) and restore the saved state. */
static int restore_sim(hid_t g, const sa_adapter *sa, void *into, checkpoint_loaded *l,
                       const char *label, char *err, size_t errlen)
{
	if (!sa->restore)
		return fail(err, errlen, label, "adapter '%s' cannot restore a saved state (no restore)",
		            sa->name);
	hid_t st = h5io_open_group(g, "state");
	if (st < 0)
		return fail(err, errlen, label, "/steerd/state is missing");
	char aerr[512] = "";
	int rc = -1;
	l->in_place = into != NULL;
	l->sim = into ? into : sa->create(l->knobs, log_adapter_host(), aerr, sizeof aerr);
	if (!l->sim) {
		fail(err, errlen, label, "adapter '%s' refuses the saved knob values: %s", sa->name,
		     aerr);
		goto out;
	}
	h5io_state ctx;
	sa_reader r;
	h5io_reader(&r, &ctx);
	ctx.group = st;
	if (sa->restore(l->sim, &r, aerr, sizeof aerr) < 0) {
		fail(err, errlen, label, "cannot restore the %s state: %s%s%s%s", sa->name, aerr,
		     ctx.detail[0] ? " (" : "", ctx.detail, ctx.detail[0] ? ")" : "");
		goto out;
	}
	if (sa->step_count(l->sim) != l->step) {
		fail(err, errlen, label, "the saved state is at step %" PRIu64 ", /steerd says %" PRIu64,
		     sa->step_count(l->sim), l->step);
		goto out;
	}
	for (size_t k = 0; k < sa->n_knobs; k++)
		if (!adapter_value_equal(&sa->knobs[k], sa->get(l->sim, k), l->knobs[k])) {
			fail(err, errlen, label, "knob '%s' in the saved state differs from /steerd/knobs",
			     sa->knobs[k].name);
			goto out;
		}
	rc = 0;
out:
	H5Gclose(st);
	if (rc < 0 && l->sim) {
		if (!l->in_place)
			sa->destroy(l->sim);
		l->sim = NULL;
	}
	return rc;
}

int checkpoint_read_head(hid_t g, const sa_adapter *sa, checkpoint_loaded *l, const char *label,
                         char *err, size_t errlen)
{
	return read_meta(g, sa, l, label, err, errlen) < 0 || read_knobs(g, sa, l, label, err, errlen) < 0
	           ? -1
	           : 0;
}

/* into == NO_SIM: everything but the simulation (checkpoint_read_meta). */
static char no_sim_mark;
#define NO_SIM ((void *)&no_sim_mark)

static int read_contents(hid_t fid, const char *label, const sa_adapter *sa, void *into,
                         checkpoint_loaded *out, char *err, size_t errlen)
{
	checkpoint_loaded l = { 0 };
	hid_t g = h5io_open_group(fid, "steerd");
	if (g < 0)
		return fail(err, errlen, label, "not a steerd checkpoint (no /steerd group)");
	char why[256];
	size_t len;
	int rc = -1;
	if (read_meta(g, sa, &l, label, err, errlen) < 0 ||
	    read_knobs(g, sa, &l, label, err, errlen) < 0 ||
	    read_ramps(g, sa, &l, label, err, errlen) < 0)
		goto out;
	if (h5io_text_get(g, "config", CHECKPOINT_MAX_CONFIG, &l.config_text, &len, why,
	                  sizeof why) < 0) {
		fail(err, errlen, label, "/steerd/config %s", why);
		goto out;
	}
	if (read_journal(g, &l, label, err, errlen) < 0 ||
	    (into != NO_SIM && restore_sim(g, sa, into, &l, label, err, errlen) < 0))
		goto out;
	if (history_h5_load(g, &l.history, why, sizeof why) < 0) {
		fail(err, errlen, label, "/steerd/history %s", why);
		goto out;
	}
	*out = l;
	memset(&l, 0, sizeof l);
	rc = 0;
out:
	H5Gclose(g);
	checkpoint_loaded_free(sa, &l);
	return rc;
}

/*
 * Checkpoints are written in the HDF5 1.8+ format (make_fapl): a version 2
 * or 3 superblock at offset 0, checksummed like the rest of the metadata.
 * Older superblocks have no checksums and HDF5 1.10 trusts the sizes in them:
 * a few changed bytes made H5Fopen zero-fill gigabytes (tests/fuzz). Such
 * files are refused before HDF5 reads them.
 */
#define OLD_FORMAT "not a steerd checkpoint (an HDF5 file in a format older than 1.8)"

static bool superblock_ok(const unsigned char *head, size_t n)
{
	return n >= 9 && memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0 && (head[8] == 2 || head[8] == 3);
}

/* Open an untrusted file read-only, after checks that give clear messages. */
hid_t checkpoint_open_untrusted(const char *path, char *err, size_t errlen)
{
	h5io_quiet();
	if (!path || !*path)
		return fail(err, errlen, "checkpoint", "no file name given");
	struct stat stbuf;
	if (stat(path, &stbuf) < 0)
		return fail(err, errlen, path, "%s", strerror(errno));
	if (!S_ISREG(stbuf.st_mode))
		return fail(err, errlen, path, "not a regular file");
	if (access(path, R_OK) < 0)
		return fail(err, errlen, path, "%s", strerror(errno));
	if (H5Fis_hdf5(path) <= 0)
		return fail(err, errlen, path, "not an HDF5 file");
	unsigned char head[9];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	ssize_t got = fd < 0 ? -1 : pread(fd, head, sizeof head, 0);
	if (fd >= 0)
		close(fd);
	if (got < 0)
		return fail(err, errlen, path, "%s", strerror(errno));
	if (!superblock_ok(head, (size_t)got))
		return fail(err, errlen, path, "%s", OLD_FORMAT);
	hid_t fapl = checkpoint_fapl();
	if (fapl < 0)
		return fail(err, errlen, path, "out of memory");
	hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
	H5Pclose(fapl);
	if (fid < 0)
		return fail(err, errlen, path, "cannot open: truncated or corrupt HDF5 file");
	return fid;
}

/*
 * Restart reads what it needs from /steerd; the openPMD view under /data
 * (meshes, particle patches) is what other readers read, and the adapter may
 * have saved arrays it does not read back. Every array of the file must match
 * its checksum: a file with a corrupt part is refused whole.
 */
static int verify_arrays(hid_t fid, const char *path, char *err, size_t errlen)
{
	char why[512];
	if (h5io_verify_arrays(fid, why, sizeof why) < 0)
		return fail(err, errlen, path, "/%s", why);
	return 0;
}

int checkpoint_read(const char *path, const sa_adapter *sa, checkpoint_loaded *out, char *err,
                    size_t errlen)
{
	return checkpoint_read_into(path, sa, NULL, out, err, errlen);
}

int checkpoint_read_into(const char *path, const sa_adapter *sa, void *into,
                         checkpoint_loaded *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	hid_t fid = checkpoint_open_untrusted(path, err, errlen);
	if (fid < 0)
		return -1;
	int rc;
	if (into) /* the live state is overwritten: check every checksum first */
		rc = verify_arrays(fid, path, err, errlen) < 0 ? -1
		                                                : read_contents(fid, path, sa, into, out, err, errlen);
	else if ((rc = read_contents(fid, path, sa, NULL, out, err, errlen)) == 0 &&
	         verify_arrays(fid, path, err, errlen) < 0) {
		checkpoint_loaded_free(sa, out);
		rc = -1;
	}
	H5Fclose(fid);
	return rc;
}

int checkpoint_read_meta(const char *path, const sa_adapter *sa, checkpoint_loaded *out,
                         char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	hid_t fid = checkpoint_open_untrusted(path, err, errlen);
	if (fid < 0)
		return -1;
	int rc = read_contents(fid, path, sa, NO_SIM, out, err, errlen);
	H5Fclose(fid);
	return rc;
}

int checkpoint_verify(const char *path, char *err, size_t errlen)
{
	hid_t fid = checkpoint_open_untrusted(path, err, errlen);
	if (fid < 0)
		return -1;
	int rc = verify_arrays(fid, path, err, errlen);
	H5Fclose(fid);
	return rc;
}

/* The /steerd group of the checkpoint at path, and the open file in *fid (close both). */
static hid_t open_steerd(const char *path, hid_t *fid, char *err, size_t errlen)
{
	*fid = checkpoint_open_untrusted(path, err, errlen);
	if (*fid < 0)
		return H5I_INVALID_HID;
	hid_t g = h5io_open_group(*fid, "steerd");
	if (g < 0) {
		fail(err, errlen, path, "not a steerd checkpoint (no /steerd group)");
		H5Fclose(*fid);
		*fid = H5I_INVALID_HID;
	}
	return g;
}

int checkpoint_read_config(const char *path, char **text, char *err, size_t errlen)
{
	*text = NULL;
	hid_t fid, g = open_steerd(path, &fid, err, errlen);
	if (g < 0)
		return -1;
	char why[256];
	size_t len;
	int rc = h5io_text_get(g, "config", CHECKPOINT_MAX_CONFIG, text, &len, why, sizeof why);
	if (rc < 0)
		fail(err, errlen, path, "/steerd/config %s", why);
	H5Gclose(g);
	H5Fclose(fid);
	return rc < 0 ? -1 : 0;
}

int checkpoint_peek(const char *path, uint64_t *write_seq, uint64_t *step, char *err,
                    size_t errlen)
{
	*write_seq = *step = 0;
	hid_t fid, g = open_steerd(path, &fid, err, errlen);
	if (g < 0)
		return -1;
	int rc = -1;
	if (check_format(g, path, err, errlen) == 0 &&
	    read_write_seq(g, write_seq, path, err, errlen) == 0) {
		if (h5io_attr_get(g, "step", SA_U64, step) < 0)
			fail(err, errlen, path, "/steerd attribute step is missing or malformed");
		else
			rc = 0;
	}
	H5Gclose(g);
	H5Fclose(fid);
	return rc;
}

int checkpoint_from_image(const void *image, size_t len, const sa_adapter *sa,
                          checkpoint_loaded *out, char *err, size_t errlen)
{
	return checkpoint_from_image_into(image, len, sa, NULL, out, err, errlen);
}

int checkpoint_from_image_into(const void *image, size_t len, const sa_adapter *sa, void *into,
                               checkpoint_loaded *out, char *err, size_t errlen)
{
	const char *label = "checkpoint image";
	h5io_quiet();
	memset(out, 0, sizeof *out);
	if (!image || len < 8)
		return fail(err, errlen, label, "empty or too short");
	if (!superblock_ok(image, len))
		return fail(err, errlen, label, "%s",
		            memcmp(image, "\x89HDF\r\n\x1a\n", 8) == 0 ? OLD_FORMAT : "not an HDF5 file");
	hid_t fapl = core_fapl(1u << 20, image, len, NULL);
	if (fapl < 0)
		return fail(err, errlen, label, "out of memory");
	char name[96];
	image_name(name, sizeof name);
	hid_t fid = H5Fopen(name, H5F_ACC_RDONLY, fapl);
	H5Pclose(fapl);
	if (fid < 0)
		return fail(err, errlen, label, "not an HDF5 file, or truncated or corrupt");
	int rc = read_contents(fid, label, sa, into, out, err, errlen);
	H5Fclose(fid);
	return rc;
}
