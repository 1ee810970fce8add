/*
 * hash.h - FNV-1a of a string, for bootd's small open-addressing tables:
 * the done attempts of client addresses (fcgi/ratelimit.c) and the MACs
 * of a run of boot events (lib/events_record.c, distinct_run()).  Quick,
 * and spread well enough for short keys; not for keys an attacker chooses
 * to collide where a collision costs more than a probe.
 */
#ifndef BOOTD_HASH_H
#define BOOTD_HASH_H

#include <stdint.h>

/* FNV-1a, 32 bits, of the string s.  This function can't fail. */
static inline uint32_t
str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

#endif
