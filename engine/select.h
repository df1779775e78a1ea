/*
 * select: the pool algorithms, as pure functions over small arrays.
 *
 * Round robin and smooth weighted round robin are expressed as a cycle of
 * member positions: the k-th pick of the pool is cycle[k mod len].  That
 * makes one shared counter (INCR in Redis) enough for every host of the
 * cluster to follow one rotation.  The weighted cycle is nginx's smooth
 * weighted round robin: over every len consecutive picks each member gets
 * exactly its weight (after dividing by the weights' gcd), spread evenly.
 * Least outstanding picks the member with the lowest (outstanding+1)/weight.
 * Hash ranks members by weighted rendezvous hashing (xxHash64) of a key, so
 * adding or removing one of N members moves about 1/N of the keys.
 * No I/O, no allocation.
 */
#ifndef POSTLB_SELECT_H
#define POSTLB_SELECT_H

#include <stddef.h>
#include <stdint.h>

#define SELECT_N_MAX 1024 /* members of one pool, CONFIG_POOL_MEMBERS_MAX */

/*
 * Writes the weighted cycle of n members (weights > 0) as positions 0..n-1
 * into cycle (room for cap entries) and returns its length, or -1 when the
 * cycle (sum of weights / gcd) would exceed cap or n is 0.
 */
long select_wrr_cycle(const int *weights, size_t n, uint16_t *cycle,
		      size_t cap);

/* The round robin cycle 0..n-1; returns n (or -1 if n > cap or 0). */
/* Both take at most SELECT_N_MAX members (positions fit a uint16_t). */
long select_rr_cycle(size_t n, uint16_t *cycle, size_t cap);

/*
 * Position of the least outstanding member among those with ok[i] set:
 * lowest (outstanding[i] + 1) / weight[i]; ties go to the first at or after
 * position tiebreak % n.  Returns -1 if none is ok.
 */
long select_least(const long long *outstanding, const int *weights,
		  const int *ok, size_t n, unsigned long long tiebreak);

/* A member's seed for select_hash_order: xxHash64 of its name (kept per
 * config, so a message hashes its key once per member, not the names). */
uint64_t select_hash_seed(const char *name);

/* The rendezvous unit of hash h: uniform in (0, 1), both ends excluded
 * for every h (a 1 would score -inf, a 0 +inf). */
double select_hash_unit(uint64_t h);

/*
 * Ranks n members (seeds by select_hash_seed, weights) for key by weighted
 * rendezvous hashing and writes the first min(top, n) positions of that
 * ranking into order: order[0] is the preferred position.  Ties go to the
 * lower position, so the first k of a ranking cut at top >= k are those
 * of the whole ranking.  Returns how many were written.  Deterministic
 * across hosts.  A whole ranking is a radix sort of n scores; a short one
 * (top < n) keeps the best top of them in one pass.
 */
size_t select_hash_order(const char *key, size_t keylen,
			 const uint64_t *seeds, const int *weights, size_t n,
			 uint16_t *order, size_t top);

/*
 * Walks cycle from position start (mod len) and returns the first member
 * position with ok set, or -1.  The local (Redis-less) mirror of the walk
 * the route script does.
 */
long select_walk(const uint16_t *cycle, size_t len,
		 unsigned long long start, const int *ok);

#endif
