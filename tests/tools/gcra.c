/*
 * gcra: the C mirror of the quota script's arithmetic, for tests that
 * compare it with engine/quota.lua run by a real Redis.
 *
 *   gcra LIMIT WINDOW_US COST TAT NOW   prints "ALLOWED NEW_TAT RETRY_US"
 *                                      (quota_gcra; TAT 0: no state)
 *   gcra -b TAT NOW BACK_US             prints the TAT after a give-back
 *                                      (quota_give_back; 0: deleted)
 *
 * Numbers are strict non-negative decimal integers; a bad one exits 2.
 */
#include "num.h"
#include "quota.h"

#include <stdio.h>
#include <string.h>

static long long arg(const char *s)
{
	long long v;

	if (num_parse_ll(s, strlen(s), 0, 1LL << 62, &v) < 0) {
		fprintf(stderr, "gcra: bad number '%s'\n", s);
		return -1;
	}
	return v;
}

int main(int argc, char **argv)
{
	long long v[5];
	struct gcra g;

	if (argc == 5 && strcmp(argv[1], "-b") == 0) {
		for (int i = 0; i < 3; i++)
			if ((v[i] = arg(argv[2 + i])) < 0)
				return 2;
		printf("%lld\n", quota_give_back(v[0], v[1], v[2]));
		return 0;
	}
	if (argc != 6) {
		fprintf(stderr, "usage: gcra LIMIT WINDOW_US COST TAT NOW | "
				"gcra -b TAT NOW BACK_US\n");
		return 2;
	}
	for (int i = 0; i < 5; i++)
		if ((v[i] = arg(argv[1 + i])) < 0)
			return 2;
	quota_gcra(v[3], v[4], v[0], v[1], v[2], &g);
	printf("%d %lld %lld\n", g.allowed, g.tat_us, g.retry_us);
	return 0;
}
