/* SPDX-License-Identifier: MIT */
/*
 * cpu_pin.h — give the simulation thread a CPU of its own (run.simulation_cpu).
 *
 * steerd's other threads (control, publisher, libzmq's I/O threads, ZAP) wake
 * up for every request and every batch of messages. On a machine with few
 * cores the scheduler sometimes runs them on the simulation's core, which
 * then waits. Pinning keeps them, and every thread they start, off it.
 */
#ifndef STEERD_CPU_PIN_H
#define STEERD_CPU_PIN_H

#include <stddef.h>

/*
 * Before any other thread exists: the calling thread (and so every thread
 * created after this) may run on every allowed CPU but `cpu`. -1 with a
 * message when cpu is not one this process may use, or is the only one.
 */
int cpu_pin_others_away(int cpu, char *err, size_t errlen);

/* The calling thread (the simulation thread) runs on `cpu` only. 0, or -1 with a message. */
int cpu_pin_self(int cpu, char *err, size_t errlen);

#endif
