/*
 * fuzz_num: libFuzzer target for the strict number parsers.
 *
 * The input is given to num_parse_ll() with several bounds (its length
 * passed explicitly, no NUL needed) and, NUL-terminated, to
 * num_parse_duration_ms().  Accepted values must lie within the bounds and
 * survive a round trip through printf / num_format_duration().
 */
#include "num.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long long bounds[][2] = {
    {LLONG_MIN, LLONG_MAX}, {0, 100}, {-5, 5}, {1, (long long)1 << 53}};

static void ll(const char *s, size_t size)
{
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		long long v = 12345, back = 0;
		char txt[32];
		int rc = num_parse_ll(s, size, bounds[i][0], bounds[i][1], &v);
		if (rc != 0) {
			if ((rc != -NUM_EINVAL && rc != -NUM_ERANGE) ||
			    v != 12345)
				abort();
			continue;
		}
		if (v < bounds[i][0] || v > bounds[i][1])
			abort();
		snprintf(txt, sizeof(txt), "%lld", v);
		if (num_parse_ll(txt, strlen(txt), bounds[i][0], bounds[i][1],
				 &back) != 0 ||
		    back != v)
			abort();
	}
}

static void duration(const char *s)
{
	long long ms = 0, back = 0;
	char txt[32];

	if (num_parse_duration_ms(s, &ms) != 0)
		return;
	if (ms < 1 || ms > 366LL * 86400000)
		abort();
	num_format_duration(ms, txt, sizeof(txt));
	if (num_parse_duration_ms(txt, &back) != 0 || back != ms)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	ll(s, size);
	s[size] = '\0';
	duration(s);
	free(s);
	return 0;
}
