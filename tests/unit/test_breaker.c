/*
 * test_breaker: the circuit breaker of breaker.c, driven by a table of
 * (time, result) steps: trip at the threshold, no trip under
 * min_attempts or under the rate, the window sliding old results out,
 * backoff growth and its bound, half-open success and failure, results
 * ignored while open.  No I/O.
 */
#include "breaker.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* 60 s window, 10 attempts, 50 %, 30 s doubling up to 100 s. */
static const struct breaker_conf conf = {60000, 10, 50, 30000, 100000};

struct step {
	long long t;		 /* ms */
	int n;			 /* how many results at t */
	int error;		 /* their kind */
	enum breaker_event last; /* what the last of them returns */
	enum breaker_state after;
	int trips;
};

static void run(const struct step *s, size_t n)
{
	struct breaker b;

	breaker_init(&b);
	for (size_t i = 0; i < n; i++) {
		enum breaker_event ev = BREAKER_NONE;
		for (int k = 0; k < s[i].n; k++)
			ev = breaker_record(&b, &conf, s[i].t, s[i].error);
		if (ev != s[i].last)
			fail_msg("step %zu: event %d, expected %d", i, ev,
				 s[i].last);
		assert_int_equal(breaker_state(&b, s[i].t), s[i].after);
		assert_int_equal(b.trips, s[i].trips);
	}
}

static void test_trip(void **state)
{
	const struct step s[] = {
	    {1000, 5, 0, BREAKER_NONE, BREAKER_CLOSED, 0},
	    {2000, 4, 1, BREAKER_NONE, BREAKER_CLOSED, 0},
	    /* 10 attempts, 5 errors: 50 % */
	    {3000, 1, 1, BREAKER_TRIP, BREAKER_OPEN, 1},
	};
	struct breaker b;

	(void)state;
	run(s, NELEM(s));
	breaker_init(&b);
	for (int i = 0; i < 5; i++)
		breaker_record(&b, &conf, 1000, 0);
	for (int i = 0; i < 5; i++)
		breaker_record(&b, &conf, 1000, 1);
	assert_int_equal(b.open_until, 31000);
	assert_string_equal(b.why, "failed 5 of 10 in 60s, open 30s");
}

static void test_no_trip(void **state)
{
	/* 9 errors in a row: under min_attempts */
	const struct step few[] = {
	    {1000, 9, 1, BREAKER_NONE, BREAKER_CLOSED, 0},
	};
	/* 100 attempts, 49 errors: under the rate */
	const struct step rate[] = {
	    {1000, 51, 0, BREAKER_NONE, BREAKER_CLOSED, 0},
	    {2000, 49, 1, BREAKER_NONE, BREAKER_CLOSED, 0},
	};
	/* old errors slide out of the window */
	const struct step slide[] = {
	    {0, 9, 1, BREAKER_NONE, BREAKER_CLOSED, 0},
	    {61000, 1, 1, BREAKER_NONE, BREAKER_CLOSED, 0},
	    {62000, 8, 1, BREAKER_NONE, BREAKER_CLOSED, 0},
	    {63000, 1, 1, BREAKER_TRIP, BREAKER_OPEN, 1},
	};

	(void)state;
	run(few, NELEM(few));
	run(rate, NELEM(rate));
	run(slide, NELEM(slide));
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(breaker_backoff(&conf, 1), 30000);
	assert_int_equal(breaker_backoff(&conf, 2), 60000);
	assert_int_equal(breaker_backoff(&conf, 3), 100000); /* bound */
	assert_int_equal(breaker_backoff(&conf, 50), 100000);
}

static void test_half_open(void **state)
{
	const struct step fail_then_ok[] = {
	    {0, 10, 1, BREAKER_TRIP, BREAKER_OPEN, 1},
	    /* open: results of mail queued before are not counted */
	    {29999, 5, 0, BREAKER_NONE, BREAKER_OPEN, 1},
	    /* half-open: a failure opens it again for 60 s */
	    {30000, 1, 1, BREAKER_REOPEN, BREAKER_OPEN, 2},
	    {89999, 1, 0, BREAKER_NONE, BREAKER_OPEN, 2},
	    /* and for 100 s (bounded) after the next failed trial */
	    {90000, 1, 1, BREAKER_REOPEN, BREAKER_OPEN, 3},
	    {190000, 0, 0, BREAKER_NONE, BREAKER_HALF_OPEN, 3},
	    /* a success closes it and forgets the trips */
	    {190000, 1, 0, BREAKER_CLOSE, BREAKER_CLOSED, 0},
	    /* the counts start over: 9 errors do not trip */
	    {191000, 9, 1, BREAKER_NONE, BREAKER_CLOSED, 0},
	    /* the next trip opens for the first backoff again */
	    {192000, 1, 1, BREAKER_TRIP, BREAKER_OPEN, 1},
	    {222000, 0, 0, BREAKER_NONE, BREAKER_HALF_OPEN, 1},
	};

	(void)state;
	run(fail_then_ok, NELEM(fail_then_ok));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trip),
	    cmocka_unit_test(test_no_trip),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_half_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
