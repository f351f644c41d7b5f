/* SPDX-License-Identifier: MIT */
/* cmd-history.c — `history`: the run's past from the daemon's store, arrays as binary frames. */
#include "cmd.h"
#include "framepool.h"
#include "history.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const stat_names[] = { [HISTORY_MIN] = "min", [HISTORY_MEAN] = "mean",
	                                  [HISTORY_MAX] = "max" };

/* The unit of a knob or scalar diagnostic (history series are only those). */
static const char *unit_of(const sa_adapter *sa, const char *name)
{
	int k = adapter_knob_index(sa, name);
	if (k >= 0)
		return sa->knobs[k].unit ? sa->knobs[k].unit : "";
	int d = adapter_diag_index(sa, name);
	return d >= 0 && sa->diags[d].unit ? sa->diags[d].unit : "";
}

static int read_names(cmd_ctx *ctx, const json_t *names, history_request *rq)
{
	if (!json_is_array(names) || json_array_size(names) == 0 ||
	    json_array_size(names) > HISTORY_MAX_NAMES)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'names' must be an array of 1 to %d knob or scalar "
		                "diagnostic names", HISTORY_MAX_NAMES);
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n) {
		const char *name = json_string_value(n);
		if (!name)
			return cmd_fail(ctx, E_BAD_ARGUMENT, "'names' must hold strings");
		int s = history_series(ctx->history, name);
		if (s < 0) {
			if (adapter_diag_index(ctx->sa, name) >= 0)
				return cmd_fail(ctx, E_BAD_ARGUMENT, "%.64s is an array diagnostic: history keeps "
				                "knobs and scalars", name);
			char hint[96];
			return cmd_fail(ctx, E_UNKNOWN_NAME, "no knob or scalar diagnostic '%.64s'%s", name,
			                cmd_did_you_mean(ctx->sa, name, true, hint, sizeof hint));
		}
		rq->series[rq->n_series++] = (size_t)s;
	}
	return 0;
}

static int read_stats(cmd_ctx *ctx, const json_t *stats, history_request *rq)
{
	if (!stats) {
		rq->stats[rq->n_stats++] = HISTORY_MEAN;
		return 0;
	}
	if (!json_is_array(stats) || json_array_size(stats) == 0 || json_array_size(stats) > 3)
		goto bad;
	size_t i;
	json_t *s;
	json_array_foreach(stats, i, s) {
		const char *name = json_string_value(s);
		int which = -1;
		for (int k = 0; name && k < 3; k++)
			if (strcmp(name, stat_names[k]) == 0)
				which = k;
		for (size_t j = 0; which >= 0 && j < rq->n_stats; j++)
			if (rq->stats[j] == which)
				which = -1; /* a repeat */
		if (which < 0)
			goto bad;
		rq->stats[rq->n_stats++] = which;
	}
	return 0;
bad:
	return cmd_fail(ctx, E_BAD_ARGUMENT, "'stats' must be a list of distinct \"min\", \"mean\", \"max\"");
}

/* An optional non-negative integer argument. */
static int read_optional(cmd_ctx *ctx, const json_t *body, const char *key, uint64_t min,
                         uint64_t max, uint64_t *out)
{
	return json_object_get(body, key) ? cmd_get_count(ctx, body, key, min, max, out) : 0;
}

static json_t *frame_desc(const char *name, const char *unit, const char *dtype, size_t rows,
                          size_t cols)
{
	json_t *d = json_pack("{s:s, s:s, s:[I]}", "name", name, "dtype", dtype, "shape",
	                      (json_int_t)rows);
	if (d && unit) {
		json_object_set_new(d, "unit", json_string(unit));
		json_array_append_new(json_object_get(d, "shape"), json_integer((json_int_t)cols));
	}
	return d;
}

static void put_frame(cmd_ctx *ctx, void **data, size_t len)
{
	ctx->frames[ctx->n_frames++] = (wire_frame){ *data, len };
	*data = NULL; /* now the frame's */
}

static int history_exec(cmd_ctx *ctx, const json_t *body)
{
	if (!ctx->history)
		return cmd_fail(ctx, E_INTERNAL, "this daemon keeps no history");
	/* Its arrays become the reply's frames: pooled buffers, sent without a copy. */
	history_request rq = { .to_step = UINT64_MAX, .alloc = framepool_alloc,
	                       .release = framepool_free };
	uint64_t max_points = 1000;
	if (read_names(ctx, json_object_get(body, "names"), &rq) < 0 ||
	    read_stats(ctx, json_object_get(body, "stats"), &rq) < 0 ||
	    read_optional(ctx, body, "from_step", 0, INT64_MAX, &rq.from_step) < 0 ||
	    read_optional(ctx, body, "to_step", 0, INT64_MAX, &rq.to_step) < 0 ||
	    read_optional(ctx, body, "from_seq", 0, INT64_MAX, &rq.from_seq) < 0 ||
	    read_optional(ctx, body, "max_points", 1, HISTORY_MAX_POINTS, &max_points) < 0)
		return -1;
	if (rq.from_step > rq.to_step)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'from_step' is after 'to_step'");
	if (max_points * (3 + rq.n_series * rq.n_stats) > HISTORY_MAX_VALUES)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "max_points x (3 + names x stats) must be at most %u: "
		                "ask for fewer points, names or stats", HISTORY_MAX_VALUES);
	rq.max_points = max_points;
	history_reply hr;
	if (history_query(ctx->history, &rq, &hr) < 0)
		return cmd_fail(ctx, E_INTERNAL, "out of memory");
	json_t *names = json_array(), *stats = json_array(), *frames = json_array();
	size_t P = hr.points;
	json_array_append_new(frames, frame_desc("step", NULL, "<u8", P, 0));
	json_array_append_new(frames, frame_desc("seq", NULL, "<u8", P, 0));
	json_array_append_new(frames, frame_desc("count", NULL, "<u8", P, 0));
	for (size_t k = 0; k < rq.n_series; k++) {
		const char *name = json_string_value(json_array_get(json_object_get(body, "names"), k));
		json_array_append_new(names, json_string(name));
		json_array_append_new(frames, frame_desc(name, unit_of(ctx->sa, name), "<f8", P, rq.n_stats));
	}
	for (size_t j = 0; j < rq.n_stats; j++)
		json_array_append_new(stats, json_string(stat_names[rq.stats[j]]));
	ctx->result = json_pack("{s:I, s:I, s:I, s:o, s:o, s:o, s:O, s:O, s:O}", "step",
	                        (json_int_t)ctx->state->step, "next_seq", (json_int_t)hr.next_seq,
	                        "points", (json_int_t)P, "names", names, "stats", stats, "frames",
	                        frames, "stretches", hr.stretches, "markers", hr.markers, "levels",
	                        hr.levels);
	if (!ctx->result) {
		history_reply_free(&hr);
		return cmd_fail(ctx, E_INTERNAL, "out of memory");
	}
	/* The arrays go out as they are: little-endian hosts only (steerd builds for those). */
	put_frame(ctx, (void **)&hr.step, P * 8);
	put_frame(ctx, (void **)&hr.seq, P * 8);
	put_frame(ctx, (void **)&hr.count, P * 8);
	for (size_t k = 0; k < rq.n_series; k++)
		put_frame(ctx, (void **)&hr.values[k], P * rq.n_stats * sizeof(double));
	history_reply_free(&hr);
	return 0;
}

static const char *const cmd_history_args[] = { "names", "from_step", "to_step", "from_seq",
	                                        "max_points", "stats", NULL };

const cmd_entry cmd_history_entry = {
	.args = cmd_history_args,
	.name = "history",
	.usage = "{\"names\": [NAME, ...], \"from_step\": S0, \"to_step\": S1, \"from_seq\": Q, "
	         "\"max_points\": N, \"stats\": [\"min\", \"mean\", \"max\"]}",
	.summary = "the run's past: knobs and scalars per step (min/mean/max buckets when older), "
	           "steering markers; arrays as binary frames",
	.exec = history_exec,
};
