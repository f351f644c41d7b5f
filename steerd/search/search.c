/* SPDX-License-Identifier: MIT */
/*
 * run_search.c — find where a condition on the run starts to hold as a knob
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
 */
#include "run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "value_json.h"

typedef enum { PROBE_FIRST, PROBE_SECOND, BISECT } search_phase;
typedef enum { IN_BASE, IN_GOOD, IN_PROBE } search_where;

struct run_search {
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
};

static double cond_current(const run *r, const search_args *a)
{
	if (a->cond_is_knob)
		return adapter_value_as_double(&r->sa->knobs[a->cond_index], r->pub.knobs[a->cond_index]);
	return r->pub.scalars[a->cond_index];
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
	free(s->base_image);
	free(s->good_image);
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
	run_search *s = r->search;
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
		         "there; give hold or hold_time", r->sa->knobs[s->a.knob].name, s->value);
		return -1;
	}
	return run_seconds_to_steps(SEARCH_HOLD_TRANSITS * transit, per_step, SEARCH_MAX_HOLD,
	                            "the default hold (50 transit times)", &s->hold, err, errlen);
}

/* Journal and announce the knob of the search moving from old (a probe, a restore). */
static void journal_knob(run *r, const char *what, sa_value old, json_t *extra)
{
	run_search *s = r->search;
	const sa_knob *kn = &r->sa->knobs[s->a.knob];
	sa_value now = r->pub.knobs[s->a.knob];
	json_t *entry = json_pack("{s:I, s:s, s:s, s:o, s:o, s:s}", "step", (json_int_t)r->pub.step,
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
	run_search *s = r->search;
	uint64_t from = r->pub.step;
	sa_value old = r->pub.knobs[s->a.knob];
	if (run_restore_image(r, image, len, err, errlen) < 0)
		return -1;
	journal_knob(r, "restore", old,
	             json_pack("{s:I, s:I}", "from_step", (json_int_t)from, "to_step",
	                       (json_int_t)r->pub.step));
	return 0;
}

/* End the search: its request gets the result or the error (answered by the caller). */
static change *conclude(run *r, const char *code, const char *message, bool converged)
{
	run_search *s = r->search;
	const sa_knob *kn = &r->sa->knobs[s->a.knob];
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
		run_journal_add(r, json_pack("{s:I, s:s, s:s, s:s, s:s}", "step", (json_int_t)r->pub.step,
		                             "client", client_of(s), "search", "finished", "knob",
		                             kn->name, "error", message));
		run_event(r, "search_finished", json_pack("{s:s, s:s, s:I, s:I}", "knob", kn->name, "error",
		                                         message, "steps", (json_int_t)s->total_steps,
		                                         "probes", (json_int_t)json_array_size(s->probes)));
	} else {
		ch->result = json_pack("{s:s, s:f, s:[o,o], s:b, s:I, s:I, s:s, s:s, s:O}", "knob",
		                       kn->name, "result", s->good, "bracket", json_real(s->good),
		                       maybe(s->have_bad, s->bad), "converged", converged, "steps",
		                       (json_int_t)s->total_steps, "step", (json_int_t)r->pub.step,
		                       "until", s->a.cond_text, "direction", dir, "probes", s->probes);
		run_journal_add(r, json_pack("{s:I, s:s, s:s, s:s, s:f, s:b}", "step",
		                             (json_int_t)r->pub.step, "client", client_of(s), "search",
		                             "finished", "knob", kn->name, "result", s->good, "converged",
		                             converged));
		run_event(r, "search_finished", json_pack("{s:s, s:f, s:O, s:b, s:I, s:I, s:s}", "knob",
		                                         kn->name, "result", s->good, "bracket",
		                                         json_object_get(ch->result, "bracket"), "converged",
		                                         converged, "steps", (json_int_t)s->total_steps,
		                                         "probes", (json_int_t)json_array_size(s->probes),
		                                         "direction", dir));
		r->watch = (search_watch){ .on = true, .cond = s->a,
		                           .value = adapter_value_as_double(kn, r->pub.knobs[s->a.knob]) };
		snprintf(r->watch.client, sizeof r->watch.client, "%s", client_of(s));
		log_info("search %s of %s done: %g (bracket [%g, %g]), %llu steps", dir, kn->name, s->good,
		         s->good, s->have_bad ? s->bad : NAN, (unsigned long long)s->total_steps);
	}
	search_free(&r->search);
	r->pub.seq = stream_seq(r->stream);
	mirror_put(r->mirror, &r->pub);
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
	run_search *s = r->search;
	const sa_knob *kn = &r->sa->knobs[s->a.knob];
	sa_value val;
	if (kn->type == SA_DOUBLE)
		val.d = v;
	else
		val.i = (int64_t)llround(v);
	if (r->sa->set(r->sim, s->a.knob, val, err, errlen) < 0)
		return -1;
	r->pub.knobs[s->a.knob] = r->sa->get(r->sim, s->a.knob);
	return 0;
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
	run_search *s = r->search;
	if (s->where != IN_BASE && restore(r, s->base_image, s->base_len, err, errlen) < 0)
		return -1;
	const sa_knob *kn = &r->sa->knobs[s->a.knob];
	sa_value old = r->pub.knobs[s->a.knob];
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
	journal_knob(r, "probe", old,
	             json_pack("{s:I, s:f, s:I}", "hold", (json_int_t)s->hold, "to", v, "ramp_steps",
	                       (json_int_t)s->ramp_steps));
	return 0;
}

static void record_probe(run *r, bool bad)
{
	run_search *s = r->search;
	json_array_append_new(s->probes, json_pack("{s:f, s:b, s:I, s:I}", "value", s->value, "bad", bad,
	                                           "steps", (json_int_t)s->probe_steps, "hold",
	                                           (json_int_t)s->hold));
	run_event(r, "search_probe",
	          json_pack("{s:s, s:f, s:b, s:I, s:I, s:o, s:o, s:I, s:I}", "knob",
	                    r->sa->knobs[s->a.knob].name, "value", s->value, "bad", bad, "steps",
	                    (json_int_t)s->probe_steps, "hold", (json_int_t)s->hold, "good",
	                    maybe(s->have_good, s->good), "bad_value", maybe(s->have_bad, s->bad),
	                    "total_steps", (json_int_t)s->total_steps, "probes",
	                    (json_int_t)json_array_size(s->probes)));
}

/* After a probe ended: decide the next one, or finish. */
static void next_probe(run *r)
{
	run_search *s = r->search;
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
		if (s->phase == PROBE_SECOND && !down && !s->have_bad) {
			finish(r, NULL, NULL, true); /* never met in the range: the result is 'to' */
			return;
		}
		if (s->phase == PROBE_SECOND && down && !s->have_good) {
			finish(r, E_REFUSED, "the condition still holds at 'from'", false);
			return;
		}
		s->phase = BISECT;
		if (s->bad - s->good <= s->a.tol * fabs(s->bad)) {
			finish(r, NULL, NULL, true);
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
	free(*image);
	*image = im;
	*len = n;
	return 0;
}

void run_search_boundary(run *r)
{
	run_search *s = r->search;
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
	} else if (s->probe_steps >= s->ramp_steps + s->hold) {
		/* Unchanged for the whole hold: the new base. */
		if (keep_state(r, &s->base_image, &s->base_len) < 0)
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

void run_search_start(run *r, change *ch)
{
	const search_args *a = ch->args;
	if (run_busy(r, ch))
		return;
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
	r->watch.on = false;
	run_search *s = calloc(1, sizeof *s);
	if (!s || !(s->probes = json_array())) {
		free(s);
		change_fail(ch, E_INTERNAL, "out of memory");
		return;
	}
	s->a = *a;
	char err[512];
	r->search = s;
	s->ch = ch;
	s->where = IN_BASE;
	const sa_knob *kn = &r->sa->knobs[a->knob];
	double first = a->down ? a->to : a->from;
	if (run_image(r, &s->base_image, &s->base_len, err, sizeof err) < 0 ||
	    probe_hold(r, err, sizeof err) < 0) {
		s->ch = NULL;
		search_free(&r->search);
		change_fail(ch, E_BAD_ARGUMENT, "%s", err);
		return;
	}
	const char *dir = a->down ? "down" : "up";
	run_journal_add(r, json_pack("{s:I, s:s, s:s, s:s, s:f, s:f, s:s, s:s, s:f}", "step",
	                             (json_int_t)r->pub.step, "client", ch->req.client, "search",
	                             "started", "knob", kn->name, "from", a->from, "to", a->to,
	                             "until", a->cond_text, "direction", dir, "tol", a->tol));
	log_info("search %s of %s in [%g, %g] until %s by %s (hold %llu steps%s, tol %g)", dir,
	         kn->name, a->from, a->to, a->cond_text, ch->req.client, (unsigned long long)s->hold,
	         a->hold || a->hold_time > 0 ? "" : " here: 50 transit times at each probe's value",
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

void run_search_watch(run *r)
{
	search_watch *w = &r->watch;
	if (!w->on)
		return;
	const sa_knob *kn = &r->sa->knobs[w->cond.knob];
	if (adapter_value_as_double(kn, r->pub.knobs[w->cond.knob]) != w->value) {
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

int run_search_abort(run *r, const char *code, const char *message)
{
	if (!r->search)
		return 0;
	finish(r, code, message, false);
	return 1;
}

const char *run_search_client(const run *r)
{
	return r->search ? r->search->ch->req.client : NULL;
}

bool run_busy(run *r, change *ch)
{
	if (!r->search)
		return false;
	change_fail(ch, E_BAD_STATE, "a search of %s is under way (cancel {\"search\": true} stops it)",
	            r->sa->knobs[r->search->a.knob].name);
	return true;
}
