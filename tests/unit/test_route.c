/*
 * test_route: tests of route.c and of the routing part of config_route.c,
 * through config_load_string().  A table of messages against a table of
 * rules (each condition type, ANDed conditions, first match wins, the
 * default pool); plans (candidates by last known state, warm-up caps by
 * day, the cycle or hash order); the local pick for each mode; the route
 * header with and without nexthop and failover; the route script's keys
 * and arguments; and a table of invalid routing configs, each checked for
 * the exact "name:LINE: " prefix and a key phrase of the message.
 * Pure functions: no mocks, no I/O.
 */
#include "route.h"

#include "select.h"

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
#define NAME "r.conf"
#define DAY0 19732 /* 2024-01-10, e's warm-up start */

/* Member indices follow the order of the members group. */
enum { A, B, C, D, E, F, G };

static const char route_conf[] =
    "redis = { prefix = \"plb:\"; };\n"
    "members = {\n"
    "  a = { nexthop = \"[relay-a.example]:587\"; weight = 5; };\n"
    "  b = { nexthop = \"[relay-b.example]:587\"; weight = 3; };\n"
    "  c = { weight = 2; };\n"
    "  d = { nexthop = \"[relay-a.example]:587\"; };\n"
    "  e = { nexthop = \"[relay-e.example]\"; weight = 2;\n"
    "        warmup = { start = \"2024-01-10\"; caps = [ 100, 200, 400 ]; "
    "}; };\n"
    "  f = { nexthop = \"[relay-f.example]\"; };\n"
    "  g = { nexthop = \"[relay-g.example]\"; };\n"
    "};\n"
    "pools = {\n"
    "  wrr = { members = [ \"a\", \"b\", \"c\" ]; };\n"
    "  rr = { members = [ \"a\", \"b\", \"c\" ]; algorithm = \"round_robin\"; "
    "};\n"
    "  least = { members = [ \"c\", \"a\", \"b\" ];\n"
    "            algorithm = \"least_outstanding\"; };\n"
    "  hash = { members = [ \"a\", \"b\", \"c\", \"e\" ]; algorithm = "
    "\"hash\"; };\n"
    "  hrcpt = { members = [ \"a\", \"b\", \"c\", \"e\" ]; algorithm = "
    "\"hash\";\n"
    "            hash_key = \"recipient_domain\"; };\n"
    "  huser = { members = [ \"a\", \"b\", \"c\", \"e\" ]; algorithm = "
    "\"hash\";\n"
    "            hash_key = \"sasl_user\"; };\n"
    "  hsender = { members = [ \"a\", \"b\", \"c\", \"e\" ]; algorithm = "
    "\"hash\";\n"
    "              hash_key = \"sender\"; };\n"
    "  relays = { members = [ \"a\", \"b\", \"d\", \"e\", \"f\", \"g\", \"c\" "
    "];\n"
    "             algorithm = \"round_robin\"; failover = true; };\n"
    "  warm = { members = [ \"e\", \"a\" ]; algorithm = \"round_robin\"; };\n"
    "  vip = { members = [ \"a\" ]; };\n"
    "  bulk = { members = [ \"b\" ]; fallback = \"vip\"; };\n"
    "  other = { members = [ \"c\" ]; };\n"
    "};\n"
    "rules = (\n"
    "  { name = \"user\"; sasl_user = [ \"alice\", \"Bob\" ]; pool = \"vip\"; "
    "},\n"
    "  { name = \"sender\"; sender = [ \"News@Example.com\" ]; pool = "
    "\"bulk\"; },\n"
    "  { name = \"sdom\"; sender_domain = [ \"shop.example\", "
    "\".corp.example\" ];\n"
    "    pool = \"other\"; },\n"
    "  { name = \"ip\"; client_ip = [ \"192.0.2.0/24\", \"2001:db8::/32\" ];\n"
    "    pool = \"vip\"; },\n"
    "  { name = \"rcpt\"; recipient_domain = [ \"gmail.com\", \".yahoo.com\" "
    "];\n"
    "    pool = \"bulk\"; },\n"
    "  { name = \"hdr\"; header = \"X-Campaign\"; match = \"^promo-[0-9]+$\";\n"
    "    pool = \"bulk\"; },\n"
    "  { name = \"and\"; sender_domain = [ \"and.example\" ];\n"
    "    recipient_domain = [ \"dest.example\" ]; client_ip = [ \"10.0.0.0/8\" "
    "];\n"
    "    pool = \"other\"; },\n"
    "  { name = \"range\"; size_min = 1000; size_max = 2000; pool = \"vip\"; "
    "},\n"
    "  { name = \"big\"; size_min = 50000000; pool = \"bulk\"; },\n"
    "  { name = \"tiny\"; size_max = 10; pool = \"other\"; },\n"
    "  { name = \"later\"; sasl_user = [ \"alice\" ]; pool = \"other\"; },\n"
    "  { name = \"carol\"; sasl_user = [ \"carol\" ]; pool = \"other\"; }\n"
    ");\n"
    "routing = { default_pool = \"wrr\"; outstanding_ttl = \"2m\";\n"
    "  reserve = 64; reserve_time = \"150ms\"; };\n";

static struct config *load_ok(const char *text)
{
	return load_valid(NAME, text);
}

static int pool_of(const struct config *c, const char *name)
{
	int p = config_pool_index(c, name);

	if (p < 0)
		fail_msg("no pool '%s'", name);
	return p;
}

/* A plan for pool under view (NULL: all ready) that must succeed. */
static void plan_ok(const struct config *c, const char *pool,
		    const struct route_view *view, const struct route_msg *m,
		    long long day, struct route_plan *plan)
{
	static const struct route_view all_ready; /* MS_READY is 0 */
	static const struct route_msg empty = {.size = -1};

	memset(plan, 0xa5, sizeof(*plan));
	assert_int_equal(route_plan_pool(c, pool_of(c, pool),
					 view ? view : &all_ready,
					 m ? m : &empty, day, 0, plan),
			 0);
}

/* ---- the config as loaded ---- */

static void test_loaded(void **state)
{
	struct config *c = load_ok(route_conf);

	(void)state;
	assert_int_equal(c->nmembers, 7);
	assert_int_equal(c->npools, 12);
	assert_int_equal(c->nrules, 12);
	assert_int_equal(c->default_pool, pool_of(c, "wrr"));
	assert_int_equal(c->outstanding_ttl_ms, 120000);
	assert_int_equal(c->route_reserve, 64);
	assert_int_equal(c->route_reserve_ms, 150);
	assert_int_equal(config_member_index(c, "e"), E);
	assert_int_equal(config_member_index(c, "h"), -1);
	assert_string_equal(c->members[A].nexthop, "[relay-a.example]:587");
	assert_null(c->members[C].nexthop);
	assert_int_equal(c->members[A].weight, 5);
	assert_int_equal(c->members[D].weight, 1);
	assert_int_equal(c->members[A].warm_start_day, -1);
	assert_int_equal(c->members[E].warm_start_day, DAY0);
	assert_int_equal(c->members[E].nwarm, 3);
	assert_int_equal(c->members[E].warm_caps[2], 400);
	assert_int_equal(c->pools[pool_of(c, "wrr")].algo, ALGO_WRR);
	assert_int_equal(c->pools[pool_of(c, "hrcpt")].hash_key,
			 HK_RCPT_DOMAIN);
	assert_int_equal(c->pools[pool_of(c, "hash")].hash_key,
			 HK_SENDER_DOMAIN);
	assert_true(c->pools[pool_of(c, "relays")].failover);
	assert_false(c->pools[pool_of(c, "rr")].failover);
	assert_int_equal(c->pools[pool_of(c, "bulk")].fallback,
			 pool_of(c, "vip"));
	assert_int_equal(c->pools[pool_of(c, "vip")].fallback, -1);
	assert_string_equal(c->rules[5].name, "hdr");
	assert_int_equal(c->rules[7].size_min, 1000);
	assert_int_equal(c->rules[7].size_max, 2000);
	config_unref(c);
}

/* ---- classification ---- */

struct cls_case {
	const char *what;
	const char *sasl, *sender, *client;
	const char *rcpt[3];
	const char *hname[2], *hvalue[2];
	long long size;
	int rule;	  /* -1: none */
	const char *pool; /* the default pool when rule is -1 */
};

#define NOSIZE -1

static const struct cls_case cls_cases[] = {
    {"nothing", NULL, NULL, NULL, {NULL}, {NULL}, {NULL}, NOSIZE, -1, "wrr"},
    {"plain message", "", "x@plain.example", "198.51.100.7",
     {"plain.example"}, {"Subject"}, {"hello"}, NOSIZE, -1, "wrr"},
    /* sasl_user: exact */
    {"sasl alice", "alice", NULL, NULL, {NULL}, {NULL}, {NULL}, NOSIZE, 0,
     "vip"},
    {"sasl Bob", "Bob", NULL, NULL, {NULL}, {NULL}, {NULL}, NOSIZE, 0, "vip"},
    {"sasl bob", "bob", NULL, NULL, {NULL}, {NULL}, {NULL}, NOSIZE, -1,
     "wrr"},
    {"sasl ALICE", "ALICE", NULL, NULL, {NULL}, {NULL}, {NULL}, NOSIZE, -1,
     "wrr"},
    {"sasl alice2", "alice2", NULL, NULL, {NULL}, {NULL}, {NULL}, NOSIZE, -1,
     "wrr"},
    {"sasl empty", "", NULL, NULL, {NULL}, {NULL}, {NULL}, NOSIZE, -1, "wrr"},
    /* first match wins: rule 1 before rule 11, rule 0 before rule 10 */
    {"sasl carol", "carol", NULL, NULL, {NULL}, {NULL}, {NULL}, NOSIZE, 11,
     "other"},
    {"carol and sender", "carol", "news@example.com", NULL, {NULL}, {NULL},
     {NULL}, NOSIZE, 1, "bulk"},
    {"alice and sender", "alice", "news@example.com", NULL, {NULL}, {NULL},
     {NULL}, NOSIZE, 0, "vip"},
    {"alice and everything", "alice", "a@shop.example", "192.0.2.1",
     {"gmail.com"}, {"X-Campaign"}, {"promo-1"}, 1500, 0, "vip"},
    /* sender: case-insensitive, whole address */
    {"sender", NULL, "News@Example.com", NULL, {NULL}, {NULL}, {NULL},
     NOSIZE, 1, "bulk"},
    {"sender lower", NULL, "news@example.com", NULL, {NULL}, {NULL}, {NULL},
     NOSIZE, 1, "bulk"},
    {"sender upper", NULL, "NEWS@EXAMPLE.COM", NULL, {NULL}, {NULL}, {NULL},
     NOSIZE, 1, "bulk"},
    {"sender other", NULL, "xnews@example.com", NULL, {NULL}, {NULL},
     {NULL}, NOSIZE, -1, "wrr"},
    {"sender empty", NULL, "", NULL, {NULL}, {NULL}, {NULL}, NOSIZE, -1,
     "wrr"},
    /* sender_domain: exact, or subdomains with a leading dot */
    {"sdom", NULL, "a@shop.example", NULL, {NULL}, {NULL}, {NULL}, NOSIZE, 2,
     "other"},
    {"sdom case", NULL, "a@SHOP.Example", NULL, {NULL}, {NULL}, {NULL},
     NOSIZE, 2, "other"},
    {"sdom sub of exact", NULL, "a@x.shop.example", NULL, {NULL}, {NULL},
     {NULL}, NOSIZE, -1, "wrr"},
    {"sdom sub", NULL, "a@mail.corp.example", NULL, {NULL}, {NULL}, {NULL},
     NOSIZE, 2, "other"},
    {"sdom deep sub", NULL, "a@x.Mail.Corp.example", NULL, {NULL}, {NULL},
     {NULL}, NOSIZE, 2, "other"},
    {"sdom dot parent", NULL, "a@corp.example", NULL, {NULL}, {NULL}, {NULL},
     NOSIZE, -1, "wrr"},
    {"sdom suffix only", NULL, "a@xcorp.example", NULL, {NULL}, {NULL},
     {NULL}, NOSIZE, -1, "wrr"},
    {"sdom no at", NULL, "shop.example", NULL, {NULL}, {NULL}, {NULL},
     NOSIZE, -1, "wrr"},
    {"sdom empty domain", NULL, "a@", NULL, {NULL}, {NULL}, {NULL}, NOSIZE,
     -1, "wrr"},
    {"sdom last at", NULL, "\"a@b\"@shop.example", NULL, {NULL}, {NULL},
     {NULL}, NOSIZE, 2, "other"},
    /* client_ip: networks */
    {"ip v4", NULL, NULL, "192.0.2.55", {NULL}, {NULL}, {NULL}, NOSIZE, 3,
     "vip"},
    {"ip v4 edge", NULL, NULL, "192.0.2.255", {NULL}, {NULL}, {NULL}, NOSIZE,
     3, "vip"},
    {"ip v4 out", NULL, NULL, "192.0.3.0", {NULL}, {NULL}, {NULL}, NOSIZE,
     -1, "wrr"},
    {"ip v6", NULL, NULL, "2001:db8:1::25", {NULL}, {NULL}, {NULL}, NOSIZE,
     3, "vip"},
    {"ip v6 out", NULL, NULL, "2001:db9::1", {NULL}, {NULL}, {NULL}, NOSIZE,
     -1, "wrr"},
    {"ip unknown", NULL, NULL, "unknown", {NULL}, {NULL}, {NULL}, NOSIZE, -1,
     "wrr"},
    /* recipient_domain: any of the message's domains */
    {"rcpt", NULL, NULL, NULL, {"gmail.com"}, {NULL}, {NULL}, NOSIZE, 4,
     "bulk"},
    {"rcpt second", NULL, NULL, NULL, {"x.example", "y.example", "gmail.com"},
     {NULL}, {NULL}, NOSIZE, 4, "bulk"},
    {"rcpt sub", NULL, NULL, NULL, {"x.example", "mail.yahoo.com"}, {NULL},
     {NULL}, NOSIZE, 4, "bulk"},
    {"rcpt dot parent", NULL, NULL, NULL, {"yahoo.com"}, {NULL}, {NULL},
     NOSIZE, -1, "wrr"},
    {"rcpt none", NULL, NULL, NULL, {"x.example", "mail.gmail.com"}, {NULL},
     {NULL}, NOSIZE, -1, "wrr"},
    /* header: name case-insensitive, value an extended icase regex */
    {"hdr", NULL, NULL, NULL, {NULL}, {"X-Campaign"}, {"promo-123"}, NOSIZE,
     5, "bulk"},
    {"hdr name case", NULL, NULL, NULL, {NULL}, {"x-CAMPAIGN"}, {"promo-1"},
     NOSIZE, 5, "bulk"},
    {"hdr value case", NULL, NULL, NULL, {NULL}, {"X-Campaign"},
     {"PROMO-77"}, NOSIZE, 5, "bulk"},
    {"hdr anchored", NULL, NULL, NULL, {NULL}, {"X-Campaign"},
     {"promo-12a"}, NOSIZE, -1, "wrr"},
    {"hdr other name", NULL, NULL, NULL, {NULL}, {"X-Campaign2"},
     {"promo-1"}, NOSIZE, -1, "wrr"},
    {"hdr second", NULL, NULL, NULL, {NULL}, {"X-Other", "X-Campaign"},
     {"promo-1", "promo-9"}, NOSIZE, 5, "bulk"},
    {"hdr repeated", NULL, NULL, NULL, {NULL}, {"X-Campaign", "X-Campaign"},
     {"none", "promo-9"}, NOSIZE, 5, "bulk"},
    {"hdr value elsewhere", NULL, NULL, NULL, {NULL}, {"X-Other", "Subject"},
     {"promo-1", "promo-2"}, NOSIZE, -1, "wrr"},
    /* several conditions: all of them */
    {"and", NULL, "a@and.example", "10.1.2.3", {"dest.example"}, {NULL},
     {NULL}, NOSIZE, 6, "other"},
    {"and no ip", NULL, "a@and.example", NULL, {"dest.example"}, {NULL},
     {NULL}, NOSIZE, -1, "wrr"},
    {"and other ip", NULL, "a@and.example", "11.1.2.3", {"dest.example"},
     {NULL}, {NULL}, NOSIZE, -1, "wrr"},
    {"and other rcpt", NULL, "a@and.example", "10.1.2.3", {"x.example"},
     {NULL}, {NULL}, NOSIZE, -1, "wrr"},
    {"and other sender", NULL, "a@x.example", "10.1.2.3", {"dest.example"},
     {NULL}, {NULL}, NOSIZE, -1, "wrr"},
    /* size: both bounds inclusive, unknown size matches neither */
    {"size 999", NULL, NULL, NULL, {NULL}, {NULL}, {NULL}, 999, -1, "wrr"},
    {"size 1000", NULL, NULL, NULL, {NULL}, {NULL}, {NULL}, 1000, 7, "vip"},
    {"size 2000", NULL, NULL, NULL, {NULL}, {NULL}, {NULL}, 2000, 7, "vip"},
    {"size 2001", NULL, NULL, NULL, {NULL}, {NULL}, {NULL}, 2001, -1, "wrr"},
    {"size big", NULL, NULL, NULL, {NULL}, {NULL}, {NULL}, 50000000, 8,
     "bulk"},
    {"size huge", NULL, NULL, NULL, {NULL}, {NULL}, {NULL}, 1LL << 40, 8,
     "bulk"},
    {"size under big", NULL, NULL, NULL, {NULL}, {NULL}, {NULL}, 49999999,
     -1, "wrr"},
    {"size 10", NULL, NULL, NULL, {NULL}, {NULL}, {NULL}, 10, 9, "other"},
    {"size 0", NULL, NULL, NULL, {NULL}, {NULL}, {NULL}, 0, 9, "other"},
    {"size 11", NULL, NULL, NULL, {NULL}, {NULL}, {NULL}, 11, -1, "wrr"},
};

static void msg_of(const struct cls_case *t, struct route_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->sasl_user = t->sasl;
	m->sender = t->sender;
	m->client_addr = t->client;
	m->queue_id = "QID";
	for (size_t i = 0; i < NELEM(t->rcpt) && t->rcpt[i]; i++)
		m->rcpt_domains[m->ndomains++] = t->rcpt[i];
	for (size_t i = 0; i < NELEM(t->hname) && t->hname[i]; i++) {
		m->hdr_name[m->nheaders] = t->hname[i];
		m->hdr_value[m->nheaders++] = t->hvalue[i];
	}
	m->size = t->size;
}

static void test_classify(void **state)
{
	struct config *c = load_ok(route_conf);

	(void)state;
	for (size_t i = 0; i < NELEM(cls_cases); i++) {
		const struct cls_case *t = &cls_cases[i];
		struct route_msg m;
		int rule = 99, pool;

		msg_of(t, &m);
		pool = route_classify(c, &m, &rule);
		if (rule != t->rule)
			fail_msg("%s: rule %d, want %d", t->what, rule,
				 t->rule);
		if (pool != pool_of(c, t->pool))
			fail_msg("%s: pool %d, want %s", t->what, pool,
				 t->pool);
		if (rule >= 0)
			assert_int_equal(pool, c->rules[rule].pool);
	}
	config_unref(c);
}

/* Without rules every message goes to the default pool. */
static void test_classify_no_rules(void **state)
{
	struct config *c =
	    load_ok("members = { m1 = {}; };\n"
		    "pools = { p = { members = [ \"m1\" ]; };\n"
		    "          q = { members = [ \"m1\" ]; }; };\n"
		    "routing = { default_pool = \"q\"; };\n");
	struct route_msg m;
	int rule = 99;

	(void)state;
	msg_of(&cls_cases[11], &m);
	assert_int_equal(route_classify(c, &m, &rule), 1);
	assert_int_equal(rule, -1);
	config_unref(c);
}

/* ---- plans ---- */

struct cand_case {
	const char *what;
	const char *pool;
	enum mstate st[7]; /* a..g */
	size_t n;
	size_t member[7];
};

#define RDY MS_READY
#define DRN MS_DRAIN
#define MNT MS_MAINT
#define DWN MS_DOWN

static const struct cand_case cand_cases[] = {
    {"all ready", "wrr", {RDY}, 3, {A, B, C}},
    {"b drains", "wrr", {RDY, DRN}, 2, {A, C}},
    {"b maint c down", "wrr", {RDY, MNT, DWN}, 1, {A}},
    {"a down", "wrr", {DWN}, 2, {B, C}},
    {"none ready: all", "wrr", {DRN, MNT, DWN}, 3, {A, B, C}},
    {"others down", "wrr", {RDY, RDY, RDY, DWN, DWN, DWN, DWN}, 3, {A, B, C}},
    {"least order", "least", {RDY}, 3, {C, A, B}},
    {"least a down", "least", {DWN}, 2, {C, B}},
    {"relays", "relays", {RDY, DWN, RDY, DWN, RDY, DWN, RDY}, 4,
     {A, E, G, C}},
    {"relays none", "relays", {DWN, DWN, DRN, DRN, MNT, MNT, DWN}, 7,
     {A, B, D, E, F, G, C}},
};

static void test_plan_candidates(void **state)
{
	struct config *c = load_ok(route_conf);

	(void)state;
	for (size_t i = 0; i < NELEM(cand_cases); i++) {
		const struct cand_case *t = &cand_cases[i];
		struct route_view view;
		struct route_plan plan;

		memset(&view, 0, sizeof(view));
		for (size_t j = 0; j < 7; j++)
			view.state[j] = t->st[j];
		plan_ok(c, t->pool, &view, NULL, DAY0 + 10, &plan);
		assert_int_equal(plan.pool, pool_of(c, t->pool));
		if (plan.n != t->n)
			fail_msg("%s: %zu candidates, want %zu", t->what,
				 plan.n, t->n);
		for (size_t j = 0; j < t->n; j++) {
			if (plan.member[j] != t->member[j])
				fail_msg("%s: candidate %zu is %zu, want %zu",
					 t->what, j, plan.member[j],
					 t->member[j]);
			assert_int_equal(plan.weight[j],
					 c->members[t->member[j]].weight);
			assert_int_equal(plan.cap[j], -1);
		}
	}
	config_unref(c);
}

/* The cycle is the algorithm's over the candidates' weights. */
static void test_plan_cycle(void **state)
{
	struct config *c = load_ok(route_conf);
	struct route_view view;
	struct route_plan plan;
	uint16_t want[CONFIG_CYCLE_MAX];
	static const int w_ac[] = {5, 2};

	(void)state;
	plan_ok(c, "wrr", NULL, NULL, DAY0, &plan);
	assert_int_equal(plan.mode, RM_SEQ);
	assert_int_equal(plan.len, 10);
	assert_int_equal(select_wrr_cycle(plan.weight, 3, want, NELEM(want)),
			 10);
	assert_memory_equal(plan.cycle, want, 10 * sizeof(want[0]));

	memset(&view, 0, sizeof(view));
	view.state[B] = MS_DOWN;
	plan_ok(c, "wrr", &view, NULL, DAY0, &plan);
	assert_int_equal(plan.len, 7);
	assert_int_equal(select_wrr_cycle(w_ac, 2, want, NELEM(want)), 7);
	assert_memory_equal(plan.cycle, want, 7 * sizeof(want[0]));

	plan_ok(c, "rr", NULL, NULL, DAY0, &plan);
	assert_int_equal(plan.mode, RM_SEQ);
	assert_int_equal(plan.len, 3);
	assert_memory_equal(plan.cycle, ((uint16_t[]){0, 1, 2}),
			    3 * sizeof(uint16_t));

	plan_ok(c, "least", &view, NULL, DAY0, &plan);
	assert_int_equal(plan.mode, RM_LEAST);
	assert_int_equal(plan.n, 2);
	assert_int_equal(plan.len, 2);
	assert_memory_equal(plan.cycle, ((uint16_t[]){0, 1}),
			    2 * sizeof(uint16_t));

	plan_ok(c, "hash", NULL, NULL, DAY0, &plan);
	assert_int_equal(plan.mode, RM_ORDER);
	assert_int_equal(plan.len, 4);
	config_unref(c);
}

/*
 * Warm-up: 0 before the start day, the day's cap, then no cap; days held
 * back (the warm-up hold) move the schedule later, never before day 0.
 */
static void test_plan_warmup(void **state)
{
	static const struct {
		long long day;
		long long held;
		long long cap;
	} cases[] = {
	    {0, 0, 0},		{DAY0 - 365, 0, 0}, {DAY0 - 1, 0, 0},
	    {DAY0, 0, 100},	{DAY0 + 1, 0, 200}, {DAY0 + 2, 0, 400},
	    {DAY0 + 3, 0, -1},	{DAY0 + 4, 0, -1},  {DAY0 + 10000, 0, -1},
	    /* held: day 2 of the calendar is day 1 (or 0) of the schedule */
	    {DAY0 + 2, 1, 200}, {DAY0 + 2, 2, 100}, {DAY0 + 2, 9, 100},
	    {DAY0 + 3, 1, 400}, {DAY0 + 4, 1, -1},  {DAY0 - 1, 5, 0},
	    {DAY0, 1, 100},	{DAY0 + 1, -3, 200},
	};
	struct config *c = load_ok(route_conf);

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct route_plan plan;
		struct route_view view;

		memset(&view, 0, sizeof(view));
		view.held[E] = cases[i].held;
		assert_int_equal(route_warm_cap(&c->members[E], cases[i].day,
						cases[i].held),
				 cases[i].cap);
		plan_ok(c, "warm", &view, NULL, cases[i].day, &plan);
		assert_int_equal(plan.n, 2);
		assert_int_equal(plan.member[0], E);
		if (plan.cap[0] != cases[i].cap)
			fail_msg("day %lld: cap %lld, want %lld", cases[i].day,
				 plan.cap[0], cases[i].cap);
		assert_int_equal(plan.cap[1], -1); /* a: no warm-up */
	}
	config_unref(c);
}

/* The order of a hash pool is the rendezvous order of its key. */
static void check_hash(const struct config *c, const char *pool,
		       const struct route_view *view,
		       const struct route_msg *m, const char *key)
{
	struct route_plan plan;
	uint64_t seeds[CONFIG_POOL_MEMBERS_MAX];
	uint16_t want[CONFIG_POOL_MEMBERS_MAX];

	plan_ok(c, pool, view, m, DAY0, &plan);
	assert_int_equal(plan.mode, RM_ORDER);
	assert_int_equal(plan.len, plan.n);
	/* seeded by the names, as the config keeps them */
	for (size_t i = 0; i < plan.n; i++)
		seeds[i] = select_hash_seed(c->members[plan.member[i]].name);
	select_hash_order(key, strlen(key), seeds, plan.weight, plan.n, want,
			  plan.n);
	if (memcmp(plan.cycle, want, plan.n * sizeof(want[0])) != 0)
		fail_msg("pool %s: order is not that of key '%s'", pool, key);
}

static void test_plan_hash(void **state)
{
	struct config *c = load_ok(route_conf);
	struct route_view view;
	struct route_msg m = {.size = -1};
	char sender[64], user[32], dom[32];
	int first[CONFIG_MEMBERS_MAX] = {0}, kinds = 0;

	(void)state;
	memset(&view, 0, sizeof(view));
	view.state[B] = MS_DOWN;
	m.sender = sender;
	m.sasl_user = user;
	m.rcpt_domains[0] = dom;
	m.ndomains = 1;
	for (int k = 0; k < 200; k++) {
		static struct route_plan p1, p2, kept;

		snprintf(sender, sizeof(sender), "user%d@d%d.example", k % 7,
			 k);
		snprintf(user, sizeof(user), "sasl%d", k);
		snprintf(dom, sizeof(dom), "r%d.example", k);
		check_hash(c, "hash", NULL, &m, strchr(sender, '@') + 1);
		check_hash(c, "hash", &view, &m, strchr(sender, '@') + 1);
		check_hash(c, "hrcpt", NULL, &m, dom);
		check_hash(c, "huser", NULL, &m, user);
		check_hash(c, "hsender", NULL, &m, sender);
		/* same sender domain, other local part: same order */
		plan_ok(c, "hash", NULL, &m, DAY0, &p1);
		sender[0] = 'X';
		plan_ok(c, "hash", NULL, &m, DAY0, &p2);
		assert_memory_equal(p1.cycle, p2.cycle,
				    p1.n * sizeof(p1.cycle[0]));
		first[p1.member[p1.cycle[0]]]++;
		/* the plan kept from the last message, ordered for this one
		 * (as the milter does), is this one's plan */
		if (k > 0) {
			/* its top first (the milter's first call) */
			assert_int_equal(route_plan_order(c, &kept, &m, 2), 2);
			assert_int_equal(kept.len, 2);
			assert_memory_equal(kept.cycle, p1.cycle,
					    2 * sizeof(p1.cycle[0]));
			assert_int_equal(route_plan_order(c, &kept, &m, kept.n),
					 p1.n);
			assert_int_equal(kept.len, p1.len);
			assert_memory_equal(kept.cycle, p1.cycle,
					    p1.n * sizeof(p1.cycle[0]));
			assert_string_equal(kept.def, p1.def);
		}
		kept = p1;
	}
	/* the key spreads the messages over all four members */
	for (size_t i = 0; i < CONFIG_MEMBERS_MAX; i++)
		kinds += first[i] > 0;
	assert_int_equal(kinds, 4);
	assert_int_equal(first[D] + first[F] + first[G], 0);

	/* absent keys hash as "" */
	memset(&m, 0, sizeof(m));
	m.size = -1;
	check_hash(c, "hash", NULL, &m, "");
	check_hash(c, "hrcpt", NULL, &m, "");
	check_hash(c, "huser", NULL, &m, "");
	check_hash(c, "hsender", NULL, &m, "");
	m.sender = "no-domain@";
	check_hash(c, "hash", NULL, &m, "");
	config_unref(c);
}

/* ---- local pick ---- */

static void test_pick_local_seq(void **state)
{
	struct config *c = load_ok(route_conf);
	struct route_plan plan;

	(void)state;
	plan_ok(c, "wrr", NULL, NULL, DAY0, &plan);
	for (unsigned long long k = 0; k < 40; k++)
		assert_int_equal(route_pick_local(&plan, k, NULL, NULL),
				 plan.cycle[k % plan.len]);
	plan_ok(c, "rr", NULL, NULL, DAY0, &plan);
	for (unsigned long long k = 0; k < 12; k++)
		assert_int_equal(route_pick_local(&plan, k, NULL, NULL),
				 (long)(k % 3));
	/* the order mode takes the first of the order, whatever k */
	plan_ok(c, "hash", NULL, NULL, DAY0, &plan);
	for (unsigned long long k = 0; k < 12; k++)
		assert_int_equal(route_pick_local(&plan, k, NULL, NULL),
				 plan.cycle[0]);
	config_unref(c);
}

/* Least outstanding: counts are by config member index, the answer is a
 * candidate position (pool "least" is c, a, b with weights 2, 5, 3). */
static void test_pick_local_least(void **state)
{
	static const struct {
		long long out[3]; /* a, b, c */
		unsigned long long k;
		long want;
	} cases[] = {
	    {{0, 0, 0}, 0, 1},	 /* 1/5 < 1/3 < 1/2: a */
	    {{4, 0, 0}, 0, 2},	 /* 1.0, 1/3, 1/2: b */
	    {{4, 2, 0}, 0, 0},	 /* 1.0, 1.0, 1/2: c */
	    {{4, 2, 1}, 0, 0},	 /* all 1.0: ties rotate with k */
	    {{4, 2, 1}, 1, 1},
	    {{4, 2, 1}, 2, 2},
	    {{4, 2, 1}, 3, 0},
	    {{9, 5, 1}, 7, 0}, /* 2.0, 2.0, 1.0: c */
	};
	struct config *c = load_ok(route_conf);
	struct route_plan plan;

	(void)state;
	plan_ok(c, "least", NULL, NULL, DAY0, &plan);
	for (size_t i = 0; i < NELEM(cases); i++) {
		long long out[CONFIG_MEMBERS_MAX];
		long got;

		for (size_t j = 0; j < CONFIG_MEMBERS_MAX; j++)
			out[j] = 1000; /* other members do not count */
		out[A] = cases[i].out[0];
		out[B] = cases[i].out[1];
		out[C] = cases[i].out[2];
		got = route_pick_local(&plan, cases[i].k, out, NULL);
		if (got != cases[i].want)
			fail_msg("case %zu: %ld, want %ld", i, got,
				 cases[i].want);
	}
	assert_int_equal(route_pick_local(&plan, 0, NULL, NULL), 1);
	config_unref(c);
}

/*
 * Without Redis the last known state decides: drain, maint and down
 * members, members suspended for one of the message's domains (until a
 * later time) and members at today's warm-up cap take nothing, also when
 * no member is known ready (the plan then lists all of them, for Redis).
 */
static void test_local_usable(void **state)
{
	static const struct {
		const char *pool;
		enum mstate st[7]; /* a..g */
		size_t nsusp;	   /* of the susp table below */
		long long count_e;
		long long day;
		const char *want; /* ok by candidate position */
	} cases[] = {
	    {"wrr", {0}, 0, 0, DAY0, "111"},
	    /* the plan holds the members known ready: b, c; a */
	    {"wrr", {MS_DRAIN}, 0, 0, DAY0, "11"},
	    {"wrr", {MS_READY, MS_MAINT, MS_DOWN}, 0, 0, DAY0, "1"},
	    /* none known ready: all are candidates, none usable */
	    {"wrr", {MS_DRAIN, MS_DOWN, MS_MAINT}, 0, 0, DAY0, "000"},
	    /* b suspended for y.example (a message domain) until 2000 */
	    {"wrr", {0}, 1, 0, DAY0, "101"},
	    /* + a suspended for x.example until 900 (passed), c for
	     * other.example: neither counts */
	    {"wrr", {0}, 3, 0, DAY0, "101"},
	    /* warm: e, a; e's cap on DAY0 + 2 is 400 */
	    {"warm", {0}, 0, 399, DAY0 + 2, "11"},
	    {"warm", {0}, 0, 400, DAY0 + 2, "01"},
	    {"warm", {0}, 0, 5000, DAY0 + 3, "11"}, /* warm-up over */
	    {"warm", {0}, 0, 0, DAY0 - 1, "01"},    /* before its start */
	    /* + a suspended for provider google (x.example's) until 5000 */
	    {"wrr", {0}, 4, 0, DAY0, "001"},
	    /* + b suspended for provider yahoo (no domain of the message) */
	    {"wrr", {0}, 5, 0, DAY0, "001"},
	    /* + c throttled everywhere (kept as a suspension, no Redis) */
	    {"wrr", {0}, 6, 0, DAY0, "000"},
	};
	static char dy[] = "y.example", dx[] = "x.example",
		    dother[] = "other.example", google[] = "google",
		    yahoo[] = "yahoo", all[] = "";
	const struct route_susp susp[] = {
	    {B, RS_DOMAIN, dy, 2000},	  {A, RS_DOMAIN, dx, 900},
	    {C, RS_DOMAIN, dother, 5000}, {A, RS_PROVIDER, google, 5000},
	    {B, RS_PROVIDER, yahoo, 5000}, {C, RS_ALL, all, 5000}};
	/* the learned providers, sorted by domain */
	static char pa[] = "a.example", px[] = "x.example", pz[] = "z.example";
	const struct route_prov prov[] = {
	    {pa, yahoo}, {px, google}, {pz, yahoo}};
	struct config *c = load_ok(route_conf);
	struct route_msg m = {.size = -1};
	struct route_plan plan;

	(void)state;
	m.rcpt_domains[0] = "x.example";
	m.rcpt_domains[1] = "y.example";
	m.ndomains = 2;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct route_view view;
		long long count[CONFIG_MEMBERS_MAX] = {0};
		struct route_known k = {&view, susp, cases[i].nsusp,
					count, prov,  NELEM(prov)};
		int ok[CONFIG_MEMBERS_MAX];
		char got[8] = "";
		size_t n, want_n = 0;

		memset(&view, 0, sizeof(view));
		memcpy(view.state, cases[i].st, sizeof(cases[i].st));
		count[E] = cases[i].count_e;
		plan_ok(c, cases[i].pool, &view, &m, cases[i].day, &plan);
		n = route_local_usable(&plan, &k, &m, 1000, ok);
		for (size_t j = 0; j < plan.n && j < 7; j++)
			got[j] = ok[j] ? '1' : '0';
		for (const char *w = cases[i].want; *w; w++)
			want_n += *w == '1';
		if (strcmp(got, cases[i].want) != 0 || n != want_n)
			fail_msg("case %zu: %s (%zu), want %s", i, got, n,
				 cases[i].want);
		/* the local pick takes only usable candidates */
		for (unsigned long long kk = 0; kk < 20; kk++) {
			long pos = route_pick_local(&plan, kk, NULL, ok);
			if (want_n == 0)
				assert_int_equal(pos, -1);
			else
				assert_true(pos >= 0 && ok[pos]);
		}
	}
	config_unref(c);
}

/* ---- route header ---- */

struct hdr_case {
	const char *pool;
	enum mstate st[7];
	size_t pos;
	const char *want;
};

static const struct hdr_case hdr_cases[] = {
    /* no failover: member and its nexthop, or the member alone */
    {"wrr", {RDY}, 0, "a [relay-a.example]:587"},
    {"wrr", {RDY}, 1, "b [relay-b.example]:587"},
    {"wrr", {RDY}, 2, "c"},
    /* failover: up to 3 other nexthops, after the pick, none twice */
    {"relays", {RDY}, 0,
     "a [relay-a.example]:587,[relay-b.example]:587,[relay-e.example],"
     "[relay-f.example]"},
    {"relays", {RDY}, 1,
     "b [relay-b.example]:587,[relay-a.example]:587,[relay-e.example],"
     "[relay-f.example]"},
    {"relays", {RDY}, 2,
     "d [relay-a.example]:587,[relay-e.example],[relay-f.example],"
     "[relay-g.example]"},
    {"relays", {RDY}, 5,
     "g [relay-g.example],[relay-a.example]:587,[relay-b.example]:587,"
     "[relay-e.example]"},
    {"relays", {RDY}, 6, "c"},
    /* only the candidates count */
    {"relays", {RDY, DWN, RDY, RDY, DWN, DWN, DWN}, 0,
     "a [relay-a.example]:587"},
    {"relays", {RDY, DWN, RDY, DWN, RDY, DWN, RDY}, 2,
     "g [relay-g.example],[relay-a.example]:587,[relay-e.example]"},
};

static void test_header_value(void **state)
{
	struct config *c = load_ok(route_conf);

	(void)state;
	for (size_t i = 0; i < NELEM(hdr_cases); i++) {
		const struct hdr_case *t = &hdr_cases[i];
		struct route_view view;
		struct route_plan plan;
		char out[512];
		size_t len = strlen(t->want);

		memset(&view, 0, sizeof(view));
		for (size_t j = 0; j < 7; j++)
			view.state[j] = t->st[j];
		plan_ok(c, t->pool, &view, NULL, DAY0, &plan);
		assert_int_equal(route_header_value(c, &plan, t->pos, out,
						    sizeof(out)),
				 0);
		if (strcmp(out, t->want) != 0)
			fail_msg("case %zu: \"%s\", want \"%s\"", i, out,
				 t->want);
		/* exactly the room needed, and one byte less */
		memset(out, 'x', sizeof(out));
		assert_int_equal(route_header_value(c, &plan, t->pos, out,
						    len + 1),
				 0);
		assert_string_equal(out, t->want);
		assert_int_equal(route_header_value(c, &plan, t->pos, out, len),
				 -1);
		assert_int_equal(route_header_value(c, &plan, t->pos, out, 1),
				 -1);
		assert_int_equal(route_header_value(c, &plan, t->pos, out, 0),
				 -1);
	}
	config_unref(c);
}

/* ---- hosts: per-host members and sites ---- */

static const char host_conf[] =
    "host = \"mx1\";\n"
    "hosts = ( { name = \"mx1\"; site = \"fra\"; },\n"
    "          { name = \"mx2\"; site = \"ams\"; }, { name = \"mx3\"; } );\n"
    "members = {\n"
    "  ip1 = { host = \"mx1\"; address = \"192.0.2.1\"; };\n"
    "  ip2 = { host = \"mx2\"; address = \"192.0.2.2\"; };\n"
    "  r1 = { nexthop = \"[r1.example]\"; site = \"fra\"; };\n"
    "  r2 = { nexthop = \"[r2.example]\"; site = \"ams\"; };\n"
    "  r3 = { nexthop = \"[r3.example]\"; hosts = [ \"mx1\", \"mx3\" ]; };\n"
    "};\n"
    "pools = {\n"
    "  ips = { members = [ \"ip1\", \"ip2\" ]; fallback = \"relays\"; };\n"
    "  relays = { members = [ \"r1\", \"r2\" ]; prefer_site = true; };\n"
    "  mixed = { members = [ \"ip1\", \"ip2\", \"r1\", \"r3\" ]; };\n"
    "};\n"
    "routing = { default_pool = \"relays\"; };\n";

/*
 * A host plans only with its own members and the shared ones; a plan over
 * fewer members than the pool has its own rotation counter (the same set
 * on two hosts: the same counter); with site set, only its site's.
 */
static void test_plan_hosts(void **state)
{
	struct config *c = load_ok(host_conf), *c2;
	struct route_plan plan, p2;
	char *t;

	(void)state;
	assert_string_equal(c->host_name, "mx1");
	assert_string_equal(c->host_site, "fra");
	plan_ok(c, "ips", NULL, NULL, DAY0, &plan);
	assert_int_equal(plan.n, 1); /* ip1 only */
	assert_int_equal(plan.member[0], 0);
	assert_int_equal(strlen(plan.set), 17);
	assert_int_equal(plan.set[0], ':');
	plan_ok(c, "relays", NULL, NULL, DAY0, &plan);
	assert_int_equal(plan.n, 2);
	assert_string_equal(plan.set, ""); /* the whole pool: rr:relays */
	assert_int_equal(route_plan_pool(c, 1, &(struct route_view){0}, NULL,
					 DAY0, 1, &plan),
			 0);
	assert_int_equal(plan.n, 1); /* this site's: r1 */
	assert_int_equal(plan.member[0], 2);
	assert_int_equal(plan.set[0], ':');
	plan_ok(c, "mixed", NULL, NULL, DAY0, &plan);
	assert_int_equal(plan.n, 3); /* ip1, r1, r3 */
	/* mx3 uses r1 and r3 of mixed; mx2 ip2 and r1: other sets */
	t = strdup(host_conf);
	assert_non_null(t);
	memcpy(t, "host = \"mx3\"", 12);
	c2 = load_ok(t);
	assert_null(c2->host_site);
	plan_ok(c2, "mixed", NULL, NULL, DAY0, &p2);
	assert_int_equal(p2.n, 2);
	assert_string_not_equal(p2.set, plan.set);
	/* no site: prefer_site has nothing to prefer, all are local */
	assert_int_equal(route_plan_pool(c2, 1, &(struct route_view){0}, NULL,
					 DAY0, 1, &p2),
			 0);
	assert_int_equal(p2.n, 2);
	config_unref(c2);
	/* the same set of members on two hosts: the same counter */
	memcpy(t, "host = \"mx1\"", 12);
	c2 = load_ok(t);
	plan_ok(c2, "mixed", NULL, NULL, DAY0, &p2);
	assert_string_equal(p2.set, plan.set);
	config_unref(c2);
	free(t);
	config_unref(c);
}

/* ---- the route script's arguments ---- */

static void assert_arg(const struct route_call *rc, int i, const char *want)
{
	if (i >= rc->argc)
		fail_msg("argument %d of %d: want \"%s\"", i, rc->argc, want);
	if (rc->lens[i] != strlen(want) || strcmp(rc->argv[i], want) != 0)
		fail_msg("argument %d: \"%s\" (%zu bytes), want \"%s\"", i,
			 rc->argv[i], rc->lens[i], want);
}

/* Field j (width w) of the fixed-width buffer f (len bytes) is want,
 * padded: names on the right, numbers on the left. */
static void assert_field(const char *f, size_t len, size_t j, size_t w,
			 const char *want)
{
	char got[64], padded[64];

	if (len < (j + 1) * w)
		fail_msg("no field %zu in %zu bytes", j, len);
	memcpy(got, f + j * w, w);
	got[w] = '\0';
	snprintf(padded, sizeof(padded), w == ROUTE_NAME_W ? "%-*s" : "%*s",
		 (int)w, want);
	if (strcmp(got, padded) != 0)
		fail_msg("field %zu: \"%s\", want \"%s\"", j, got, padded);
}

/* b (2 * plan->len bytes) holds plan's cycle, 1-based, two base-255
 * digits plus one. */
static void assert_cycle(const char *b, size_t len,
			 const struct route_plan *plan)
{
	assert_int_equal(len, 2 * plan->len);
	for (size_t k = 0; k < plan->len; k++)
		assert_int_equal(((unsigned char)b[2 * k] - 1) * 255 +
				     (unsigned char)b[2 * k + 1] - 1,
				 plan->cycle[k] + 1);
}

static void test_call_build(void **state)
{
	struct config *c = load_ok(route_conf);
	struct route_msg m = {.size = -1};
	struct route_plan plan;
	struct route_call call;
	struct route_view view;
	char key[100];

	(void)state;
	m.queue_id = "4XyZ1";
	m.rcpt_domains[0] = "x.example";
	m.rcpt_domains[1] = "y.example";
	m.ndomains = 2;

	/* wrr: a, b, c; keys: the counter, the providers, the definition
	 * (no time: the script takes Redis's) */
	plan_ok(c, "wrr", NULL, &m, DAY0 + 1, &plan);
	assert_int_equal(strlen(plan.def), 16);
	assert_int_equal(route_call_build(c, &plan, &m, DAY0 + 1, 1, &call),
			 0);
	assert_int_equal(call.argc, 15);
	assert_int_equal(call.nkeys, 3);
	assert_arg(&call, 0, "plb:rr:wrr");
	assert_arg(&call, 1, "plb:prov");
	snprintf(key, sizeof(key), "plb:rd:%s", plan.def);
	assert_arg(&call, 2, key);
	assert_arg(&call, 3, "seq");
	assert_arg(&call, 4, ""); /* the cycle is the definition's */
	assert_arg(&call, 5, "120000");
	assert_arg(&call, 6, "4XyZ1");
	assert_arg(&call, 7, "2");
	assert_arg(&call, 8, "x.example");
	assert_arg(&call, 9, "y.example");
	assert_arg(&call, 10, "3");  /* candidates */
	assert_arg(&call, 11, "10"); /* slots */
	assert_arg(&call, 12, "plb:");
	assert_arg(&call, 13, "20240111");
	assert_arg(&call, 14, "1"); /* one pick */

	/* a reservation of 32 picks: no queue id, no domains */
	assert_int_equal(route_call_build(c, &plan, &m, DAY0 + 1, 32, &call),
			 0);
	assert_int_equal(call.argc, 13);
	assert_arg(&call, 3, "seq");
	assert_arg(&call, 6, "");
	assert_arg(&call, 7, "0");
	assert_arg(&call, 8, "3");
	assert_arg(&call, 12, "32");
	assert_int_equal(route_call_build(c, &plan, &m, DAY0 + 1,
					  CONFIG_RESERVE_MAX + 1, &call),
			 -1);

	/* hash without b: "order", the order's candidates inline */
	memset(&view, 0, sizeof(view));
	view.state[B] = MS_DRAIN;
	m.sender = "someone@example.org";
	m.rcpt_domains[0] = "z.example";
	m.ndomains = 1;
	plan_ok(c, "hash", &view, &m, DAY0 - 1, &plan);
	assert_int_equal(
	    route_call_build(c, &plan, &m, DAY0 - 1, 1, &call), 0);
	assert_int_equal(call.argc, 14);
	assert_arg(&call, 0, "plb:rr:hash");
	assert_arg(&call, 3, "order");
	assert_cycle(call.argv[4], call.lens[4], &plan);
	assert_int_equal(plan.len, 3);
	assert_arg(&call, 7, "1");
	assert_arg(&call, 8, "z.example");
	assert_arg(&call, 9, "3");
	/* hash and least pools pick per message: no reservation */
	assert_int_equal(
	    route_call_build(c, &plan, &m, DAY0 - 1, 2, &call), -1);

	/* least */
	plan_ok(c, "least", NULL, &m, DAY0, &plan);
	assert_int_equal(route_call_build(c, &plan, &m, DAY0, 1, &call), 0);
	assert_arg(&call, 0, "plb:rr:least");
	assert_arg(&call, 3, "least");
	assert_arg(&call, 4, "");
	config_unref(c);
}

/*
 * The definition: names, weights and today's caps in fixed-width fields,
 * the cycle (none for a hash pool); its hash changes with any of them.
 */
static void test_def_build(void **state)
{
	struct config *c = load_ok(route_conf);
	struct route_plan plan, p2;
	struct route_def *d = malloc(sizeof(*d));
	struct route_view view;
	char key[100];

	(void)state;
	assert_non_null(d);
	/* warm: e (capped), a */
	plan_ok(c, "warm", NULL, NULL, DAY0 + 2, &plan);
	assert_int_equal(route_def_build(c, &plan, d), 0);
	snprintf(key, sizeof(key), "plb:rd:%s", plan.def);
	assert_string_equal(d->key, key);
	assert_int_equal(d->lens[ROUTE_DEF_NAMES], 2 * ROUTE_NAME_W);
	assert_field(d->names, d->lens[ROUTE_DEF_NAMES], 0, ROUTE_NAME_W, "e");
	assert_field(d->names, d->lens[ROUTE_DEF_NAMES], 1, ROUTE_NAME_W, "a");
	assert_field(d->weights, d->lens[ROUTE_DEF_WEIGHTS], 0, ROUTE_WEIGHT_W,
		     "2");
	assert_field(d->weights, d->lens[ROUTE_DEF_WEIGHTS], 1, ROUTE_WEIGHT_W,
		     "5");
	assert_field(d->caps, d->lens[ROUTE_DEF_CAPS], 0, ROUTE_CAP_W, "400");
	assert_field(d->caps, d->lens[ROUTE_DEF_CAPS], 1, ROUTE_CAP_W, "-1");
	assert_int_equal(d->lens[ROUTE_DEF_CYCLE], 4);
	assert_memory_equal(d->cycle, "\1\2\1\3", 4);
	/* another day's cap: another definition */
	plan_ok(c, "warm", NULL, NULL, DAY0 + 1, &p2);
	assert_string_not_equal(p2.def, plan.def);
	plan_ok(c, "warm", NULL, NULL, DAY0 + 2, &p2);
	assert_string_equal(p2.def, plan.def);
	/* another set of candidates: another definition */
	memset(&view, 0, sizeof(view));
	view.state[A] = MS_DOWN;
	plan_ok(c, "warm", &view, NULL, DAY0 + 2, &p2);
	assert_string_not_equal(p2.def, plan.def);
	/* a hash pool: no cycle stored, one definition for every key */
	plan_ok(c, "hash", NULL, NULL, DAY0, &plan);
	assert_int_equal(route_def_build(c, &plan, d), 0);
	assert_int_equal(d->lens[ROUTE_DEF_CYCLE], 0);
	assert_field(d->names, d->lens[ROUTE_DEF_NAMES], 3, ROUTE_NAME_W, "e");
	{
		struct route_msg m = {.size = -1, .sender = "x@other.example"};
		plan_ok(c, "hash", NULL, &m, DAY0, &p2);
		assert_string_equal(p2.def, plan.def);
	}
	free(d);
	config_unref(c);
}

/* The prefix is the configured one; the default is "postlb:". */
static void test_call_prefix(void **state)
{
	struct config *c =
	    load_ok("members = { m1 = { weight = 2; }; m2 = {}; };\n"
		    "pools = { p = { members = [ \"m2\", \"m1\" ]; }; };\n"
		    "routing = { default_pool = \"p\"; };\n");
	struct route_msg m = {.size = -1};
	struct route_plan plan;
	struct route_call call;
	struct route_def *d = malloc(sizeof(*d));

	(void)state;
	assert_non_null(d);
	plan_ok(c, "p", NULL, &m, 0, &plan);
	assert_int_equal(route_call_build(c, &plan, &m, 0, 1, &call), 0);
	assert_int_equal(call.argc, 13);
	assert_arg(&call, 0, "postlb:rr:p");
	assert_arg(&call, 1, "postlb:prov");
	assert_int_equal(strncmp(call.argv[2], "postlb:rd:", 10), 0);
	assert_arg(&call, 5, "60000"); /* the default outstanding_ttl */
	assert_arg(&call, 6, "");
	assert_arg(&call, 7, "0");
	assert_arg(&call, 8, "2");
	assert_arg(&call, 9, "3");
	assert_arg(&call, 10, "postlb:");
	assert_arg(&call, 11, "19700101");
	assert_arg(&call, 12, "1");
	/* m2:1, m1:2 -> cycle m1, m2, m1 as candidates 2, 1, 2 */
	assert_int_equal(route_def_build(c, &plan, d), 0);
	assert_int_equal(d->lens[ROUTE_DEF_CYCLE], 6);
	assert_memory_equal(d->cycle, "\1\3\1\2\1\3", 6);
	assert_field(d->names, d->lens[ROUTE_DEF_NAMES], 0, ROUTE_NAME_W, "m2");
	assert_field(d->weights, d->lens[ROUTE_DEF_WEIGHTS], 1,
		     ROUTE_WEIGHT_W, "2");
	free(d);
	config_unref(c);
}

/*
 * The largest config validation allows: a 64-byte prefix,
 * CONFIG_MEMBERS_MAX members with 32-byte names and 255-byte nexthops,
 * CONFIG_POOL_MEMBERS_MAX of them in one failover pool whose weighted
 * cycle is CONFIG_CYCLE_MAX long.  Its script arguments (ROUTE_DOMAINS_MAX
 * domains of 255 bytes), its definition and every route header fit.
 */
/* 8 members of weight 897 and 1016 of weight 1: 8192 slots */
_Static_assert(8 * 897 + (CONFIG_POOL_MEMBERS_MAX - 8) == CONFIG_CYCLE_MAX,
	       "max_conf's weights fill the cycle");

static char *max_conf(void)
{
	size_t cap = 4096 + CONFIG_MEMBERS_MAX * 400, o = 0;
	char *t = malloc(cap);

	assert_non_null(t);
	/* health: the slow start arguments make the longest call */
	o += (size_t)snprintf(t + o, cap - o, "redis = { prefix = \"%064d\"; };\n"
					      "health = { slowstart = \"366d\"; "
					      "slowstart_min = 100; };\n"
					      "members = {\n", 7);
	for (int i = 0; i < CONFIG_MEMBERS_MAX; i++)
		o += (size_t)snprintf(t + o, cap - o,
				      "  m%031d = { nexthop = \"[%0250d]:25\"; "
				      "weight = %d; };\n",
				      i, i, i < 8 ? 897 : 1);
	o += (size_t)snprintf(t + o, cap - o, "};\npools = {\n  p%031d = {"
					      " failover = true; members = [",
			      0);
	for (int i = 0; i < CONFIG_POOL_MEMBERS_MAX; i++)
		o += (size_t)snprintf(t + o, cap - o, "%s\"m%031d\"",
				      i ? ", " : " ", i);
	o += (size_t)snprintf(t + o, cap - o,
			      " ]; };\n};\nrouting = { default_pool = "
			      "\"p%031d\"; };\n",
			      0);
	assert_true(o < cap);
	return t;
}

static void test_limits_max(void **state)
{
	char *text = max_conf(), dom[ROUTE_DOMAINS_MAX][300];
	struct config *c = load_ok(text);
	struct route_msg m = {.size = -1, .queue_id = "4Tq9Zb1x2Cz3Dy4"};
	struct route_plan *plan = malloc(sizeof(*plan));
	struct route_call *call = malloc(sizeof(*call));
	struct route_def *d = malloc(sizeof(*d));
	struct route_view *view = calloc(1, sizeof(*view));
	char hdr[ROUTE_HEADER_VALUE_MAX];

	(void)state;
	assert_non_null(call);
	assert_non_null(plan);
	assert_non_null(view);
	assert_non_null(d);
	assert_int_equal(strlen(c->redis_prefix), 64);
	assert_int_equal(c->nmembers, CONFIG_MEMBERS_MAX);
	for (size_t i = 0; i < ROUTE_DOMAINS_MAX; i++) {
		memset(dom[i], 'a' + (int)(i % 26), sizeof(dom[i]) - 1);
		dom[i][0] = (char)('0' + i % 10); /* distinct prefixes */
		dom[i][sizeof(dom[i]) - 1] = '\0';
		m.rcpt_domains[m.ndomains++] = dom[i];
	}
	assert_int_equal(route_plan_pool(c, 0, view, &m, DAY0, 0, plan), 0);
	assert_int_equal(plan->n, CONFIG_POOL_MEMBERS_MAX);
	assert_int_equal(plan->len, CONFIG_CYCLE_MAX);
	assert_int_equal(route_call_build(c, plan, &m, DAY0, 1, call), 0);
	assert_int_equal(call->argc, 3 + 5 + ROUTE_DOMAINS_MAX + 4 + 2 + 1);
	assert_true(call->argc <= ROUTE_ARGS_MAX);
	assert_int_equal(call->lens[8], 255);
	assert_int_equal(route_call_build(c, plan, &m, DAY0,
					  CONFIG_RESERVE_MAX, call),
			 0);
	assert_int_equal(route_def_build(c, plan, d), 0);
	assert_int_equal(d->lens[ROUTE_DEF_NAMES],
			 CONFIG_POOL_MEMBERS_MAX * ROUTE_NAME_W);
	assert_field(d->names, d->lens[ROUTE_DEF_NAMES],
		     CONFIG_POOL_MEMBERS_MAX - 1, ROUTE_NAME_W,
		     "m0000000000000000000000000001023");
	assert_field(d->weights, d->lens[ROUTE_DEF_WEIGHTS], 0,
		     ROUTE_WEIGHT_W, "897");
	assert_cycle(d->cycle, d->lens[ROUTE_DEF_CYCLE], plan); /* > 255 */
	assert_true(strlen(d->key) <= ROUTE_KEY_MAX);
	for (size_t pos = 0; pos < plan->n; pos++) {
		assert_int_equal(
		    route_header_value(c, plan, pos, hdr, sizeof(hdr)), 0);
		assert_int_equal(strlen(hdr), sizeof(hdr) - 1);
	}
	free(d);
	free(view);
	free(plan);
	free(call);
	config_unref(c);
	free(text);
}

/*
 * Input cannot make the arguments too long: a 4 KiB queue id is cut to
 * ROUTE_QUEUE_ID_MAX bytes, 4 KiB domains to ROUTE_DOMAIN_MAX; long
 * headers are not arguments.  The largest config (above) still fits.
 */
static void test_call_long_input(void **state)
{
	static char qid[4097], dom[ROUTE_DOMAINS_MAX][4097], hval[8192];
	char *text = max_conf();
	struct config *cfgs[2] = {load_ok(route_conf), load_ok(text)};
	struct route_call *call = malloc(sizeof(*call));
	struct route_plan *plan = malloc(sizeof(*plan));
	struct route_view *view = calloc(1, sizeof(*view));
	struct route_msg m = {.size = -1};

	(void)state;
	assert_non_null(call);
	assert_non_null(plan);
	assert_non_null(view);
	memset(qid, 'Q', sizeof(qid) - 1);
	memset(hval, 'h', sizeof(hval) - 1);
	m.queue_id = qid;
	m.sender = qid;
	m.hdr_name[0] = "X-Mail-Class";
	m.hdr_value[0] = hval;
	m.nheaders = 1;
	for (size_t d = 0; d < ROUTE_DOMAINS_MAX; d++) {
		memset(dom[d], 'a' + (int)(d % 26), sizeof(dom[d]) - 1);
		dom[d][0] = (char)('0' + d % 10); /* distinct prefixes */
		m.rcpt_domains[m.ndomains++] = dom[d];
	}
	for (size_t i = 0; i < 2; i++) {
		struct config *c = cfgs[i];
		int p = route_classify(c, &m, &(int){0});
		int qpos = 6;
		assert_int_equal(route_plan_pool(c, p, view, &m, DAY0, 0, plan),
				 0);
		assert_int_equal(
		    route_call_build(c, plan, &m, DAY0, 1, call), 0);
		assert_int_equal(call->lens[qpos], ROUTE_QUEUE_ID_MAX);
		assert_memory_equal(call->argv[qpos], qid, ROUTE_QUEUE_ID_MAX);
		assert_int_equal(call->argv[qpos][ROUTE_QUEUE_ID_MAX], '\0');
		{
			char nd[16];
			snprintf(nd, sizeof(nd), "%d", ROUTE_DOMAINS_MAX);
			assert_arg(call, qpos + 1, nd);
		}
		for (size_t d = 0; d < ROUTE_DOMAINS_MAX; d++) {
			assert_int_equal(call->lens[qpos + 2 + (int)d],
					 ROUTE_DOMAIN_MAX);
			assert_memory_equal(call->argv[qpos + 2 + (int)d],
					    dom[d], ROUTE_DOMAIN_MAX);
		}
		/* + candidates, slots, prefix, day, the slow start time and
		 * share when health is set, the picks */
		assert_int_equal(call->argc, qpos + 2 + ROUTE_DOMAINS_MAX + 4 +
						 (c->slowstart_ms > 0 ? 2 : 0) +
						 1);
	}
	free(view);
	free(plan);
	free(call);
	config_unref(cfgs[0]);
	config_unref(cfgs[1]);
	free(text);
}

/* ---- invalid routing configs ---- */


/* Members a (weight 1) and b (weight 2) on lines 2 and 3. */
#define MEMBERS                                                        \
	"members = {\n  a = { weight = 1; };\n  b = { weight = 2; };\n};\n"
/* A pool p of a and b on line 6 and the routing on line 8. */
#define POOLS                                                          \
	"pools = {\n  p = { members = [ \"a\", \"b\" ]; };\n};\n"           \
	"routing = { default_pool = \"p\"; };\n"
/* One rule on line 10, after MEMBERS and POOLS. */
#define RULE(body) MEMBERS POOLS "rules = (\n  { " body " }\n);\n"
/* One member x on line 2 with the given settings. */
#define MEMBER(body) "members = {\n  x = { " body " };\n};\n"

static const struct bad_case bad_cases[] = {
    /* members */
    {"member bad char", "members = {\n  m*1 = {};\n};\n", 2,
     "member name 'm*1' must be 1-32 letters"},
    {"member bad start", "members = {\n  a = {};\n  *x = {};\n};\n", 3,
     "member name '*x'"},
    {"member too long",
     "members = {\n  m23456789012345678901234567890123 = {};\n};\n", 2,
     "member name 'm23456789012345678901234567890123' must be 1-32"},
    /* libconfig itself refuses names with a space or a leading '-' */
    {"member space", "members = {\n  m 1 = {};\n};\n", 2, "syntax error"},
    {"member dash", "members = {\n  -x = {};\n};\n", 2, "syntax error"},
    {"member not group", "members = {\n  a = 1;\n};\n", 2,
     "member 'a' must be a group"},
    {"member unknown key", MEMBER("wieght = 2;"), 2,
     "unknown setting 'wieght'"},
    {"nexthop comma", MEMBER("nexthop = \"[r1]:25,[r2]:25\";"), 2,
     "member 'x': bad nexthop '[r1]:25,[r2]:25'"},
    {"nexthop space", MEMBER("nexthop = \"[r1] :25\";"), 2,
     "member 'x': bad nexthop '[r1] :25'"},
    {"nexthop empty", MEMBER("nexthop = \"\";"), 2, "bad nexthop ''"},
    {"nexthop tab", MEMBER("nexthop = \"r1\\t\";"), 2, "bad nexthop"},
    {"nexthop port letters", MEMBER("nexthop = \"[r1]:58x7\";"), 2,
     "bad nexthop '[r1]:58x7'"},
    {"nexthop port 0", MEMBER("nexthop = \"[r1]:0\";"), 2, "bad nexthop"},
    {"nexthop port 65536", MEMBER("nexthop = \"r1:65536\";"), 2,
     "bad nexthop"},
    {"nexthop port empty", MEMBER("nexthop = \"[r1]:\";"), 2,
     "bad nexthop"},
    {"nexthop no host", MEMBER("nexthop = \":25\";"), 2, "bad nexthop"},
    {"nexthop empty brackets", MEMBER("nexthop = \"[]:25\";"), 2,
     "bad nexthop"},
    {"nexthop unclosed", MEMBER("nexthop = \"[r1:25\";"), 2,
     "bad nexthop"},
    {"nexthop junk after ]", MEMBER("nexthop = \"[r1]x\";"), 2,
     "bad nexthop"},
    {"weight 0", MEMBER("weight = 0;"), 2, "'weight' = 0 is out of range"},
    {"weight 1001", MEMBER("weight = 1001;"), 2,
     "'weight' = 1001 is out of range"},
    {"warmup start month",
     MEMBER("\n    warmup = { start = \"2024-13-01\"; caps = [ 1 ]; };"), 3,
     "member 'x': warmup needs start = \"YYYY-MM-DD\""},
    {"warmup start slashes",
     MEMBER("\n    warmup = { start = \"2024/01/10\"; caps = [ 1 ]; };"), 3,
     "warmup needs start"},
    {"warmup start junk",
     MEMBER("\n    warmup = { start = \"2024-01-10x\"; caps = [ 1 ]; };"), 3,
     "warmup needs start"},
    {"warmup start empty",
     MEMBER("\n    warmup = { start = \"\"; caps = [ 1 ]; };"), 3,
     "warmup needs start"},
    {"warmup start missing", MEMBER("\n    warmup = { caps = [ 1 ]; };"), 3,
     "warmup needs start"},
    {"warmup no caps",
     MEMBER("\n    warmup = { start = \"2024-01-10\"; };"), 3,
     "warmup needs caps"},
    {"warmup negative cap",
     MEMBER("warmup = { start = \"2024-01-10\";\n    caps = [ 1, -1 ]; };"),
     3, "warmup caps must be non-negative"},
    /* pools */
    {"unknown member",
     MEMBERS "pools = {\n  p = { members = [ \"a\",\n    \"zz\" ]; };\n};\n",
     7, "pool 'p': unknown member 'zz'"},
    {"member twice",
     MEMBERS "pools = {\n  p = { members = [ \"a\", \"b\",\n    \"a\" ]; "
	     "};\n};\n",
     7, "pool 'p': member 'a' listed twice"},
    {"no members", MEMBERS "pools = {\n  p = { members = [ ]; };\n};\n", 6,
     "pool 'p' needs members"},
    {"bad algorithm",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; algorithm = \"rand\"; "
	     "};\n};\n",
     6, "pool 'p': algorithm must be"},
    {"fallback cycle",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; fallback = \"q\"; };\n"
	     "  q = { members = [ \"b\" ]; fallback = \"p\"; };\n};\n"
	     "routing = { default_pool = \"p\"; };\n",
     6, "pool 'p': its fallback chain leads back to itself"},
    {"fallback self",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; };\n"
	     "  q = { members = [ \"b\" ]; fallback = \"q\"; };\n};\n"
	     "routing = { default_pool = \"p\"; };\n",
     7, "pool 'q': its fallback chain leads back to itself"},
    {"fallback long cycle",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; fallback = \"q\"; };\n"
	     "  q = { members = [ \"a\" ]; fallback = \"r\"; };\n"
	     "  r = { members = [ \"a\" ]; fallback = \"q\"; };\n};\n"
	     "routing = { default_pool = \"p\"; };\n",
     7, "pool 'q': its fallback chain leads back"},
    {"unknown fallback",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; };\n"
	     "  q = { members = [ \"b\" ]; fallback = \"zz\"; };\n};\n"
	     "routing = { default_pool = \"p\"; };\n",
     7, "pool 'q': unknown fallback pool 'zz'"},
    {"weights over cap",
     "members = {\n  a = { weight = 999; };\n  b = { weight = 999; };\n"
     "  c = { weight = 999; };\n  d = { weight = 999; };\n"
     "  e = { weight = 999; };\n  f = { weight = 999; };\n"
     "  g = { weight = 999; };\n  h = { weight = 999; };\n"
     "  i = { weight = 999; };\n  j = { weight = 2; };\n};\n"
     "pools = {\n  p = { members = [ \"a\", \"b\", \"c\", \"d\", \"e\", "
     "\"f\", \"g\", \"h\", \"i\", \"j\" ]; };\n};\n"
     "routing = { default_pool = \"p\"; };\n",
     14, "pool 'p': weights add up to 8993 after dividing by their gcd"},
    {"hash_key without algorithm",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; hash_key = \"sender\"; "
	     "};\n};\n",
     6, "pool 'p': hash_key (sender_domain"},
    {"hash_key with round robin",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ];\n"
	     "    algorithm = \"round_robin\"; hash_key = \"sender\"; };\n};\n",
     6, "goes with algorithm = \"hash\""},
    {"hash_key unknown",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; algorithm = \"hash\";\n"
	     "    hash_key = \"subject\"; };\n};\n",
     6, "pool 'p': hash_key"},
    {"failover not bool",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ];\n    failover = 1; "
	     "};\n};\n",
     7, "'failover' must be true or false"},
    {"bad pool name", MEMBERS "pools = {\n  p*q = { members = [ \"a\" ]; "
			      "};\n};\n",
     6, "bad pool name 'p*q'"},
    /* routing */
    {"no routing", MEMBERS "pools = {\n  p = { members = [ \"a\" ]; };\n};\n",
     5, "pools are defined but no routing"},
    {"no default_pool",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; };\n};\n"
	     "routing = {\n  budget = \"20ms\";\n};\n",
     8, "routing: missing default_pool"},
    {"unknown default_pool",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; };\n};\n"
	     "routing = {\n  default_pool = \"zz\";\n};\n",
     8, "routing: unknown default_pool 'zz'"},
    {"bad no_member",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; };\n};\n"
	     "routing = {\n  default_pool = \"p\";\n  no_member = \"drop\";\n"
	     "};\n",
     8, "routing: no_member must be \"default\""},
    {"budget over 5s",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; };\n};\n"
	     "routing = {\n  default_pool = \"p\";\n  budget = \"6s\";\n};\n",
     8, "routing: budget must be at most 5s"},
    {"reserve 0",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; };\n};\n"
	     "routing = {\n  default_pool = \"p\";\n  reserve = 0;\n};\n",
     10, "'reserve' = 0 is out of range 1..256"},
    {"reserve over the maximum",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; };\n};\n"
	     "routing = {\n  default_pool = \"p\";\n  reserve = 257;\n};\n",
     10, "'reserve' = 257 is out of range 1..256"},
    {"reserve not a number",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; };\n};\n"
	     "routing = {\n  default_pool = \"p\";\n"
	     "  reserve = \"many\";\n};\n",
     10, "'reserve' must be an integer"},
    {"reserve_time over 10s",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; };\n};\n"
	     "routing = {\n  default_pool = \"p\";\n"
	     "  reserve_time = \"11s\";\n};\n",
     8, "routing: reserve_time must be at most 10s"},
    {"reserve_time not a duration",
     MEMBERS "pools = {\n  p = { members = [ \"a\" ]; };\n};\n"
	     "routing = {\n  default_pool = \"p\";\n  reserve_time = \"soon\";\n};\n",
     10, "'reserve_time' must be a duration"},
    /* rules */
    {"bad regex",
     RULE("name = \"r\"; header = \"Subject\";\n    match = \"(promo\"; "
	  "pool = \"p\";"),
     11, "rule 'r': bad regular expression '(promo'"},
    {"header without match",
     RULE("name = \"r\"; header = \"Subject\"; pool = \"p\";"), 10,
     "rule 'r': 'header' and 'match' go together"},
    {"match without header",
     RULE("name = \"r\"; match = \"x\"; pool = \"p\";"), 10,
     "'header' and 'match' go together"},
    {"no condition", RULE("name = \"r\"; pool = \"p\";"), 10,
     "rule 'r' has no condition"},
    {"no condition unnamed", RULE("pool = \"p\";"), 10,
     "rule 'line10' has no condition"},
    {"unknown pool",
     RULE("name = \"r\"; sender = [ \"a@b\" ]; pool = \"zz\";"), 10,
     "rule 'r': unknown pool 'zz'"},
    {"missing pool", RULE("name = \"r\"; sender = [ \"a@b\" ];"), 10,
     "rule 'r': missing pool"},
    {"rule bad ip",
     RULE("name = \"r\";\n    client_ip = [ \"10.0.0.0/33\" ]; pool = "
	  "\"p\";"),
     11, "'10.0.0.0/33' is not an address or network"},
    {"rule empty value", RULE("sender = [ \"\" ]; pool = \"p\";"), 10,
     "empty or over-long value"},
    {"rule size negative", RULE("size_min = -1; pool = \"p\";"), 10,
     "'size_min' = -1 is out of range"},
    {"rule unknown key",
     RULE("name = \"r\"; sender = [ \"a@b\" ]; pol = \"p\";"), 10,
     "unknown setting 'pol'"},
    {"rules not list",
     MEMBERS POOLS "rules = {\n  a = 1;\n};\n", 9,
     "'rules' must be a list"},
    /* milter */
    {"milter listen tcp",
     "milter = {\n  listen = \"tcp:127.0.0.1:10025\";\n};\n",
     2, "milter listen must be \"unix:/path\" or \"inet:port@127.0.0.1\""},
    {"milter listen path", "milter = {\n  user = \"postlb\";\n"
			   "  listen = \"/run/milter\";\n};\n",
     3, "milter listen must be"},
    {"milter listen empty", "milter = {\n  listen = \"\";\n};\n", 2,
     "milter listen must be"},
    {"milter socket_mode", "milter = {\n  listen = \"unix:/x\";\n"
			   "  socket_mode = \"0999\";\n};\n",
     3, "'socket_mode' must be octal"},
};

static void test_invalid(void **state)
{
	(void)state;
	check_bad_cases(NAME, bad_cases, NELEM(bad_cases));
}

/* Valid edges next to the invalid ones. */
static void test_valid_edges(void **state)
{
	static const char *const ok[] = {
	    /* a 32-byte name, '-' and '_' after the first byte */
	    "members = { m2345678901234567890123456789012 = {};\n"
	    "  x-y_z = {}; };\n",
	    /* weights adding up to exactly 1000, and to 1002 over gcd 2 */
	    "members = { a = { weight = 999; }; b = { weight = 1; };\n"
	    "  c = { weight = 1000; }; d = { weight = 2; }; };\n"
	    "pools = { p = { members = [ \"a\", \"b\" ]; };\n"
	    "  q = { members = [ \"c\", \"d\" ]; }; };\n"
	    "routing = { default_pool = \"p\"; };\n",
	    /* a fallback chain that ends */
	    "members = { a = {}; };\n"
	    "pools = { p = { members = [ \"a\" ]; fallback = \"q\"; };\n"
	    "  q = { members = [ \"a\" ]; fallback = \"r\"; };\n"
	    "  r = { members = [ \"a\" ]; }; };\n"
	    "routing = { default_pool = \"r\"; };\n",
	    /* hash_key with hash; nexthop forms */
	    "members = { a = { nexthop = \"relay.example\"; };\n"
	    "  b = { nexthop = \"[192.0.2.1]:2525\"; }; };\n"
	    "pools = { p = { members = [ \"a\", \"b\" ];\n"
	    "  algorithm = \"hash\";\n"
	    "  hash_key = \"sasl_user\"; failover = false; }; };\n"
	    "routing = { default_pool = \"p\"; no_member = \"tempfail\"; };\n",
	    /* members without pools need no routing; milter inet */
	    "members = { a = {}; };\n"
	    "milter = { listen = \"inet:10025@127.0.0.1\"; socket_mode = "
	    "\"0600\"; };\n",
	    /* a leap day */
	    "members = { a = { warmup = { start = \"2024-02-29\";\n"
	    "  caps = [ 0 ]; }; }; };\n",
	};

	(void)state;
	for (size_t i = 0; i < NELEM(ok); i++)
		config_unref(load_ok(ok[i]));
	{
		struct config *c = load_ok(ok[5]);
		assert_int_equal(c->members[0].warm_start_day, 19782);
		assert_int_equal(c->members[0].warm_caps[0], 0);
		config_unref(c);
	}
	{
		struct config *c = load_ok(ok[4]);
		assert_string_equal(c->milter_listen, "inet:10025@127.0.0.1");
		assert_int_equal(c->milter_socket_mode, 0600);
		assert_int_equal(c->default_pool, -1);
		config_unref(c);
	}
}

/* ---- small helpers ---- */

static void test_states_and_days(void **state)
{
	char ds[16];

	(void)state;
	for (int s = MS_READY; s <= MS_DOWN; s++)
		assert_int_equal(route_state_parse(route_state_name(s)), s);
	assert_string_equal(route_state_name(MS_DRAIN), "drain");
	assert_string_equal(route_state_name((enum mstate)9), "?");
	assert_int_equal(route_state_parse("Ready"), -1);
	assert_int_equal(route_state_parse(""), -1);
	route_day_string(0, ds);
	assert_string_equal(ds, "19700101");
	route_day_string(DAY0, ds);
	assert_string_equal(ds, "20240110");
	route_day_string(19782, ds);
	assert_string_equal(ds, "20240229");
	assert_true(route_today() > DAY0);
}

/* n rules with a header condition, in a config that is valid otherwise. */
static char *header_rules_conf(int n)
{
	size_t cap = 256 + (size_t)n * 120;
	char *t = malloc(cap);
	size_t len;

	assert_non_null(t);
	len = (size_t)snprintf(t, cap,
			       "members = { m = { nexthop = \"[r]:25\"; }; };\n"
			       "pools = { p = { members = [\"m\"]; }; };\n"
			       "routing = { default_pool = \"p\"; };\n"
			       "rules = (\n");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(t + len, cap - len,
					"  { header = \"X-H%d\"; match = \"^v$\"; "
					"pool = \"p\"; }%s\n",
					i, i + 1 < n ? "," : "");
	snprintf(t + len, cap - len, ");\n");
	return t;
}

/* CONFIG_HEADER_RULES_MAX header rules load; one more is refused. */
static void test_header_rules_max(void **state)
{
	char *t = header_rules_conf(CONFIG_HEADER_RULES_MAX);
	struct config *c = load_valid(NAME, t);
	char err[600] = "";

	(void)state;
	config_unref(c);
	free(t);
	t = header_rules_conf(CONFIG_HEADER_RULES_MAX + 1);
	c = NULL;
	assert_int_equal(config_load_string(t, NAME, &c, err, sizeof(err)), -1);
	assert_null(c);
	check_err_named(NAME, "33 header rules", err,
			4 + CONFIG_HEADER_RULES_MAX + 1,
			"more than 32 rules with a header condition");
	free(t);
}

/* Each header rule keeps the first instance that matches it, once. */
static void test_header_keep(void **state)
{
	static const char conf[] =
	    "members = { m = { nexthop = \"[r]:25\"; }; };\n"
	    "pools = { p = { members = [\"m\"]; }; q = { members = [\"m\"]; }; };\n"
	    "routing = { default_pool = \"p\"; };\n"
	    "rules = (\n"
	    "  { name = \"bulk\"; header = \"X-Class\"; match = \"bulk$\"; pool = \"q\"; },\n"
	    "  { name = \"any\"; header = \"x-class\"; match = \"^o\"; pool = \"q\"; },\n"
	    "  { name = \"prec\"; header = \"Precedence\"; match = \"^list$\"; pool = \"q\"; }\n"
	    ");\n";
	struct config *c = load_valid(NAME, conf);
	unsigned char m[3] = {0};
	char *big = malloc(200001);

	(void)state;
	assert_non_null(big);
	memset(big, 'y', 200000);
	big[200000] = '\0';
	memcpy(big + 200000 - 4, "bulk", 4);
	assert_int_equal(route_header_keep(c, m, "Subject", "bulk"), 0);
	assert_int_equal(route_header_keep(c, m, "X-Class", "other1"), 1);
	assert_int_equal(m[1], 1); /* "any" matched; "bulk" did not */
	assert_int_equal(m[0], 0);
	assert_int_equal(route_header_keep(c, m, "X-CLASS", "other2"), 0);
	assert_int_equal(route_header_keep(c, m, "x-class", big), 1);
	assert_int_equal(m[0], 1);
	assert_int_equal(route_header_keep(c, m, "X-Class", "bulk"), 0);
	assert_int_equal(m[2], 0);
	free(big);
	config_unref(c);
}

/* The health group and members' checks (config_health.c). */
static void test_health_config(void **state)
{
	static const char base[] =
	    "members = {\n"
	    "  a = { nexthop = \"[r1]:25\"; };\n"
	    "  b = { nexthop = \"[r2]:25\"; check = false; };\n"
	    "  c = { address = \"192.0.2.1\"; };\n"
	    "  d = { nexthop = \"[r4]:587\"; check = { fall = 5; starttls = true; }; };\n"
	    "};\n"
	    "pools = { p = { members = [\"a\", \"b\", \"c\", \"d\"]; }; };\n"
	    "routing = { default_pool = \"p\"; };\n";
	static const struct bad_case bad[] = {
	    {"check on a member without nexthop",
	     "members = { c = { address = \"192.0.2.1\";\n  check = { rise = 1; }; }; };\n"
	     "pools = { p = { members = [\"c\"]; }; };\nrouting = { default_pool = \"p\"; };\n",
	     2, "only a member with a nexthop"},
	    {"fastinter above interval",
	     "health = {\n  check = { interval = \"1s\"; fastinter = \"2s\"; }; };\n",
	     2, "fastinter at most interval"},
	    {"rise 0", "health = {\n  check = { rise = 0; }; };\n", 2, "rise"},
	    {"check not a group", "health = {\n  check = 3; };\n", 2,
	     "must be false or a group"},
	    {"unknown check key", "health = {\n  check = { inter = \"1s\"; }; };\n", 2,
	     "inter"},
	    {"bad slowstart", "health = {\n  slowstart = \"soon\"; };\n", 2,
	     "slowstart"},
	    {"slowstart_min 0", "health = {\n  slowstart_min = 0; };\n", 2,
	     "slowstart_min"},
	};
	char text[2048];
	struct config *c;

	(void)state;
	/* no health group: no checks, no slow start */
	c = load_valid(NAME, base);
	assert_int_equal(c->members[0].check, 0);
	assert_int_equal(c->members[3].check, 1); /* its own group */
	assert_int_equal(c->members[3].chk.fall, 5);
	assert_int_equal(c->members[3].chk.rise, 2);
	assert_int_equal(c->members[3].chk.interval_ms, 1000);
	assert_int_equal(c->members[3].check_starttls, 1);
	assert_int_equal(c->slowstart_ms, 0);
	config_unref(c);
	/* health.check: every member with a nexthop unless it says false */
	snprintf(text, sizeof(text),
		 "health = { check = { interval = \"2s\"; timeout = \"500ms\"; }; "
		 "slowstart = \"2m\"; slowstart_min = 25; };\n%s",
		 base);
	c = load_valid(NAME, text);
	assert_int_equal(c->members[0].check, 1);
	assert_int_equal(c->members[0].chk.interval_ms, 2000);
	assert_int_equal(c->members[0].chk.fastinter_ms, 250);
	assert_int_equal(c->members[0].chk.timeout_ms, 500);
	assert_int_equal(c->members[1].check, 0);
	assert_int_equal(c->members[2].check, 0); /* MX delivery */
	assert_int_equal(c->members[3].chk.interval_ms, 2000);
	assert_int_equal(c->members[3].chk.fall, 5);
	assert_int_equal(c->slowstart_ms, 120000);
	assert_int_equal(c->slowstart_min_pct, 25);
	config_unref(c);
	/* a health group: slow start 60 s; 0 or "0s" turns it off */
	snprintf(text, sizeof(text), "health = { };\n%s", base);
	c = load_valid(NAME, text);
	assert_int_equal(c->slowstart_ms, 60000);
	assert_int_equal(c->members[0].check, 0);
	config_unref(c);
	snprintf(text, sizeof(text), "health = { slowstart = \"0s\"; };\n%s", base);
	c = load_valid(NAME, text);
	assert_int_equal(c->slowstart_ms, 0);
	config_unref(c);
	snprintf(text, sizeof(text), "health = { slowstart = 0; };\n%s", base);
	c = load_valid(NAME, text);
	assert_int_equal(c->slowstart_ms, 0);
	config_unref(c);
	check_bad_cases(NAME, bad, NELEM(bad));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loaded),
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_classify_no_rules),
	    cmocka_unit_test(test_plan_candidates),
	    cmocka_unit_test(test_plan_cycle),
	    cmocka_unit_test(test_plan_warmup),
	    cmocka_unit_test(test_plan_hosts),
	    cmocka_unit_test(test_plan_hash),
	    cmocka_unit_test(test_pick_local_seq),
	    cmocka_unit_test(test_pick_local_least),
	    cmocka_unit_test(test_local_usable),
	    cmocka_unit_test(test_header_value),
	    cmocka_unit_test(test_call_build),
	    cmocka_unit_test(test_def_build),
	    cmocka_unit_test(test_call_prefix),
	    cmocka_unit_test(test_limits_max),
	    cmocka_unit_test(test_call_long_input),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_valid_edges),
	    cmocka_unit_test(test_header_rules_max),
	    cmocka_unit_test(test_header_keep),
	    cmocka_unit_test(test_health_config),
	    cmocka_unit_test(test_states_and_days),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
