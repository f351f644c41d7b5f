/* SPDX-License-Identifier: MIT */
/* service.c — sd_notify for Type=notify units and the watchdog thread (see service.h). */
#include "service.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"

struct service {
	const atomic_uint *liveness;
	uint64_t period_us; /* half of WatchdogSec, as sd_watchdog_enabled(3) advises */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping, thread_started;
};

static void *watchdog_main(void *arg)
{
	service *s = arg;
	unsigned last = atomic_load(s->liveness);
	bool warned = false;
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(s->period_us / 1000000);
		until.tv_nsec += (long)(s->period_us % 1000000) * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!s->stopping &&
		       pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
			;
		if (s->stopping)
			break;
		unsigned now = atomic_load(s->liveness);
		if (now != last) {
			sd_notify(0, "WATCHDOG=1");
			warned = false;
		} else if (!warned) {
			log_warn("watchdog: the control thread has not gone round its loop for %.1f s; "
			         "not pinging systemd", s->period_us / 1e6);
			warned = true;
		}
		last = now;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

service *service_start(const atomic_uint *liveness)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return NULL;
	service *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->liveness = liveness;
	s->period_us = usec / 2;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals must reach the simulation thread (its wait ends on EINTR), never this one. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&s->thread, NULL, watchdog_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warn("watchdog: cannot start its thread; systemd will not get pings");
		service_destroy(&s);
		return NULL;
	}
	s->thread_started = true;
	log_info("watchdog: pinging systemd every %.3g s while the control thread runs",
	         s->period_us / 1e6);
	return s;
}

void service_ready(service *s, const char *status)
{
	(void)s;
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void service_stopping(service *s)
{
	(void)s;
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void service_destroy(service **sp)
{
	service *s = *sp;
	if (!s)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
	*sp = NULL;
}
