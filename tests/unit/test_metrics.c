/*
 * test_metrics: table-driven tests of metrics.c: label escaping and its
 * bound, histogram buckets and their exposition, labelled counter tables
 * up to and one past their capacity and their label value limit, and the
 * text of a whole family.  Pure functions: no mocks, no I/O.
 */
#include "metrics.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct label_case {
	const char *value;
	size_t outsz;
	int rc; /* length, or a negative code */
	const char *want;
};

static const struct label_case label_cases[] = {
    {"", 64, 7, "pool=\"\""},
    {"bulk", 64, 11, "pool=\"bulk\""},
    {"a\"b", 64, 11, "pool=\"a\\\"b\""},
    {"a\\b", 64, 11, "pool=\"a\\\\b\""},
    {"a\nb", 64, 11, "pool=\"a\\nb\""},
    /* exactly fits: 11 bytes and the NUL */
    {"bulk", 12, 11, "pool=\"bulk\""},
    {"bulk", 11, -METRICS_ETOOLONG, ""},
    {"bulk", 5, -METRICS_ETOOLONG, ""},
};

static void test_labels(void **state)
{
	static const char *const names[] = {"pool"};

	(void)state;
	for (size_t i = 0; i < NELEM(label_cases); i++) {
		const struct label_case *c = &label_cases[i];
		char out[64];
		const char *v[] = {c->value};
		int rc = metrics_labels(out, c->outsz, 1, names, v);
		assert_int_equal(rc, c->rc);
		assert_string_equal(out, c->want);
	}
}

static void test_labels_two(void **state)
{
	static const char *const names[] = {"member", "state"};
	const char *v[] = {"m1", "down"};
	char out[64];

	(void)state;
	assert_int_equal(metrics_labels(out, sizeof(out), 2, names, v), 24);
	assert_string_equal(out, "member=\"m1\",state=\"down\"");
}

struct hist_case {
	unsigned long long ns;
	size_t bucket; /* index into bound[], nb: +Inf */
};

static const struct hist_case hist_cases[] = {
    {0, 0},
    {1000000, 0},	/* on the bound: le is inclusive */
    {1000001, 1},
    {9999999, 1},
    {10000000, 1},
    {10000001, 2},
    {1000000000, 2},
    {1000000001, 3}, /* +Inf */
};

static void test_hist(void **state)
{
	static const double bound[] = {0.001, 0.01, 1};
	struct metrics_hist h;

	(void)state;
	/* both ways of counting: atomic, and one writer */
	for (int w = 0; w < 2; w++) {
		unsigned long long sum = 0;
		assert_int_equal(metrics_hist_init(&h, bound, 3), 0);
		for (size_t i = 0; i < NELEM(hist_cases); i++) {
			unsigned long long before[4];
			for (size_t k = 0; k < 4; k++)
				before[k] = metrics_get(&h.bucket[k]);
			if (w == 0)
				metrics_hist_observe(&h, hist_cases[i].ns);
			else
				metrics_hist_observe_1w(&h, hist_cases[i].ns);
			sum += hist_cases[i].ns;
			for (size_t k = 0; k < 4; k++)
				assert_int_equal(
				    metrics_get(&h.bucket[k]),
				    before[k] + (k == hist_cases[i].bucket));
			assert_int_equal(metrics_get(&h.sum_ns), sum);
		}
	}
}

static void test_hist_init_bounds(void **state)
{
	double many[METRICS_BUCKETS_MAX + 1];
	static const double down[] = {0.1, 0.01};
	static const double zero[] = {0};
	struct metrics_hist h;

	(void)state;
	for (size_t i = 0; i < NELEM(many); i++)
		many[i] = 0.001 * (double)(i + 1);
	assert_int_equal(metrics_hist_init(&h, many, METRICS_BUCKETS_MAX), 0);
	assert_int_equal(h.nb, METRICS_BUCKETS_MAX);
	assert_int_equal(metrics_hist_init(&h, many, METRICS_BUCKETS_MAX + 1),
			 -METRICS_ETOOMANY);
	assert_int_equal(metrics_hist_init(&h, down, 2), -METRICS_ETOOMANY);
	assert_int_equal(metrics_hist_init(&h, zero, 1), -METRICS_ETOOMANY);
	assert_int_equal(metrics_hist_init(&h, many, 0), 0);
}

static void test_hist_write(void **state)
{
	static const double bound[] = {0.001, 0.5};
	struct metrics_hist h;
	struct metrics_buf b = {0};

	(void)state;
	assert_int_equal(metrics_hist_init(&h, bound, 2), 0);
	metrics_hist_observe(&h, 500000);     /* 0.5 ms */
	metrics_hist_observe(&h, 250000000);  /* 250 ms */
	metrics_hist_observe(&h, 2000000000); /* 2 s */
	metrics_family(&b, "x_seconds", "histogram", "How long.");
	metrics_hist_write(&b, "x_seconds", "path=\"redis\"", &h);
	metrics_hist_write(&b, "y_seconds", NULL, &h);
	assert_false(b.oom);
	assert_string_equal(
	    b.p, "# HELP x_seconds How long.\n"
		 "# TYPE x_seconds histogram\n"
		 "x_seconds_bucket{path=\"redis\",le=\"0.001\"} 1\n"
		 "x_seconds_bucket{path=\"redis\",le=\"0.5\"} 2\n"
		 "x_seconds_bucket{path=\"redis\",le=\"+Inf\"} 3\n"
		 "x_seconds_sum{path=\"redis\"} 2.250500000\n"
		 "x_seconds_count{path=\"redis\"} 3\n"
		 "y_seconds_bucket{le=\"0.001\"} 1\n"
		 "y_seconds_bucket{le=\"0.5\"} 2\n"
		 "y_seconds_bucket{le=\"+Inf\"} 3\n"
		 "y_seconds_sum 2.250500000\n"
		 "y_seconds_count 3\n");
	metrics_buf_free(&b);
}

static void test_family_help_escaped(void **state)
{
	struct metrics_buf b = {0};

	(void)state;
	metrics_family(&b, "a_total", "counter", "back\\slash\nnew line");
	metrics_sample(&b, "a_total", NULL, 7);
	metrics_sample(&b, "a_total", "", 8);
	metrics_sample_f(&b, "b", "k=\"v\"", 0.25);
	assert_string_equal(b.p, "# HELP a_total back\\\\slash\\nnew line\n"
				 "# TYPE a_total counter\n"
				 "a_total 7\n"
				 "a_total 8\n"
				 "b{k=\"v\"} 0.25\n");
	metrics_buf_free(&b);
}

static void test_buf_grows(void **state)
{
	struct metrics_buf b = {0};

	(void)state;
	for (int i = 0; i < 10000; i++)
		metrics_printf(&b, "%05d\n", i);
	assert_false(b.oom);
	assert_int_equal(b.len, 60000);
	assert_memory_equal(b.p + 59994, "09999\n", 6);
	metrics_buf_free(&b);
	assert_null(b.p);
}

static const char *const tnames[] = {"pool", "member"};

static void test_table_add_get(void **state)
{
	struct metrics_table *t = metrics_table_new(2, tnames, 8);
	const char *a[] = {"bulk", "m1"}, *b[] = {"bulk", "m2"};
	const char *c[] = {"bulkm", "1"}; /* same bytes joined: another one */

	(void)state;
	assert_non_null(t);
	assert_int_equal(metrics_table_get(t, a), 0);
	assert_int_equal(metrics_table_add(t, a, 1), 0);
	assert_int_equal(metrics_table_add(t, a, 2), 0);
	assert_int_equal(metrics_table_add(t, b, 5), 0);
	assert_int_equal(metrics_table_add(t, c, 7), 0);
	assert_int_equal(metrics_table_get(t, a), 3);
	assert_int_equal(metrics_table_get(t, b), 5);
	assert_int_equal(metrics_table_get(t, c), 7);
	assert_int_equal(metrics_table_set(t, c, 1), 0); /* a gauge */
	assert_int_equal(metrics_table_get(t, c), 1);
	assert_int_equal(metrics_table_set(t, c, 0), 0);
	assert_int_equal(metrics_table_get(t, c), 0);
	assert_int_equal(metrics_table_get(t, a), 3);
	assert_int_equal(metrics_table_dropped(t), 0);
	metrics_table_free(t);
}

static void test_table_full(void **state)
{
	enum { MAX = 5 };
	struct metrics_table *t = metrics_table_new(2, tnames, MAX);
	char name[16];
	const char *v[] = {"p", name};

	(void)state;
	for (int i = 0; i < MAX; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		assert_int_equal(metrics_table_add(t, v, 1), 0);
	}
	/* one past: dropped; the ones in keep counting */
	snprintf(name, sizeof(name), "m%d", MAX);
	assert_int_equal(metrics_table_add(t, v, 1), -METRICS_ETOOMANY);
	assert_int_equal(metrics_table_get(t, v), 0);
	assert_int_equal(metrics_table_dropped(t), 1);
	snprintf(name, sizeof(name), "m0");
	assert_int_equal(metrics_table_add(t, v, 1), 0);
	assert_int_equal(metrics_table_get(t, v), 2);
	metrics_table_free(t);
}

static void test_table_limits(void **state)
{
	char max[METRICS_LABEL_MAX + 2];
	const char *v[] = {"p", max};
	struct metrics_table *t = metrics_table_new(2, tnames, 4);

	(void)state;
	memset(max, 'a', METRICS_LABEL_MAX);
	max[METRICS_LABEL_MAX] = '\0';
	assert_int_equal(metrics_table_add(t, v, 1), 0);
	assert_int_equal(metrics_table_get(t, v), 1);
	max[METRICS_LABEL_MAX] = 'a';
	max[METRICS_LABEL_MAX + 1] = '\0';
	assert_int_equal(metrics_table_add(t, v, 1), -METRICS_ETOOLONG);
	assert_int_equal(metrics_table_dropped(t), 1);
	metrics_table_free(t);
	assert_null(metrics_table_new(0, tnames, 4));
	assert_null(metrics_table_new(METRICS_LABELS_MAX + 1, tnames, 4));
	assert_null(metrics_table_new(2, tnames, 0));
	assert_null(metrics_table_new(2, tnames, METRICS_SERIES_MAX + 1));
	t = metrics_table_new(1, tnames, METRICS_SERIES_MAX);
	assert_non_null(t);
	metrics_table_free(t);
	metrics_table_free(NULL);
}

static int keep_not_m2(void *arg, const char *const *v)
{
	(void)arg;
	return strcmp(v[1], "m2") != 0;
}

static void test_table_write(void **state)
{
	struct metrics_table *t = metrics_table_new(2, tnames, 8);
	const char *a[] = {"bulk", "m1"}, *b[] = {"bulk", "m2"};
	const char *c[] = {"tx", "m\"3"};
	struct metrics_buf out = {0};

	(void)state;
	metrics_table_add(t, a, 4);
	metrics_table_add(t, b, 5);
	metrics_table_add(t, c, 6);
	metrics_table_write(&out, "r_total", t, keep_not_m2, NULL);
	assert_string_equal(out.p, "r_total{pool=\"bulk\",member=\"m1\"} 4\n"
				   "r_total{pool=\"tx\",member=\"m\\\"3\"} 6\n");
	out.len = 0;
	metrics_table_write(&out, "r_total", t, NULL, NULL);
	assert_non_null(strstr(out.p, "member=\"m2\"} 5\n"));
	metrics_buf_free(&out);
	metrics_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_labels),
	    cmocka_unit_test(test_labels_two),
	    cmocka_unit_test(test_hist),
	    cmocka_unit_test(test_hist_init_bounds),
	    cmocka_unit_test(test_hist_write),
	    cmocka_unit_test(test_family_help_escaped),
	    cmocka_unit_test(test_buf_grows),
	    cmocka_unit_test(test_table_add_get),
	    cmocka_unit_test(test_table_full),
	    cmocka_unit_test(test_table_limits),
	    cmocka_unit_test(test_table_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
