/*
 * test_store: the asynchronous store's handling of its settings when
 * memory runs out.  strdup is wrapped (-Wl,--wrap=strdup) so that the
 * Nth copy fails: store_new() then returns NULL, and store_reconfigure()
 * (a reload) returns -1 and keeps the running settings, instead of
 * aborting or keeping a NULL prefix for the next quota call.  Redis is
 * not needed: the addresses point nowhere and the store stays down.
 */
#include "config.h"
#include "quota.h"
#include "store_redis.h"

#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_cases.h"

char *__real_strdup(const char *s);
char *__wrap_strdup(const char *s);

static int dup_calls, dup_fail_at; /* 0: never fail */

char *__wrap_strdup(const char *s)
{
	if (dup_fail_at != 0 && ++dup_calls == dup_fail_at)
		return NULL;
	return __real_strdup(s);
}

static const char conf_a[] =
    "redis = { address = \"unix:/nonexistent/a.sock\"; prefix = \"a:\"; "
    "password = \"pa\"; };\n"
    "quotas = ( { name = \"q\"; subject = \"sender\"; unit = \"messages\"; "
    "limit = 5; window = 60; } );\n";
static const char conf_b[] =
    "redis = { address = \"unix:/nonexistent/b.sock\"; prefix = \"b:\"; "
    "password = \"pb\"; db = 2; };\n"
    "quotas = ( { name = \"q\"; subject = \"sender\"; unit = \"messages\"; "
    "limit = 5; window = 60; } );\n";

static void on_verdict(void *arg, int rc, const struct quota_verdict *v)
{
	(void)v;
	*(int *)arg = rc;
}

/* One quota call on s: the store is down, so it answers -STORE_EDOWN. */
static void call_once(struct store *s, const struct config *c)
{
	struct quota_plan plan;
	int rc = 1;

	memset(&plan, 0, sizeof(plan));
	plan.n = 1;
	plan.checks[0].q = &c->quotas[0];
	strcpy(plan.checks[0].subject, "a@b");
	plan.checks[0].cost = 1;
	assert_int_equal(store_quota_check(s, &plan, on_verdict, &rc), 0);
	assert_int_equal(rc, -STORE_EDOWN);
}

static void test_new_out_of_memory(void **state)
{
	struct event_base *base = event_base_new();
	struct config *a = load_valid("a.conf", conf_a);

	(void)state;
	assert_non_null(base);
	for (int k = 1; k <= 3; k++) { /* prefix, address, password */
		dup_calls = 0;
		dup_fail_at = k;
		assert_null(store_new(base, a));
	}
	dup_fail_at = 0;
	config_unref(a);
	event_base_free(base);
}

static void test_reconfigure_out_of_memory(void **state)
{
	struct event_base *base = event_base_new();
	struct config *a = load_valid("a.conf", conf_a);
	struct config *b = load_valid("b.conf", conf_b);
	struct store *s;

	(void)state;
	dup_fail_at = 0;
	s = store_new(base, a);
	assert_non_null(s);
	for (int k = 1; k <= 3; k++) {
		dup_calls = 0;
		dup_fail_at = k;
		assert_int_equal(store_reconfigure(s, b), -1);
		dup_fail_at = 0;
		call_once(s, a); /* the running settings still work */
	}
	/* the same address: only the prefix is copied, and may fail */
	dup_calls = 0;
	dup_fail_at = 1;
	assert_int_equal(store_reconfigure(s, a), -1);
	dup_fail_at = 0;
	call_once(s, a);
	assert_int_equal(store_reconfigure(s, b), 0);
	call_once(s, b);
	store_free(s);
	config_unref(a);
	config_unref(b);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_out_of_memory),
	    cmocka_unit_test(test_reconfigure_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
