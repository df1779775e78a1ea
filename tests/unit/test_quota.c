/*
 * test_quota: tests of quota.c: the GCRA arithmetic (quota_gcra,
 * quota_used), live override values, Redis key names, the plan of checks
 * a policy request triggers under a config (states, costs, normalised
 * subjects, exemptions, classes) and the reply text.  Decisions take a
 * config and a request and do no I/O, so no mocks are needed.
 */
#include "quota.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_cases.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define NOW 1700000000000000LL /* a realistic clock, in us */
#define MIN_US 60000000LL

/* ---- quota_gcra ---- */

/* Runs n requests of cost at now; returns how many passed, updating tat. */
static int gcra_burst(long long *tat, long long now, long long limit,
		      long long window_us, long long cost, int n,
		      struct gcra *last)
{
	int passed = 0;

	for (int i = 0; i < n; i++) {
		quota_gcra(*tat, now, limit, window_us, cost, last);
		if (!last->allowed)
			break;
		*tat = last->tat_us;
		passed++;
	}
	return passed;
}

struct burst_case {
	long long limit, window_us;
};

static const struct burst_case burst_cases[] = {
    {1, MIN_US},	 {2, MIN_US},	 {7, MIN_US},		{10, MIN_US},
    {100, 3600000000LL}, {3, 1000000},	 {1000, 86400000000LL}, {13, 7000000},
    {60, MIN_US},	 {999, 1000000},
};

/* A quota of N allows exactly N at one instant, then asks to wait ~T. */
static void test_gcra_burst(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(burst_cases); i++) {
		const struct burst_case *t = &burst_cases[i];
		double interval = (double)t->window_us / (double)t->limit;
		long long tat = 0, r;
		struct gcra g;
		int n = gcra_burst(&tat, NOW, t->limit, t->window_us, 1,
				   (int)t->limit + 5, &g);

		if (n != t->limit)
			fail_msg("case %zu: %d of %lld passed", i, n, t->limit);
		assert_false(g.allowed);
		assert_int_equal(g.tat_us, 0);
		/* the wait is one interval, give or take rounding per step */
		if ((double)g.retry_us > interval + 1 ||
		    (double)g.retry_us < interval - (double)t->limit - 1)
			fail_msg("case %zu: retry %lld us, interval %.1f", i,
				 g.retry_us, interval);
		/* denied until the retry time, allowed from it on */
		r = g.retry_us;
		quota_gcra(tat, NOW + r - 1, t->limit, t->window_us, 1, &g);
		if (g.allowed || g.retry_us != 1)
			fail_msg("case %zu: 1 us before the retry time: "
				 "allowed %d, retry %lld",
				 i, g.allowed, g.retry_us);
		quota_gcra(tat, NOW + r, t->limit, t->window_us, 1, &g);
		if (!g.allowed)
			fail_msg("case %zu: denied at the retry time", i);
	}
}

/* 10 per minute: T = 6 s exactly, so the numbers are exact too. */
static void test_gcra_exact(void **state)
{
	const long long T = 6000000;
	long long tat = 0;
	struct gcra g;

	(void)state;
	quota_gcra(0, NOW, 10, MIN_US, 1, &g);
	assert_true(g.allowed);
	assert_int_equal(g.tat_us, NOW + T);
	assert_int_equal(g.retry_us, 0);

	assert_int_equal(gcra_burst(&tat, NOW, 10, MIN_US, 1, 11, &g), 10);
	assert_int_equal(tat, NOW + MIN_US);
	assert_false(g.allowed);
	assert_int_equal(g.retry_us, T);

	/* one microsecond early: denied, with 1 us left */
	quota_gcra(tat, NOW + T - 1, 10, MIN_US, 1, &g);
	assert_false(g.allowed);
	assert_int_equal(g.retry_us, 1);
	/* after T one more passes, and only one */
	quota_gcra(tat, NOW + T, 10, MIN_US, 1, &g);
	assert_true(g.allowed);
	assert_int_equal(g.tat_us, NOW + MIN_US + T);
	tat = g.tat_us;
	quota_gcra(tat, NOW + T, 10, MIN_US, 1, &g);
	assert_false(g.allowed);
	assert_int_equal(g.retry_us, T);
	/* after 2.5 T two more pass */
	assert_int_equal(
	    gcra_burst(&tat, NOW + T + T * 5 / 2, 10, MIN_US, 1, 5, &g), 2);
	/* after a full window idle the whole quota is back */
	tat = NOW + MIN_US;
	assert_int_equal(
	    gcra_burst(&tat, NOW + 2 * MIN_US, 10, MIN_US, 1, 20, &g), 10);
}

/* Sending at exactly the rate never hits the quota. */
static void test_gcra_steady(void **state)
{
	long long tat = 0;
	struct gcra g;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		quota_gcra(tat, NOW + (long long)i * 6000000, 10, MIN_US, 1,
			   &g);
		if (!g.allowed)
			fail_msg("request %d at the steady rate denied", i);
		tat = g.tat_us;
	}
	/* and after a burst at the same instant, the bucket is full */
	assert_int_equal(
	    gcra_burst(&tat, NOW + 999LL * 6000000, 10, MIN_US, 1, 20, &g), 9);
}

/* 7 per minute: T is not a whole number of us; still exactly 7. */
static void test_gcra_fractional(void **state)
{
	const double T = 60000000.0 / 7;
	long long tat = 0, later;
	struct gcra g;

	(void)state;
	assert_int_equal(gcra_burst(&tat, NOW, 7, MIN_US, 1, 10, &g), 7);
	assert_false(g.allowed);
	assert_true((double)g.retry_us <= T + 1);
	assert_true((double)g.retry_us >= T - 8);
	later = NOW + g.retry_us;
	assert_int_equal(gcra_burst(&tat, later, 7, MIN_US, 1, 10, &g), 1);
	/* 70 in 10 minutes at an even pace: all pass, the 71st does not */
	tat = 0;
	for (int i = 0; i < 70; i++) {
		quota_gcra(tat, NOW + (long long)(i * T) + 1, 7, MIN_US, 1, &g);
		if (!g.allowed)
			fail_msg("request %d denied", i);
		tat = g.tat_us;
	}
	assert_int_equal(gcra_burst(&tat, NOW + (long long)(69 * T) + 1, 7,
				    MIN_US, 1, 10, &g),
			 6);
}

/* Costs above 1 (recipients, bytes) use the same bucket. */
static void test_gcra_cost(void **state)
{
	long long tat = 0;
	struct gcra g;

	(void)state;
	/* 1000 bytes per minute: 600 + 400 pass, 1 more does not */
	quota_gcra(tat, NOW, 1000, MIN_US, 600, &g);
	assert_true(g.allowed);
	tat = g.tat_us;
	quota_gcra(tat, NOW, 1000, MIN_US, 401, &g);
	assert_false(g.allowed);
	assert_int_equal(g.retry_us, 60000); /* one byte's interval */
	quota_gcra(tat, NOW, 1000, MIN_US, 400, &g);
	assert_true(g.allowed);
	tat = g.tat_us;
	quota_gcra(tat, NOW, 1000, MIN_US, 1, &g);
	assert_false(g.allowed);
	/* cost == limit passes on an empty bucket only */
	quota_gcra(0, NOW, 1000, MIN_US, 1000, &g);
	assert_true(g.allowed);
	quota_gcra(g.tat_us, NOW, 1000, MIN_US, 1000, &g);
	assert_false(g.allowed);
	assert_int_equal(g.retry_us, MIN_US);
}

/* A cost larger than the whole quota passes only on an empty bucket. */
static void test_gcra_oversize(void **state)
{
	long long tat;
	struct gcra g;

	(void)state;
	quota_gcra(0, NOW, 10, MIN_US, 25, &g);
	assert_true(g.allowed);
	assert_int_equal(g.tat_us, NOW + 25 * 6000000LL);
	tat = g.tat_us;
	/* now everything waits until the bucket is below the window again */
	quota_gcra(tat, NOW, 10, MIN_US, 1, &g);
	assert_false(g.allowed);
	assert_int_equal(g.retry_us, 16 * 6000000LL);
	/* another oversize one waits until the bucket is empty */
	quota_gcra(tat, NOW, 10, MIN_US, 25, &g);
	assert_false(g.allowed);
	assert_int_equal(g.retry_us, 25 * 6000000LL);
	quota_gcra(tat, tat - 1, 10, MIN_US, 25, &g);
	assert_false(g.allowed);
	assert_int_equal(g.retry_us, 1);
	quota_gcra(tat, tat, 10, MIN_US, 25, &g);
	assert_true(g.allowed);
	/* a bucket with any use left blocks it */
	quota_gcra(NOW + 1, NOW, 10, MIN_US, 25, &g);
	assert_false(g.allowed);
	assert_int_equal(g.retry_us, 1);
	/* a stored TAT in the past is an empty bucket */
	quota_gcra(NOW - 5000000, NOW, 10, MIN_US, 25, &g);
	assert_true(g.allowed);
	assert_int_equal(g.tat_us, NOW + 25 * 6000000LL);
}

static void test_gcra_limit_zero(void **state)
{
	struct gcra g;

	(void)state;
	quota_gcra(0, NOW, 0, MIN_US, 1, &g);
	assert_false(g.allowed);
	assert_int_equal(g.retry_us, MIN_US);
	quota_gcra(NOW + 5, NOW, 0, 3600000000LL, 100, &g);
	assert_false(g.allowed);
	assert_int_equal(g.retry_us, 3600000000LL);
}

/* ---- quota_used ---- */

static void test_used(void **state)
{
	long long tat = 0;
	struct gcra g;

	(void)state;
	assert_int_equal(quota_used(0, NOW, 10, MIN_US), 0);
	assert_int_equal(quota_used(NOW, NOW, 10, MIN_US), 0);
	assert_int_equal(quota_used(NOW - 1, NOW, 10, MIN_US), 0);
	assert_int_equal(quota_used(NOW + 1, NOW, 10, MIN_US), 1);
	assert_int_equal(quota_used(NOW + 6000000, NOW, 10, MIN_US), 1);
	assert_int_equal(quota_used(NOW + 6000001, NOW, 10, MIN_US), 2);
	assert_int_equal(quota_used(NOW + MIN_US, NOW, 10, MIN_US), 10);
	assert_int_equal(quota_used(NOW + MIN_US, NOW, 0, MIN_US), 0);
	assert_int_equal(quota_used(NOW + MIN_US, NOW, -1, MIN_US), 0);
	/* after k requests at one instant, k units are in use */
	for (int k = 1; k <= 7; k++) {
		quota_gcra(tat, NOW, 7, MIN_US, 1, &g);
		assert_true(g.allowed);
		tat = g.tat_us;
		if (quota_used(tat, NOW, 7, MIN_US) != k)
			fail_msg("after %d requests %lld used", k,
				 quota_used(tat, NOW, 7, MIN_US));
	}
	/* and they drain one per interval */
	assert_int_equal(quota_used(tat, NOW + MIN_US / 7 * 3 + 10, 7, MIN_US),
			 4);
	assert_int_equal(quota_used(tat, NOW + MIN_US, 7, MIN_US), 0);
}

/* ---- quota_give_back ---- */

#define DAY_US 86400000000LL

/*
 * used units at limit1 per day with reserved more held, a live override
 * to limit2 per day, then the unused reserved units given back: returns
 * how many more units pass at limit2, the give-back returning the time
 * that was reserved (as QUOTA_LUA does).
 */
static int after_override(long long limit1, int used, long long reserved,
			  long long limit2, long long *tat_out)
{
	long long tat = 0, before;
	struct gcra g;

	assert_int_equal(gcra_burst(&tat, NOW, limit1, DAY_US, 1, used, &g),
			 used);
	before = tat;
	quota_gcra(tat, NOW, limit1, DAY_US, reserved, &g); /* reserve */
	assert_true(g.allowed);
	tat = g.tat_us;
	/* give back the reserved time, whatever the limit is now */
	tat = quota_give_back(tat, NOW + 1000, tat - before);
	assert_int_equal(tat, before);
	*tat_out = tat;
	return gcra_burst(&tat, NOW + 1000, limit2, DAY_US, 1, 2000000, &g);
}

static void test_give_back(void **state)
{
	long long tat;

	(void)state;
	/* nothing charged, or less time left than given back: nothing stays */
	assert_int_equal(quota_give_back(0, NOW, 5), 0);
	assert_int_equal(quota_give_back(NOW, NOW, 5), 0);
	assert_int_equal(quota_give_back(NOW + 5, NOW, 5), 0);
	assert_int_equal(quota_give_back(NOW + 5, NOW, 6), 0);
	assert_int_equal(quota_give_back(NOW + 5, NOW, 4), NOW + 1);
	assert_int_equal(quota_give_back(NOW + 5, NOW, 0), NOW + 5);
	/*
	 * 410 used under 1,000,000/d with 300 more reserved, then an
	 * override to 1,000/d: the give-back returns the reserved 300 x
	 * 86.4 ms, not 300 units at 86.4 s each (which erased all usage).
	 * The 410 sends keep their 35.4 s, one unit at the new price: 999
	 * more pass, not 1,000.
	 */
	assert_int_equal(after_override(1000000, 410, 300, 1000, &tat), 999);
	assert_int_equal(quota_used(tat, NOW + 1000, 1000, DAY_US), 1);
	/* 410 under 10,000/d, 100 reserved, override to 1,000/d: the 410
	 * count as 41 at the new price, exactly 959 more pass */
	assert_int_equal(after_override(10000, 410, 100, 1000, &tat), 959);
	assert_int_equal(quota_used(tat, NOW + 1000, 1000, DAY_US), 41);
	/* an override raising the limit: the give-back still returns only
	 * what was reserved, so the 410 sends (410 x 86.4 s, 410,000 units
	 * at the new price) stay charged */
	assert_int_equal(after_override(1000, 410, 10, 1000000, &tat),
			 590000);
}

/* ---- quota_override_parse ---- */

struct ovr_case {
	const char *s;
	int rc;
	long long limit, window_ms;
};

static const struct ovr_case ovr_cases[] = {
    {"unlimited", 0, -1, 0},
    {"100 60000", 0, 100, 60000},
    {"0 1000", 0, 0, 1000},
    {"1125899906842624 31622400000", 0, 1125899906842624LL, 31622400000LL},
    {"1125899906842625 60000", -1, 0, 0},
    {"100 31622400001", -1, 0, 0},
    {"100 999", -1, 0, 0},
    {"100 0", -1, 0, 0},
    {"-1 60000", -1, 0, 0},
    {"100 -60000", -1, 0, 0},
    {"100", -1, 0, 0},
    {"100 ", -1, 0, 0},
    {" 60000", -1, 0, 0},
    {"100  60000", -1, 0, 0},
    {"100 60000 ", -1, 0, 0},
    {"100 60s", -1, 0, 0},
    {"100\t60000", -1, 0, 0},
    {"x 60000", -1, 0, 0},
    {"", -1, 0, 0},
    {"Unlimited", -1, 0, 0},
    {"unlimited ", -1, 0, 0},
    {"99999999999999999999 60000", -1, 0, 0},
};

static void test_override_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(ovr_cases); i++) {
		const struct ovr_case *t = &ovr_cases[i];
		long long l = 4242, w = 4343;
		int rc = quota_override_parse(t->s, &l, &w);

		if (rc != t->rc)
			fail_msg("case %zu \"%s\": rc %d, want %d", i, t->s, rc,
				 t->rc);
		if (rc == 0 && (l != t->limit || w != t->window_ms))
			fail_msg("case %zu \"%s\": %lld %lld", i, t->s, l, w);
		if (rc != 0 && (l != 4242 || w != 4343))
			fail_msg("case %zu \"%s\": output changed on error", i,
				 t->s);
	}
}

/* ---- quota_keys ---- */

static void test_keys(void **state)
{
	char st[QUOTA_KEY_MAX], ov[QUOTA_KEY_MAX], all[QUOTA_KEY_MAX];

	(void)state;
	assert_int_equal(
	    quota_keys("postlb:", "snd", "alice@example.com", st, ov, all), 0);
	assert_string_equal(st, "postlb:q:snd:alice@example.com");
	assert_string_equal(ov, "postlb:o:snd:alice@example.com");
	assert_string_equal(all, "postlb:o:snd:*");
	assert_int_equal(quota_keys("", "g", "*", st, ov, all), 0);
	assert_string_equal(st, "q:g:*");
	assert_string_equal(ov, "o:g:*");
	assert_string_equal(all, "o:g:*");
}

/* A key of QUOTA_KEY_MAX - 1 bytes fits; one byte more does not. */
static void test_keys_long(void **state)
{
	char st[QUOTA_KEY_MAX], ov[QUOTA_KEY_MAX], all[QUOTA_KEY_MAX];
	char subj[QUOTA_KEY_MAX + 8];
	/* "p:" "q:" "n" ":" subject */
	size_t fixed = strlen("p:q:n:"), n = QUOTA_KEY_MAX - 1 - fixed;

	(void)state;
	memset(subj, 's', n);
	subj[n] = '\0';
	assert_int_equal(quota_keys("p:", "n", subj, st, ov, all), 0);
	assert_int_equal(strlen(st), QUOTA_KEY_MAX - 1);
	assert_int_equal(strlen(ov), QUOTA_KEY_MAX - 1);
	subj[n] = 's';
	subj[n + 1] = '\0';
	assert_int_equal(quota_keys("p:", "n", subj, st, ov, all), -1);
	/* the longest names a config allows always fit */
	{
		char prefix[65], name[65], s[QUOTA_SUBJECT_MAX];
		memset(prefix, 'p', 64);
		prefix[64] = '\0';
		memset(name, 'n', 64);
		name[64] = '\0';
		memset(s, 's', sizeof(s) - 1);
		s[sizeof(s) - 1] = '\0';
		assert_int_equal(quota_keys(prefix, name, s, st, ov, all), 0);
	}
}

/* ---- quota_plan ---- */

static const char plan_conf[] =
    "classes = {\n"
    "  vip = { subject = \"sender\"; members = [ \"boss@example.com\" ]; };\n"
    "  bulk = { subject = \"client_ip\"; members = [ \"198.51.100.0/24\" ]; "
    "};\n"
    "  staff = { subject = \"sasl_user\"; members = [ \"Carol\" ]; };\n"
    "};\n"
    "quotas = (\n"
    "  { name = \"snd_msg\"; subject = \"sender\"; unit = \"messages\";\n"
    "    limit = 100; window = \"1h\"; },\n"
    "  { name = \"snd_rcpt\"; subject = \"sender\"; unit = \"recipients\";\n"
    "    limit = 500; window = \"1h\"; },\n"
    "  { name = \"snd_bytes\"; subject = \"sender\"; unit = \"bytes\";\n"
    "    limit = 100000000; window = \"1h\"; },\n"
    "  { name = \"vip_msg\"; subject = \"sender\"; unit = \"messages\";\n"
    "    limit = 1000; window = \"1h\"; class = \"vip\"; action = "
    "\"reject\"; },\n"
    "  { name = \"dom_msg\"; subject = \"sender_domain\"; unit = "
    "\"messages\";\n"
    "    limit = 1000; window = \"1d\"; },\n"
    "  { name = \"sasl_rcpt\"; subject = \"sasl_user\"; unit = "
    "\"recipients\";\n"
    "    limit = 300; window = \"1h\"; },\n"
    "  { name = \"staff_rcpt\"; subject = \"sasl_user\"; unit = "
    "\"recipients\";\n"
    "    limit = 3000; window = \"1h\"; class = \"staff\"; },\n"
    "  { name = \"ip_msg\"; subject = \"client_ip\"; unit = \"messages\";\n"
    "    limit = 50; window = \"1h\"; cidr = 24; cidr6 = 64; },\n"
    "  { name = \"bulk_msg\"; subject = \"client_ip\"; unit = \"messages\";\n"
    "    limit = 5000; window = \"1h\"; class = \"bulk\"; cidr = 24; },\n"
    "  { name = \"rdom\"; subject = \"recipient_domain\"; unit = "
    "\"recipients\";\n"
    "    limit = 200; window = \"1h\"; },\n"
    "  { name = \"glob\"; subject = \"global\"; unit = \"messages\";\n"
    "    limit = 100000; window = \"1h\"; }\n"
    ");\n"
    "exempt = {\n"
    "  client_ip = [ \"127.0.0.0/8\", \"::1\" ];\n"
    "  sasl_user = [ \"monitor\" ];\n"
    "  sender = [ \"NoReply@Example.org\" ];\n"
    "  sender_domain = [ \".trusted.example\" ];\n"
    "  recipient_domain = [ \"postmaster.example\" ];\n"
    "};\n";

static struct config *load(const char *text)
{
	return load_valid("plan.conf", text);
}

static int setup_plan(void **state)
{
	*state = load(plan_conf);
	return 0;
}

static int teardown_plan(void **state)
{
	config_unref(*state);
	return 0;
}

struct want_check {
	const char *quota;
	const char *subject;
	long long cost;
};

struct plan_req {
	enum pp_state state;
	const char *sasl, *sender, *client, *rcpt;
	long long size;
};

struct plan_case {
	const char *what;
	struct plan_req req;
	int exempt;
	struct want_check want[12]; /* ends at quota == NULL */
};

#define RCPT PP_STATE_RCPT
#define EOM PP_STATE_EOM
#define ALICE "Alice@Example.COM"
#define IP4 "192.0.2.77"
#define BOB "Bob@Dest.Example"

static const struct plan_case plan_cases[] = {
    {"rcpt charges recipients quotas",
     {RCPT, "alice", ALICE, IP4, BOB, 5000},
     0,
     {{"snd_rcpt", "alice@example.com", 1},
      {"sasl_rcpt", "alice", 1},
      {"rdom", "dest.example", 1}}},
    {"eom charges messages and bytes",
     {EOM, "alice", ALICE, IP4, BOB, 5000},
     0,
     {{"snd_msg", "alice@example.com", 1},
      {"snd_bytes", "alice@example.com", 5000},
      {"dom_msg", "example.com", 1},
      {"ip_msg", "192.0.2.0/24", 1},
      {"glob", "*", 1}}},
    {"eom without size charges no bytes",
     {EOM, NULL, ALICE, IP4, NULL, 0},
     0,
     {{"snd_msg", "alice@example.com", 1},
      {"dom_msg", "example.com", 1},
      {"ip_msg", "192.0.2.0/24", 1},
      {"glob", "*", 1}}},
    {"sasl user keeps its case",
     {RCPT, "Alice", NULL, NULL, NULL, 0},
     0,
     {{"sasl_rcpt", "Alice", 1}}},
    {"null sender skips sender quotas",
     {EOM, NULL, "", IP4, NULL, 100},
     0,
     {{"ip_msg", "192.0.2.0/24", 1}, {"glob", "*", 1}}},
    {"null sender at rcpt",
     {RCPT, NULL, "", IP4, BOB, 0},
     0,
     {{"rdom", "dest.example", 1}}},
    {"sender without domain",
     {EOM, NULL, "postmaster", NULL, NULL, 0},
     0,
     {{"snd_msg", "postmaster", 1}, {"glob", "*", 1}}},
    {"sender domain after the last @",
     {EOM, NULL, "\"a@b\"@Mail.Example", NULL, NULL, 0},
     0,
     {{"snd_msg", "\"a@b\"@mail.example", 1},
      {"dom_msg", "mail.example", 1},
      {"glob", "*", 1}}},
    {"ipv6 client grouped by /64",
     {EOM, NULL, NULL, "2001:db8:1:2:3:4:5:6", NULL, 0},
     0,
     {{"ip_msg", "2001:db8:1:2::/64", 1}, {"glob", "*", 1}}},
    {"client not an address",
     {EOM, NULL, NULL, "unknown", NULL, 0},
     0,
     {{"glob", "*", 1}}},
    {"recipient without domain",
     {RCPT, NULL, NULL, NULL, "postmaster", 0},
     0,
     {{NULL, NULL, 0}}},
    /* classes */
    {"class member gets the class quota",
     {EOM, NULL, "Boss@Example.com", IP4, NULL, 10},
     0,
     {{"snd_bytes", "boss@example.com", 10},
      {"vip_msg", "boss@example.com", 1},
      {"dom_msg", "example.com", 1},
      {"ip_msg", "192.0.2.0/24", 1},
      {"glob", "*", 1}}},
    {"class member keeps other units",
     {RCPT, NULL, "boss@example.com", NULL, NULL, 0},
     0,
     {{"snd_rcpt", "boss@example.com", 1}}},
    {"client class by network",
     {EOM, NULL, NULL, "198.51.100.7", NULL, 0},
     0,
     {{"bulk_msg", "198.51.100.0/24", 1}, {"glob", "*", 1}}},
    {"sasl class is case-sensitive",
     {RCPT, "Carol", NULL, NULL, NULL, 0},
     0,
     {{"staff_rcpt", "Carol", 1}}},
    {"sasl non-member",
     {RCPT, "carol", NULL, NULL, NULL, 0},
     0,
     {{"sasl_rcpt", "carol", 1}}},
    /* exemptions */
    {"exempt client", {EOM, "alice", ALICE, "127.0.0.1", BOB, 10}, 1, {{0}}},
    {"exempt client v6", {RCPT, "alice", ALICE, "::1", BOB, 10}, 1, {{0}}},
    {"exempt sasl user", {RCPT, "monitor", ALICE, IP4, BOB, 10}, 1, {{0}}},
    {"exempt sender any case",
     {EOM, NULL, "noreply@example.ORG", IP4, NULL, 10},
     1,
     {{0}}},
    {"exempt sender subdomain",
     {EOM, NULL, "x@mx.Trusted.Example", IP4, NULL, 10},
     1,
     {{0}}},
    {"exempt recipient domain",
     {RCPT, NULL, ALICE, IP4, "abuse@postmaster.example", 0},
     1,
     {{0}}},
    {"not exempt: sasl case",
     {RCPT, "Monitor", NULL, NULL, NULL, 0},
     0,
     {{"sasl_rcpt", "Monitor", 1}}},
    {"not exempt: parent domain",
     {EOM, NULL, "x@trusted.example", NULL, NULL, 0},
     0,
     {{"snd_msg", "x@trusted.example", 1},
      {"dom_msg", "trusted.example", 1},
      {"glob", "*", 1}}},
    /* states that charge nothing */
    {"connect", {PP_STATE_CONNECT, "alice", ALICE, IP4, BOB, 10}, 0, {{0}}},
    {"helo", {PP_STATE_HELO, "alice", ALICE, IP4, BOB, 10}, 0, {{0}}},
    {"mail", {PP_STATE_MAIL, "alice", ALICE, IP4, BOB, 10}, 0, {{0}}},
    {"data", {PP_STATE_DATA, "alice", ALICE, IP4, BOB, 10}, 0, {{0}}},
    {"vrfy", {PP_STATE_VRFY, "alice", ALICE, IP4, BOB, 10}, 0, {{0}}},
    {"etrn", {PP_STATE_ETRN, "alice", ALICE, IP4, BOB, 10}, 0, {{0}}},
    {"other", {PP_STATE_OTHER, "alice", ALICE, IP4, BOB, 10}, 0, {{0}}},
    {"exempt in mail state",
     {PP_STATE_MAIL, "monitor", NULL, NULL, NULL, 0},
     0,
     {{0}}},
};

static void test_plan(void **state)
{
	const struct config *c = *state;

	for (size_t i = 0; i < NELEM(plan_cases); i++) {
		const struct plan_case *t = &plan_cases[i];
		struct pp_request req;
		struct quota_plan plan;
		size_t n = 0;

		memset(&req, 0, sizeof(req));
		req.state = t->req.state;
		req.sasl_username = t->req.sasl;
		req.sender = t->req.sender;
		req.client_address = t->req.client;
		req.recipient = t->req.rcpt;
		req.size = t->req.size;
		memset(&plan, 0x5a, sizeof(plan));
		assert_int_equal(quota_plan(c, &req, &plan), 0);
		if (plan.exempt != t->exempt)
			fail_msg("%s: exempt %d, want %d", t->what, plan.exempt,
				 t->exempt);
		while (n < NELEM(t->want) && t->want[n].quota != NULL)
			n++;
		if (plan.n != n) {
			for (size_t k = 0; k < plan.n && k < 64; k++)
				print_message("  got %s %s %lld\n",
					      plan.checks[k].q->name,
					      plan.checks[k].subject,
					      plan.checks[k].cost);
			fail_msg("%s: %zu checks, want %zu", t->what, plan.n,
				 n);
		}
		for (size_t k = 0; k < n; k++) {
			const struct quota_check *chk = &plan.checks[k];
			const struct want_check *w = &t->want[k];
			if (strcmp(chk->q->name, w->quota) != 0 ||
			    strcmp(chk->subject, w->subject) != 0 ||
			    chk->cost != w->cost)
				fail_msg("%s: check %zu is %s \"%s\" %lld, "
					 "want %s \"%s\" %lld",
					 t->what, k, chk->q->name, chk->subject,
					 chk->cost, w->quota, w->subject,
					 w->cost);
			assert_ptr_equal(chk->q, config_quota(c, w->quota));
		}
	}
}

/* ---- policyd.count_only ---- */

struct counted_case {
	const char *what;
	const char *sasl, *client;
	int want[3]; /* without count_only, sasl only, sasl + networks */
};

static const struct counted_case counted_cases[] = {
    {"authenticated", "alice", "203.0.113.5", {1, 1, 1}},
    {"anonymous, listed network", NULL, "192.0.2.77", {1, 0, 1}},
    {"anonymous, listed v6 network", "", "2001:db8::25", {1, 0, 1}},
    {"anonymous, elsewhere (inbound MX)", NULL, "203.0.113.5", {1, 0, 0}},
    {"empty SASL name", "", "198.51.100.1", {1, 0, 0}},
    {"no client address", NULL, NULL, {1, 0, 0}},
    {"unknown client address", NULL, "unknown", {1, 0, 0}},
};

static void test_count_only(void **state)
{
	static const char quotas[] =
	    "quotas = ( { name = \"s\"; subject = \"sender\"; unit = "
	    "\"messages\"; limit = 5; window = 60; } );\n";
	char text[3][600];
	struct config *c[3];

	(void)state;
	snprintf(text[0], sizeof(text[0]), "%s", quotas);
	snprintf(text[1], sizeof(text[1]),
		 "policyd = { count_only = { sasl = true; }; };\n%s", quotas);
	snprintf(text[2], sizeof(text[2]),
		 "policyd = { count_only = { sasl = true; networks = [ "
		 "\"192.0.2.0/24\", \"2001:db8::/32\" ]; }; };\n%s",
		 quotas);
	for (int k = 0; k < 3; k++)
		c[k] = load_valid("t.conf", text[k]);
	for (size_t i = 0; i < NELEM(counted_cases); i++) {
		const struct counted_case *t = &counted_cases[i];
		for (int k = 0; k < 3; k++) {
			struct pp_request req;
			struct quota_plan plan;
			memset(&req, 0, sizeof(req));
			req.state = PP_STATE_EOM;
			req.sasl_username = t->sasl;
			req.client_address = t->client;
			req.sender = "s@example.com";
			if (quota_counted(c[k], &req) != t->want[k])
				fail_msg("%s: counted %d under config %d",
					 t->what, !t->want[k], k);
			/* not counted: no checks, so DUNNO and no charge */
			assert_int_equal(quota_plan(c[k], &req, &plan), 0);
			assert_int_equal(plan.n, (size_t)t->want[k]);
		}
	}
	for (int k = 0; k < 3; k++)
		config_unref(c[k]);
}

/* A class quota replaces a default only for the same subject and unit. */
static void test_plan_class_scope(void **state)
{
	struct config *c = load(
	    "classes = { vip = { subject = \"sender\"; members = [ \"v@x\" ]; "
	    "}; };\n"
	    "quotas = (\n"
	    "  { name = \"d_msg\"; subject = \"sender\"; unit = \"messages\";"
	    " limit = 1; window = 60; },\n"
	    "  { name = \"d_msg_day\"; subject = \"sender\"; unit = "
	    "\"messages\"; limit = 10; window = \"1d\"; },\n"
	    "  { name = \"d_dom\"; subject = \"sender_domain\"; unit = "
	    "\"messages\"; limit = 1; window = 60; },\n"
	    "  { name = \"v_rcpt\"; subject = \"sender\"; unit = "
	    "\"recipients\"; limit = 9; window = 60; class = \"vip\"; }\n"
	    ");\n");
	struct pp_request req;
	struct quota_plan plan;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.state = PP_STATE_EOM;
	req.sender = "v@x";
	/* the vip class counts recipients: message defaults stay */
	assert_int_equal(quota_plan(c, &req, &plan), 0);
	assert_int_equal(plan.n, 3);
	assert_string_equal(plan.checks[0].q->name, "d_msg");
	assert_string_equal(plan.checks[1].q->name, "d_msg_day");
	assert_string_equal(plan.checks[2].q->name, "d_dom");
	req.state = PP_STATE_RCPT;
	assert_int_equal(quota_plan(c, &req, &plan), 0);
	assert_int_equal(plan.n, 1);
	assert_string_equal(plan.checks[0].q->name, "v_rcpt");
	req.sender = "w@x";
	assert_int_equal(quota_plan(c, &req, &plan), 0);
	assert_int_equal(plan.n, 0);
	config_unref(c);
}

/* The most quotas a config holds all fit in one plan. */
static void test_plan_full(void **state)
{
	size_t cap = 128 * CONFIG_QUOTAS_MAX, o = 0;
	char *text = malloc(cap);
	struct config *c;
	struct pp_request req;
	struct quota_plan plan;

	(void)state;
	assert_non_null(text);
	o += (size_t)snprintf(text, cap, "quotas = (\n");
	for (int i = 0; i < CONFIG_QUOTAS_MAX; i++)
		o += (size_t)snprintf(text + o, cap - o,
				      "{ name = \"g%d\"; subject = \"global\"; "
				      "unit = \"messages\"; limit = 1; window "
				      "= 60; }%s\n",
				      i, i + 1 < CONFIG_QUOTAS_MAX ? "," : "");
	snprintf(text + o, cap - o, ");\n");
	c = load(text);
	free(text);
	memset(&req, 0, sizeof(req));
	req.state = PP_STATE_EOM;
	assert_int_equal(quota_plan(c, &req, &plan), 0);
	assert_int_equal(plan.n, CONFIG_QUOTAS_MAX);
	assert_string_equal(plan.checks[CONFIG_QUOTAS_MAX - 1].q->name, "g63");
	config_unref(c);
}

/* ---- quota_normalize ---- */

static void test_normalize(void **state)
{
	const struct config *c = *state;
	const struct cfg_quota *snd = config_quota(c, "snd_msg");
	const struct cfg_quota *sasl = config_quota(c, "sasl_rcpt");
	const struct cfg_quota *ip = config_quota(c, "ip_msg");
	const struct cfg_quota *glob = config_quota(c, "glob");
	char out[QUOTA_SUBJECT_MAX], big[600];

	(void)state;
	assert_int_equal(quota_normalize(snd, "A@B.C", out), 1);
	assert_string_equal(out, "a@b.c");
	assert_int_equal(quota_normalize(snd, "", out), 0);
	assert_int_equal(quota_normalize(snd, NULL, out), 0);
	assert_int_equal(quota_normalize(sasl, "MiXed", out), 1);
	assert_string_equal(out, "MiXed");
	assert_int_equal(quota_normalize(sasl, "", out), 0);
	assert_int_equal(quota_normalize(ip, "203.0.113.200", out), 1);
	assert_string_equal(out, "203.0.113.0/24");
	assert_int_equal(quota_normalize(ip, "not-an-ip", out), 0);
	assert_int_equal(quota_normalize(ip, NULL, out), 0);
	assert_int_equal(quota_normalize(glob, NULL, out), 1);
	assert_string_equal(out, "*");
	assert_int_equal(quota_normalize(glob, "anything", out), 1);
	assert_string_equal(out, "*");
	/* long values are cut to fit */
	memset(big, 'X', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(quota_normalize(snd, big, out), 1);
	assert_int_equal(strlen(out), QUOTA_SUBJECT_MAX - 1);
	assert_int_equal(out[0], 'x');
	assert_int_equal(quota_normalize(sasl, big, out), 1);
	assert_int_equal(strlen(out), QUOTA_SUBJECT_MAX - 1);
	assert_int_equal(out[0], 'X');
}

/* ---- quota_reply, quota_fail_action ---- */

static void one_check_plan(const struct config *c, const char *quota,
			   const char *subject, struct quota_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->n = 1;
	plan->checks[0].q = config_quota(c, quota);
	assert_non_null(plan->checks[0].q);
	snprintf(plan->checks[0].subject, QUOTA_SUBJECT_MAX, "%s", subject);
	plan->checks[0].cost = 1;
}

static void test_reply(void **state)
{
	const struct config *c = *state;
	struct quota_plan plan;
	struct quota_verdict v = {.allowed = 0,
					 .idx = 0,
					 .retry_us = 35000001,
					 .limit = 100,
					 .window_ms = 3600000};
	char out[512];

	one_check_plan(c, "snd_msg", "alice@example.com", &plan);
	quota_reply(&plan, &v, out, sizeof(out));
	assert_string_equal(out,
			    "DEFER_IF_PERMIT 4.7.1 Sending quota exceeded: "
			    "sender alice@example.com may send 100 messages "
			    "per 1h (quota snd_msg); try again in 36 s");

	/* action = reject; the limit and window come from the verdict */
	one_check_plan(c, "vip_msg", "boss@example.com", &plan);
	v.limit = 7;
	v.window_ms = 90000;
	v.retry_us = 1000000;
	quota_reply(&plan, &v, out, sizeof(out));
	assert_string_equal(out, "REJECT 5.7.1 Sending quota exceeded: "
				 "sender boss@example.com may send 7 messages "
				 "per 90s (quota vip_msg); try again in 1 s");

	one_check_plan(c, "ip_msg", "192.0.2.0/24", &plan);
	v.limit = 50;
	v.window_ms = 3600000;
	quota_reply(&plan, &v, out, sizeof(out));
	assert_non_null(strstr(out, "client_ip 192.0.2.0/24 may send 50 "
				    "messages per 1h (quota ip_msg)"));
}

/* The wait is whole seconds, rounded up, and never below 1. */
static void test_reply_retry(void **state)
{
	static const struct {
		long long us;
		const char *tail;
	} cases[] = {
	    {0, "try again in 1 s"},
	    {-5, "try again in 1 s"},
	    {1, "try again in 1 s"},
	    {999999, "try again in 1 s"},
	    {1000000, "try again in 1 s"},
	    {1000001, "try again in 2 s"},
	    {60000000, "try again in 60 s"},
	    {86400000000LL, "try again in 86400 s"},
	};
	const struct config *c = *state;
	struct quota_plan plan;
	char out[512];

	one_check_plan(c, "snd_bytes", "a@b", &plan);
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct quota_verdict v = {.allowed = 0,
						 .idx = 0,
						 .retry_us = cases[i].us,
						 .limit = 5,
						 .window_ms = 60000};
		size_t ol, tl = strlen(cases[i].tail);
		quota_reply(&plan, &v, out, sizeof(out));
		ol = strlen(out);
		if (ol < tl || strcmp(out + ol - tl, cases[i].tail) != 0)
			fail_msg("retry %lld us: \"%s\"", cases[i].us, out);
		assert_non_null(strstr(out, "5 bytes per 1m"));
	}
}

static void test_reply_dunno(void **state)
{
	const struct config *c = *state;
	struct quota_plan plan;
	struct quota_verdict v = {.allowed = 1,
					 .idx = 0,
					 .retry_us = 0,
					 .limit = 0,
					 .window_ms = 0};
	char out[64];

	one_check_plan(c, "snd_msg", "a@b", &plan);
	quota_reply(&plan, &v, out, sizeof(out));
	assert_string_equal(out, "DUNNO");
	/* a failing index outside the plan is not trusted */
	v.allowed = 0;
	v.idx = 1;
	quota_reply(&plan, &v, out, sizeof(out));
	assert_string_equal(out, "DUNNO");
	plan.n = 0;
	v.idx = 0;
	quota_reply(&plan, &v, out, sizeof(out));
	assert_string_equal(out, "DUNNO");
}

/* Control bytes in a subject are escaped; a short buffer truncates. */
static void test_reply_escape(void **state)
{
	const struct config *c = *state;
	struct quota_plan plan;
	struct quota_verdict v = {.allowed = 0,
					 .idx = 0,
					 .retry_us = 1,
					 .limit = 1,
					 .window_ms = 60000};
	char out[512];

	one_check_plan(c, "snd_msg", "a\r\nb\\c", &plan);
	quota_reply(&plan, &v, out, sizeof(out));
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\n'));
	assert_non_null(strstr(out, "sender a\\x0d\\x0ab\\x5cc may send"));
	memset(out, 'x', sizeof(out));
	quota_reply(&plan, &v, out, 20);
	assert_int_equal(strlen(out), 19);
	assert_int_equal(out[20], 'x');
}

static void test_fail_action(void **state)
{
	(void)state;
	assert_string_equal(quota_fail_action(FAIL_OPEN), "DUNNO");
	assert_int_equal(strncmp(quota_fail_action(FAIL_CLOSED),
				 "DEFER_IF_PERMIT 4.3.0 ", 22),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gcra_burst),
	    cmocka_unit_test(test_gcra_exact),
	    cmocka_unit_test(test_gcra_steady),
	    cmocka_unit_test(test_gcra_fractional),
	    cmocka_unit_test(test_gcra_cost),
	    cmocka_unit_test(test_gcra_oversize),
	    cmocka_unit_test(test_gcra_limit_zero),
	    cmocka_unit_test(test_used),
	    cmocka_unit_test(test_give_back),
	    cmocka_unit_test(test_override_parse),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_keys_long),
	    cmocka_unit_test_setup_teardown(test_plan, setup_plan,
					    teardown_plan),
	    cmocka_unit_test(test_plan_class_scope),
	    cmocka_unit_test(test_count_only),
	    cmocka_unit_test(test_plan_full),
	    cmocka_unit_test_setup_teardown(test_normalize, setup_plan,
					    teardown_plan),
	    cmocka_unit_test_setup_teardown(test_reply, setup_plan,
					    teardown_plan),
	    cmocka_unit_test_setup_teardown(test_reply_retry, setup_plan,
					    teardown_plan),
	    cmocka_unit_test_setup_teardown(test_reply_dunno, setup_plan,
					    teardown_plan),
	    cmocka_unit_test_setup_teardown(test_reply_escape, setup_plan,
					    teardown_plan),
	    cmocka_unit_test(test_fail_action),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
