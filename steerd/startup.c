/* SPDX-License-Identifier: MIT */
/* startup.c — the config and the checkpoint a run starts from. */
#include "startup.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "checkpoint_dir.h"
#include "log.h"

static void warn_skipped(const char *message) { log_warn("skipping %s", message); }

/*
 * The checkpoints --restart names, to try in this order: the file given, or
 * every readable checkpoint in the directory given, newest first
 * (checkpoint_dir.h). *is_dir says which. 0, or -1 with err.
 */
static int restart_candidates(const char *arg, checkpoint_entry **list, size_t *n, bool *is_dir,
                              char *err, size_t errlen)
{
	struct stat st;
	*is_dir = stat(arg, &st) == 0 && S_ISDIR(st.st_mode);
	if (*is_dir)
		return checkpoint_dir_list(arg, warn_skipped, list, n, err, errlen);
	*n = 0;
	*list = calloc(1, sizeof **list);
	if (!*list || !((*list)[0].path = strdup(arg))) {
		free(*list);
		*list = NULL;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*n = 1;
	return 0;
}

/*
 * The config saved in the checkpoint at path. It may not load an external
 * adapter (a .so: code) on its own word, only with --trust-checkpoint-adapter.
 * 0, or an exit status with err.
 */
static int config_from_checkpoint(const startup_args *o, const char *path, config **cfg, char *err,
                                  size_t errlen)
{
	char *text = NULL;
	if (checkpoint_read_config(path, &text, err, errlen) < 0)
		return EX_DATAERR;
	char label[PATH_MAX + 32];
	snprintf(label, sizeof label, "%s:/steerd/config", path);
	adapter_refuse_external(!o->trust_adapter);
	/* Its relative paths are relative to the checkpoint's directory. */
	int rc = o->embedded ? config_parse_embedded(label, path, text, strlen(text), o->embedded,
	                                             cfg, err, errlen)
	                     : config_parse_beside(label, path, text, strlen(text), cfg, err, errlen);
	bool refused = adapter_external_refused();
	adapter_refuse_external(false);
	free(text);
	if (rc == 0)
		return 0;
	if (refused) {
		size_t used = strlen(err);
		snprintf(err + used, errlen - used,
		         "; an external adapter named by a checkpoint is loaded only with -c CONFIG "
		         "or --trust-checkpoint-adapter");
		return EX_NOPERM;
	}
	return EX_DATAERR; /* the checkpoint's own config is part of the checkpoint */
}

/*
 * Load the configuration (-c, else the one saved in the checkpoint) and, with
 * --restart, read the checkpoint to continue from into *l: the file given, or
 * the newest usable one in the directory given, damaged ones skipped with a
 * warning naming each. *chosen gets its path (malloc'd). 0, or an exit status
 * with err: 78 a bad -c config, 65 no usable checkpoint, 77 an external
 * adapter not trusted.
 */
int startup_load(const startup_args *o, config **cfg, checkpoint_loaded *l, char **chosen,
                 char *err, size_t errlen)
{
	*chosen = NULL;
	*cfg = NULL;
	memset(l, 0, sizeof *l);
	if (o->config && (o->embedded ? config_load_embedded(o->config, o->embedded, cfg, err, errlen)
	                              : config_load(o->config, cfg, err, errlen)) < 0)
		return EX_CONFIG;
	if (!o->config && o->config_text &&
	    (o->embedded ? config_parse_embedded("<config>", NULL, o->config_text,
	                                         strlen(o->config_text), o->embedded, cfg, err, errlen)
	                 : config_parse("<config>", o->config_text, strlen(o->config_text), cfg, err,
	                                errlen)) < 0)
		return EX_CONFIG;
	bool given = o->config || o->config_text;
	if (!o->restart && !given && o->embedded &&
	    config_parse_embedded("<defaults>", NULL, "", 0, o->embedded, cfg, err, errlen) < 0)
		return EX_CONFIG;
	if (!o->restart && !*cfg) {
		snprintf(err, errlen, "no configuration given (-c FILE or --restart CHECKPOINT)");
		return EX_USAGE;
	}
	if (!o->restart)
		return 0;
	checkpoint_entry *list = NULL;
	size_t n = 0;
	bool is_dir = false;
	if (restart_candidates(o->restart, &list, &n, &is_dir, err, errlen) < 0) {
		config_destroy(cfg);
		return EX_DATAERR;
	}
	int status = EX_DATAERR;
	for (size_t i = 0; i < n && status == EX_DATAERR; i++) {
		const char *path = list[i].path;
		if (!given && (status = config_from_checkpoint(o, path, cfg, err, errlen)) != 0) {
			if (status == EX_DATAERR && is_dir)
				warn_skipped(err);
			continue;
		}
		const sa_adapter *sa = (*cfg)->adapter->sa;
		int read = o->read == STARTUP_READ_CONFIG ? 0
		           : o->read == STARTUP_READ_META ? checkpoint_read_meta(path, sa, l, err, errlen)
		                                          : checkpoint_read_into(path, sa, o->into, l, err, errlen);
		/* Metadata only: the ranks read the rest together, and could then only
		 * refuse a damaged file, so a directory's candidate is verified here. */
		if (read == 0 && is_dir && o->read == STARTUP_READ_META &&
		    (read = checkpoint_verify(path, err, errlen)) < 0)
			checkpoint_loaded_free(sa, l);
		if (read == 0) {
			*chosen = list[i].path;
			list[i].path = NULL;
			status = 0;
			break;
		}
		status = EX_DATAERR;
		if (is_dir)
			warn_skipped(err);
		if (!given)
			config_destroy(cfg);
	}
	checkpoint_dir_free(&list, n);
	if (status == EX_DATAERR && is_dir)
		snprintf(err, errlen, "%s: no usable checkpoint in this directory (skipped ones are named above)",
		         o->restart);
	if (status != 0)
		config_destroy(cfg);
	return status;
}
