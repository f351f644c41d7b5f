/* SPDX-License-Identifier: MIT */
/*
 * search.c — find where a condition on the run starts to hold as a knob
 * moves, run by the simulation thread at step granularity. See PROTOCOL.md,
 * `search`.
 *
 * Direction up (the default): the largest knob value for which the condition
 * stays false (e.g. the injected current below the space-charge limit). Each
 * probe starts from the last state known to be good, never from the state a
 * failed probe left: a virtual cathode, once formed, persists well below the
 * limit, so walking the knob back down would misread it.
 *
 * Direction down, the other side of that hysteresis: from a state where the
 * condition holds, the largest value at which it stops holding (a formed
 * virtual cathode clears). Each probe starts from the last state where it
 * still held.
 *
 * In both, the "base" state a probe starts from is the one where the run
 * stayed as it was for a whole hold; a probe that changes it ends at once.
 * Probes judge the raw condition at every step (not the debounced indicator
 * events). Every probe is journaled like a `set`, and announced with
 * knob_changed, so a checkpoint written during a search is explained by its
 * journal.
 *
 * Up with the default hold, a good probe may end before its hold once the
 * run has settled (every scalar diagnostic stationary from one transit time
 * to the next): far below the limit that takes a few transit times, while
 * close to it the run keeps drifting (it relaxes ever more slowly as the
 * limit nears, and above it drifts towards the virtual cathode), so the
 * test does not pass there and the probe holds on. Such a "settled" good is
 * provisional: the states of the provisional goods are kept, and before the
 * search says converged the top good is confirmed by holding it on, from its
 * kept state, to the whole hold. If the condition comes true meanwhile, that
 * value is bad after all, and the search goes on from the good below it. So
 * the result always held the whole hold, as without the shortcut.
 */
#include "search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "run.h"
#include "value_json.h"

typedef enum { PROBE_FIRST, PROBE_SECOND, BISECT } search_phase;
typedef enum { IN_BASE, IN_GOOD, IN_PROBE } search_where;

/* The settling test (see the top): relative change of every scalar's mean
 * from one window (a transit time) to the next, after at least this many
 * windows of the probe (the first is the transient of the change). */
#define SETTLE_REL 1e-3
#define SETTLE_MIN_WINDOWS 3

/* An earlier base, kept while the bases above it are provisional. */
typedef struct kept_base {
	void *image;
	size_t len;
	double value;  /* its good value */
	bool is_good;  /* false: the state the search started from */
	uint64_t held; /* steps held at value */
	bool settled;  /* provisional: ended settled before its hold */
} kept_base;

typedef struct run_search {
	change *ch;            /* the request, answered at the end */
	search_args a;
	search_phase phase;
	double good, bad;      /* bracket: largest value where the condition is false, smallest where true */
	bool have_good, have_bad;
	void *base_image;      /* the state probes start from (up: last good; down: last bad) */
	size_t base_len;
	void *good_image;      /* down: the state of the last probe that cleared, to end in */
	size_t good_len;
	search_where where;    /* the run's state now */
	double value;          /* the probe under way */
	uint64_t hold;         /* its hold, steps */
	double ramp_from;      /* down: the probe ramps the knob from here to value over */
	uint64_t ramp_steps;   /* these first steps (0: set at once), then holds */
	uint64_t probe_steps, total_steps;
	json_t *probes;
	/* Up with the default hold: settled goods and their confirmation. */
	bool settle;           /* a good probe may end settled */
	uint64_t window;       /* the settling window of the probe under way, steps (0: none) */
	uint64_t windows;      /* windows completed in it */
	double *win_sum, *win_prev; /* per scalar: this window's sum, the last window's mean */
	bool *watched;         /* per scalar: in the test (not step or time) */
	size_t n_scalars;
	bool ended_settled;    /* the probe just ended settled */
	bool confirming;       /* the probe under way holds the base on to the whole hold */
	uint64_t base_held;    /* steps the base's value was held */
	bool base_settled;     /* the base is a provisional (settled) good */
	kept_base *below;      /* earlier bases, bottom first, while base_settled */
	size_t n_below;
} run_search;

/* A search left at its result: warn once if its condition turns true there. */
typedef struct search_watch {
	bool on;
	double value;     /* the knob's value at the result; steering it ends the watch */
	search_args cond; /* the knob and the condition */
	char client[64];
} search_watch;

/* The driver's state (run.h): the search under way, and the last one's result, watched. */
typedef struct search_driver {
	run_search *search;  /* or NULL */
	search_watch watch;
} search_driver;

static const run_driver driver;

/* This run's search state; the driver is registered by search_start. */
static search_driver *D(const run *r) { return run_driver_ctx(r, &driver); }

static double cond_current(const run *r, const search_args *a)
{
	if (a->cond_is_knob)
		return adapter_value_as_double(&run_adapter(r)->knobs[a->cond_index], run_knob(r, a->cond_index));
	size_t n;
	return run_scalars(r, &n)[a->cond_index];
}

static bool cond_true(const run *r, const search_args *a)
{
	double v = cond_current(r, a), x = a->cond_value;
	switch (a->cond_op) {
	case SEARCH_NONZERO: return v != 0.0 && !isnan(v);
	case SEARCH_EQ: return v == x;
	case SEARCH_NE: return v != x;
	case SEARCH_LT: return v < x;
	case SEARCH_LE: return v <= x;
	case SEARCH_GT: return v > x;
	case SEARCH_GE: return v >= x;
	}
	return false;
}

static json_t *maybe(bool have, double v) { return have ? json_real(v) : json_null(); }

static const char *client_of(const run_search *s) { return s->ch->req.client; }

static void search_free(run_search **sp)
{
	run_search *s = *sp;
	run_image_free(s->base_image);
	run_image_free(s->good_image);
	for (size_t i = 0; i < s->n_below; i++)
		run_image_free(s->below[i].image);
	free(s->below);
	free(s->win_sum);
	free(s->win_prev);
	free(s->watched);
	json_decref(s->probes);
	free(s);
	*sp = NULL;
}

/*
 * The hold of a probe just set up: as given, or by default
 * SEARCH_HOLD_TRANSITS transit times of the adapter at this knob value
 * (close to the limit a virtual cathode takes tens of transit times to form).
 */
static int probe_hold(run *r, char *err, size_t errlen)
{
	run_search *s = D(r)->search;
	if (s->a.hold) {
		s->hold = s->a.hold;
		return 0;
	}
	double per_step = run_seconds_per_step(r);
	if (s->a.hold_time > 0)
		return run_seconds_to_steps(s->a.hold_time, per_step, SEARCH_MAX_HOLD, "hold_time",
		                            &s->hold, err, errlen);
	double transit = run_scalar_now(r, "transit_time");
	if (!(transit > 0) || !(per_step > 0)) {
		snprintf(err, errlen, "no default hold at %s = %g: the adapter states no transit_time "
		         "there; give hold or hold_time", run_adapter(r)->knobs[s->a.knob].name, s->value);
		return -1;
	}
	return run_seconds_to_steps(SEARCH_HOLD_TRANSITS * transit, per_step, SEARCH_MAX_HOLD,
	                            "the default hold (50 transit times)", &s->hold, err, errlen);
}

/* Journal and announce the knob of the search moving from old (a probe, a restore). */
static void journal_knob(run *r, const char *what, sa_value old, json_t *extra)
{
	run_search *s = D(r)->search;
	const sa_knob *kn = &run_adapter(r)->knobs[s->a.knob];
	sa_value now = run_knob(r, s->a.knob);
	json_t *entry = json_pack("{s:I, s:s, s:s, s:o, s:o, s:s}", "step", (json_int_t)run_step(r),
	                          "client", client_of(s), "knob", kn->name, "old",
	                          value_to_json(kn, old), "new", value_to_json(kn, now), "search", what);
	if (extra)
		json_object_update(entry, extra);
	json_t *ev = json_pack("{s:s, s:o, s:o, s:s, s:s}", "knob", kn->name, "old",
	                       value_to_json(kn, old), "new", value_to_json(kn, now), "client",
	                       client_of(s), "search", what);
	if (extra)
		json_object_update(ev, extra);
	json_decref(extra);
	run_journal_add(r, entry);
	run_event(r, "knob_changed", ev);
}

/* Go back to a kept state (journaled as a restore). */
static int restore(run *r, const void *image, size_t len, char *err, size_t errlen)
{
	run_search *s = D(r)->search;
	uint64_t from = run_step(r);
	sa_value old = run_knob(r, s->a.knob);
	if (run_restore_image(r, image, len, err, errlen) < 0)
		return -1;
	journal_knob(r, "restore", old,
	             json_pack("{s:I, s:I}", "from_step", (json_int_t)from, "to_step",
	                       (json_int_t)run_step(r)));
	return 0;
}

/* End the search: its request gets the result or the error (answered by the caller). */
static change *conclude(run *r, const char *code, const char *message, bool converged)
{
	run_search *s = D(r)->search;
	const sa_knob *kn = &run_adapter(r)->knobs[s->a.knob];
	change *ch = s->ch;
	char err[512];
	/* End in the state at the result: up the base (last good), down the
	 * last state that cleared; on error, where the search started from. */
	if (s->a.down && s->good_image && !code) {
		if (s->where != IN_GOOD && restore(r, s->good_image, s->good_len, err, sizeof err) < 0)
			log_error("search: cannot return to the state at the result: %s", err);
	} else if (s->where != IN_BASE && restore(r, s->base_image, s->base_len, err, sizeof err) < 0) {
		log_error("search: cannot return to the last good state: %s", err);
	}
	const char *dir = s->a.down ? "down" : "up";
	if (code) {
		change_fail(ch, code, "%s", message);
		run_journal_add(r, json_pack("{s:I, s:s, s:s, s:s, s:s}", "step", (json_int_t)run_step(r),
		                             "client", client_of(s), "search", "finished", "knob",
		                             kn->name, "error", message));
		run_event(r, "search_finished", json_pack("{s:s, s:s, s:I, s:I}", "knob", kn->name, "error",
		                                         message, "steps", (json_int_t)s->total_steps,
		                                         "probes", (json_int_t)json_array_size(s->probes)));
	} else {
		ch->result = json_pack("{s:s, s:f, s:[o,o], s:b, s:I, s:I, s:s, s:s, s:O}", "knob",
		                       kn->name, "result", s->good, "bracket", json_real(s->good),
		                       maybe(s->have_bad, s->bad), "converged", converged, "steps",
		                       (json_int_t)s->total_steps, "step", (json_int_t)run_step(r),
		                       "until", s->a.cond_text, "direction", dir, "probes", s->probes);
		run_journal_add(r, json_pack("{s:I, s:s, s:s, s:s, s:f, s:b}", "step",
		                             (json_int_t)run_step(r), "client", client_of(s), "search",
		                             "finished", "knob", kn->name, "result", s->good, "converged",
		                             converged));
		run_event(r, "search_finished", json_pack("{s:s, s:f, s:O, s:b, s:I, s:I, s:s}", "knob",
		                                         kn->name, "result", s->good, "bracket",
		                                         json_object_get(ch->result, "bracket"), "converged",
		                                         converged, "steps", (json_int_t)s->total_steps,
		                                         "probes", (json_int_t)json_array_size(s->probes),
		                                         "direction", dir));
		D(r)->watch = (search_watch){ .on = true, .cond = s->a,
		                           .value = adapter_value_as_double(kn, run_knob(r, s->a.knob)) };
		snprintf(D(r)->watch.client, sizeof D(r)->watch.client, "%s", client_of(s));
		log_info("search %s of %s done: %g (bracket [%g, %g]), %llu steps", dir, kn->name, s->good,
		         s->good, s->have_bad ? s->bad : NAN, (unsigned long long)s->total_steps);
	}
	search_free(&D(r)->search);
	run_publish_state(r);
	return ch;
}

/* End the search and answer its deferred request. */
static void finish(run *r, const char *code, const char *message, bool converged)
{
	run_answer(r, conclude(r, code, message, converged));
}

/* Set the knob of the search to v through the adapter. */
static int set_value(run *r, double v, char *err, size_t errlen)
{
	run_search *s = D(r)->search;
	const sa_knob *kn = &run_adapter(r)->knobs[s->a.knob];
	sa_value val;
	if (kn->type == SA_DOUBLE)
		val.d = v;
	else
		val.i = (int64_t)llround(v);
	return run_set_knob_quiet(r, s->a.knob, val, err, errlen);
}

/*
 * Set the knob to v for a new probe, from the base state. -1 when the
 * adapter refuses, -2 when the hold at v is out of range. Down, the knob is
 * ramped there over one hold first: a formed virtual cathode oscillates, and
 * whether a sudden drop clears it depends on the phase of the oscillation
 * (measured on the grounded gap: from similar states, 0.69 to 0.82 of the
 * limit), while a gradual one follows the state down as a slow descent does.
 */
static int start_probe(run *r, double v, char *err, size_t errlen)
{
	run_search *s = D(r)->search;
	if (s->where != IN_BASE && restore(r, s->base_image, s->base_len, err, errlen) < 0)
		return -1;
	const sa_knob *kn = &run_adapter(r)->knobs[s->a.knob];
	sa_value old = run_knob(r, s->a.knob);
	s->ramp_from = adapter_value_as_double(kn, old);
	if (set_value(r, v, err, errlen) < 0) /* checks v and gives the hold at v */
		return -1;
	s->where = IN_PROBE;
	s->value = v;
	s->probe_steps = 0;
	if (probe_hold(r, err, errlen) < 0)
		return -2;
	s->ramp_steps = s->a.down && s->ramp_from > v ? s->hold : 0;
	if (s->ramp_steps && set_value(r, s->ramp_from, err, errlen) < 0)
		return -1;
	s->confirming = false;
	s->ended_settled = false;
	s->windows = 0;
	s->window = 0;
	if (s->settle) {
		memset(s->win_sum, 0, s->n_scalars * sizeof *s->win_sum);
		double transit = run_scalar_now(r, "transit_time"), per_step = run_seconds_per_step(r);
		double w = ceil(transit / per_step - 1e-9);
		if (w >= 1 && w <= (double)s->hold)
			s->window = (uint64_t)w;
	}
	journal_knob(r, "probe", old,
	             json_pack("{s:I, s:f, s:I}", "hold", (json_int_t)s->hold, "to", v, "ramp_steps",
	                       (json_int_t)s->ramp_steps));
	return 0;
}

static void record_probe(run *r, bool bad)
{
	run_search *s = D(r)->search;
	bool settled = s->ended_settled && !bad;
	json_array_append_new(s->probes, json_pack("{s:f, s:b, s:I, s:I, s:b, s:b}", "value", s->value,
	                                           "bad", bad, "steps", (json_int_t)s->probe_steps,
	                                           "hold", (json_int_t)s->hold, "settled", settled,
	                                           "confirm", s->confirming));
	run_event(r, "search_probe",
	          json_pack("{s:s, s:f, s:b, s:I, s:I, s:o, s:o, s:I, s:I, s:b, s:b}", "knob",
	                    run_adapter(r)->knobs[s->a.knob].name, "value", s->value, "bad", bad, "steps",
	                    (json_int_t)s->probe_steps, "hold", (json_int_t)s->hold, "good",
	                    maybe(s->have_good, s->good), "bad_value", maybe(s->have_bad, s->bad),
	                    "total_steps", (json_int_t)s->total_steps, "probes",
	                    (json_int_t)json_array_size(s->probes), "settled", settled, "confirm",
	                    s->confirming));
}

static void start_confirm(run *r);

/*
 * The bracket is closed (or the condition never held up to 'to'): done,
 * unless the result is a provisional (settled) good, which is held on to
 * the whole hold first.
 */
static void converge(run *r)
{
	run_search *s = D(r)->search;
	if (!s->base_settled)
		finish(r, NULL, NULL, true);
	else if (s->total_steps >= s->a.max_steps)
		finish(r, NULL, NULL, false);
	else
		start_confirm(r);
}

/* After a probe ended: decide the next one, or finish. */
static void next_probe(run *r)
{
	run_search *s = D(r)->search;
	char err[512];
	double next;
	bool down = s->a.down;
	if (s->phase == PROBE_FIRST) {
		/* up: 'from' must stay good; down: the condition must persist at 'to'. */
		if (!down && !s->have_good) {
			finish(r, E_REFUSED, "the condition is met already at 'from'", false);
			return;
		}
		if (down && s->have_good) {
			finish(r, NULL, NULL, true); /* it clears even at 'to': the result is 'to' */
			return;
		}
		s->phase = PROBE_SECOND;
		next = down ? s->a.from : s->a.to;
	} else {
		if (!down && !s->have_good) { /* 'from' failed its confirmation */
			finish(r, E_REFUSED, "the condition is met at 'from' (it came true while 'from' "
			       "was held on to the whole hold)", false);
			return;
		}
		if (s->phase == PROBE_SECOND && !down && !s->have_bad) {
			converge(r); /* never met in the range: the result is 'to' */
			return;
		}
		if (s->phase == PROBE_SECOND && down && !s->have_good) {
			finish(r, E_REFUSED, "the condition still holds at 'from'", false);
			return;
		}
		s->phase = BISECT;
		if (s->bad - s->good <= s->a.tol * fabs(s->bad)) {
			converge(r);
			return;
		}
		next = 0.5 * (s->good + s->bad);
	}
	if (s->total_steps >= s->a.max_steps) {
		finish(r, NULL, NULL, false);
		return;
	}
	int rc = start_probe(r, next, err, sizeof err);
	if (rc < 0)
		finish(r, rc == -2 ? E_BAD_ARGUMENT : E_REFUSED, err, false);
}

/* Keep the state now as *image (replacing it). */
static int keep_state(run *r, void **image, size_t *len)
{
	char err[512];
	void *im = NULL;
	size_t n = 0;
	if (run_image(r, &im, &n, err, sizeof err) < 0) {
		finish(r, E_REFUSED, err, false);
		return -1;
	}
	run_image_free(*image);
	*image = im;
	*len = n;
	return 0;
}

/*
 * The settling test at a step of a probe that has not changed the state
 * (see the top): true when every watched scalar's mean over the window that
 * just ended is within SETTLE_REL of its mean over the window before.
 */
static bool settled(run *r)
{
	run_search *s = D(r)->search;
	if (!s->window || s->confirming)
		return false;
	size_t n;
	const double *now = run_scalars(r, &n);
	for (size_t i = 0; i < s->n_scalars; i++)
		if (s->watched[i])
			s->win_sum[i] += now[i];
	if (s->probe_steps % s->window != 0)
		return false;
	bool steady = s->windows > 0;
	for (size_t i = 0; i < s->n_scalars; i++) {
		if (!s->watched[i])
			continue;
		double m = s->win_sum[i] / (double)s->window, p = s->win_prev[i];
		if (!(fabs(m - p) <= SETTLE_REL * fmax(fabs(m), fabs(p)))) /* NaN: not steady */
			steady = false;
		s->win_prev[i] = m;
		s->win_sum[i] = 0;
	}
	s->windows++;
	return steady && s->windows >= SETTLE_MIN_WINDOWS;
}

/* Drop the earlier bases: the base is a good that held the whole hold. */
static void drop_below(run_search *s)
{
	for (size_t i = 0; i < s->n_below; i++)
		run_image_free(s->below[i].image);
	s->n_below = 0;
}

/* A good probe ended (settled or not): the state now becomes the base; a
 * settled one keeps the base it replaces, for a failed confirmation. */
static int new_good_base(run *r)
{
	run_search *s = D(r)->search;
	if (s->ended_settled) {
		kept_base *b = realloc(s->below, (s->n_below + 1) * sizeof *b);
		if (!b) {
			finish(r, E_INTERNAL, "out of memory", false);
			return -1;
		}
		s->below = b;
		b[s->n_below++] = (kept_base){ .image = s->base_image, .len = s->base_len,
		                               .value = s->good, .is_good = s->have_good,
		                               .held = s->base_held, .settled = s->base_settled };
		s->base_image = NULL;
		s->base_len = 0;
	} else {
		drop_below(s);
	}
	if (keep_state(r, &s->base_image, &s->base_len) < 0)
		return -1;
	s->base_held = s->probe_steps;
	s->base_settled = s->ended_settled;
	return 0;
}

/* The base's value failed its confirmation: back to the base below it
 * (restored by the next probe). */
static void pop_base(run_search *s)
{
	kept_base *k = &s->below[--s->n_below];
	run_image_free(s->base_image);
	s->base_image = k->image;
	s->base_len = k->len;
	s->good = k->value;
	s->have_good = k->is_good;
	s->base_held = k->held;
	s->base_settled = k->settled;
	s->where = IN_PROBE;
}

/* Hold the base's value on, from the base, until it has held the whole hold. */
static void start_confirm(run *r)
{
	run_search *s = D(r)->search;
	char err[512];
	if (s->where != IN_BASE && restore(r, s->base_image, s->base_len, err, sizeof err) < 0) {
		finish(r, E_REFUSED, err, false);
		return;
	}
	s->where = IN_PROBE;
	s->value = s->good;
	s->probe_steps = 0;
	s->ramp_steps = 0;
	s->window = 0;
	s->ended_settled = false;
	s->confirming = true;
	if (probe_hold(r, err, sizeof err) < 0)
		finish(r, E_BAD_ARGUMENT, err, false);
}

/* A step of the confirmation of the base's value. */
static void confirm_boundary(run *r, bool held)
{
	run_search *s = D(r)->search;
	if (held) { /* bad after all: the search goes on from the good below */
		s->bad = s->value;
		s->have_bad = true;
		pop_base(s);
	} else if (s->base_held + s->probe_steps >= s->hold) {
		if (keep_state(r, &s->base_image, &s->base_len) < 0)
			return;
		s->where = IN_BASE;
		s->base_held += s->probe_steps;
		s->base_settled = false;
		drop_below(s);
	} else {
		if (s->total_steps >= s->a.max_steps)
			finish(r, NULL, NULL, false);
		return; /* the confirmation goes on */
	}
	record_probe(r, held);
	s->confirming = false;
	next_probe(r);
}

static void search_boundary(run *r)
{
	run_search *s = D(r)->search;
	s->probe_steps++;
	s->total_steps++;
	bool held = cond_true(r, &s->a);
	if (s->probe_steps <= s->ramp_steps) {
		char err[512];
		double f = (double)s->probe_steps / (double)s->ramp_steps;
		if (set_value(r, s->ramp_from + f * (s->value - s->ramp_from), err, sizeof err) < 0) {
			finish(r, E_REFUSED, err, false);
			return;
		}
	}
	if (s->confirming) {
		confirm_boundary(r, held);
		return;
	}
	bool changed = held != s->a.down; /* left the state the probe started from */
	if (changed) {
		/* up: the condition came true (bad); down: it cleared (good). */
		if (held) {
			s->bad = s->value;
			s->have_bad = true;
		} else {
			/* Cleared during the ramp: the knob goes on to the probe's
			 * value (lower still, so it stays cleared) before the state
			 * is kept, so the search can end in it at its result. */
			char err[512];
			if (s->probe_steps < s->ramp_steps && set_value(r, s->value, err, sizeof err) < 0) {
				finish(r, E_REFUSED, err, false);
				return;
			}
			if (keep_state(r, &s->good_image, &s->good_len) < 0)
				return;
			s->good = s->value;
			s->have_good = true;
			s->where = IN_GOOD;
		}
	} else if ((s->ended_settled = settled(r) && s->probe_steps < s->hold) ||
	           s->probe_steps >= s->ramp_steps + s->hold) {
		/* Unchanged for the whole hold (or settled): the new base. */
		if (held ? keep_state(r, &s->base_image, &s->base_len) < 0 : new_good_base(r) < 0)
			return;
		if (held) {
			s->bad = s->value;
			s->have_bad = true;
		} else {
			s->good = s->value;
			s->have_good = true;
		}
		s->where = IN_BASE;
	} else {
		if (s->total_steps >= s->a.max_steps)
			finish(r, NULL, NULL, false);
		return; /* the probe goes on */
	}
	record_probe(r, held);
	next_probe(r);
}

void search_start(run *r, change *ch)
{
	const search_args *a = ch->args;
	if (run_busy(r, ch))
		return;
	if (!D(r)) {
		search_driver *d = calloc(1, sizeof *d);
		if (!d) {
			change_fail(ch, E_INTERNAL, "out of memory");
			return;
		}
		run_set_driver(r, &driver, d);
	}
	bool now = cond_true(r, a);
	if (now && !a->down) {
		change_fail(ch, E_REFUSED, "the condition '%s' holds already now; start from a clean state "
		            "(or search with direction down)", a->cond_text);
		return;
	}
	if (!now && a->down) {
		change_fail(ch, E_REFUSED, "direction down starts where the condition '%s' holds, and it "
		            "does not now", a->cond_text);
		return;
	}
	double per_step = run_seconds_per_step(r);
	if (!a->hold && !(per_step > 0)) {
		change_fail(ch, E_BAD_ARGUMENT, "hold_time needs the time per step: the adapter states no "
		            "dt; run a step first, or give hold");
		return;
	}
	if (!a->hold && !(a->hold_time > 0) && !(run_scalar_now(r, "transit_time") > 0)) {
		change_fail(ch, E_BAD_ARGUMENT, "no default hold: the adapter states no transit_time "
		            "here; give hold or hold_time");
		return;
	}
	D(r)->watch.on = false;
	run_search *s = calloc(1, sizeof *s);
	if (!s || !(s->probes = json_array())) {
		free(s);
		change_fail(ch, E_INTERNAL, "out of memory");
		return;
	}
	s->a = *a;
	char err[512];
	D(r)->search = s;
	s->ch = ch;
	s->where = IN_BASE;
	/* The settling shortcut: up, with the default hold. It watches every
	 * scalar diagnostic but the clock (step, time). */
	s->settle = !a->down && !a->hold && !(a->hold_time > 0);
	run_scalars(r, &s->n_scalars);
	if (s->settle) {
		s->win_sum = calloc(s->n_scalars + 1, sizeof *s->win_sum);
		s->win_prev = calloc(s->n_scalars + 1, sizeof *s->win_prev);
		s->watched = calloc(s->n_scalars + 1, sizeof *s->watched);
		if (!s->win_sum || !s->win_prev || !s->watched) {
			s->ch = NULL;
			search_free(&D(r)->search);
			change_fail(ch, E_INTERNAL, "out of memory");
			return;
		}
		for (size_t i = 0; i < s->n_scalars; i++) {
			/* the clock moves, and steerd's own scalars measure steerd, not the run */
			const char *name = run_scalar_name(r, i);
			s->watched[i] = strcmp(name, "step") != 0 && strcmp(name, "time") != 0 &&
			                strncmp(name, "steerd_", 7) != 0;
		}
	}
	const sa_knob *kn = &run_adapter(r)->knobs[a->knob];
	double first = a->down ? a->to : a->from;
	if (run_image(r, &s->base_image, &s->base_len, err, sizeof err) < 0 ||
	    probe_hold(r, err, sizeof err) < 0) {
		s->ch = NULL;
		search_free(&D(r)->search);
		change_fail(ch, E_BAD_ARGUMENT, "%s", err);
		return;
	}
	const char *dir = a->down ? "down" : "up";
	run_journal_add(r, json_pack("{s:I, s:s, s:s, s:s, s:f, s:f, s:s, s:s, s:f}", "step",
	                             (json_int_t)run_step(r), "client", ch->req.client, "search",
	                             "started", "knob", kn->name, "from", a->from, "to", a->to,
	                             "until", a->cond_text, "direction", dir, "tol", a->tol));
	log_info("search %s of %s in [%g, %g] until %s by %s (hold %llu steps%s, tol %g)", dir,
	         kn->name, a->from, a->to, a->cond_text, ch->req.client, (unsigned long long)s->hold,
	         a->hold || a->hold_time > 0 ? "" : " here: 50 transit times at each probe's value, "
	         "a settled good confirmed to it",
	         a->tol);
	run_event(r, "search_started", json_pack("{s:s, s:f, s:f, s:s, s:I, s:f, s:s, s:s}", "knob",
	                                         kn->name, "from", a->from, "to", a->to, "until",
	                                         a->cond_text, "hold", (json_int_t)s->hold, "tol",
	                                         a->tol, "client", ch->req.client, "direction", dir));
	int rc = start_probe(r, first, err, sizeof err);
	if (rc < 0) {
		/* Nothing was stepped: back where it began; serve_changes answers. */
		conclude(r, rc == -2 ? E_BAD_ARGUMENT : E_REFUSED, err, false);
		return;
	}
	ch->deferred = true;
}

static void watch_boundary(run *r)
{
	search_watch *w = &D(r)->watch;
	if (!w->on)
		return;
	const sa_knob *kn = &run_adapter(r)->knobs[w->cond.knob];
	if (adapter_value_as_double(kn, run_knob(r, w->cond.knob)) != w->value) {
		w->on = false; /* steered since: no longer the search's result */
		return;
	}
	if (!cond_true(r, &w->cond))
		return;
	w->on = false;
	log_warn("the condition '%s' of the search of %s holds now at its result %g: the search's "
	         "answer does not describe this run any more", w->cond.cond_text, kn->name, w->value);
	run_event(r, "search_warning",
	          json_pack("{s:s, s:f, s:s, s:s, s:s}", "knob", kn->name, "result", w->value, "until",
	                    w->cond.cond_text, "client", w->client, "message",
	                    "the condition holds now at the search's result"));
}

/* --- the driver (run.h) --- */

static void driver_boundary(run *r, void *ctx)
{
	if (((search_driver *)ctx)->search)
		search_boundary(r);
	else
		watch_boundary(r);
}

static int driver_abort(run *r, void *ctx, const char *code, const char *message)
{
	if (!((search_driver *)ctx)->search)
		return 0;
	finish(r, code, message, false);
	return 1;
}

static const char *driver_client(const void *ctx)
{
	const run_search *s = ((const search_driver *)ctx)->search;
	return s ? client_of(s) : NULL;
}

static void driver_describe(const run *r, const void *ctx, char *buf, size_t len)
{
	const run_search *s = ((const search_driver *)ctx)->search;
	snprintf(buf, len, "a search of %s", s ? run_adapter(r)->knobs[s->a.knob].name : "?");
}

static void driver_destroy(void *ctx)
{
	search_driver *d = ctx;
	if (d->search)
		search_free(&d->search);
	free(d);
}

static const run_driver driver = {
	.boundary = driver_boundary, .abort = driver_abort, .client = driver_client,
	.describe = driver_describe, .destroy = driver_destroy,
};
