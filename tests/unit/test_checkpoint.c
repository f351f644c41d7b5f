/* SPDX-License-Identifier: MIT */
/*
 * test_checkpoint.c — HDF5 checkpoints: exact restart (file and image), the
 * openPMD view, atomic replacement (injected failure, SIGKILL mid-write), and
 * the refusal of missing, corrupt, foreign and incompatible files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "checkpoint.h"
#include "checkpoint_dir.h"
#include "h5io.h"
#include "pic1d/pic1d.h"
#include "pic1d/pic1d_internal.h"
#include "units.h"

/*
 * HDF5 1.10.8 loses the metadata it was loading when a checksum fails
 * (H5C_load_entry): a library bug met only by the corrupt-file tests. The
 * blocks come from HDF5's own free lists (H5FL), so their allocation stacks
 * may be those of earlier, unrelated uses; nothing of ours is allocated there.
 */
/* Default visibility: the build hides symbols (-fvisibility=hidden), and the
 * sanitizer runtime finds these hooks by dynamic lookup. */
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void);
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void)
{
	return "leak:H5FL_reg_malloc\nleak:H5FL_blk_malloc\nleak:H5C_protect\n";
}

/* libhdf5 has no frame pointers: unwind slowly so the suppression can match. */
__attribute__((visibility("default"))) const char *__asan_default_options(void);
__attribute__((visibility("default"))) const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

static char exe_dir[PATH_MAX];
static char tmpdir[256];

/* ---- the pic1d adapter with openPMD records ---------------------------- */

static const sa_record pic_records[] = {
	{ "particles/electrons/position/x", "particles/x", 0, 1.0, { 1, 0, 0, 0, 0, 0, 0 } },
	{ "particles/electrons/momentum/x", "particles/v", 0, PIC1D_ME, { 1, 1, -1, 0, 0, 0, 0 } },
	{ "particles/electrons/weighting", "particles/w", 0, 1.0, { 0 } },
	{ "particles/electrons/charge", NULL, -PIC1D_E, 1.0, { 0, 0, 1, 1, 0, 0, 0 } },
	{ "particles/electrons/mass", NULL, PIC1D_ME, 1.0, { 0, 1, 0, 0, 0, 0, 0 } },
};

static sa_adapter pic;

static const sa_adapter *pic_sa(void)
{
	pic = *pic1d_adapter();
	if (!pic.records) {
		pic.records = pic_records;
		pic.n_records = sizeof pic_records / sizeof pic_records[0];
	}
	return &pic;
}

/* ---- a run: the simulation and the host state around it ---------------- */

typedef struct run {
	const sa_adapter *sa;
	void *sim;
	sa_value knobs[64], requested[64];
	ramp ramps[1];
	json_t *journal;
	checkpoint_info info;
} run;

static void run_info(run *r)
{
	const sa_adapter *sa = r->sa;
	for (size_t k = 0; k < sa->n_knobs; k++)
		r->knobs[k] = r->requested[k] = sa->get(r->sim, k);
	r->info.step = sa->step_count(r->sim);
	r->info.time = sa->time(r->sim);
	r->info.knobs = r->knobs;
	r->info.requested = r->requested;
	r->info.ramps = r->ramps;
	r->info.journal = r->journal;
}

static void run_steps(run *r, unsigned n)
{
	char err[256];
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(r->sa->step(r->sim, err, sizeof err), 0);
	run_info(r);
}

/* A run with host state worth saving: one ramp, a journal, a config. */
static void run_make(run *r, const sa_adapter *sa, const sa_value *values, unsigned steps)
{
	char err[256];
	memset(r, 0, sizeof *r);
	r->sa = sa;
	r->sim = sa->create(values, NULL, err, sizeof err);
	assert_non_null(r->sim);
	r->journal = json_pack("[{s:I, s:s, s:s, s:f, s:f}]", "step", (json_int_t)1, "client",
	                       "alice", "knob", sa->knobs[sa->n_knobs - 1].name, "old", 0.01,
	                       "new", 0.25);
	assert_non_null(r->journal);
	run_steps(r, steps);
	size_t k = sa->n_knobs - 1; /* runtime in both adapters */
	assert_true(sa->knobs[k].runtime);
	r->ramps[0] = (ramp){ .id = 3, .knob = k, .from = r->knobs[k].d,
	                      .to = sa->knobs[k].max, .start_step = r->info.step,
	                      .steps = 40 };
	strcpy(r->ramps[0].client, "alice");
	r->requested[k].d = sa->knobs[k].max;
	r->info.n_ramps = 1;
	r->info.next_ramp_id = 4;
	r->info.schedule_pos = 2;
	r->info.config_text = "simulation:\n  adapter: pic1d\n";
}

static void run_free(run *r)
{
	r->sa->destroy(r->sim);
	json_decref(r->journal);
}

static void pic_values(sa_value *v, int64_t pps)
{
	const sa_adapter *sa = pic1d_adapter();
	for (size_t k = 0; k < sa->n_knobs; k++)
		v[k] = sa->knobs[k].def;
	v[PIC1D_K_PPS].i = pps;
	v[PIC1D_K_CURRENT].d = 100.0;
	v[PIC1D_K_THERMAL].d = 2.0;
	v[PIC1D_K_WINDOW].i = 20;
}

static void pic_run(run *r, int64_t pps, unsigned steps)
{
	sa_value v[PIC1D_N_KNOBS];
	pic_values(v, pps);
	run_make(r, pic_sa(), v, steps);
}

/* Every diagnostic equal bit for bit. */
static void assert_same_sim(const sa_adapter *sa, const void *a, const void *b)
{
	assert_int_equal(sa->step_count(a), sa->step_count(b));
	double ta = sa->time(a), tb = sa->time(b);
	assert_memory_equal(&ta, &tb, sizeof ta);
	for (size_t d = 0; d < sa->n_diags; d++) {
		size_t na = sa->diag_len(a, d), nb = sa->diag_len(b, d);
		assert_int_equal(na, nb);
		double *x = calloc(na + 1, sizeof *x), *y = calloc(nb + 1, sizeof *y);
		assert_int_equal(sa->diag_read(a, d, x, na), na);
		assert_int_equal(sa->diag_read(b, d, y, nb), nb);
		if (memcmp(x, y, na * sizeof *x) != 0)
			fail_msg("diagnostic %s differs", sa->diags[d].name);
		free(x);
		free(y);
	}
}

static void assert_loaded_matches(const run *r, const checkpoint_loaded *l)
{
	const sa_adapter *sa = r->sa;
	assert_non_null(l->sim);
	assert_int_equal(l->step, r->info.step);
	assert_memory_equal(&l->time, &r->info.time, sizeof l->time);
	assert_memory_equal(l->knobs, r->knobs, sa->n_knobs * sizeof *l->knobs);
	assert_memory_equal(l->requested, r->requested, sa->n_knobs * sizeof *l->requested);
	assert_int_equal(l->n_ramps, 1);
	assert_int_equal(l->ramps[0].id, r->ramps[0].id);
	assert_int_equal(l->ramps[0].knob, r->ramps[0].knob);
	assert_memory_equal(&l->ramps[0].from, &r->ramps[0].from, sizeof(double));
	assert_memory_equal(&l->ramps[0].to, &r->ramps[0].to, sizeof(double));
	assert_int_equal(l->ramps[0].start_step, r->ramps[0].start_step);
	assert_int_equal(l->ramps[0].steps, r->ramps[0].steps);
	assert_string_equal(l->ramps[0].client, "alice");
	assert_int_equal(l->next_ramp_id, 4);
	assert_int_equal(l->schedule_pos, 2);
	assert_string_equal(l->config_text, r->info.config_text);
	assert_true(json_equal(l->journal, r->journal));
	assert_same_sim(sa, r->sim, l->sim);
}

/* Both continue N steps identically; a re-save of each gives the same bytes. */
static void assert_continues_identically(run *r, checkpoint_loaded *l, unsigned n)
{
	const sa_adapter *sa = r->sa;
	char err[512];
	run_steps(r, n);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(sa->step(l->sim, err, sizeof err), 0);
	assert_same_sim(sa, r->sim, l->sim);

	checkpoint_test_hooks h = { .date = "2024-01-01 00:00:00 +0000" };
	checkpoint_set_test_hooks(&h);
	void *ia, *ib;
	size_t na, nb;
	assert_int_equal(checkpoint_to_image(sa, r->sim, &r->info, &ia, &na, err, sizeof err), 0);
	checkpoint_info li = r->info; /* the host state is the same; only the sim differs */
	assert_int_equal(checkpoint_to_image(sa, l->sim, &li, &ib, &nb, err, sizeof err), 0);
	checkpoint_set_test_hooks(NULL);
	assert_int_equal(na, nb);
	assert_memory_equal(ia, ib, na);
	free(ia);
	free(ib);
}

/* ---- files ------------------------------------------------------------- */

static void tpath(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
	size_t n;
	void *d = slurp(from, &n);
	spit(to, d, n);
	free(d);
}

/* Number of leftover temporary files in tmpdir (removed). */
static int remove_temporaries(void)
{
	DIR *d = opendir(tmpdir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strstr(e->d_name, ".tmp.")) {
			char p[PATH_MAX + 300];
			snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
			unlink(p);
			n++;
		}
	}
	closedir(d);
	return n;
}

static int rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[PATH_MAX + 300];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	return rmdir(dir);
}

/* ---- round trips --------------------------------------------------------- */

static void file_round_trip_continues_bitwise(void **state)
{
	(void)state;
	run r;
	pic_run(&r, 50, 60);
	char path[PATH_MAX], err[512];
	tpath(path, sizeof path, "roundtrip.h5");
	uint64_t bytes = 0;
	assert_int_equal(checkpoint_write(path, r.sa, r.sim, &r.info, &bytes, err, sizeof err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(bytes, (uint64_t)st.st_size);
	assert_int_equal(remove_temporaries(), 0);

	checkpoint_loaded l;
	if (checkpoint_read(path, r.sa, &l, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_loaded_matches(&r, &l);
	assert_continues_identically(&r, &l, 40);
	checkpoint_loaded_free(r.sa, &l);
	assert_null(l.sim);
	run_free(&r);
}

static void image_round_trip_continues_bitwise(void **state)
{
	(void)state;
	run r;
	pic_run(&r, 30, 45);
	char err[512];
	void *img;
	size_t len;
	assert_int_equal(checkpoint_to_image(r.sa, r.sim, &r.info, &img, &len, err, sizeof err), 0);
	assert_true(len > 1000);
	checkpoint_loaded l;
	if (checkpoint_from_image(img, len, r.sa, &l, err, sizeof err) != 0)
		fail_msg("%s", err);
	free(img);
	assert_loaded_matches(&r, &l);
	assert_continues_identically(&r, &l, 30);
	checkpoint_loaded_free(r.sa, &l);

	/* No clock in the bytes (but the openPMD date): images a second apart match. */
	checkpoint_test_hooks h = { .date = "2024-01-01 00:00:00 +0000" };
	checkpoint_set_test_hooks(&h);
	void *again;
	size_t len2;
	assert_int_equal(checkpoint_to_image(r.sa, r.sim, &r.info, &img, &len, err, sizeof err), 0);
	struct timespec pause = { 1, 100000000 };
	nanosleep(&pause, NULL);
	assert_int_equal(checkpoint_to_image(r.sa, r.sim, &r.info, &again, &len2, err, sizeof err), 0);
	checkpoint_set_test_hooks(NULL);
	assert_int_equal(len, len2);
	assert_memory_equal(img, again, len);
	free(img);
	free(again);
	run_free(&r);
}

/* The example external adapter: no records, so no particles in the file. */
static void oscillator_round_trip(void **state)
{
	(void)state;
	char so[PATH_MAX + 64], err[512];
	snprintf(so, sizeof so, "%s/../examples/liboscillator.so", exe_dir);
	if (access(so, R_OK) != 0)
		skip();
	adapter *ad = adapter_load(so, err, sizeof err);
	assert_non_null(ad);
	const sa_adapter *sa = ad->sa;
	sa_value v[64];
	for (size_t k = 0; k < sa->n_knobs; k++)
		v[k] = sa->knobs[k].def;
	v[adapter_knob_index(sa, "drive_amplitude")].d = 0.5;
	run r;
	run_make(&r, sa, v, 123);
	r.info.config_text = "simulation:\n  adapter: oscillator\n";
	char path[PATH_MAX];
	tpath(path, sizeof path, "osc_123.h5");
	assert_int_equal(checkpoint_write(path, sa, r.sim, &r.info, NULL, err, sizeof err), 0);

	hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(f >= 0);
	assert_int_equal(H5Aexists(f, "particlesPath"), 0);
	assert_int_equal(H5Lexists(f, "/data/123/particles", H5P_DEFAULT), 0);
	char fmt[64];
	assert_int_equal(h5io_attr_get_str(f, "iterationFormat", fmt, sizeof fmt), 0);
	assert_string_equal(fmt, "/data/%T/"); /* every file stands alone: groupBased */
	H5Fclose(f);

	checkpoint_loaded l;
	if (checkpoint_read(path, sa, &l, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_loaded_matches(&r, &l);
	assert_continues_identically(&r, &l, 77);
	checkpoint_loaded_free(sa, &l);

	/* A pic1d file is refused by the oscillator, naming both. */
	run p;
	pic_run(&p, 10, 5);
	char pp[PATH_MAX];
	tpath(pp, sizeof pp, "pic_for_osc.h5");
	assert_int_equal(checkpoint_write(pp, p.sa, p.sim, &p.info, NULL, err, sizeof err), 0);
	assert_int_equal(checkpoint_read(pp, sa, &l, err, sizeof err), -1);
	assert_non_null(strstr(err, "written by adapter 'pic1d', this run hosts 'oscillator'"));
	assert_non_null(strstr(err, pp));
	assert_null(l.sim);
	run_free(&p);
	run_free(&r);
	adapter_destroy(&ad);
}

/* ---- atomicity ----------------------------------------------------------- */

static void failed_write_keeps_the_old_file(void **state)
{
	(void)state;
	run r;
	pic_run(&r, 20, 10);
	char path[PATH_MAX], err[512];
	tpath(path, sizeof path, "keep.h5");
	assert_int_equal(checkpoint_write(path, r.sa, r.sim, &r.info, NULL, err, sizeof err), 0);
	run_steps(&r, 5);

	checkpoint_test_hooks h = { .fail_before_rename = 1 };
	checkpoint_set_test_hooks(&h);
	assert_int_equal(checkpoint_write(path, r.sa, r.sim, &r.info, NULL, err, sizeof err), -1);
	checkpoint_set_test_hooks(NULL);
	assert_non_null(strstr(err, path));
	assert_int_equal(remove_temporaries(), 0);
	checkpoint_loaded l;
	assert_int_equal(checkpoint_read(path, r.sa, &l, err, sizeof err), 0);
	assert_int_equal(l.step, 10);
	checkpoint_loaded_free(r.sa, &l);

	/* A directory that does not exist: refused, naming the file. */
	char bad[PATH_MAX + 32];
	snprintf(bad, sizeof bad, "%s/no/such/dir.h5", tmpdir);
	assert_int_equal(checkpoint_write(bad, r.sa, r.sim, &r.info, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, bad));
	assert_non_null(strstr(err, "No such file"));

	/* A host state the reader would refuse is not written at all. */
	r.knobs[PIC1D_K_VOLTAGE].d = NAN;
	assert_int_equal(checkpoint_write(path, r.sa, r.sim, &r.info, NULL, err, sizeof err), -1);
	assert_int_equal(remove_temporaries(), 0);
	assert_int_equal(checkpoint_read(path, r.sa, &l, err, sizeof err), 0);
	assert_int_equal(l.step, 10);
	checkpoint_loaded_free(r.sa, &l);
	run_free(&r);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/*
 * A writer killed with SIGKILL at points spread over its write leaves either
 * the old complete checkpoint or the new complete one at the final name.
 */
static void sigkill_mid_write_leaves_a_complete_file(void **state)
{
	(void)state;
	run r;
	pic_run(&r, 150000, 5); /* 750k particles: ~18 MB of state */
	char path[PATH_MAX], old[PATH_MAX], probe[PATH_MAX], err[512];
	tpath(path, sizeof path, "killed.h5");
	tpath(old, sizeof old, "killed-old.h5");
	tpath(probe, sizeof probe, "probe.h5");
	assert_int_equal(checkpoint_write(old, r.sa, r.sim, &r.info, NULL, err, sizeof err), 0);
	run_steps(&r, 1);
	double t0 = now_s();
	assert_int_equal(checkpoint_write(probe, r.sa, r.sim, &r.info, NULL, err, sizeof err), 0);
	double took = now_s() - t0;
	unlink(probe);

	enum { ROUNDS = 8 };
	int saw_old = 0, saw_new = 0;
	for (int i = 0; i < ROUNDS; i++) {
		copy_file(old, path);
		/* Kills spread over 1.2 times the write; the last round is not killed. */
		double delay = took * 1.2 * (i + 0.5) / (ROUNDS - 1);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			char e[512];
			int rc = checkpoint_write(path, r.sa, r.sim, &r.info, NULL, e, sizeof e);
			_exit(rc == 0 ? 0 : 1);
		}
		int status;
		if (i < ROUNDS - 1) {
			struct timespec ts = { (time_t)delay,
			                       (long)((delay - (double)(time_t)delay) * 1e9) };
			nanosleep(&ts, NULL);
			kill(pid, SIGKILL);
			assert_int_equal(waitpid(pid, &status, 0), pid);
		} else {
			assert_int_equal(waitpid(pid, &status, 0), pid);
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
		checkpoint_loaded l;
		if (checkpoint_read(path, r.sa, &l, err, sizeof err) != 0)
			fail_msg("round %d: %s", i, err);
		assert_true(l.step == 5 || l.step == 6);
		if (l.step == 5)
			saw_old++;
		else
			saw_new++;
		checkpoint_loaded_free(r.sa, &l);
		remove_temporaries();
	}
	print_message("# SIGKILL after %.0f ms write: %d old, %d new\n", took * 1e3, saw_old, saw_new);
	assert_true(saw_old > 0);
	assert_true(saw_new > 0);
	run_free(&r);
}

/* ---- refusals ------------------------------------------------------------ */

static void expect_refused(const char *path, const sa_adapter *sa, const char *what)
{
	char err[512];
	checkpoint_loaded l;
	int rc = checkpoint_read(path, sa, &l, err, sizeof err);
	if (rc != -1)
		fail_msg("%s was accepted (expected: %s)", path, what);
	assert_null(l.sim);
	assert_null(l.knobs);
	if (!strstr(err, path))
		fail_msg("message does not name the file: %s", err);
	if (what && !strstr(err, what))
		fail_msg("expected '%s' in: %s", what, err);
}

static void write_small(const char *name, char *path, size_t cap)
{
	run r;
	pic_run(&r, 20, 20);
	char err[512];
	tpath(path, cap, name);
	assert_int_equal(checkpoint_write(path, r.sa, r.sim, &r.info, NULL, err, sizeof err), 0);
	run_free(&r);
}

static void missing_empty_random_truncated_are_refused(void **state)
{
	(void)state;
	const sa_adapter *sa = pic_sa();
	char path[PATH_MAX], good[PATH_MAX];
	tpath(path, sizeof path, "nonexistent.h5");
	expect_refused(path, sa, "No such file");

	tpath(path, sizeof path, "empty.h5");
	spit(path, "", 0);
	expect_refused(path, sa, "not an HDF5 file");

	unsigned char *junk = malloc(65536);
	uint64_t x = 88172645463325252ULL;
	for (size_t i = 0; i < 65536; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		junk[i] = (unsigned char)x;
	}
	tpath(path, sizeof path, "random.h5");
	spit(path, junk, 65536);
	expect_refused(path, sa, "not an HDF5 file");
	/* The signature, then garbage. */
	memcpy(junk, "\x89HDF\r\n\x1a\n", 8);
	spit(path, junk, 65536);
	expect_refused(path, sa, NULL);
	free(junk);

	write_small("good.h5", good, sizeof good);
	size_t len;
	unsigned char *img = slurp(good, &len);
	const size_t cuts[] = { 8, 100, 1000, len / 3, len / 2, len - 100, len - 1 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		tpath(path, sizeof path, "truncated.h5");
		spit(path, img, cuts[i]);
		expect_refused(path, sa, NULL);
	}
	/* The same through an image. */
	char err[512];
	checkpoint_loaded l;
	assert_int_equal(checkpoint_from_image(img, len / 2, sa, &l, err, sizeof err), -1);
	assert_non_null(strstr(err, "checkpoint image"));
	assert_int_equal(checkpoint_from_image(img, 4, sa, &l, err, sizeof err), -1);
	free(img);
}

/* Open a copy of good for editing with the HDF5 API. */
static hid_t edit_copy(const char *good, const char *name, char *path, size_t cap)
{
	tpath(path, cap, name);
	copy_file(good, path);
	hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
	assert_true(f >= 0);
	return f;
}

static void set_u32(hid_t f, const char *obj, const char *name, uint32_t v)
{
	hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
	assert_true(o >= 0);
	assert_true(H5Adelete(o, name) >= 0);
	assert_int_equal(h5io_attr_u32(o, name, v), 0);
	H5Oclose(o);
}

/*
 * Change one member of the row `knob` of /steerd/knobs (raw, through the
 * stored type) and update the checksum, so only the value is wrong.
 */
static void edit_knob_row(hid_t f, const char *knob, const char *member, const void *v,
                          size_t vlen)
{
	hid_t ds = H5Dopen2(f, "/steerd/knobs", H5P_DEFAULT);
	assert_true(ds >= 0);
	hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds);
	hssize_t n = H5Sget_simple_extent_npoints(sp);
	size_t rs = H5Tget_size(t);
	unsigned char *rows = calloc((size_t)n, rs);
	assert_true(H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
	size_t name_off = H5Tget_member_offset(t, (unsigned)H5Tget_member_index(t, "name"));
	size_t off = H5Tget_member_offset(t, (unsigned)H5Tget_member_index(t, member));
	int hit = 0;
	for (hssize_t i = 0; i < n; i++)
		if (!strcmp((char *)rows + (size_t)i * rs + name_off, knob)) {
			memset(rows + (size_t)i * rs + off, 0, strcmp(member, "name") ? vlen : 64);
			memcpy(rows + (size_t)i * rs + off, v, vlen);
			hit = 1;
		}
	assert_true(hit);
	assert_true(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
	assert_true(H5Adelete(ds, H5IO_CHECKSUM_ATTR) >= 0);
	assert_int_equal(h5io_attr_u64(ds, H5IO_CHECKSUM_ATTR, h5io_xxh64(rows, (size_t)n * rs, 0)), 0);
	free(rows);
	H5Tclose(t);
	H5Sclose(sp);
	H5Dclose(ds);
}

static void foreign_and_incompatible_are_refused(void **state)
{
	(void)state;
	const sa_adapter *sa = pic_sa();
	char good[PATH_MAX], path[PATH_MAX];
	write_small("good2.h5", good, sizeof good);

	/* An HDF5 file not written by steerd. */
	tpath(path, sizeof path, "foreign.h5");
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	double one = 1.0;
	assert_int_equal(h5io_attr_f64(f, "foo", one), 0);
	H5Fclose(f);
	expect_refused(path, sa, "not a steerd checkpoint");

	/* Another adapter. */
	sa_adapter other = *sa;
	other.name = "oscillator";
	expect_refused(good, &other, "written by adapter 'pic1d', this run hosts 'oscillator'");

	f = edit_copy(good, "abi.h5", path, sizeof path);
	set_u32(f, "/steerd", "abi_version", SA_ABI_MAJOR + 1);
	H5Fclose(f);
	expect_refused(path, sa, "ABI version");

	f = edit_copy(good, "format.h5", path, sizeof path);
	set_u32(f, "/steerd", "format_version", CHECKPOINT_FORMAT_VERSION + 1);
	H5Fclose(f);
	expect_refused(path, sa, "format version 2");

	double nan = NAN, big = 1e9;
	f = edit_copy(good, "nan.h5", path, sizeof path);
	edit_knob_row(f, "anode_voltage", "applied", &nan, sizeof nan);
	H5Fclose(f);
	expect_refused(path, sa, "anode_voltage must be a finite number");

	f = edit_copy(good, "bounds.h5", path, sizeof path);
	edit_knob_row(f, "anode_voltage", "requested", &big, sizeof big);
	H5Fclose(f);
	expect_refused(path, sa, "out of range");

	int64_t cells = 3;
	f = edit_copy(good, "intbounds.h5", path, sizeof path);
	edit_knob_row(f, "cells", "applied_int", &cells, sizeof cells);
	H5Fclose(f);
	expect_refused(path, sa, "cells = 3 is out of range");

	f = edit_copy(good, "unknown.h5", path, sizeof path);
	edit_knob_row(f, "seed", "name", "bogus", 6);
	H5Fclose(f);
	expect_refused(path, sa, "unknown knob 'bogus'");

	f = edit_copy(good, "twice.h5", path, sizeof path);
	edit_knob_row(f, "seed", "name", "gap", 4);
	H5Fclose(f);
	expect_refused(path, sa, "saved twice");

	/* A knob this adapter has and the file lacks. */
	sa_knob more[PIC1D_N_KNOBS + 1];
	memcpy(more, sa->knobs, sizeof(sa_knob) * PIC1D_N_KNOBS);
	more[PIC1D_N_KNOBS] = (sa_knob){ "extra", SA_DOUBLE, "", 0, 1, { .d = 0 }, "x", 1, NULL };
	sa_adapter wider = *sa;
	wider.knobs = more;
	wider.n_knobs = PIC1D_N_KNOBS + 1;
	expect_refused(good, &wider, "knob 'extra' of adapter 'pic1d' is missing");

	/* A fixed knob whose value the adapter's create refuses together with others. */
	f = edit_copy(good, "type.h5", path, sizeof path);
	edit_knob_row(f, "gap", "type", "int", 4);
	H5Fclose(f);
	expect_refused(path, sa, "saved as int");
}

static void malformed_contents_are_refused(void **state)
{
	(void)state;
	const sa_adapter *sa = pic_sa();
	char good[PATH_MAX], path[PATH_MAX];
	write_small("good3.h5", good, sizeof good);

	hid_t f = edit_copy(good, "nostate.h5", path, sizeof path);
	assert_true(H5Ldelete(f, "/steerd/state", H5P_DEFAULT) >= 0);
	H5Fclose(f);
	expect_refused(path, sa, "/steerd/state is missing");

	f = edit_copy(good, "noknobs.h5", path, sizeof path);
	assert_true(H5Ldelete(f, "/steerd/knobs", H5P_DEFAULT) >= 0);
	H5Fclose(f);
	expect_refused(path, sa, "/steerd/knobs is missing");

	f = edit_copy(good, "nosteerd.h5", path, sizeof path);
	assert_true(H5Ldelete(f, "/steerd", H5P_DEFAULT) >= 0);
	H5Fclose(f);
	expect_refused(path, sa, "not a steerd checkpoint");

	/* step as a string. */
	f = edit_copy(good, "stepstr.h5", path, sizeof path);
	hid_t g = H5Gopen2(f, "/steerd", H5P_DEFAULT);
	assert_true(H5Adelete(g, "step") >= 0);
	assert_int_equal(h5io_attr_str(g, "step", "20"), 0);
	H5Gclose(g);
	H5Fclose(f);
	expect_refused(path, sa, "attribute step");

	/* Particle positions as integers, or as a 2-D array. */
	f = edit_copy(good, "inttype.h5", path, sizeof path);
	size_t n;
	assert_int_equal(h5io_array_size(f, "steerd/state/particles/x", SA_F64, &n), 0);
	assert_true(H5Ldelete(f, "/steerd/state/particles/x", H5P_DEFAULT) >= 0);
	int64_t *ints = calloc(n + 1, sizeof *ints);
	g = H5Gopen2(f, "/steerd/state/particles", H5P_DEFAULT);
	hid_t ds = h5io_array_put(g, "x", SA_I64, n, ints);
	assert_true(ds >= 0);
	H5Dclose(ds);
	H5Gclose(g);
	H5Fclose(f);
	free(ints);
	expect_refused(path, sa, "lacks the array particles/x");

	f = edit_copy(good, "shape.h5", path, sizeof path);
	assert_true(H5Ldelete(f, "/steerd/state/particles/v", H5P_DEFAULT) >= 0);
	hsize_t dims[2] = { n, 1 };
	hid_t sp = H5Screate_simple(2, dims, NULL);
	ds = H5Dcreate2(f, "/steerd/state/particles/v", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT,
	                H5P_DEFAULT);
	assert_true(ds >= 0);
	H5Dclose(ds);
	H5Sclose(sp);
	H5Fclose(f);
	expect_refused(path, sa, "particles/v");

	/* A soft link where the state should be: not followed. */
	f = edit_copy(good, "softlink.h5", path, sizeof path);
	assert_true(H5Lmove(f, "/steerd/state/particles/w", f, "/w_elsewhere", H5P_DEFAULT,
	                    H5P_DEFAULT) >= 0);
	assert_true(H5Lcreate_soft("/w_elsewhere", f, "/steerd/state/particles/w", H5P_DEFAULT,
	                           H5P_DEFAULT) >= 0);
	H5Fclose(f);
	expect_refused(path, sa, "particles/w");

	/* A state whose step disagrees with /steerd. */
	f = edit_copy(good, "stepmismatch.h5", path, sizeof path);
	g = H5Gopen2(f, "/steerd", H5P_DEFAULT);
	assert_true(H5Adelete(g, "step") >= 0);
	uint64_t s = 19;
	assert_int_equal(h5io_attr_u64(g, "step", s), 0);
	H5Gclose(g);
	H5Fclose(f);
	expect_refused(path, sa, "step");
}

static void corrupt_bytes_are_refused(void **state)
{
	(void)state;
	const sa_adapter *sa = pic_sa();
	run r;
	pic_run(&r, 20, 20);
	char good[PATH_MAX], path[PATH_MAX], err[512];
	tpath(good, sizeof good, "good4.h5");
	assert_int_equal(checkpoint_write(good, sa, r.sim, &r.info, NULL, err, sizeof err), 0);

	/* A flipped bit in the particle data: caught by the checksum. */
	hid_t f = H5Fopen(good, H5F_ACC_RDONLY, H5P_DEFAULT);
	hid_t ds = H5Dopen2(f, "/steerd/state/particles/x", H5P_DEFAULT);
	haddr_t off = H5Dget_offset(ds);
	assert_true(off != HADDR_UNDEF);
	H5Dclose(ds);
	H5Fclose(f);
	size_t len;
	unsigned char *img = slurp(good, &len);
	tpath(path, sizeof path, "flipped.h5");
	img[off + 17] ^= 0x04;
	spit(path, img, len);
	img[off + 17] ^= 0x04;
	expect_refused(path, sa, "checksum");

	/* Random single-byte corruption anywhere: refused, or (in bytes nobody
	 * reads back) a restore identical to the original. Never a crash. */
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	int refused = 0, accepted = 0;
	for (int i = 0; i < 160; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t at = (size_t)(x % len);
		unsigned char flip = (unsigned char)(1u << (x >> 61));
		img[at] ^= flip;
		spit(path, img, len);
		img[at] ^= flip;
		checkpoint_loaded l;
		if (checkpoint_read(path, sa, &l, err, sizeof err) == 0) {
			accepted++;
			assert_same_sim(sa, r.sim, l.sim);
			checkpoint_loaded_free(sa, &l);
		} else {
			refused++;
			assert_null(l.sim);
			assert_non_null(strstr(err, path));
		}
	}
	print_message("# random byte flips: %d refused, %d harmless\n", refused, accepted);
	assert_true(refused > 0);
	free(img);
	run_free(&r);
}

/* ---- the openPMD view ---------------------------------------------------- */

static void assert_str_attr(hid_t obj, const char *name, const char *want)
{
	hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
	if (a < 0)
		fail_msg("attribute %s missing", name);
	hid_t t = H5Aget_type(a);
	assert_int_equal(H5Tget_class(t), H5T_STRING);
	assert_int_equal(H5Tis_variable_str(t), 0);
	H5Tclose(t);
	H5Aclose(a);
	char buf[256];
	assert_int_equal(h5io_attr_get_str(obj, name, buf, sizeof buf), 0);
	if (want)
		assert_string_equal(buf, want);
}

static void assert_attrs(hid_t loc, const char *obj, const char *const *names)
{
	hid_t o = H5Oopen(loc, obj, H5P_DEFAULT);
	if (o < 0)
		fail_msg("%s missing", obj);
	for (size_t i = 0; names[i]; i++)
		if (H5Aexists(o, names[i]) <= 0)
			fail_msg("%s lacks %s", obj, names[i]);
	H5Oclose(o);
}

static void read_f64s(hid_t loc, const char *obj, const char *name, double *v, size_t n)
{
	hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
	assert_true(a >= 0);
	hid_t sp = H5Aget_space(a);
	assert_int_equal(H5Sget_simple_extent_npoints(sp), (hssize_t)n);
	assert_true(H5Aread(a, H5T_NATIVE_DOUBLE, v) >= 0);
	H5Sclose(sp);
	H5Aclose(a);
}

static haddr_t addr_of(hid_t f, const char *path)
{
	H5O_info_t oi;
	assert_true(H5Oget_info_by_name2(f, path, &oi, H5O_INFO_BASIC, H5P_DEFAULT) >= 0);
	return oi.addr;
}

static void openpmd_attributes(void **state)
{
	(void)state;
	run r;
	pic_run(&r, 20, 7);
	char path[PATH_MAX], err[512];
	tpath(path, sizeof path, "ckpt_000007.h5");
	assert_int_equal(checkpoint_write(path, r.sa, r.sim, &r.info, NULL, err, sizeof err), 0);
	hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(f >= 0);

	assert_str_attr(f, "openPMD", "1.1.0");
	assert_str_attr(f, "basePath", "/data/%T/");
	assert_str_attr(f, "meshesPath", "meshes/");
	assert_str_attr(f, "particlesPath", "particles/");
	assert_str_attr(f, "iterationEncoding", "groupBased");
	assert_str_attr(f, "iterationFormat", "/data/%T/");
	assert_str_attr(f, "software", "steerd");
	assert_str_attr(f, "softwareVersion", NULL);
	assert_str_attr(f, "author", NULL);
	assert_str_attr(f, "date", NULL);
	hid_t a = H5Aopen(f, "openPMDextension", H5P_DEFAULT);
	hid_t t = H5Aget_type(a);
	assert_int_equal(H5Tget_class(t), H5T_INTEGER);
	assert_int_equal(H5Tget_size(t), 4);
	assert_int_equal(H5Tget_sign(t), H5T_SGN_NONE);
	uint32_t ext = 99;
	assert_true(H5Aread(a, H5T_NATIVE_UINT32, &ext) >= 0);
	assert_int_equal(ext, 0);
	H5Tclose(t);
	H5Aclose(a);

	static const char *const iter[] = { "time", "dt", "timeUnitSI", NULL };
	assert_attrs(f, "/data/7", iter);
	double dt;
	read_f64s(f, "/data/7", "dt", &dt, 1);
	assert_true(dt == r.knobs[PIC1D_K_DT].d);

	static const char *const mesh[] = { "geometry", "dataOrder", "axisLabels", "gridSpacing",
		                            "gridGlobalOffset", "gridUnitSI", "unitSI",
		                            "unitDimension", "timeOffset", "position", NULL };
	const char *meshes[] = { "/data/7/meshes/phi", "/data/7/meshes/efield", "/data/7/meshes/rho" };
	for (size_t i = 0; i < 3; i++)
		assert_attrs(f, meshes[i], mesh);
	assert_int_equal(H5Lexists(f, "/data/7/meshes/phase_v", H5P_DEFAULT), 0);
	hid_t m = H5Oopen(f, "/data/7/meshes/efield", H5P_DEFAULT);
	assert_str_attr(m, "geometry", "cartesian");
	assert_str_attr(m, "dataOrder", "C");
	H5Oclose(m);
	double dim[7], want_e[7] = { 1, 1, -3, -1, 0, 0, 0 }, want_rho[7] = { -3, 0, 1, 1, 0, 0, 0 };
	read_f64s(f, "/data/7/meshes/efield", "unitDimension", dim, 7);
	assert_memory_equal(dim, want_e, sizeof dim);
	read_f64s(f, "/data/7/meshes/rho", "unitDimension", dim, 7);
	assert_memory_equal(dim, want_rho, sizeof dim);
	double dx, x0;
	read_f64s(f, "/data/7/meshes/phi", "gridSpacing", &dx, 1);
	read_f64s(f, "/data/7/meshes/phi", "gridGlobalOffset", &x0, 1);
	assert_true(fabs(dx - r.knobs[PIC1D_K_GAP].d / (double)r.knobs[PIC1D_K_CELLS].i) < 1e-15);
	assert_true(x0 == 0.0);

	static const char *const comp[] = { "unitSI", NULL };
	static const char *const rec[] = { "unitDimension", "timeOffset", NULL };
	static const char *const scalar[] = { "unitSI", "unitDimension", "timeOffset", NULL };
	static const char *const constant[] = { "value", "shape", "unitSI", "unitDimension",
		                                "timeOffset", NULL };
	static const char *const constcomp[] = { "value", "shape", "unitSI", NULL };
	const char *sp = "/data/7/particles/electrons";
	char p[256];
	snprintf(p, sizeof p, "%s/position", sp);
	assert_attrs(f, p, rec);
	snprintf(p, sizeof p, "%s/position/x", sp);
	assert_attrs(f, p, comp);
	assert_true(addr_of(f, p) == addr_of(f, "/steerd/state/particles/x"));
	snprintf(p, sizeof p, "%s/momentum/x", sp);
	assert_attrs(f, p, comp);
	assert_true(addr_of(f, p) == addr_of(f, "/steerd/state/particles/v"));
	double msi;
	read_f64s(f, p, "unitSI", &msi, 1);
	assert_true(msi == PIC1D_ME);
	snprintf(p, sizeof p, "%s/weighting", sp);
	assert_attrs(f, p, scalar);
	assert_true(addr_of(f, p) == addr_of(f, "/steerd/state/particles/w"));
	snprintf(p, sizeof p, "%s/charge", sp);
	assert_attrs(f, p, constant);
	double q;
	read_f64s(f, p, "value", &q, 1);
	assert_true(q == -PIC1D_E);
	snprintf(p, sizeof p, "%s/mass", sp);
	assert_attrs(f, p, constant);
	snprintf(p, sizeof p, "%s/positionOffset", sp);
	assert_attrs(f, p, rec);
	snprintf(p, sizeof p, "%s/positionOffset/x", sp);
	assert_attrs(f, p, constcomp);
	hid_t g = H5Oopen(f, p, H5P_DEFAULT);
	uint64_t shape;
	size_t np;
	assert_int_equal(h5io_array_size(f, "steerd/state/particles/x", SA_F64, &np), 0);
	assert_true(np > 0);
	a = H5Aopen(g, "shape", H5P_DEFAULT);
	assert_true(H5Aread(a, H5T_NATIVE_UINT64, &shape) >= 0);
	assert_int_equal(shape, np);
	H5Aclose(a);
	H5Oclose(g);
	H5Fclose(f);
	run_free(&r);
}

/* ---- small parts ----------------------------------------------------------- */

static void unit_strings(void **state)
{
	(void)state;
	double d[7], si;
	const struct {
		const char *u;
		double d[7];
		double si;
	} ok[] = {
		{ "", { 0 }, 1 },
		{ "V/m", { 1, 1, -3, -1, 0, 0, 0 }, 1 },
		{ "C/m^3", { -3, 0, 1, 1, 0, 0, 0 }, 1 },
		{ "A/m^2", { -2, 0, 0, 1, 0, 0, 0 }, 1 },
		{ "J/m^2", { 0, 1, -2, 0, 0, 0, 0 }, 1 },
		{ "kg*m/(A*s^3)", { 1, 1, -3, -1, 0, 0, 0 }, 1 },
		{ "m^-3", { -3, 0, 0, 0, 0, 0, 0 }, 1 },
		{ "rad/s", { 0, 0, -1, 0, 0, 0, 0 }, 1 },
		{ "eV", { 2, 1, -2, 0, 0, 0, 0 }, 1.602176634e-19 },
		{ "1/s", { 0, 0, -1, 0, 0, 0, 0 }, 1 },
		{ "Ohm m", { 3, 1, -3, -2, 0, 0, 0 }, 1 },
		{ "mol/(m^3 K)", { -3, 0, 0, 0, -1, 1, 0 }, 1 },
		{ "cd", { 0, 0, 0, 0, 0, 0, 1 }, 1 },
		{ "F/m", { -3, -1, 4, 2, 0, 0, 0 }, 1 },
		{ "W/m^2", { 0, 1, -3, 0, 0, 0, 0 }, 1 },
		{ "N*Pa/Hz/T", { 0, 1, -1, 1, 0, 0, 0 }, 1 },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		if (units_parse(ok[i].u, d, &si) != 0)
			fail_msg("'%s' refused", ok[i].u);
		for (int j = 0; j < 7; j++)
			if (d[j] != ok[i].d[j])
				fail_msg("'%s': dimension %d is %g", ok[i].u, j, d[j]);
		assert_true(si == ok[i].si);
	}
	const char *bad[] = { "furlong", "m^", "(m", "m)", "mV", "m//s", "m^x", "V/" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (units_parse(bad[i], d, &si) == 0)
			fail_msg("'%s' accepted", bad[i]);
}

static void xxh64_known_values(void **state)
{
	(void)state;
	assert_true(h5io_xxh64("", 0, 0) == 0xEF46DB3751D8E999ULL);
	assert_true(h5io_xxh64("a", 1, 0) == 0xD24EC4F1A98C6E5BULL);
	assert_true(h5io_xxh64("abc", 3, 0) == 0x44BC2CF5AD770999ULL);
}

/* ---- write sequence and directories -------------------------------------- */

static unsigned n_skipped;
static char last_skipped[1024];

static void count_skipped(const char *message)
{
	n_skipped++;
	snprintf(last_skipped, sizeof last_skipped, "%s", message);
}

static void write_seq_orders_a_directory(void **state)
{
	(void)state;
	run r;
	pic_run(&r, 10, 5);
	char dir[PATH_MAX], path[PATH_MAX + 64], err[512];
	tpath(dir, sizeof dir, "seqdir");
	assert_int_equal(mkdir(dir, 0755), 0);
	/* Written in the order z (seq 7, step 5), a (seq 9, step 5), b (seq 8, later step). */
	const struct { const char *name; uint64_t seq; unsigned more_steps; } files[] = {
		{ "z.h5", 7, 0 }, { "a.h5", 9, 0 }, { "b.h5", 8, 3 },
	};
	for (size_t i = 0; i < 3; i++) {
		run_steps(&r, files[i].more_steps);
		r.info.write_seq = files[i].seq;
		snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
		assert_int_equal(checkpoint_write(path, r.sa, r.sim, &r.info, NULL, err, sizeof err), 0);
	}
	/* read back whole */
	snprintf(path, sizeof path, "%s/a.h5", dir);
	checkpoint_loaded l;
	if (checkpoint_read(path, r.sa, &l, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(l.write_seq, 9);
	checkpoint_loaded_free(r.sa, &l);
	/* junk named *.h5 is skipped with its reason; other names are not looked at */
	snprintf(path, sizeof path, "%s/junk.h5", dir);
	spit(path, "not hdf5", 8);
	snprintf(path, sizeof path, "%s/notes.txt", dir);
	spit(path, "x", 1);
	checkpoint_entry *list;
	size_t n;
	n_skipped = 0;
	assert_int_equal(checkpoint_dir_list(dir, count_skipped, &list, &n, err, sizeof err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(n_skipped, 1);
	assert_non_null(strstr(last_skipped, "junk.h5"));
	assert_non_null(strstr(list[0].path, "/a.h5"));
	assert_non_null(strstr(list[1].path, "/b.h5"));
	assert_non_null(strstr(list[2].path, "/z.h5"));
	assert_int_equal(list[0].write_seq, 9);
	assert_int_equal(list[1].step, 8);
	checkpoint_dir_free(&list, n);
	assert_null(list);
	assert_int_equal(checkpoint_dir_max_seq(dir), 9);
	tpath(path, sizeof path, "no-such-dir");
	assert_int_equal(checkpoint_dir_max_seq(path), 0);
	assert_int_equal(checkpoint_dir_list(path, NULL, &list, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "no-such-dir"));
	assert_int_equal(rm_tree(dir), 0);
	run_free(&r);
}

static void missing_write_seq_reads_0_malformed_is_refused(void **state)
{
	(void)state;
	run r;
	pic_run(&r, 10, 4);
	r.info.write_seq = 5;
	char good[PATH_MAX], path[PATH_MAX], err[512];
	tpath(good, sizeof good, "seq_good.h5");
	assert_int_equal(checkpoint_write(good, r.sa, r.sim, &r.info, NULL, err, sizeof err), 0);
	uint64_t seq = 0, step = 0;
	assert_int_equal(checkpoint_peek(good, &seq, &step, err, sizeof err), 0);
	assert_int_equal(seq, 5);
	assert_int_equal(step, 4);

	/* as steerd 0.1 wrote it: no write_seq */
	hid_t f = edit_copy(good, "seq_legacy.h5", path, sizeof path);
	hid_t g = H5Gopen2(f, "/steerd", H5P_DEFAULT);
	assert_true(H5Adelete(g, "write_seq") >= 0);
	H5Gclose(g);
	H5Fclose(f);
	assert_int_equal(checkpoint_peek(path, &seq, &step, err, sizeof err), 0);
	assert_int_equal(seq, 0);
	checkpoint_loaded l;
	if (checkpoint_read(path, r.sa, &l, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(l.write_seq, 0);
	checkpoint_loaded_free(r.sa, &l);

	/* write_seq of the wrong type */
	f = edit_copy(good, "seq_bad.h5", path, sizeof path);
	set_u32(f, "/steerd", "write_seq", 3);
	H5Fclose(f);
	assert_int_equal(checkpoint_peek(path, &seq, &step, err, sizeof err), -1);
	assert_non_null(strstr(err, "write_seq"));
	assert_int_equal(checkpoint_read(path, r.sa, &l, err, sizeof err), -1);
	assert_non_null(strstr(err, "write_seq"));
	run_free(&r);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "%s/test_checkpoint.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return rm_tree(tmpdir);
}

int main(int argc, char **argv)
{
	(void)argc;
	char resolved[PATH_MAX];
	if (realpath(argv[0], resolved)) {
		char *slash = strrchr(resolved, '/');
		if (slash)
			*slash = '\0';
		snprintf(exe_dir, sizeof exe_dir, "%s", resolved);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(xxh64_known_values),
		cmocka_unit_test(unit_strings),
		cmocka_unit_test(file_round_trip_continues_bitwise),
		cmocka_unit_test(image_round_trip_continues_bitwise),
		cmocka_unit_test(oscillator_round_trip),
		cmocka_unit_test(openpmd_attributes),
		cmocka_unit_test(failed_write_keeps_the_old_file),
		cmocka_unit_test(sigkill_mid_write_leaves_a_complete_file),
		cmocka_unit_test(missing_empty_random_truncated_are_refused),
		cmocka_unit_test(foreign_and_incompatible_are_refused),
		cmocka_unit_test(malformed_contents_are_refused),
		cmocka_unit_test(corrupt_bytes_are_refused),
		cmocka_unit_test(write_seq_orders_a_directory),
		cmocka_unit_test(missing_write_seq_reads_0_malformed_is_refused),
	};
	if (getenv("TEST_FILTER")) /* e.g. TEST_FILTER='*refused*' */
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests_name("checkpoint", tests, setup, teardown);
}

