/*
 * test_check: the active check state machine (rise, fall, fastinter) and
 * the slow-start ramp of engine/check.c, table-driven.  Pure: no mocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "check.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct check_cfg cfg = {.interval_ms = 2000,
				     .fastinter_ms = 500,
				     .timeout_ms = 1000,
				     .rise = 3,
				     .fall = 2};

/*
 * Each case: a start state and a string of results ('+' ok, '-' failed);
 * after each result the expected state ('U'/'D'), whether it changed
 * ('*' or '.') and the next interval ('i' interval, 'f' fastinter).
 */
struct sm_case {
	int up;
	const char *results;
	const char *states;
	const char *changes;
	const char *next;
};

static void test_state_machine(void **state)
{
	static const struct sm_case t[] = {
	    /* up: two failures in a row take it down */
	    {1, "--", "UD", ".*", "fi"},
	    /* a success between resets the count */
	    {1, "-+-+", "UUUU", "....", "fifi"},
	    {1, "-+--", "UUUD", "...*", "fifi"},
	    /* down: three successes in a row bring it up */
	    {0, "+++", "DDU", "..*", "ffi"},
	    {0, "++-++", "DDDDD", ".....", "ffiff"},
	    {0, "-----", "DDDDD", ".....", "iiiii"},
	    /* flapping around the threshold */
	    {1, "--+++--", "UDDDUUD", ".*..*.*", "fiffifi"},
	    {1, "+++", "UUU", "...", "iii"},
	};
	(void)state;
	for (size_t i = 0; i < NELEM(t); i++) {
		struct check_state s;
		check_init(&s, t[i].up);
		for (size_t j = 0; t[i].results[j]; j++) {
			int ch = check_result(&s, &cfg, t[i].results[j] == '+');
			long long nx = check_next_ms(&s, &cfg);
			if ((s.up ? 'U' : 'D') != t[i].states[j] ||
			    (ch ? '*' : '.') != t[i].changes[j] ||
			    (nx == cfg.fastinter_ms ? 'f' : 'i') != t[i].next[j])
				fail_msg("case %zu step %zu: state %c change %d "
					 "next %lld",
					 i, j, s.up ? 'U' : 'D', ch, nx);
		}
	}
}

/* rise = fall = 1: every result decides at once. */
static void test_single(void **state)
{
	struct check_cfg one = cfg;
	struct check_state s;

	(void)state;
	one.rise = one.fall = 1;
	check_init(&s, 1);
	assert_int_equal(check_result(&s, &one, 0), 1);
	assert_int_equal(s.up, 0);
	assert_int_equal(check_next_ms(&s, &one), one.interval_ms);
	assert_int_equal(check_result(&s, &one, 1), 1);
	assert_int_equal(s.up, 1);
}

static void test_slowstart(void **state)
{
	static const struct {
		long long since, ss;
		int min, want;
	} t[] = {
	    {0, 60000, 10, 10},	    {30000, 60000, 10, 55},
	    {59999, 60000, 10, 99}, {60000, 60000, 10, 100},
	    {600000, 60000, 10, 100}, {-5, 60000, 10, 10},
	    {1000, 0, 10, 100},	    {0, 1000, 100, 100},
	    {500, 1000, 1, 50},
	};
	(void)state;
	for (size_t i = 0; i < NELEM(t); i++)
		if (check_slowstart_pct(t[i].since, t[i].ss, t[i].min) !=
		    t[i].want)
			fail_msg("case %zu: %d, want %d", i,
				 check_slowstart_pct(t[i].since, t[i].ss,
						     t[i].min),
				 t[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_machine),
	    cmocka_unit_test(test_single),
	    cmocka_unit_test(test_slowstart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
