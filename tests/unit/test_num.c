/*
 * test_num: table-driven tests of num.c, the strict integer and duration
 * parsers and the duration formatter.  Pure functions: no mocks, no I/O.
 * Every case also checks that a failure leaves the output untouched.
 */
#include "num.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define SENTINEL 424242LL
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct ll_case {
	const char *s;
	size_t len; /* 0: strlen(s) */
	long long min, max;
	int rc;
	long long want;
};

static const struct ll_case ll_cases[] = {
    {"0", 0, 0, 10, 0, 0},
    {"7", 0, 0, 10, 0, 7},
    {"123", 0, 0, 1000, 0, 123},
    {"007", 0, 0, 10, 0, 7},
    {"000000000000000000000000000001", 0, 0, 10, 0, 1},
    /* bounds are inclusive */
    {"10", 0, 0, 10, 0, 10},
    {"11", 0, 0, 10, -NUM_ERANGE, 0},
    {"-10", 0, -10, 10, 0, -10},
    {"-11", 0, -10, 10, -NUM_ERANGE, 0},
    {"-1", 0, 0, 10, -NUM_ERANGE, 0},
    {"-0", 0, 0, 10, 0, 0},
    {"5", 0, 6, 10, -NUM_ERANGE, 0},
    /* the extremes of long long */
    {"9223372036854775807", 0, LLONG_MIN, LLONG_MAX, 0, LLONG_MAX},
    {"-9223372036854775808", 0, LLONG_MIN, LLONG_MAX, 0, LLONG_MIN},
    {"9223372036854775808", 0, LLONG_MIN, LLONG_MAX, -NUM_ERANGE, 0},
    {"-9223372036854775809", 0, LLONG_MIN, LLONG_MAX, -NUM_ERANGE, 0},
    /* one digit too many */
    {"92233720368547758070", 0, LLONG_MIN, LLONG_MAX, -NUM_ERANGE, 0},
    {"-92233720368547758080", 0, LLONG_MIN, LLONG_MAX, -NUM_ERANGE, 0},
    {"99999999999999999999", 0, LLONG_MIN, LLONG_MAX, -NUM_ERANGE, 0},
    {"18446744073709551616", 0, LLONG_MIN, LLONG_MAX, -NUM_ERANGE, 0},
    {"9223372036854775807", 0, 0, 100, -NUM_ERANGE, 0},
    /* junk anywhere */
    {"", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"-", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"--5", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"+5", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"+", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {" 5", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"5 ", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"5\n", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"- 5", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"5x", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"0x10", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"1e3", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"1.0", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"1,000", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    {"\xd9\xa3", 0, LLONG_MIN, LLONG_MAX, -NUM_EINVAL, 0},
    /* len bounds the input: what follows is not read */
    {"123abc", 3, 0, 1000, 0, 123},
    {"12", 1, 0, 1000, 0, 1},
    {"1\0002", 3, 0, 1000, -NUM_EINVAL, 0},
};

static void test_parse_ll(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(ll_cases); i++) {
		const struct ll_case *t = &ll_cases[i];
		size_t len = t->len ? t->len : strlen(t->s);
		long long v = SENTINEL;
		int rc = num_parse_ll(t->s, len, t->min, t->max, &v);

		if (rc != t->rc)
			fail_msg("case %zu \"%s\": rc %d, want %d", i, t->s, rc,
				 t->rc);
		if (rc == 0 && v != t->want)
			fail_msg("case %zu \"%s\": got %lld, want %lld", i,
				 t->s, v, t->want);
		if (rc != 0 && v != SENTINEL)
			fail_msg("case %zu \"%s\": output changed on error", i,
				 t->s);
	}
}

/* A zero length is empty input, whatever s holds. */
static void test_parse_ll_empty_len(void **state)
{
	long long v = SENTINEL;

	(void)state;
	assert_int_equal(num_parse_ll("5", 0, 0, 10, &v), -NUM_EINVAL);
	assert_int_equal(num_parse_ll("-5", 1, -10, 10, &v), -NUM_EINVAL);
	assert_int_equal(v, SENTINEL);
}

#define DAY_MS 86400000LL

struct dur_case {
	const char *s;
	int rc;
	long long want_ms;
};

static const struct dur_case dur_cases[] = {
    {"500ms", 0, 500},
    {"1ms", 0, 1},
    {"30s", 0, 30000},
    {"1s", 0, 1000},
    {"1m", 0, 60000},
    {"90m", 0, 5400000},
    {"2h", 0, 7200000},
    {"1d", 0, DAY_MS},
    {"45", 0, 45000},
    {"1", 0, 1000},
    {"007s", 0, 7000},
    /* zero is not a duration */
    {"0", -NUM_ERANGE, 0},
    {"0s", -NUM_ERANGE, 0},
    {"0ms", -NUM_ERANGE, 0},
    {"0d", -NUM_ERANGE, 0},
    /* at most 366 days, whatever the unit */
    {"366d", 0, 366 * DAY_MS},
    {"367d", -NUM_ERANGE, 0},
    {"8784h", 0, 366 * DAY_MS},
    {"8785h", -NUM_ERANGE, 0},
    {"527040m", 0, 366 * DAY_MS},
    {"527041m", -NUM_ERANGE, 0},
    {"31622400s", 0, 366 * DAY_MS},
    {"31622401s", -NUM_ERANGE, 0},
    {"31622400", 0, 366 * DAY_MS},
    {"31622401", -NUM_ERANGE, 0},
    {"31622400000ms", 0, 366 * DAY_MS},
    {"31622400001ms", -NUM_ERANGE, 0},
    {"99999999999999999999d", -NUM_ERANGE, 0},
    {"9223372036854775807ms", -NUM_ERANGE, 0},
    /* junk */
    {"", -NUM_EINVAL, 0},
    {"s", -NUM_EINVAL, 0},
    {"ms", -NUM_EINVAL, 0},
    {"-1s", -NUM_EINVAL, 0},
    {"-1", -NUM_EINVAL, 0},
    {"+1s", -NUM_EINVAL, 0},
    {" 1s", -NUM_EINVAL, 0},
    {"1s ", -NUM_EINVAL, 0},
    {"1 s", -NUM_EINVAL, 0},
    {"1.5s", -NUM_EINVAL, 0},
    {"1S", -NUM_EINVAL, 0},
    {"1sec", -NUM_EINVAL, 0},
    {"1w", -NUM_EINVAL, 0},
    {"1y", -NUM_EINVAL, 0},
    {"1ms5", -NUM_EINVAL, 0},
    {"1h30m", -NUM_EINVAL, 0},
    {"1mss", -NUM_EINVAL, 0},
    {"0x1s", -NUM_EINVAL, 0},
};

static void test_parse_duration(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(dur_cases); i++) {
		const struct dur_case *t = &dur_cases[i];
		long long v = SENTINEL;
		int rc = num_parse_duration_ms(t->s, &v);

		if (rc != t->rc)
			fail_msg("case %zu \"%s\": rc %d, want %d", i, t->s, rc,
				 t->rc);
		if (rc == 0 && v != t->want_ms)
			fail_msg("case %zu \"%s\": got %lld ms, want %lld", i,
				 t->s, v, t->want_ms);
		if (rc != 0 && v != SENTINEL)
			fail_msg("case %zu \"%s\": output changed on error", i,
				 t->s);
	}
}

struct fmt_case {
	long long ms;
	const char *want;
};

static const struct fmt_case fmt_cases[] = {
    {1, "1ms"},
    {250, "250ms"},
    {1500, "1500ms"},
    {1000, "1s"},
    {90000, "90s"},
    {60000, "1m"},
    {5400000, "90m"},
    {3600000, "1h"},
    {90000000, "25h"},
    {DAY_MS, "1d"},
    {2 * DAY_MS, "2d"},
    {366 * DAY_MS, "366d"},
    {DAY_MS + 1, "86400001ms"},
};

static void test_format_duration(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(fmt_cases); i++) {
		char out[32];
		long long back = 0;

		memset(out, 'x', sizeof(out));
		num_format_duration(fmt_cases[i].ms, out, sizeof(out));
		if (strcmp(out, fmt_cases[i].want) != 0)
			fail_msg("case %zu: %lld ms formatted \"%s\", want "
				 "\"%s\"",
				 i, fmt_cases[i].ms, out, fmt_cases[i].want);
		/* what is formatted parses back to the same value */
		if (num_parse_duration_ms(out, &back) != 0 ||
		    back != fmt_cases[i].ms)
			fail_msg("case %zu: \"%s\" does not parse back to "
				 "%lld",
				 i, out, fmt_cases[i].ms);
	}
}

/* A short buffer is truncated and stays NUL-terminated; nothing beyond. */
static void test_format_duration_small(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'x', sizeof(out));
	num_format_duration(250, out, 3);
	assert_string_equal(out, "25");
	assert_int_equal(out[3], 'x');
	num_format_duration(250, out, 1);
	assert_string_equal(out, "");
	assert_int_equal(out[1], '5');
}

/* num_format_ll agrees with printf("%lld") and round-trips. */
static void test_format_ll(void **state)
{
	static const long long cases[] = {0,	   1,	     -1,       9,
					  10,	   -10,	     123456789,
					  LLONG_MAX, LLONG_MIN, LLONG_MIN + 1};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char got[32], want[32];
		long long back = 0;
		size_t n = num_format_ll(got, cases[i]);
		snprintf(want, sizeof(want), "%lld", cases[i]);
		assert_string_equal(got, want);
		assert_int_equal(n, strlen(want));
		assert_int_equal(num_parse_ll(got, n, LLONG_MIN, LLONG_MAX, &back), 0);
		assert_true(back == cases[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ll),
	    cmocka_unit_test(test_parse_ll_empty_len),
	    cmocka_unit_test(test_parse_duration),
	    cmocka_unit_test(test_format_duration),
	    cmocka_unit_test(test_format_duration_small),
	    cmocka_unit_test(test_format_ll),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
