/* SPDX-License-Identifier: MIT */
/* log.h — leveled log lines to stderr: "2026-11-25T17:00:00.123Z steerd[pid] LEVEL message". */
#ifndef STEERD_LOG_H
#define STEERD_LOG_H

#include "config.h" /* log_level */

/* Lines above this level are dropped. Default LOG_INFO. Thread-safe. */
void log_set_level(log_level level);
log_level log_get_level(void);

void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The sa_host given to adapters' create(): their messages go to this log,
 * each prefixed with nothing (adapters name themselves). */
struct sa_host;
const struct sa_host *log_adapter_host(void);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
