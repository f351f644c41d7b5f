/* SPDX-License-Identifier: MIT */
/* log.c — leveled log lines to stderr, one write(2) per line so threads never interleave. */
#include "log.h"
#include "steerd_adapter.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int current_level = LOG_INFO;

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

void log_set_level(log_level level) { atomic_store(&current_level, (int)level); }

log_level log_get_level(void) { return (log_level)atomic_load(&current_level); }

/*
 * Is stderr the journal? systemd sets JOURNAL_STREAM to its device:inode
 * (systemd.exec(5)); then each line starts with its syslog priority
 * ("<3>" ...), which journald strips and keeps, and the time and pid are left
 * to journald. Decided once: stderr does not change under a running daemon.
 */
static bool stderr_is_journal(void)
{
	static atomic_int cached = -1;
	int v = atomic_load(&cached);
	if (v < 0) {
		const char *js = getenv("JOURNAL_STREAM");
		unsigned long long dev, ino;
		struct stat st;
		v = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
		    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
		atomic_store(&cached, v);
	}
	return v;
}

void log_msg(log_level level, const char *fmt, ...)
{
	if ((int)level > atomic_load(&current_level))
		return;
	/* syslog(3) priorities of ERROR, WARN, INFO, DEBUG: err, warning, info, debug. */
	static const int priority[] = { 3, 4, 6, 7 };
	char line[1024];
	int n;
	if (stderr_is_journal()) {
		n = snprintf(line, sizeof line, "<%d>%s ", priority[level], level_names[level]);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ steerd[%d] %s ",
		             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		             tm.tm_sec, ts.tv_nsec / 1000000, (int)getpid(), level_names[level]);
	}
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w; /* nowhere to report a failed log write */
}

static void adapter_log(void *ctx, sa_log_level level, const char *message)
{
	(void)ctx;
	static const log_level to_ours[] = { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
	unsigned l = (unsigned)level;
	log_msg(l < 4 ? to_ours[l] : LOG_INFO, "%s", message ? message : "(null)");
}

const sa_host *log_adapter_host(void)
{
	static const sa_host host = { sizeof host, NULL, adapter_log, NULL };
	return &host;
}
