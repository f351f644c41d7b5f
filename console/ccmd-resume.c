/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-resume.c — `resume`: start stepping again. */
#include "ccmd.h"

static int resume_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv, (void)rest;
	if (argc != 1)
		return ccmd_usage(c, &ccmd_resume_entry);
	json_t *r;
	if (ccmd_request(c, "resume", NULL, &r) < 0)
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

const ccmd_entry ccmd_resume_entry = {
	.name = "resume",
	.usage = "",
	.summary = "start stepping again",
	.exec = resume_exec,
};
