/* SPDX-License-Identifier: MIT */
/*
 * pic1d_rng.c — counter-based random numbers: each number is a hash of
 * (seed, step, index), so there is no generator state to save, the stream
 * does not depend on the order of draws, and a restored run draws the same.
 */
#include "pic1d_internal.h"

/* The splitmix64 finaliser: a bijective 64-bit mix with good avalanche. */
static uint64_t pic1d_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t pic1d_rng_u64(uint64_t seed, uint64_t step, uint64_t index)
{
	/* Chaining the mix keeps (seed, step, index) triples from colliding in
	 * the simple ways a single xor of the three would. */
	uint64_t h = pic1d_mix64(seed + 0x9e3779b97f4a7c15ull);
	h = pic1d_mix64(h ^ (step * 0xd1b54a32d192ed03ull));
	return pic1d_mix64(h ^ (index * 0x8cb92ba72f3d8dd7ull + 0x9e3779b97f4a7c15ull));
}

/* Uniform in (0, 1]: never 0, so -log(u) is finite. */
double pic1d_rng_open01(uint64_t seed, uint64_t step, uint64_t index)
{
	return (double)((pic1d_rng_u64(seed, step, index) >> 11) + 1) * 0x1.0p-53;
}
