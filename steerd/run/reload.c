/* SPDX-License-Identifier: MIT */
/* reload.c — SIGHUP: client keys and reloadable settings (see reload.h). */
#include "reload.h"

#include "log.h"

volatile sig_atomic_t reload_signal;

static unsigned reload_settings(reload_ctx *rc)
{
	if (!rc->from_file) {
		log_info("reload: the config came from a checkpoint (no -c FILE): no setting to reload");
		return 0;
	}
	config *fresh = NULL;
	char err[1024];
	if (config_reload(rc->cfg, &fresh, err, sizeof err) < 0) {
		log_error("reload: %s; no setting changed", err);
		return 0;
	}
	unsigned changed = config_apply_reload(rc->cfg, fresh);
	config_destroy(&fresh);
	unsigned out = 0;
	if ((changed & CONFIG_RELOADED_LOG_LEVEL) && rc->log_level_fixed)
		log_warn("reload: the log level stays as --log-level set it");
	else if (changed & CONFIG_RELOADED_LOG_LEVEL)
		log_set_level(rc->cfg->log_level);
	if (changed & CONFIG_RELOADED_CHECKPOINT_TIMER)
		out |= RELOAD_CHECKPOINT_TIMER;
	return out;
}

unsigned reload_poll(reload_ctx *rc)
{
	if (!rc)
		return 0;
	unsigned out = 0;
	if (rc->sec && security_retry(rc->sec, rc->st))
		out |= RELOAD_KEYS;
	if (!reload_signal)
		return out;
	reload_signal = 0;
	log_info("SIGHUP: reloading %s", rc->from_file ? rc->cfg->path : "the client keys");
	if (rc->sec && security_sighup(rc->sec, rc->st))
		out |= RELOAD_KEYS;
	return out | reload_settings(rc);
}
