/*
 * select: pool algorithms (see select.h).  Pure functions.
 */
#include "select.h"

#include <math.h>
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

long select_wrr_cycle(const int *weights, size_t n, unsigned char *cycle,
		      size_t cap)
{
	long long cur[256] = {0};
	int w[256], g = 0;
	long total = 0;

	if (n == 0 || n > 256)
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
		cycle[k] = (unsigned char)best;
	}
	return total;
}

long select_rr_cycle(size_t n, unsigned char *cycle, size_t cap)
{
	if (n == 0 || n > cap || n > 256)
		return -1;
	for (size_t i = 0; i < n; i++)
		cycle[i] = (unsigned char)i;
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

void select_hash_order(const char *key, size_t keylen,
		       const char *const *names, const int *weights, size_t n,
		       unsigned char *order)
{
	double score[256];

	for (size_t i = 0; i < n && i < 256; i++) {
		XXH64_hash_t seed = XXH64(names[i], strlen(names[i]), 0);
		XXH64_hash_t h = XXH64(key, keylen, seed);
		/* u uniform in (0, 1); -w / ln(u) is weighted rendezvous */
		double u = ((double)(h >> 11) + 0.5) / 9007199254740992.0;
		score[i] = -(double)weights[i] / log(u);
		order[i] = (unsigned char)i;
	}
	/* insertion sort, highest score first: n is small */
	for (size_t i = 1; i < n && i < 256; i++) {
		unsigned char v = order[i];
		size_t j = i;
		while (j > 0 && score[order[j - 1]] < score[v]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = v;
	}
}

long select_walk(const unsigned char *cycle, size_t len,
		 unsigned long long start, const int *ok)
{
	size_t first;

	if (len == 0)
		return -1;
	/* reduce first: start + j may wrap past 2^64 */
	first = (size_t)(start % len);
	for (size_t j = 0; j < len; j++) {
		unsigned char i = cycle[(first + j) % len];
		if (ok[i])
			return i;
	}
	return -1;
}
