/* SPDX-License-Identifier: MIT */
/*
 * nosave.c — a code that embeds steerd through the variable-binding builder
 * and declares no state: it steers and publishes, but checkpoint, rewind,
 * search and --restart must be refused with `unsupported`
 * (tests/integration/test_embed.py). Command line as steerd's.
 */
#include <stdio.h>

#include "steerd.h"

int main(int argc, char **argv)
{
	static double gain = 0.5, level = 0, time = 0;
	static int64_t step = 0;
	char err[512];
	steerd_options o = STEERD_OPTIONS_INIT;
	o.handle_signals = 1;
	if (steerd_options_from_args(&o, &argc, argv, err, sizeof err) < 0) {
		fprintf(stderr, "nosave: %s\n", err);
		return 64;
	}
	steerd_desc *d = steerd_desc_new("nosave", "1", "relaxes level towards gain, no save");
	if (!d || steerd_desc_knob_double(d, "gain", "", 0, 10, 1, "target level", &gain) < 0 ||
	    steerd_desc_scalar(d, "level", "", "the level", &level) < 0 ||
	    steerd_desc_clock(d, &step, &time) < 0) {
		fprintf(stderr, "nosave: %s\n", steerd_last_error());
		return 70;
	}
	steerd *s = steerd_open(steerd_desc_adapter(d), d, &o, err, sizeof err);
	if (!s) {
		fprintf(stderr, "nosave: %s\n", err);
		steerd_desc_destroy(&d);
		return 1;
	}
	while (steerd_boundary(s) == STEERD_GO) {
		level += 0.1 * (gain - level);
		step++;
		time += 1e-3;
	}
	int rc = steerd_close(&s);
	steerd_desc_destroy(&d);
	return rc == 0 ? 0 : 1;
}
