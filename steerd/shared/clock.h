/* SPDX-License-Identifier: MIT */
/* clock.h — monotonic wall time for rates, timeouts and periods (never simulated time). */
#ifndef STEERD_CLOCK_H
#define STEERD_CLOCK_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC (a vDSO call: cheap enough for every step). */
static inline double clock_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
