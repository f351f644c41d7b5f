/* SPDX-License-Identifier: MIT */
/* cmd-hello.c — `hello`: protocol version, adapter, knob and diagnostic schema, commands,
 * the limits and cadences a client must respect, and the run's identity. */
#include "cmd.h"
#include "identity.h"
#include "own_scalars.h"
#include "value_json.h"
#include "version.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * Additions to protocol 1 since its first release, one name each (PROTOCOL.md,
 * "Versioning"): a client checks for a name instead of comparing versions.
 */
static const char *const capabilities[] = {
	"hello_limits",   /* hello: max_message_bytes, stream, checkpoint_directory */
	"run_identity",   /* hello: run_id, start_id, restart_step */
	"command_args",   /* hello: commands[].args */
	"topic_sequences", /* stream: prev_seq, topic_seq per event name, every message numbered */
	"checkpoint_write_seq", /* checkpoint reply and checkpoint_written: write_seq, absolute path */
	"search_direction", /* search: direction, hold per probe, search_warning, knob_changed.search */
	"drop_state",     /* drop-state, state_dropped, limit_reached for a 9th kept state */
	"queued_steps",   /* status: stepping; cancel {"steps": true}; event steps_cancelled */
	"indicator_dwell", /* indicator: since_step; hello: stream.indicator_dwell_steps */
	"ramp_duration",  /* ramp: "duration" in simulated seconds */
	"embedded",       /* hello: saves_state; error unsupported (a code embedding libsteerd) */
	"search_settle",  /* search: settled and confirm per probe and in search_probe */
	"history",        /* the history command, its binary frames; steerd_boundary_fraction */
	"mpi_ranks",      /* hello: ranks (an MPI run, steerd-mpi or libsteerd-mpi) */
	NULL,
};

/* The checkpoint directory as an absolute path (it may not exist yet). */
static json_t *checkpoint_directory(const config *cfg)
{
	const char *dir = cfg->checkpoint_dir ? cfg->checkpoint_dir : ".";
	char real[PATH_MAX], cwd[PATH_MAX], joined[2 * PATH_MAX + 2];
	if (realpath(dir, real))
		return json_string(real);
	if (dir[0] == '/' || !getcwd(cwd, sizeof cwd))
		return json_string(dir);
	snprintf(joined, sizeof joined, "%s/%s", cwd, dir);
	return json_string(joined);
}

static json_t *stream_json(const config *cfg, const sa_adapter *sa)
{
	json_t *arrays = json_object();
	for (size_t d = 0; d < sa->n_diags; d++)
		if (sa->diags[d].rank == 1)
			json_object_set_new(arrays, sa->diags[d].name, json_integer(cfg->every[d]));
	return json_pack("{s:I, s:I, s:I, s:o, s:I}", "heartbeat_ms", (json_int_t)cfg->heartbeat_ms,
	                 "send_hwm", (json_int_t)cfg->send_hwm, "scalars_every",
	                 (json_int_t)cfg->scalars_every, "arrays_every", arrays,
	                 "indicator_dwell_steps", (json_int_t)cfg->indicator_dwell_steps);
}

static int hello_exec(cmd_ctx *ctx, const json_t *body)
{
	(void)body;
	const mirror_state *st = ctx->state;

	const sa_adapter *sa = ctx->sa;
	json_t *knobs = json_array(), *diags = json_array(), *caps = json_array();
	for (size_t k = 0; k < sa->n_knobs; k++) {
		json_t *o = knob_schema_json(&sa->knobs[k]);
		json_object_set_new(o, "value", value_to_json(&sa->knobs[k], st->knobs[k]));
		json_array_append_new(knobs, o);
	}
	for (size_t d = 0; d < sa->n_diags; d++)
		json_array_append_new(diags, diag_schema_json(&sa->diags[d]));
	for (size_t i = 0; i < OWN_N_SCALARS; i++)
		json_array_append_new(diags, diag_schema_json(&own_scalars[i]));
	for (size_t i = 0; capabilities[i]; i++)
		json_array_append_new(caps, json_string(capabilities[i]));
	run_identity id = identity_get();
	ctx->result = json_pack(
	    "{s:i, s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:I, s:o, s:o, s:o*, s:o,"
	    " s:I, s:o*, s:o*, s:s, s:s, s:o}",
	    "protocol", WIRE_PROTOCOL, "server", "steerd", "version", STEERD_VERSION, "adapter",
	    "name", sa->name, "version", sa->version, "description", sa->description,
	    "diagnostics_endpoint", ctx->stream_endpoint, "state", run_state_name(st->state), "step",
	    (json_int_t)st->step, "knobs", knobs, "diagnostics", diags, "commands", cmd_table_json(),
	    "capabilities", caps, "max_message_bytes", (json_int_t)ctx->cfg->max_message_bytes,
	    "stream", stream_json(ctx->cfg, sa), "checkpoint_directory",
	    checkpoint_directory(ctx->cfg), "run_id", id.run_id, "start_id", id.start_id,
	    "restart_step", id.restarted ? json_integer((json_int_t)id.restart_step) : json_null());
	if (ctx->result)
		json_object_set_new(ctx->result, "saves_state", json_boolean(sa->save != NULL));
	if (ctx->result)
		json_object_set_new(ctx->result, "ranks",
		                    json_integer(ctx->cfg->mpi_ranks ? ctx->cfg->mpi_ranks : 1));
	return ctx->result ? 0 : cmd_fail(ctx, E_INTERNAL, "out of memory");
}

const cmd_entry cmd_hello_entry = {
	.name = "hello",
	.usage = "{}",
	.summary = "protocol version, adapter, schema, commands, limits, cadences and the run's identity",
	.exec = hello_exec,
};
