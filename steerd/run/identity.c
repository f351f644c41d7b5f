/* SPDX-License-Identifier: MIT */
/* identity.c — the run id and start id shown by `hello` (see identity.h). */
#include "identity.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static run_identity current;

/* 128 random bits as 32 hex digits. getrandom() does not fail for 16 bytes
 * once the kernel pool is ready; if it ever does, time and pid still make
 * the id differ between starts. */
static void new_id(char out[IDENTITY_ID_LEN + 1])
{
	unsigned char b[16] = { 0 };
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		memcpy(b, &x, sizeof x);
		pid_t pid = getpid();
		memcpy(b + 8, &pid, sizeof pid);
	}
	for (size_t i = 0; i < sizeof b; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

void identity_init(void)
{
	pthread_mutex_lock(&lock);
	memset(&current, 0, sizeof current);
	new_id(current.run_id);
	new_id(current.start_id);
	pthread_mutex_unlock(&lock);
}

bool identity_valid(const char *s)
{
	if (!s || strlen(s) != IDENTITY_ID_LEN)
		return false;
	for (size_t i = 0; i < IDENTITY_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

void identity_restarted(const char *run_id, uint64_t step)
{
	pthread_mutex_lock(&lock);
	if (identity_valid(run_id))
		memcpy(current.run_id, run_id, IDENTITY_ID_LEN + 1);
	else
		new_id(current.run_id);
	current.restarted = true;
	current.restart_step = step;
	pthread_mutex_unlock(&lock);
}

run_identity identity_get(void)
{
	pthread_mutex_lock(&lock);
	run_identity copy = current;
	pthread_mutex_unlock(&lock);
	return copy;
}
