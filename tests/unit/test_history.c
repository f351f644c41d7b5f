/* SPDX-License-Identifier: MIT */
/*
 * test_history.c — the daemon's history store: the memory bound measured
 * (history.max_bytes), buckets of min/mean/max without gaps, stretches and
 * markers, a writer that never waits for a reader, and the round trip
 * through a checkpoint (HDF5) into a store of other capacities.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hdf5.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framepool.h"
#include "history.h"
#include "history_h5.h"
#include "history_internal.h"

#define S 30 /* series, about pic1d's knobs and scalars */

static const char *const *names30(void)
{
	static char buf[S][24];
	static const char *names[S];
	for (int i = 0; i < S; i++) {
		snprintf(buf[i], sizeof buf[i], "series_%d", i);
		names[i] = buf[i];
	}
	return names;
}

static void sample(double *v, uint64_t step)
{
	for (int i = 0; i < S; i++)
		v[i] = i == 0 ? (double)step : i == 1 ? NAN : (double)i;
}

/* Heap in use, mmap'd blocks included (glibc; 0 under a sanitizer's allocator). */
static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static void memory_stays_within_max_bytes(void **state)
{
	(void)state;
	const size_t max = 4u << 20;
	history_limits lim = { .max_bytes = max, .levels = 4, .bucket_samples = 16 };
	size_t before = heap_bytes();
	history *h = history_new(&lim, S, names30());
	assert_non_null(h);
	double v[S];
	char entry[300];
	size_t filled = 0;
	for (uint64_t i = 1; i <= 1000000; i++) {
		uint64_t step = i % 5000 == 0 ? i / 2 : i; /* jumps back now and then */
		if (i % 5000 == 0)
			history_jump(h, "rewind");
		sample(v, step);
		history_record(h, step, v);
		if (i % 10 == 0) {
			snprintf(entry, sizeof entry, "{\"step\":%llu,\"client\":\"c\",\"knob\":\"k\","
			         "\"old\":1.0,\"new\":2.0,\"pad\":\"%0200d\"}", (unsigned long long)step, 0);
			history_marker(h, step, entry);
		}
		if (i == 500000)
			filled = heap_bytes();
	}
	size_t after = heap_bytes();
	assert_true(history_bytes(h) <= max);
	if (before || after) { /* glibc's allocator: measured */
		fprintf(stderr, "# history: %zu bytes in use for max_bytes %zu\n", after - before, max);
		assert_true(after - before <= max);
		assert_true(after <= filled + 4096); /* no growth once full */
	}
	history_destroy(&h);
	assert_null(h);
}

static void query_all(history *h, history_reply *r, size_t max_points)
{
	history_request rq = { .n_series = 2, .series = { 0, 2 }, .to_step = UINT64_MAX,
	                       .max_points = max_points, .n_stats = 3,
	                       .stats = { HISTORY_MIN, HISTORY_MEAN, HISTORY_MAX } };
	assert_int_equal(history_query(h, &rq, r), 0);
}

static void buckets_cover_without_gaps(void **state)
{
	(void)state;
	history_limits lim = { .max_bytes = 1u << 20, .levels = 3, .bucket_samples = 8 };
	history *h = history_new(&lim, S, names30());
	double v[S];
	for (uint64_t s = 1; s <= 200000; s++) {
		sample(v, s);
		history_record(h, s, v);
	}
	history_reply r;
	query_all(h, &r, HISTORY_MAX_POINTS);
	assert_true(r.points > 10);
	assert_true(r.count[0] > 8);                 /* the oldest from level 2 */
	assert_int_equal(r.count[r.points - 1], 1);  /* the newest at full resolution */
	assert_int_equal(r.seq[r.points - 1], 200000);
	for (size_t i = 0; i < r.points; i++) {
		double *row = r.values[0] + 3 * i;
		uint64_t first = r.step[i] - r.count[i] + 1;
		assert_true(row[0] == (double)first && row[2] == (double)r.step[i]);
		assert_true(fabs(row[1] - (first + r.step[i]) / 2.0) < 1e-6);
		if (i)
			assert_int_equal(r.seq[i] - r.count[i], r.seq[i - 1]);
		assert_true(r.values[1][3 * i + 1] == 2.0);
	}
	history_reply_free(&r);
	/* a NaN-only series stays NaN; max_points bounds the reply */
	history_request rq = { .n_series = 1, .series = { 1 }, .to_step = UINT64_MAX,
	                       .max_points = 7, .n_stats = 1, .stats = { HISTORY_MEAN } };
	assert_int_equal(history_query(h, &rq, &r), 0);
	assert_true(r.points <= 7 && r.points > 0);
	assert_true(isnan(r.values[0][0]));
	history_reply_free(&r);
	history_destroy(&h);
}

static void writer_never_waits_for_a_reader(void **state)
{
	(void)state;
	history_limits lim = { .max_bytes = 1u << 20, .levels = 2, .bucket_samples = 4 };
	history *h = history_new(&lim, S, names30());
	double v[S];
	pthread_mutex_lock(&h->lock); /* a reader assembling a reply */
	for (uint64_t s = 1; s <= 100; s++) {
		sample(v, s);
		history_record(h, s, v); /* returns: kept aside */
	}
	assert_int_equal(atomic_load(&h->pend_w) - atomic_load(&h->pend_r), 100); /* all staged */
	pthread_mutex_unlock(&h->lock);
	sample(v, 101);
	history_record(h, 101, v);
	history_reply r;
	query_all(h, &r, 1000);
	assert_int_equal(r.points, 101);
	for (size_t i = 0; i < r.points; i++)
		assert_int_equal(r.step[i], i + 1);
	history_reply_free(&r);
	history_destroy(&h);
}

/* Samples are added in batches; a query still sees every one taken before it. */
static void a_query_sees_every_staged_sample(void **state)
{
	(void)state;
	history_limits lim = { .max_bytes = 1u << 20, .levels = 2, .bucket_samples = 4 };
	history *h = history_new(&lim, S, names30());
	double v[S];
	for (uint64_t s = 1; s <= 3; s++) { /* fewer than a batch */
		sample(v, s);
		history_record(h, s, v);
	}
	history_reply r;
	query_all(h, &r, 1000);
	assert_int_equal(r.points, 3);
	assert_int_equal(r.step[2], 3);
	history_reply_free(&r);
	history_destroy(&h);
}

static void checkpoint_round_trip(void **state)
{
	(void)state;
	history_limits lim = { .max_bytes = 1u << 20, .levels = 3, .bucket_samples = 8 };
	history *h = history_new(&lim, S, names30());
	double v[S + 1] = { 0 }; /* room for the store with one series more */
	for (uint64_t s = 1; s <= 30000; s++) {
		if (s == 20000)
			history_jump(h, "rewind");
		sample(v, s < 20000 ? s : s - 5000);
		history_record(h, s < 20000 ? s : s - 5000, v);
		if (s % 1000 == 0)
			history_marker(h, s, "{\"step\":1,\"client\":\"x\",\"rewind\":\"a\",\"to_step\":0}");
	}
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	H5Pset_fapl_core(fapl, 1 << 20, 0);
	hid_t f = H5Fcreate("history-test.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
	hid_t g = H5Gcreate2(f, "steerd", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	assert_int_equal(history_h5_save(h, g), 0);
	history *saved = NULL;
	char why[256] = "";
	assert_int_equal(history_h5_load(g, &saved, why, sizeof why), 0);
	assert_non_null(saved);
	/* into a store of other capacities and one series more (a newer steerd) */
	const char *more[S + 1];
	memcpy(more, names30(), sizeof(const char *) * S);
	more[S] = "series_new";
	history_limits bigger = { .max_bytes = 2u << 20, .levels = 3, .bucket_samples = 8 };
	history *r2 = history_new(&bigger, S + 1, more);
	history_adopt(r2, &saved);
	assert_null(saved);
	history_reply a, b;
	query_all(h, &a, HISTORY_MAX_POINTS);
	query_all(r2, &b, HISTORY_MAX_POINTS);
	assert_int_equal(a.points, b.points);
	assert_memory_equal(a.seq, b.seq, a.points * 8);
	assert_memory_equal(a.count, b.count, a.points * 8);
	assert_memory_equal(a.values[0], b.values[0], a.points * 3 * sizeof(double));
	assert_true(json_equal(a.markers, b.markers));
	assert_true(json_equal(a.stretches, b.stretches));
	history_reply_free(&a);
	history_reply_free(&b);
	/* the next sample starts a stretch that began with the restart, seq going on */
	sample(v, 25001);
	history_record(r2, 25001, v);
	history_request rq = { .n_series = 1, .series = { S }, .to_step = UINT64_MAX, .from_seq = 30001,
	                       .max_points = 10, .n_stats = 1, .stats = { HISTORY_MEAN } };
	assert_int_equal(history_query(r2, &rq, &b), 0);
	assert_int_equal(b.points, 1);
	assert_int_equal(b.seq[0], 30001);
	json_t *last = json_array_get(b.stretches, json_array_size(b.stretches) - 1);
	assert_string_equal(json_string_value(json_object_get(last, "began")), "restart");
	history_reply_free(&b);
	/* no history group: none, not an error (checkpoints of steerd 0.1) */
	hid_t g2 = H5Gcreate2(f, "other", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	assert_int_equal(history_h5_load(g2, &saved, why, sizeof why), 0);
	assert_null(saved);
	H5Gclose(g2);
	H5Gclose(g);
	H5Fclose(f);
	H5Pclose(fapl);
	history_destroy(&h);
	history_destroy(&r2);
}

/* Counts the reply's allocations, to see they go through the request's allocator. */
static int pool_out;
static void *counted_alloc(size_t bytes)
{
	pool_out++;
	return framepool_alloc(bytes);
}
static void counted_release(void *p)
{
	if (p)
		pool_out--;
	framepool_free(p);
}

/*
 * Full resolution (points of one sample each, put without merging) gives
 * what merging gives: min and max the sample, the mean the sample when
 * finite, NaN when not; and the reply comes from the pool and goes back.
 */
static void full_resolution_points_are_the_samples(void **state)
{
	(void)state;
	history_limits lim = { .max_bytes = 1u << 20, .levels = 2, .bucket_samples = 8 };
	history *h = history_new(&lim, S, names30());
	double v[S];
	for (uint64_t s = 1; s <= 1000; s++) {
		sample(v, s);
		if (s == 500)
			v[2] = INFINITY;
		history_record(h, s, v);
	}
	history_request rq = { .n_series = 2, .series = { 2, 1 }, .to_step = UINT64_MAX,
	                       .max_points = 100000, .n_stats = 3,
	                       .stats = { HISTORY_MAX, HISTORY_MEAN, HISTORY_MIN },
	                       .alloc = counted_alloc, .release = counted_release };
	history_reply r;
	assert_int_equal(history_query(h, &rq, &r), 0);
	assert_int_equal(pool_out, 5);
	assert_int_equal(r.points, 1000);
	for (size_t i = 0; i < r.points; i++) {
		assert_int_equal(r.step[i], i + 1);
		assert_int_equal(r.seq[i], i + 1);
		assert_int_equal(r.count[i], 1);
		const double *a = r.values[0] + 3 * i, *b = r.values[1] + 3 * i;
		if (i + 1 == 500)
			assert_true(a[0] == INFINITY && isnan(a[1]) && a[2] == INFINITY);
		else
			assert_true(a[0] == 2.0 && a[1] == 2.0 && a[2] == 2.0);
		assert_true(isnan(b[0]) && isnan(b[1]) && isnan(b[2]));
	}
	history_reply_free(&r);
	assert_int_equal(pool_out, 0);
	/* a big buffer given back is the next one taken; a small one is not kept */
	void *big = framepool_alloc(FRAMEPOOL_MIN_BYTES + 100);
	framepool_free(big);
	assert_ptr_equal(framepool_alloc(FRAMEPOOL_MIN_BYTES), big);
	framepool_free(big);
	framepool_drain();
	history_destroy(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memory_stays_within_max_bytes),
		cmocka_unit_test(buckets_cover_without_gaps),
		cmocka_unit_test(full_resolution_points_are_the_samples),
		cmocka_unit_test(writer_never_waits_for_a_reader),
		cmocka_unit_test(a_query_sees_every_staged_sample),
		cmocka_unit_test(checkpoint_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
