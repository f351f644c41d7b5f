/* SPDX-License-Identifier: MIT */
/* cpu_pin.c — simulation thread on a CPU of its own (see cpu_pin.h). */
#include "cpu_pin.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

int cpu_pin_others_away(int cpu, char *err, size_t errlen)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) != 0) {
		snprintf(err, errlen, "run.simulation_cpu: cannot read the CPU affinity: %s",
		         strerror(errno));
		return -1;
	}
	if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &set)) {
		snprintf(err, errlen, "run.simulation_cpu: CPU %d is not one steerd may run on (%d allowed)",
		         cpu, CPU_COUNT(&set));
		return -1;
	}
	if (CPU_COUNT(&set) < 2) {
		snprintf(err, errlen, "run.simulation_cpu: CPU %d is the only CPU steerd may run on; "
		         "its other threads need another", cpu);
		return -1;
	}
	CPU_CLR(cpu, &set);
	int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	if (rc != 0) {
		snprintf(err, errlen, "run.simulation_cpu: %s", strerror(rc));
		return -1;
	}
	return 0;
}

int cpu_pin_self(int cpu, char *err, size_t errlen)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	if (rc != 0) {
		snprintf(err, errlen, "run.simulation_cpu: cannot pin to CPU %d: %s", cpu, strerror(rc));
		return -1;
	}
	return 0;
}
