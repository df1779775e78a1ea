/*
 * router_metrics: what postlb-milter says on /metrics (see router.h):
 * messages routed by pool, member, rule and path, the routing latency,
 * Redis, and what the router last read of the members (state, domain
 * suspensions, today's count against the warm-up cap) and so of the
 * pools.  Label values are config names and fixed words only: a routed
 * series of a pool, member or rule that a reload removed is left out.
 *
 * Counting takes the routed table's lock only; the writer runs in the
 * metrics thread, copies what it needs under the router's lock and
 * formats outside it.
 */
#include "router_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rm_routed_labels[] = {"pool", "member", "rule",
					       "path"};

int router_metrics_init(struct router *r)
{
	r->routed = metrics_table_new(4, rm_routed_labels, ROUTER_SERIES_MAX);
	metrics_hist_init(&r->latency, metrics_latency_bounds,
			  metrics_latency_nbounds);
	return r->routed == NULL ? -1 : 0;
}

void router_metrics_free(struct router *r)
{
	metrics_table_free(r->routed);
	r->routed = NULL;
}

/* A rule's label: its name cut to the label limit; "" for the default. */
static void rm_rule(const struct config *c, int rule, char *out, size_t sz)
{
	snprintf(out, sz, "%s", rule >= 0 ? c->rules[rule].name : "");
}

void router_metrics_count(struct router *r, const struct config *c,
			  const struct router_result *res,
			  unsigned long long ns)
{
	char rule[METRICS_LABEL_MAX + 1];
	const char *v[4];

	metrics_hist_observe(&r->latency, ns);
	if (res->pool < 0)
		return;
	rm_rule(c, res->rule, rule, sizeof(rule));
	v[0] = c->pools[res->pool].name;
	v[1] = res->member >= 0 ? c->members[res->member].name : "";
	v[2] = rule;
	v[3] = res->member < 0		      ? "none"
	       : res->used_pool != res->pool ? "fallback"
	       : res->local		      ? "local"
	       : res->reserved		      ? "reserved"
					      : "redis";
	metrics_table_add(r->routed, v, 1);
}

/* Keeps routed series whose pool, member and rule are in config arg. */
static int rm_keep(void *arg, const struct config *c, const char *const *v)
{
	char rule[METRICS_LABEL_MAX + 1];
	size_t i;

	(void)arg;
	if (config_pool_index(c, v[0]) < 0 ||
	    (*v[1] && config_member_index(c, v[1]) < 0))
		return 0;
	if (*v[2] == '\0')
		return 1;
	for (i = 0; i < c->nrules; i++) {
		rm_rule(c, (int)i, rule, sizeof(rule));
		if (strcmp(rule, v[2]) == 0)
			return 1;
	}
	return 0;
}

static int rm_keep_fn(void *arg, const char *const *v)
{
	return rm_keep(NULL, arg, v);
}

/* What the writer copies under the router's lock. */
struct rm_snap {
	struct config *cfg;
	struct route_view view;
	long long count[CONFIG_MEMBERS_MAX];
	int counted; /* count is today's */
	long long susp[CONFIG_MEMBERS_MAX]; /* live domain suspensions */
	struct router_stats st;
	unsigned long long call_errors;
	long long day;
};

static void rm_snap(struct router *r, struct rm_snap *s)
{
	long long now = router_now_ms(r);

	s->day = now / 86400000;
	pthread_mutex_lock(&r->lock);
	s->cfg = config_ref(r->cfg);
	s->view = r->view;
	memcpy(s->count, r->count, sizeof(s->count));
	s->counted = r->count_day == s->day;
	memset(s->susp, 0, sizeof(s->susp));
	for (size_t i = 0; i < r->nsusp; i++)
		if (r->susp[i].until_ms > now &&
		    r->susp[i].member < CONFIG_MEMBERS_MAX)
			s->susp[r->susp[i].member]++;
	s->st = r->st;
	s->call_errors = r->call_errors;
	pthread_mutex_unlock(&r->lock);
}

static void rm_one(struct metrics_buf *b, const char *name, const char *type,
		   const char *help, unsigned long long v)
{
	metrics_family(b, name, type, help);
	metrics_sample(b, name, NULL, v);
}

/* Gauges of one label: value(i) for each member (or pool) i. */
static void rm_label(struct metrics_buf *b, const char *name,
		     const char *label, const char *value, long long v)
{
	char labels[128];
	const char *names[] = {label}, *vals[] = {value};

	if (metrics_labels(labels, sizeof(labels), 1, names, vals) >= 0)
		metrics_sample(b, name, labels, (unsigned long long)v);
}

static void rm_members(struct metrics_buf *b, const struct rm_snap *s)
{
	static const char *const names[] = {"member", "state"};
	const struct config *c = s->cfg;
	char labels[160];

	metrics_family(b, "postlb_member_state", "gauge",
		       "1 for a member's state as postlb-milter last read it "
		       "(ready, drain, maint, down; down includes health).");
	for (size_t i = 0; i < c->nmembers; i++)
		for (int st = MS_READY; st <= MS_DOWN; st++) {
			const char *v[] = {c->members[i].name,
					   route_state_name((enum mstate)st)};
			metrics_labels(labels, sizeof(labels), 2, names, v);
			metrics_sample(b, "postlb_member_state", labels,
				       s->view.state[i] == (enum mstate)st);
		}
	metrics_family(b, "postlb_member_suspensions", "gauge",
		       "Recipient domains a member is suspended for now.");
	for (size_t i = 0; i < c->nmembers; i++)
		rm_label(b, "postlb_member_suspensions", "member",
			 c->members[i].name, s->susp[i]);
	metrics_family(b, "postlb_member_warmup_cap", "gauge",
		       "Today's warm-up cap of a member in warm-up (messages).");
	for (size_t i = 0; i < c->nmembers; i++)
		if (route_warm_cap(&c->members[i], s->day, s->view.held[i]) >= 0)
			rm_label(b, "postlb_member_warmup_cap", "member",
				 c->members[i].name,
				 route_warm_cap(&c->members[i], s->day, s->view.held[i]));
	metrics_family(b, "postlb_member_sent_today", "gauge",
		       "Messages routed today to a member in warm-up, all "
		       "hosts (as last read from Redis).");
	for (size_t i = 0; i < c->nmembers; i++)
		if (route_warm_cap(&c->members[i], s->day, s->view.held[i]) >= 0)
			rm_label(b, "postlb_member_sent_today", "member",
				 c->members[i].name,
				 s->counted ? s->count[i] : 0);
}

static void rm_pools(struct metrics_buf *b, const struct rm_snap *s)
{
	const struct config *c = s->cfg;
	static const char *const fam[3][2] = {
	    {"postlb_pool_members", "Members of a pool."},
	    {"postlb_pool_members_ready",
	     "Members of a pool in state ready (last read)."},
	    {"postlb_pool_members_over_cap",
	     "Members of a pool at or over today's warm-up cap."}};

	for (int f = 0; f < 3; f++) {
		metrics_family(b, fam[f][0], "gauge", fam[f][1]);
		for (size_t p = 0; p < c->npools; p++) {
			const struct cfg_pool *pl = &c->pools[p];
			long long n = 0;
			for (size_t k = 0; k < pl->nmembers; k++) {
				size_t mi = pl->members[k];
				long long cap = route_warm_cap(&c->members[mi], s->day,
								 s->view.held[mi]);
				n += f == 0 ||
				     (f == 1 && s->view.state[mi] == MS_READY) ||
				     (f == 2 && cap >= 0 &&
				      (s->counted ? s->count[mi] : 0) >= cap);
			}
			rm_label(b, fam[f][0], "pool", pl->name, n);
		}
	}
}

void router_metrics_write(void *arg, struct metrics_buf *b)
{
	struct router *r = arg;
	struct rm_snap *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		b->oom = 1;
		return;
	}
	rm_snap(r, s);
	metrics_family(b, "postlb_milter_routed_total", "counter",
		       "Messages routed, by the pool the rule chose, member "
		       "(empty: none), rule (empty: the default pool) and path "
		       "(redis, reserved, local, fallback, none).");
	metrics_table_write(b, "postlb_milter_routed_total", r->routed,
			    rm_keep_fn, s->cfg);
	metrics_family(b, "postlb_milter_route_seconds", "histogram",
		       "Time to route one message (end of message to the "
		       "route header).");
	metrics_hist_write(b, "postlb_milter_route_seconds", NULL, &r->latency);
	rm_one(b, "postlb_milter_redis_up", "gauge",
	       "1 while postlb-milter reaches Redis.",
	       (unsigned long long)(s->st.redis_up != 0));
	rm_one(b, "postlb_milter_redis_calls_total", "counter",
	       "Route script calls to Redis (reservations too).", s->st.calls);
	rm_one(b, "postlb_milter_redis_errors_total", "counter",
	       "Route script calls that failed.", s->call_errors);
	rm_one(b, "postlb_milter_state_pushes_total", "counter",
	       "Member changes pushed by Redis (each ends the reservations).",
	       s->st.pushes);
	rm_one(b, "postlb_milter_metrics_dropped_total", "counter",
	       "Routed counts not kept: more series than the table holds.",
	       metrics_table_dropped(r->routed));
	rm_members(b, s);
	rm_pools(b, s);
	config_unref(s->cfg);
	free(s);
}
