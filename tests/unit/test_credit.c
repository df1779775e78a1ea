/*
 * test_credit: tests of credit.c, the quota units one policyd reserves
 * ahead: which requests are paid locally, how much a check asks to
 * reserve (none at a low rate or for small quotas, doubling under load,
 * at most 1% of the limit, never less than the request's own cost), how
 * lapsed and remaining units are given back, and the table's bound.  Pure
 * logic with a fake clock; Redis is played by filling in the verdict.
 */
#include "credit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define LIFE 200 /* ms */

static struct cfg_quota q_msgs = {.name = "msgs", .limit = 100000,
				  .window_ms = 3600000};
static struct cfg_quota q_bytes = {.name = "bytes", .limit = 1000000,
				   .window_ms = 3600000};
static struct cfg_quota q_small = {.name = "small", .limit = 99,
				   .window_ms = 3600000};

/* A plan of one check of q for subject with cost. */
static void plan1(struct quota_plan *p, const struct cfg_quota *q,
		  const char *subject, long long cost)
{
	memset(p, 0, sizeof(*p));
	p->n = 1;
	p->checks[0].q = q;
	snprintf(p->checks[0].subject, sizeof(p->checks[0].subject), "%s",
		 subject);
	p->checks[0].cost = cost;
}

/* Plays Redis for plan: allowed, granting each check what it asked. */
static void grant_all(struct credits *cr, const struct quota_plan *p,
		      long long now)
{
	struct quota_verdict v;

	memset(&v, 0, sizeof(v));
	v.allowed = 1;
	for (size_t i = 0; i < p->n; i++)
		v.reserved[i] = p->checks[i].reserve;
	credits_record(cr, p, &v, now, LIFE);
}

struct back {
	size_t n;
	char what[8][64];
	long long units[8];
	long long us[8];
};

static void on_back(void *arg, const struct cfg_quota *q, const char *subject,
		    long long units, long long us)
{
	struct back *b = arg;

	if (b->n < 8) {
		snprintf(b->what[b->n], sizeof(b->what[0]), "%s/%s", q->name,
			 subject);
		b->us[b->n] = us;
		b->units[b->n++] = units;
	}
}

/* A first request is never paid locally and asks for nothing. */
static void test_first_request(void **state)
{
	struct credits *cr = credits_new(16);
	struct quota_plan p;

	(void)state;
	plan1(&p, &q_msgs, "a@x", 1);
	assert_int_equal(credits_pay(cr, &p, 1000, LIFE), 0);
	assert_int_equal(p.checks[0].reserve, 0);
	grant_all(cr, &p, 1000);
	assert_int_equal(credits_count(cr), 1);
	credits_free(cr);
}

/* Under load the reservation doubles; its units pay the next requests. */
static void test_doubling_and_paying(void **state)
{
	struct credits *cr = credits_new(16);
	struct quota_plan p;
	long long now = 1000, want;
	int paid = 0, asked = 0;

	(void)state;
	plan1(&p, &q_msgs, "a@x", 1);
	assert_int_equal(credits_pay(cr, &p, now, LIFE), 0);
	grant_all(cr, &p, now);
	/* 10 ms later: 1 used in 10 ms -> 2 (twice the use) */
	now += 10;
	assert_int_equal(credits_pay(cr, &p, now, LIFE), 0);
	assert_int_equal(p.checks[0].reserve, 2);
	grant_all(cr, &p, now);
	want = 2;
	/* one request a ms: each reservation is used up quickly, the next
	 * is twice as big (what it paid plus the request that asked) */
	for (int i = 0; i < 200; i++) {
		now += 1;
		if (credits_pay(cr, &p, now, LIFE)) {
			paid++;
			continue;
		}
		asked++;
		assert_true(p.checks[0].reserve >= want);
		want = p.checks[0].reserve;
		grant_all(cr, &p, now);
	}
	assert_true(paid >= 190);
	assert_true(asked <= 8);
	assert_true(want >= 64);
	credits_free(cr);
}

/* At most 1% of the limit; none for limits under 100. */
static void test_caps(void **state)
{
	struct credits *cr = credits_new(16);
	struct quota_plan p;
	long long now = 1000;

	(void)state;
	plan1(&p, &q_msgs, "a@x", 1);
	credits_pay(cr, &p, now, LIFE);
	grant_all(cr, &p, now);
	for (int i = 0; i < 5000; i++) { /* 5000 requests in 5 ms */
		if (credits_pay(cr, &p, now + i / 1000, LIFE))
			continue;
		assert_true(p.checks[0].reserve <= 1000);
		grant_all(cr, &p, now + i / 1000);
	}
	assert_int_equal(p.checks[0].reserve, 1000);

	plan1(&p, &q_small, "b@x", 1);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(credits_pay(cr, &p, now, LIFE), 0);
		assert_int_equal(p.checks[0].reserve, 0);
		grant_all(cr, &p, now);
	}
	credits_free(cr);
}

/* A bytes check asks for nothing that would not pay its next message. */
static void test_bytes_cost(void **state)
{
	struct credits *cr = credits_new(16);
	struct quota_plan p;

	(void)state;
	plan1(&p, &q_bytes, "a@x", 3000);
	credits_pay(cr, &p, 1000, LIFE);
	grant_all(cr, &p, 1000);
	/* 3000 bytes used in 50 ms -> 6000 wanted: pays this one */
	assert_int_equal(credits_pay(cr, &p, 1050, LIFE), 0);
	assert_int_equal(p.checks[0].reserve, 6000);
	grant_all(cr, &p, 1050);
	assert_int_equal(credits_pay(cr, &p, 1051, LIFE), 1);
	assert_int_equal(credits_pay(cr, &p, 1052, LIFE), 1);
	/* 0 left: a 9000-byte message cannot be paid; it asks for twice the
	 * 9000 used, capped at 1% of the limit */
	plan1(&p, &q_bytes, "a@x", 9000);
	assert_int_equal(credits_pay(cr, &p, 1053, LIFE), 0);
	assert_int_equal(p.checks[0].reserve, 10000);
	/* at a low rate: nothing */
	plan1(&p, &q_bytes, "slow@x", 3000);
	credits_pay(cr, &p, 1000, LIFE);
	grant_all(cr, &p, 1000);
	assert_int_equal(credits_pay(cr, &p, 3000, LIFE), 0);
	assert_int_equal(p.checks[0].reserve, 0);
	credits_free(cr);
}

/* All checks of a request must be paid locally, or none is touched. */
static void test_all_or_nothing(void **state)
{
	struct credits *cr = credits_new(16);
	struct quota_plan p, one;
	struct quota_verdict v;

	(void)state;
	plan1(&p, &q_msgs, "a@x", 1);
	p.n = 2;
	p.checks[1] = p.checks[0];
	p.checks[1].q = &q_bytes;
	p.checks[1].cost = 100;
	credits_pay(cr, &p, 1000, LIFE);
	memset(&v, 0, sizeof(v));
	v.allowed = 1;
	v.reserved[0] = 10; /* only the messages check got units */
	credits_record(cr, &p, &v, 1000, LIFE);
	assert_int_equal(credits_pay(cr, &p, 1001, LIFE), 0);
	/* the messages units are still all there */
	plan1(&one, &q_msgs, "a@x", 1);
	for (int i = 0; i < 10; i++)
		assert_int_equal(credits_pay(cr, &one, 1002, LIFE), 1);
	assert_int_equal(credits_pay(cr, &one, 1002, LIFE), 0);
	credits_free(cr);
}

/* Units live LIFE ms: then they pay nothing and are given back. */
static void test_lapse_and_give_back(void **state)
{
	struct credits *cr = credits_new(16);
	struct quota_plan p;
	struct quota_verdict v;
	struct back b = {0};

	(void)state;
	plan1(&p, &q_msgs, "a@x", 1);
	memset(&v, 0, sizeof(v));
	v.allowed = 1;
	v.reserved[0] = 50;
	credits_record(cr, &p, &v, 1000, LIFE);
	for (int i = 0; i < 20; i++)
		assert_int_equal(credits_pay(cr, &p, 1100, LIFE), 1);
	/* within the lifetime nothing is given back */
	assert_int_equal(credits_expire(cr, 1150, LIFE, 0, on_back, &b), 0);
	/* after it: not paid, and the 30 left go back */
	assert_int_equal(credits_pay(cr, &p, 1201, LIFE), 0);
	assert_int_equal(credits_expire(cr, 1201, LIFE, 0, on_back, &b), 1);
	assert_string_equal(b.what[0], "msgs/a@x");
	assert_int_equal(b.units[0], 30);
	assert_int_equal(credits_expire(cr, 1202, LIFE, 0, on_back, &b), 0);
	/* a lapsed reservation replaced by a new one: the old units go back
	 * at the next sweep, the new ones stay */
	credits_record(cr, &p, &v, 1300, LIFE);
	credits_record(cr, &p, &v, 1600, LIFE); /* 50 more, 50 lapsed */
	memset(&b, 0, sizeof(b));
	assert_int_equal(credits_expire(cr, 1601, LIFE, 0, on_back, &b), 1);
	assert_int_equal(b.units[0], 50);
	assert_int_equal(credits_pay(cr, &p, 1602, LIFE), 1);
	/* everything back (a stop or a reload), and the table is empty */
	memset(&b, 0, sizeof(b));
	assert_int_equal(credits_expire(cr, 1603, LIFE, 1, on_back, &b), 1);
	assert_int_equal(b.units[0], 49);
	assert_int_equal(credits_count(cr), 0);
	credits_free(cr);
}

/*
 * A give-back returns the time Redis charged for the units, not units:
 * the units used take their share of it, the rest goes back, and the
 * shares add up to exactly what was charged, across several reservations
 * and lapsed periods.
 */
static void test_give_back_time(void **state)
{
	struct credits *cr = credits_new(16);
	struct quota_plan p;
	struct quota_verdict v;
	struct back b = {0};

	(void)state;
	plan1(&p, &q_msgs, "t@x", 1);
	memset(&v, 0, sizeof(v));
	v.allowed = 1;
	v.reserved[0] = 50;
	v.reserved_us[0] = 1800007; /* 50 x 36 ms, and Redis's rounding */
	credits_record(cr, &p, &v, 1000, LIFE);
	for (int i = 0; i < 20; i++)
		assert_int_equal(credits_pay(cr, &p, 1100, LIFE), 1);
	assert_int_equal(credits_expire(cr, 1201, LIFE, 0, on_back, &b), 1);
	assert_int_equal(b.units[0], 30);
	/* each unit used took its floor share (36000 us), the 30 left
	 * carry the rest: nothing lost or made up by rounding */
	assert_int_equal(b.us[0], 1800007 - 20 * 36000);

	/* two reservations, one lapsing: each period's time goes back */
	memset(&b, 0, sizeof(b));
	v.reserved[0] = 10;
	v.reserved_us[0] = 1000;
	credits_record(cr, &p, &v, 1300, LIFE);
	for (int i = 0; i < 10; i++) /* all 10 used: nothing left */
		assert_int_equal(credits_pay(cr, &p, 1301, LIFE), 1);
	assert_int_equal(credits_pay(cr, &p, 1301, LIFE), 0);
	v.reserved[0] = 4;
	v.reserved_us[0] = 999;
	credits_record(cr, &p, &v, 1302, LIFE);
	assert_int_equal(credits_pay(cr, &p, 1303, LIFE), 1); /* 3 left */
	credits_record(cr, &p, &v, 1600, LIFE); /* lapsed: 3 back, 4 held */
	assert_int_equal(credits_expire(cr, 1601, LIFE, 1, on_back, &b), 1);
	assert_int_equal(b.units[0], 7);
	assert_int_equal(b.us[0], (999 - 999 / 4) + 999);
	credits_free(cr);
}

/* Idle subjects are forgotten; the table never grows past its bound. */
static void test_bound_and_idle(void **state)
{
	struct credits *cr = credits_new(4);
	struct quota_plan p;
	struct back b = {0};
	char s[32];

	(void)state;
	for (int i = 0; i < 10; i++) {
		snprintf(s, sizeof(s), "u%d@x", i);
		plan1(&p, &q_msgs, s, 1);
		credits_pay(cr, &p, 1000, LIFE);
		grant_all(cr, &p, 1000);
	}
	assert_int_equal(credits_count(cr), 4);
	credits_expire(cr, 1000 + 4 * LIFE, LIFE, 0, on_back, &b);
	assert_int_equal(credits_count(cr), 4);
	credits_expire(cr, 1001 + 4 * LIFE, LIFE, 0, on_back, &b);
	assert_int_equal(credits_count(cr), 0);
	assert_int_equal(b.n, 0);
	credits_free(cr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_request),
	    cmocka_unit_test(test_doubling_and_paying),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_bytes_cost),
	    cmocka_unit_test(test_all_or_nothing),
	    cmocka_unit_test(test_lapse_and_give_back),
	    cmocka_unit_test(test_give_back_time),
	    cmocka_unit_test(test_bound_and_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
