/*
 * select: pool algorithms (see select.h).  Pure functions.
 */
/* qsort_r: _GNU_SOURCE (config.h defines it) */
#include "select.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static int select_gcd(int a, int b)
{
	while (b != 0) {
		int t = a % b;
		a = b;
		b = t;
	}
	return a;
}

long select_wrr_cycle(const int *weights, size_t n, uint16_t *cycle,
		      size_t cap)
{
	long long cur[SELECT_N_MAX] = {0};
	int w[SELECT_N_MAX], g = 0;
	long total = 0;

	if (n == 0 || n > SELECT_N_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (weights[i] <= 0)
			return -1;
		g = select_gcd(g, weights[i]);
	}
	for (size_t i = 0; i < n; i++) {
		w[i] = weights[i] / g;
		total += w[i];
	}
	if ((size_t)total > cap)
		return -1;
	/* nginx smooth WRR: add weights, take the largest, subtract total */
	for (long k = 0; k < total; k++) {
		size_t best = 0;
		for (size_t i = 0; i < n; i++) {
			cur[i] += w[i];
			if (cur[i] > cur[best])
				best = i;
		}
		cur[best] -= total;
		cycle[k] = (uint16_t)best;
	}
	return total;
}

long select_rr_cycle(size_t n, uint16_t *cycle, size_t cap)
{
	if (n == 0 || n > cap || n > SELECT_N_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		cycle[i] = (uint16_t)i;
	return (long)n;
}

long select_least(const long long *outstanding, const int *weights,
		  const int *ok, size_t n, unsigned long long tiebreak)
{
	long best = -1;
	double best_score = 0;
	size_t first;

	if (n == 0)
		return -1;
	/* reduce first: tiebreak + j may wrap past 2^64 */
	first = (size_t)(tiebreak % n);
	for (size_t j = 0; j < n; j++) {
		size_t i = (first + j) % n;
		double score;
		if (!ok[i])
			continue;
		score = (double)(outstanding[i] + 1) / (double)weights[i];
		if (best < 0 || score < best_score) {
			best = (long)i;
			best_score = score;
		}
	}
	return best;
}

/*
 * Sorts order[0..n) by key, ascending, stably (LSD radix, a byte a pass,
 * skipping a byte all keys share: at most eight passes of n, where qsort
 * with a callback cost 7x the hashing at a thousand members).  key is
 * scratch.
 */
static void select_radix(uint64_t *key, uint16_t *order, size_t n)
{
	uint64_t tk[SELECT_N_MAX], *ks = key, *kd = tk, *swk;
	uint16_t to[SELECT_N_MAX], *os = order, *od = to, *swo;

	for (unsigned shift = 0; shift < 64; shift += 8) {
		size_t cnt[257] = {0};
		int same = 0;
		for (size_t i = 0; i < n; i++)
			cnt[((ks[i] >> shift) & 255) + 1]++;
		for (size_t b = 0; b < 256; b++) {
			same |= cnt[b + 1] == n;
			cnt[b + 1] += cnt[b];
		}
		if (same) /* one value of this byte (the exponent's, mostly) */
			continue;
		for (size_t i = 0; i < n; i++) {
			size_t d = cnt[(ks[i] >> shift) & 255]++;
			kd[d] = ks[i];
			od[d] = os[i];
		}
		swk = ks, ks = kd, kd = swk;
		swo = os, os = od, od = swo;
	}
	if (os != order)
		memcpy(order, os, n * sizeof(*order));
}

uint64_t select_hash_seed(const char *name)
{
	return XXH64(name, strlen(name), 0);
}

/*
 * The first top of order by key (ascending, ties by position) in one
 * pass: an insertion into the best top seen so far, which for random
 * scores moves about top * ln(n / top) entries in all.
 */
static void select_top(const uint64_t *key, size_t n, uint16_t *order,
		       size_t top)
{
	uint64_t bk[SELECT_N_MAX];
	size_t have = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;
		if (have == top && key[i] >= bk[top - 1])
			continue; /* not better than the worst kept (or tied
				     with it at a higher position) */
		j = have < top ? have++ : top - 1;
		for (; j > 0 && bk[j - 1] > key[i]; j--) {
			bk[j] = bk[j - 1];
			order[j] = order[j - 1];
		}
		bk[j] = key[i];
		order[j] = (uint16_t)i;
	}
}

double select_hash_unit(uint64_t h)
{
	/* 52 bits and a half step: the top value is 1 - 2^-53, exact (with
	 * 53 bits it would round to 1) */
	return ((double)(h >> 12) + 0.5) / 4503599627370496.0;
}

size_t select_hash_order(const char *key, size_t keylen,
			 const uint64_t *seeds, const int *weights, size_t n,
			 uint16_t *order, size_t top)
{
	uint64_t k[SELECT_N_MAX];

	if (n > SELECT_N_MAX)
		n = SELECT_N_MAX;
	if (top > n)
		top = n;
	if (top == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		XXH64_hash_t h = XXH64(key, keylen, seeds[i]);
		/* -w / ln(u) is weighted rendezvous */
		double score = -(double)weights[i] / log(select_hash_unit(h));
		uint64_t bits;
		/* a positive double's bits order as it does (weights are at
		 * least 1): the complement puts the highest score first */
		memcpy(&bits, &score, sizeof(bits));
		k[i] = ~bits;
	}
	/* highest score first; equal scores by position */
	if (top < n) {
		select_top(k, n, order, top);
		return top;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = (uint16_t)i;
	select_radix(k, order, n); /* stable */
	return n;
}

long select_walk(const uint16_t *cycle, size_t len,
		 unsigned long long start, const int *ok)
{
	size_t first;

	if (len == 0)
		return -1;
	/* reduce first: start + j may wrap past 2^64 */
	first = (size_t)(start % len);
	for (size_t j = 0; j < len; j++) {
		uint16_t i = cycle[(first + j) % len];
		if (ok[i])
			return i;
	}
	return -1;
}
