/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-pause.c — `pause` and `resume`: stop and restart stepping at a boundary. */
#include "ccmd.h"

/* Both send the command named by self and show the state the reply gives. */
static int state_change(console *c, int argc, const ccmd_entry *self)
{
	if (argc != 1)
		return ccmd_usage(c, self);
	json_t *r;
	if (ccmd_request(c, self->name, NULL, &r) < 0)
		return -1;
	const char *st = json_string_value(json_object_get(r, "state"));
	if (st)
		snprintf(c->state, sizeof c->state, "%s", st);
	if (!c->json) {
		printf("%s at step %lld\n", st ? st : "?", json_integer_value(json_object_get(r, "step")));
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

static int pause_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv, (void)rest;
	return state_change(c, argc, &ccmd_pause_entry);
}

static int resume_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv, (void)rest;
	return state_change(c, argc, &ccmd_resume_entry);
}

const ccmd_entry ccmd_pause_entry = {
	.name = "pause",
	.daemon = "pause",
	.usage = "",
	.summary = "stop stepping at the next boundary (reads and changes still work)",
	.exec = pause_exec,
};

const ccmd_entry ccmd_resume_entry = {
	.name = "resume",
	.daemon = "resume",
	.usage = "",
	.summary = "start stepping again",
	.exec = resume_exec,
};
