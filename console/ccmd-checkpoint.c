/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-checkpoint.c — `checkpoint [NAME]`: write an HDF5 checkpoint at the next boundary. */
#include "ccmd.h"

static int checkpoint_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	json_t *r;
	if (ccmd_named_request(c, &ccmd_checkpoint_entry, false, argc, argv, &r) < 0)
		return -1;
	if (!c->json) {
		printf("checkpoint %s written at step %lld (%lld bytes, write_seq %lld)\n",
		       schema_str(r, "path"), json_integer_value(json_object_get(r, "step")),
		       json_integer_value(json_object_get(r, "bytes")),
		       json_integer_value(json_object_get(r, "write_seq")));
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_checkpoint_entry = {
	.name = "checkpoint",
	.daemon = "checkpoint",
	.usage = "[NAME]   (a file name in the checkpoint directory, e.g. before.h5; default "
	         "ckpt_SEQ_stepSTEP.h5)",
	.summary = "write a checkpoint into the checkpoint directory",
	.exec = checkpoint_exec,
};
