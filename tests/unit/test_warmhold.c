/*
 * test_warmhold: the warm-up hold's judgement (engine/warmhold.c): too few
 * deliveries never hold, the threshold holds at and above it, bad counts
 * are clamped, and the reason says what was judged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "warmhold.h"

#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_judge(void **state)
{
	static const struct {
		long long deliveries, deferred;
		int hold;
		const char *why;
	} cases[] = {
	    {0, 0, 0, "deferred 0 of 0 (0%) in 3600s, too few to judge"},
	    {49, 49, 0, "deferred 49 of 49 (100%) in 3600s, too few to judge"},
	    {50, 9, 0, "deferred 9 of 50 (18%) in 3600s"},
	    {50, 10, 1, "deferred 10 of 50 (20%) in 3600s"}, /* at: holds */
	    {100, 19, 0, "deferred 19 of 100 (19%) in 3600s"},
	    {100, 20, 1, "deferred 20 of 100 (20%) in 3600s"},
	    {1000000, 999999, 1, "deferred 999999 of 1000000 (99%) in 3600s"},
	    /* clamped: never more deferred than deliveries, never < 0 */
	    {60, 80, 1, "deferred 60 of 60 (100%) in 3600s"},
	    {-5, -1, 0, "deferred 0 of 0 (0%) in 3600s, too few to judge"},
	};
	char why[128];

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		int got = warmhold_judge(&warmhold_defaults,
					 cases[i].deliveries,
					 cases[i].deferred, why, sizeof(why));
		if (got != cases[i].hold || strcmp(why, cases[i].why) != 0)
			fail_msg("case %zu: %d '%s', want %d '%s'", i, got, why,
				 cases[i].hold, cases[i].why);
	}
}

/* Other settings: a rate of 100 holds only when all were deferred; a
 * min_attempts of 1 judges a single delivery; a short reason buffer is
 * cut, never overrun. */
static void test_settings(void **state)
{
	const struct warmhold_conf all = {60000, 1, 100};
	char why[12];

	(void)state;
	assert_int_equal(warmhold_judge(&all, 1, 1, why, sizeof(why)), 1);
	assert_int_equal(warmhold_judge(&all, 2, 1, why, sizeof(why)), 0);
	assert_int_equal(strlen(why), sizeof(why) - 1);
	assert_int_equal(warmhold_judge(&all, 0, 0, why, sizeof(why)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_judge),
	    cmocka_unit_test(test_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
