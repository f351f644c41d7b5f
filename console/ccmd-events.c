/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ccmd-events.c — `events [on | off | NAME...]`: which stream events the
 * console prints at the prompt. Only what is printed changes: the console
 * still receives every event (it keeps its state and `wait` from them).
 */
#include <ctype.h>
#include <string.h>

#include "ccmd.h"

/* An event name as the daemon spells them: lower case, digits, '_'. */
static bool event_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static void show_filter(const console *c)
{
	if (c->events_muted) {
		printf("events off (none printed)\n");
	} else if (!c->events_shown) {
		printf("events on (all printed)\n");
	} else {
		printf("events: only");
		const char *name;
		json_t *v;
		json_object_foreach(c->events_shown, name, v)
			printf(" %s", name);
		printf("\n");
	}
	fflush(stdout);
}

static int events_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	if (argc == 2 && (!strcmp(argv[1], "on") || !strcmp(argv[1], "off"))) {
		c->events_muted = !strcmp(argv[1], "off");
		json_decref(c->events_shown);
		c->events_shown = NULL;
	} else if (argc > 1) {
		json_t *names = json_object();
		for (int i = 1; i < argc; i++) {
			if (!event_name_ok(argv[i])) {
				json_decref(names);
				return con_error(c, "'%s' is not an event name (e.g. indicator, knob_changed)",
				                 argv[i]);
			}
			json_object_set_new(names, argv[i], json_true());
		}
		json_decref(c->events_shown);
		c->events_shown = names;
		c->events_muted = false;
	}
	if (!c->json)
		show_filter(c);
	return 0;
}

const ccmd_entry ccmd_events_entry = {
	.name = "events",
	.usage = "[on | off | NAME...]",
	.summary = "print all stream events (on), none (off), or only those named (e.g. indicator)",
	.exec = events_exec,
};
