/* SPDX-License-Identifier: MIT */
/* ramp.c — linear knob ramps. */
#include "ramp.h"

#include <math.h>

uint64_t ramp_steps_for_rate(double from, double to, double rate)
{
	double n = ceil(fabs(to - from) / rate);
	if (!(n >= 1.0))
		return 1;
	if (n > (double)RAMP_MAX_STEPS)
		n = (double)RAMP_MAX_STEPS;
	return (uint64_t)n;
}

double ramp_progress(const ramp *r, uint64_t step)
{
	if (step <= r->start_step)
		return 0.0;
	uint64_t k = step - r->start_step;
	return k >= r->steps ? 1.0 : (double)k / (double)r->steps;
}

bool ramp_done_at(const ramp *r, uint64_t step)
{
	return step >= r->start_step && step - r->start_step >= r->steps;
}

sa_value ramp_value_at(const ramp *r, const sa_knob *knob, uint64_t step)
{
	/* The end value is the target itself, not from + (to - from) * 1, which may round. */
	double x = ramp_done_at(r, step) ? r->to
	                                 : r->from + (r->to - r->from) * ramp_progress(r, step);
	sa_value v;
	if (knob->type == SA_DOUBLE)
		v.d = x;
	else
		v.i = (int64_t)llround(x);
	return v;
}

json_t *ramp_to_json(const ramp *r, const sa_knob *knob, uint64_t step)
{
	return json_pack("{s:I, s:s, s:f, s:f, s:I, s:I, s:f, s:s}", "id", (json_int_t)r->id, "knob",
	                 knob->name, "from", r->from, "to", r->to, "start_step",
	                 (json_int_t)r->start_step, "end_step", (json_int_t)(r->start_step + r->steps),
	                 "progress", ramp_progress(r, step), "client", r->client);
}
