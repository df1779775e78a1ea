/*
 * test_select: tests of the pool algorithms in select.c.  Distribution of
 * 10,000 picks for the weighted cycle, round robin, least outstanding and
 * weighted rendezvous hashing; the smoothness of the weighted cycle over
 * every window of picks for a table of weight sets; gcd reduction and the
 * cycle's limits; the stability of the hash when members come and go; the
 * hash order against a plain sort by score (every size up to the limit,
 * ties by position); the walk over usable members and the rotation of
 * least-outstanding ties.
 * Pure functions: no mocks, no I/O.
 */
#include "select.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <xxhash.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PICKS 10000
#define KEYS 10000
#define MAXN 16
#define CAP 1000

/* Fails unless got is within 2% of all picks (200 of 10,000) of want. */
static void assert_share(const char *what, size_t i, long got, long want)
{
	long tol = PICKS * 2 / 100;

	if (got < want - tol || got > want + tol)
		fail_msg("%s: member %zu got %ld picks, want %ld +- %ld", what,
			 i, got, want, tol);
}

/* Picks of one member in the window [start, start + k) of the cycle
 * repeated, from that member's prefix counts over three cycles. */
static long window_count(const long *prefix, long start, long k)
{
	return prefix[start + k] - prefix[start];
}

/* ---- distribution ---- */

static const int w532[] = {5, 3, 2};
static const long want532[] = {5000, 3000, 2000};

static void test_wrr_distribution(void **state)
{
	uint16_t cycle[CAP];
	long count[3] = {0};
	long len = select_wrr_cycle(w532, 3, cycle, CAP);

	(void)state;
	assert_int_equal(len, 10);
	for (long k = 0; k < PICKS; k++)
		count[cycle[k % len]]++;
	for (size_t i = 0; i < 3; i++) {
		assert_share("weighted cycle", i, count[i], want532[i]);
		/* the cycle is exact over whole cycles */
		assert_int_equal(count[i], want532[i]);
	}
}

static void test_rr_distribution(void **state)
{
	static const struct {
		size_t n;
		long picks;
	} cases[] = {{1, 10000}, {2, 10000}, {3, 9999},
		     {4, 10000}, {5, 10000}, {7, 9996}};

	(void)state;
	for (size_t c = 0; c < NELEM(cases); c++) {
		uint16_t cycle[CAP];
		long count[MAXN] = {0};
		long len = select_rr_cycle(cases[c].n, cycle, CAP);

		assert_int_equal(len, (long)cases[c].n);
		for (long i = 0; i < len; i++)
			assert_int_equal(cycle[i], i);
		for (long k = 0; k < cases[c].picks; k++)
			count[cycle[k % len]]++;
		for (size_t i = 0; i < cases[c].n; i++)
			assert_int_equal(count[i],
					 cases[c].picks / (long)cases[c].n);
	}
}

/* The whole ranking of n members by name (seeds from their names). */
static void rank(const char *key, size_t kl, const char *const *names,
		 const int *w, size_t n, uint16_t *order)
{
	uint64_t seeds[SELECT_N_MAX];

	for (size_t i = 0; i < n; i++)
		seeds[i] = select_hash_seed(names[i]);
	assert_int_equal(select_hash_order(key, kl, seeds, w, n, order, n), n);
}

static void test_hash_distribution(void **state)
{
	static const char *const names[] = {"mx-a", "mx-b", "mx-c"};
	long count[3] = {0};

	(void)state;
	for (int k = 0; k < KEYS; k++) {
		uint16_t order[3];
		char key[32];
		int n = snprintf(key, sizeof(key), "key%d", k);

		rank(key, (size_t)n, names, w532, 3, order);
		count[order[0]]++;
	}
	for (size_t i = 0; i < 3; i++)
		assert_share("weighted hash", i, count[i], want532[i]);
}

/* Each pick raises the picked member's outstanding count; none finish. */
static void test_least_distribution(void **state)
{
	static const int ok[] = {1, 1, 1};
	long long out[3] = {0};

	(void)state;
	for (unsigned long long k = 0; k < PICKS; k++) {
		long i = select_least(out, w532, ok, 3, k);
		assert_true(i >= 0 && i < 3);
		out[i]++;
	}
	for (size_t i = 0; i < 3; i++)
		assert_share("least outstanding", i, (long)out[i], want532[i]);
}

/* ---- smooth weighted round robin ---- */

struct wrr_case {
	int w[MAXN];
	size_t n;
	long len; /* sum of the weights divided by their gcd */
};

static const struct wrr_case wrr_cases[] = {
    {{5, 3, 2}, 3, 10},
    {{1, 1, 1}, 3, 3},
    {{10, 1}, 2, 11},
    {{7, 3, 1, 1}, 4, 12},
    {{100, 1}, 2, 101},
    {{1}, 1, 1},
    {{1000}, 1, 1},
    {{2, 1}, 2, 3},
    {{3, 2}, 2, 5},
    {{5, 1, 1}, 3, 7},
    {{1, 2, 3, 4, 5}, 5, 15},
    {{10, 20}, 2, 3},
    {{6, 4, 2}, 3, 6},
    {{500, 300, 200}, 3, 10},
    {{13, 7, 5, 3, 2, 1}, 6, 31},
    {{999, 1}, 2, 1000},
    {{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 16, 16},
    {{50, 50, 1}, 3, 101},
    {{9, 8, 7, 6, 5, 4, 3, 2, 1}, 9, 45},
    {{1, 100, 1, 100}, 4, 202},
};

static int gcd(int a, int b)
{
	while (b != 0) {
		int t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* Checks every window of k = 1..2*len consecutive picks at every offset. */
static void check_smooth(const struct wrr_case *t, const uint16_t *cycle,
			 long len)
{
	static long prefix[MAXN][3 * CAP + 1];
	int g = 0;
	long total = 0;

	for (size_t i = 0; i < t->n; i++)
		g = gcd(g, t->w[i]);
	for (size_t i = 0; i < t->n; i++)
		total += t->w[i] / g;
	assert_int_equal(total, len);
	for (size_t i = 0; i < t->n; i++) {
		prefix[i][0] = 0;
		for (long j = 0; j < 3 * len; j++)
			prefix[i][j + 1] =
			    prefix[i][j] + (cycle[j % len] == (uint16_t)i);
	}
	for (size_t i = 0; i < t->n; i++) {
		long w = t->w[i] / g;
		for (long s = 0; s < len; s++) {
			/* every whole cycle, wherever it starts */
			if (window_count(prefix[i], s, len) != w)
				fail_msg("weights[%zu]=%d of %zu: %ld picks in "
					 "the cycle from %ld, want %ld",
					 i, t->w[i], t->n,
					 window_count(prefix[i], s, len),
					 s, w);
			for (long k = 1; k <= 2 * len; k++) {
				long got = window_count(prefix[i], s, k);
				long max = (k * w + total - 1) / total + 1;
				if (got > max)
					fail_msg("weights[%zu]=%d of %zu: %ld "
						 "picks in %ld from %ld, "
						 "max %ld",
						 i, t->w[i], t->n, got, k, s,
						 max);
			}
		}
	}
}

static void test_wrr_smooth(void **state)
{
	(void)state;
	for (size_t c = 0; c < NELEM(wrr_cases); c++) {
		const struct wrr_case *t = &wrr_cases[c];
		uint16_t cycle[CAP];
		long len = select_wrr_cycle(t->w, t->n, cycle, CAP);

		if (len != t->len)
			fail_msg("case %zu: cycle length %ld, want %ld", c, len,
				 t->len);
		for (long k = 0; k < len; k++)
			assert_true(cycle[k] < t->n);
		check_smooth(t, cycle, len);
	}
}

/* The interleaving itself, as nginx documents it for {5, 1, 1}. */
static void test_wrr_sequence(void **state)
{
	static const int w511[] = {5, 1, 1};
	static const uint16_t want511[] = {0, 0, 1, 0, 2, 0, 0};
	static const int w2010[] = {10, 20};
	static const uint16_t want2010[] = {1, 0, 1};
	uint16_t cycle[CAP];

	(void)state;
	assert_int_equal(select_wrr_cycle(w511, 3, cycle, CAP), 7);
	assert_memory_equal(cycle, want511, sizeof(want511));
	/* gcd 10: {1, 2}, a cycle of 3 */
	assert_int_equal(select_wrr_cycle(w2010, 2, cycle, CAP), 3);
	assert_memory_equal(cycle, want2010, sizeof(want2010));
}

static void test_wrr_limits(void **state)
{
	static const struct {
		int w[4];
		size_t n;
		size_t cap;
		long want;
	} cases[] = {
	    {{5, 3, 2}, 3, 10, 10},    /* exactly the cap */
	    {{5, 3, 2}, 3, 9, -1},     /* over the cap */
	    {{500, 500, 1}, 3, CAP, -1}, /* 1001 after gcd 1 */
	    {{999, 1}, 2, CAP, 1000},
	    {{1000, 2}, 2, CAP, 501},  /* gcd 2 brings 1002 under */
	    {{1, 2}, 0, CAP, -1},      /* no member */
	    {{5, 0, 2}, 3, CAP, -1},   /* zero weight */
	    {{0}, 1, CAP, -1},
	    {{5, 3, -2}, 3, CAP, -1},  /* negative weight */
	    {{-1}, 1, CAP, -1},
	    {{1}, 1, 0, -1},
	};

	(void)state;
	for (size_t c = 0; c < NELEM(cases); c++) {
		uint16_t cycle[CAP + 1];
		long len;

		memset(cycle, 0xee, sizeof(cycle));
		len = select_wrr_cycle(cases[c].w, cases[c].n, cycle,
				       cases[c].cap);
		if (len != cases[c].want)
			fail_msg("case %zu: %ld, want %ld", c, len,
				 cases[c].want);
		if (len < 0)
			assert_int_equal(cycle[0], 0xeeee); /* untouched */
		else
			assert_int_equal(cycle[len], 0xeeee); /* in bounds */
	}
}

static void test_rr_limits(void **state)
{
	uint16_t cycle[2000];

	(void)state;
	assert_int_equal(select_rr_cycle(0, cycle, CAP), -1);
	assert_int_equal(select_rr_cycle(4, cycle, 3), -1);
	assert_int_equal(select_rr_cycle(3, cycle, 3), 3);
	assert_int_equal(select_rr_cycle(1025, cycle, 2000), -1);
	assert_int_equal(select_rr_cycle(1024, cycle, 2000), 1024);
	assert_int_equal(cycle[1023], 1023); /* SELECT_N_MAX, 16 bits */
}

/* ---- consistent hash ---- */

static void member_names(char (*buf)[32], const char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(buf[i], 32, "relay%zu", i);
		names[i] = buf[i];
	}
}

static size_t key_of(int k, char *key, size_t sz)
{
	return (size_t)snprintf(key, sz, "key%d", k);
}

/* Adding member N to N members moves at most 1.3/N of the keys, and only
 * to the new member. */
static void test_hash_add(void **state)
{
	static const size_t ns[] = {3, 5, 10};

	(void)state;
	for (size_t c = 0; c < NELEM(ns); c++) {
		size_t n = ns[c];
		char buf[MAXN][32];
		const char *names[MAXN];
		int w[MAXN];
		long moved = 0;

		member_names(buf, names, n + 1);
		for (size_t i = 0; i <= n; i++)
			w[i] = 1;
		for (int k = 0; k < KEYS; k++) {
			uint16_t before[MAXN], after[MAXN];
			char key[32];
			size_t kl = key_of(k, key, sizeof(key));

			rank(key, kl, names, w, n, before);
			rank(key, kl, names, w, n + 1, after);
			if (before[0] == after[0])
				continue;
			moved++;
			if (after[0] != n)
				fail_msg("N=%zu key%d moved from %u to %u, not "
					 "to the new member",
					 n, k, before[0], after[0]);
		}
		if (moved * (long)n > 13 * KEYS / 10)
			fail_msg("N=%zu: %ld of %d keys moved, over 1.3/N", n,
				 moved, KEYS);
		/* and the new member does get its share */
		if (moved * (long)(n + 1) < 7 * KEYS / 10)
			fail_msg("N=%zu: only %ld of %d keys moved", n, moved,
				 KEYS);
	}
}

/* Removing a member moves only its keys; the others keep their ranking. */
static void test_hash_remove(void **state)
{
	static const size_t ns[] = {3, 5, 10};

	(void)state;
	for (size_t c = 0; c < NELEM(ns); c++) {
		size_t n = ns[c], gone = n / 2;
		char buf[MAXN][32];
		const char *names[MAXN], *left[MAXN];
		int w[MAXN];
		long had = 0, moved = 0;

		member_names(buf, names, n);
		for (size_t i = 0, j = 0; i < n; i++) {
			w[i] = (int)(i % 3) + 1;
			if (i != gone)
				left[j++] = names[i];
		}
		for (int k = 0; k < KEYS; k++) {
			uint16_t before[MAXN], after[MAXN];
			int lw[MAXN];
			char key[32];
			size_t kl = key_of(k, key, sizeof(key)), j = 0;

			for (size_t i = 0; i < n; i++)
				if (i != gone)
					lw[j++] = w[i];
			rank(key, kl, names, w, n, before);
			rank(key, kl, left, lw, n - 1, after);
			had += before[0] == gone;
			if (strcmp(names[before[0]], left[after[0]]) != 0)
				moved++;
			/* the whole ranking minus the removed member */
			for (size_t i = 0, a = 0; i < n; i++) {
				if (before[i] == gone)
					continue;
				assert_string_equal(names[before[i]],
						    left[after[a]]);
				a++;
			}
		}
		assert_int_equal(moved, had);
		assert_true(had > 0);
	}
}

/* The same key gives the same order, whatever the order of the list. */
static void test_hash_deterministic(void **state)
{
	static const char *const names[] = {"a", "b", "c", "d", "e"};
	static const char *const rev[] = {"e", "d", "c", "b", "a"};
	static const int w[] = {1, 2, 3, 4, 5};
	static const int wrev[] = {5, 4, 3, 2, 1};
	int differ = 0;

	(void)state;
	for (int k = 0; k < 1000; k++) {
		uint16_t o1[5], o2[5], o3[5];
		int seen[5] = {0};
		char key[32];
		size_t kl = key_of(k, key, sizeof(key));

		rank(key, kl, names, w, 5, o1);
		rank(key, kl, names, w, 5, o2);
		rank(key, kl, rev, wrev, 5, o3);
		assert_memory_equal(o1, o2, sizeof(o1));
		for (size_t i = 0; i < 5; i++) {
			assert_true(o1[i] < 5);
			assert_int_equal(seen[o1[i]]++, 0); /* a permutation */
			assert_string_equal(names[o1[i]], rev[o3[i]]);
		}
		rank("other", 5, names, w, 5, o2);
		differ += memcmp(o1, o2, sizeof(o1)) != 0;
	}
	/* the key matters */
	assert_true(differ > 900);
	/* only keylen bytes of the key count */
	{
		uint16_t a[5], b[5];
		rank("example.com", 11, names, w, 5, a);
		rank("example.comXYZ", 11, names, w, 5, b);
		assert_memory_equal(a, b, sizeof(a));
	}
}

/* The reference: each member's weighted rendezvous score, sorted by
 * qsort, highest first, ties by position. */
static double ref_score[SELECT_N_MAX];
static int ref_cmp(const void *a, const void *b)
{
	uint16_t i = *(const uint16_t *)a, j = *(const uint16_t *)b;

	if (ref_score[i] != ref_score[j])
		return ref_score[i] < ref_score[j] ? 1 : -1;
	return (int)i - (int)j;
}

static void ref_order(const char *key, size_t kl, const char *const *names,
		      const int *w, size_t n, uint16_t *order)
{
	for (size_t i = 0; i < n; i++) {
		XXH64_hash_t h = XXH64(key, kl, XXH64(names[i], strlen(names[i]), 0));
		ref_score[i] = -(double)w[i] / log(select_hash_unit(h));
		order[i] = (uint16_t)i;
	}
	qsort(order, n, sizeof(*order), ref_cmp);
}

/* A ranking cut at top (the one pass for top < n) is the whole ranking's
 * first top, ties included, for tops around the router's
 * ROUTE_ORDER_TOP and at the edges; top 0 writes nothing. */
static void top_matches(const char *key, size_t kl, const char *const *names,
			const int *w, size_t n, const uint16_t *want)
{
	static const size_t tops[] = {0, 1, 2, 15, 16, 17, 100};
	uint64_t seeds[SELECT_N_MAX];
	uint16_t got[SELECT_N_MAX + 1];

	for (size_t i = 0; i < n; i++)
		seeds[i] = select_hash_seed(names[i]);
	for (size_t t = 0; t < NELEM(tops) + 2; t++) {
		size_t top = t < NELEM(tops) ? tops[t] : n - (t - NELEM(tops)),
		       have = top < n ? top : n;
		got[have] = 0xffff;
		assert_int_equal(select_hash_order(key, kl, seeds, w, n, got,
						   top),
				 have);
		assert_memory_equal(got, want, have * sizeof(got[0]));
		assert_int_equal(got[have], 0xffff); /* nothing past it */
	}
}

/* The order is exactly that of a plain sort by score, at every size up to
 * SELECT_N_MAX, also with equal scores (members of the same name and
 * weight), which keep their positions' order. */
static void test_hash_sorted(void **state)
{
	static const size_t sizes[] = {1, 2, 3, 7, 64, 255, 256, 257, 1000,
				       SELECT_N_MAX};
	static char nm[SELECT_N_MAX][16];
	static const char *names[SELECT_N_MAX];
	static int w[SELECT_N_MAX];
	static uint16_t got[SELECT_N_MAX], want[SELECT_N_MAX];

	(void)state;
	for (size_t i = 0; i < SELECT_N_MAX; i++) {
		/* every 50th member shares its name (and weight) with the
		 * one before it: equal scores */
		snprintf(nm[i], sizeof(nm[i]), "m%zu", i % 50 == 49 ? i - 1 : i);
		names[i] = nm[i];
		w[i] = i % 50 == 49 ? w[i - 1] : (int)(i * 7 % 1000) + 1;
	}
	for (size_t z = 0; z < NELEM(sizes); z++)
		for (int k = 0; k < 20; k++) {
			char key[32];
			size_t kl = key_of(k, key, sizeof(key));
			rank(key, kl, names, w, sizes[z], got);
			ref_order(key, kl, names, w, sizes[z], want);
			assert_memory_equal(got, want, sizes[z] * sizeof(got[0]));
			top_matches(key, kl, names, w, sizes[z], want);
		}
}

/* ---- walk and least outstanding ---- */

/* The rendezvous unit stays inside (0, 1) at every hash, the ends
 * included: a 1 would score -inf and rank its member first for that key
 * whatever its weight. */
static void test_hash_unit_bounds(void **state)
{
	static const uint64_t hs[] = {0, 1, 4095, 4096, UINT64_MAX - 4096,
				      UINT64_MAX - 1, UINT64_MAX};
	double prev = 0;

	(void)state;
	for (size_t i = 0; i < NELEM(hs); i++) {
		double u = select_hash_unit(hs[i]);
		assert_true(u > 0 && u < 1);
		assert_true(u >= prev); /* it keeps the order of the hashes */
		assert_true(isfinite(-1.0 / log(u)) && -1.0 / log(u) > 0);
		prev = u;
	}
	assert_true(select_hash_unit(UINT64_MAX) == 1.0 - 0x1p-53);
	assert_true(select_hash_unit(0) == 0x1p-53);
}

static void test_walk(void **state)
{
	static const uint16_t cycle[] = {0, 1, 2, 0, 1, 2, 3};
	static const struct {
		int ok[4];
		unsigned long long start;
		long want;
	} cases[] = {
	    {{1, 1, 1, 1}, 0, 0},
	    {{1, 1, 1, 1}, 2, 2},
	    {{1, 1, 1, 1}, 6, 3},
	    {{1, 1, 1, 1}, 7, 0},  /* wraps: start mod len */
	    {{1, 1, 1, 1}, 15, 1},
	    {{0, 1, 1, 1}, 0, 1},  /* skips members not ok */
	    {{0, 0, 1, 1}, 0, 2},
	    {{0, 0, 0, 1}, 0, 3},
	    {{1, 0, 0, 0}, 4, 0},  /* 1, 2, 3 skipped, wraps to 0 */
	    {{0, 0, 1, 0}, 6, 2},  /* 3 skipped, wraps, 0 and 1 skipped */
	    {{0, 0, 0, 0}, 0, -1}, /* none ok */
	    {{0, 0, 0, 0}, 5, -1},
	    /* 2^64-1 = 1 mod 7: the walk goes on past the counter's wrap */
	    {{1, 1, 1, 1}, ULLONG_MAX, 1},
	    {{0, 0, 0, 1}, ULLONG_MAX, 3},
	    {{0, 0, 0, 1}, ULLONG_MAX - 1, 3},
	};

	(void)state;
	for (size_t c = 0; c < NELEM(cases); c++) {
		long got = select_walk(cycle, NELEM(cycle), cases[c].start,
				       cases[c].ok);
		if (got != cases[c].want)
			fail_msg("case %zu: %ld, want %ld", c, got,
				 cases[c].want);
	}
	assert_int_equal(select_walk(cycle, 0, 0, cases[0].ok), -1);
}

static void test_least(void **state)
{
	static const struct {
		size_t n;
		long long out[4];
		int w[4];
		int ok[4];
		unsigned long long tiebreak;
		long want;
	} cases[] = {
	    /* all tied: the tiebreak rotates the choice */
	    {4, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}, 0, 0},
	    {4, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}, 1, 1},
	    {4, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}, 2, 2},
	    {4, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}, 3, 3},
	    {4, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}, 4, 0},
	    {4, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}, 4001, 1},
	    {4, {5, 5, 5, 5}, {2, 2, 2, 2}, {1, 1, 1, 1}, 6, 2},
	    {3, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}, 5, 2},
	    /* ties at the tiebreak go to the next tied one */
	    {4, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 0, 1, 1}, 1, 2},
	    {4, {0, 9, 0, 9}, {1, 1, 1, 1}, {1, 1, 1, 1}, 1, 2},
	    {4, {0, 9, 0, 9}, {1, 1, 1, 1}, {1, 1, 1, 1}, 3, 0},
	    /* ties by score, not count: (1+1)/2 == (0+1)/1 */
	    {4, {1, 0, 9, 9}, {2, 1, 1, 1}, {1, 1, 1, 1}, 0, 0},
	    {4, {1, 0, 9, 9}, {2, 1, 1, 1}, {1, 1, 1, 1}, 1, 1},
	    /* the lowest score wins whatever the tiebreak */
	    {4, {3, 0, 3, 3}, {1, 1, 1, 1}, {1, 1, 1, 1}, 2, 1},
	    {4, {4, 1, 0, 0}, {5, 1, 1, 1}, {1, 1, 0, 0}, 1, 0},
	    {4, {0, 0, 0, 0}, {1, 3, 1, 1}, {1, 1, 1, 1}, 3, 1},
	    /* not ok: skipped even when least */
	    {4, {9, 0, 9, 9}, {1, 1, 1, 1}, {1, 0, 1, 1}, 1, 2},
	    {4, {0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 0, 0}, 0, -1},
	    {1, {0}, {1}, {0}, 7, -1},
	    {1, {7}, {1}, {1}, 7, 0},
	    /* 2^64-1 = 0 mod 3: every member is looked at, in turn */
	    {3, {0, 0, 0}, {1, 1, 1}, {1, 1, 1}, ULLONG_MAX, 0},
	    {3, {9, 9, 0}, {1, 1, 1}, {1, 1, 1}, ULLONG_MAX, 2},
	    {3, {0, 0, 0}, {1, 1, 1}, {0, 0, 1}, ULLONG_MAX, 2},
	    {3, {0, 0, 0}, {1, 1, 1}, {0, 1, 0}, ULLONG_MAX - 1, 1},
	};

	(void)state;
	for (size_t c = 0; c < NELEM(cases); c++) {
		long got = select_least(cases[c].out, cases[c].w, cases[c].ok,
					cases[c].n, cases[c].tiebreak);
		if (got != cases[c].want)
			fail_msg("case %zu: %ld, want %ld", c, got,
				 cases[c].want);
	}
}

/* Over n consecutive tiebreaks, equal members are each picked once. */
static void test_least_rotation(void **state)
{
	static const long long out[5] = {2, 2, 2, 2, 2};
	static const int w[5] = {3, 3, 3, 3, 3};
	static const int ok[5] = {1, 1, 1, 1, 1};

	(void)state;
	for (unsigned long long base = 0; base < 20; base += 7) {
		int seen[5] = {0};
		for (unsigned long long t = base; t < base + 5; t++) {
			long i = select_least(out, w, ok, 5, t);
			assert_int_equal(i, (long)(t % 5));
			seen[i]++;
		}
		for (size_t i = 0; i < 5; i++)
			assert_int_equal(seen[i], 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wrr_distribution),
	    cmocka_unit_test(test_rr_distribution),
	    cmocka_unit_test(test_hash_distribution),
	    cmocka_unit_test(test_least_distribution),
	    cmocka_unit_test(test_wrr_smooth),
	    cmocka_unit_test(test_wrr_sequence),
	    cmocka_unit_test(test_wrr_limits),
	    cmocka_unit_test(test_rr_limits),
	    cmocka_unit_test(test_hash_add),
	    cmocka_unit_test(test_hash_remove),
	    cmocka_unit_test(test_hash_deterministic),
	    cmocka_unit_test(test_hash_sorted),
	    cmocka_unit_test(test_hash_unit_bounds),
	    cmocka_unit_test(test_walk),
	    cmocka_unit_test(test_least),
	    cmocka_unit_test(test_least_rotation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
