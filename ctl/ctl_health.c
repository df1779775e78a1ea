/*
 * ctl_health: `postlbctl health [NAME]`, the members' health as every
 * postlb daemon sees it in Redis (fields and keys of health.h): the
 * manual state, the active check's verdict with since when, why and the
 * last result, the delivery-log breaker, the slow-start ramp, the
 * delivery error rate of the last 5 minutes and, for one member, its
 * rates per window, its destination domains with the most errors and its
 * recent events.  Reads only.
 */
#include "ctl_route.h"

#include "check.h"
#include "ctl_json.h"
#include "health.h"
#include "route.h"
#include "store_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEALTH_DOMAINS_MAX 1000 /* distinct domains summed for one member */

enum { FB_SENT, FB_DEFERRED, FB_BOUNCED, FB_CONN, FB_N };
static const char *const fb_kind[FB_N] = {"sent", "deferred", "bounced",
					  "conn_error"};

struct fbdom {
	char name[256];
	long long n[FB_N];
};

/* Delivery counts of a member over some minutes, and by domain. */
struct fbsum {
	long long n[FB_N];
	struct fbdom *dom; /* NULL: not by domain */
	size_t ndom;
};

static void on_fbfield(void *arg, const char *f, const char *v)
{
	struct fbsum *sum = arg;
	const char *colon = strchr(f, ':');
	size_t klen = colon ? (size_t)(colon - f) : strlen(f), d;
	int k;

	for (k = 0; k < FB_N; k++)
		if (strlen(fb_kind[k]) == klen && strncmp(f, fb_kind[k], klen) == 0)
			break;
	if (k == FB_N)
		return;
	if (colon == NULL) {
		sum->n[k] += atoll(v);
		return;
	}
	if (sum->dom == NULL)
		return;
	for (d = 0; d < sum->ndom; d++)
		if (strcmp(sum->dom[d].name, colon + 1) == 0)
			break;
	if (d == sum->ndom) {
		if (d == HEALTH_DOMAINS_MAX)
			return;
		snprintf(sum->dom[d].name, sizeof(sum->dom[d].name), "%s",
			 colon + 1);
		memset(sum->dom[d].n, 0, sizeof(sum->dom[d].n));
		sum->ndom++;
	}
	sum->dom[d].n[k] += atoll(v);
}

/* Sums the member's minute counters of the last `minutes` minutes. */
static int fb_sum(const struct config *c, struct store_sync *s, size_t mi,
		  long long now, int minutes, struct fbsum *sum)
{
	char key[200];

	for (int i = 0; i < minutes; i++) {
		snprintf(key, sizeof(key), "%sfb:%s:%lld", c->redis_prefix,
			 c->members[mi].name, now / 60000 - i);
		if (store_sync_hgetall(s, key, on_fbfield, sum) < 0)
			return -1;
	}
	return 0;
}

/* "12% of 40" (deferred and connection errors), "-" with no delivery. */
static const char *fb_rate(const long long *n, char *buf, size_t bufsz)
{
	long long all = n[FB_SENT] + n[FB_DEFERRED] + n[FB_BOUNCED] + n[FB_CONN];

	if (all == 0)
		snprintf(buf, bufsz, "-");
	else
		snprintf(buf, bufsz, "%lld%% of %lld",
			 100 * (n[FB_DEFERRED] + n[FB_CONN]) / all, all);
	return buf;
}

/* Orders domains by error rate, then by errors, most first. */
static int fb_cmp(const void *a, const void *b)
{
	const long long *x = ((const struct fbdom *)a)->n;
	const long long *y = ((const struct fbdom *)b)->n;
	long long ex = x[FB_DEFERRED] + x[FB_CONN], ey = y[FB_DEFERRED] + y[FB_CONN];
	long long ax = ex + x[FB_SENT] + x[FB_BOUNCED];
	long long ay = ey + y[FB_SENT] + y[FB_BOUNCED];

	if (ex * ay != ey * ax)
		return ex * ay > ey * ax ? -1 : 1;
	return ex > ey ? -1 : ex < ey;
}

/* The detail: rates per window and the domains with the most errors. */
static int fb_detail(const struct config *c, struct store_sync *s, size_t mi,
		     long long now)
{
	static const int win[] = {1, 5, 60};
	struct fbsum sum;
	char r[64];

	printf("deliveries (deferred and connection errors):");
	for (size_t w = 0; w < 3; w++) {
		memset(&sum, 0, sizeof(sum));
		if (fb_sum(c, s, mi, now, win[w], &sum) < 0)
			return -1;
		printf(" %dm %s%s", win[w], fb_rate(sum.n, r, sizeof(r)),
		       w < 2 ? ";" : "\n");
	}
	memset(&sum, 0, sizeof(sum));
	sum.dom = calloc(HEALTH_DOMAINS_MAX, sizeof(*sum.dom));
	if (sum.dom == NULL)
		return -1;
	if (fb_sum(c, s, mi, now, 60, &sum) < 0) {
		free(sum.dom);
		return -1;
	}
	qsort(sum.dom, sum.ndom, sizeof(*sum.dom), fb_cmp);
	if (sum.ndom > 0)
		printf("destination domains by error rate (last hour):\n");
	for (size_t d = 0; d < sum.ndom && d < 10; d++)
		printf("  %-32s %s\n", sum.dom[d].name,
		       fb_rate(sum.dom[d].n, r, sizeof(r)));
	free(sum.dom);
	return 0;
}

struct hfields {
	char state[16], hc[16], hc_why[200], hc_last[200], cb_why[200];
	char rs_why[200], prov[300]; /* prov: "google 9m, yahoo 1h" */
	char thr[300]; /* throttles: "all 10/min 5m, google 20/min 9m" */
	long long hc_since, cb_until, cb_trips, up_at, rs_until, held, now;
};

static void on_hfield(void *arg, const char *f, const char *v)
{
	struct hfields *h = arg;

	if (strcmp(f, "state") == 0)
		snprintf(h->state, sizeof(h->state), "%s", v);
	else if (strcmp(f, HEALTH_F_HC) == 0)
		snprintf(h->hc, sizeof(h->hc), "%s", v);
	else if (strcmp(f, HEALTH_F_HC_WHY) == 0)
		snprintf(h->hc_why, sizeof(h->hc_why), "%s", v);
	else if (strcmp(f, HEALTH_F_HC_LAST) == 0)
		snprintf(h->hc_last, sizeof(h->hc_last), "%s", v);
	else if (strcmp(f, HEALTH_F_CB_WHY) == 0)
		snprintf(h->cb_why, sizeof(h->cb_why), "%s", v);
	else if (strcmp(f, HEALTH_F_HC_SINCE) == 0)
		h->hc_since = atoll(v);
	else if (strcmp(f, HEALTH_F_CB_UNTIL) == 0)
		h->cb_until = atoll(v);
	else if (strcmp(f, HEALTH_F_CB_TRIPS) == 0)
		h->cb_trips = atoll(v);
	else if (strcmp(f, HEALTH_F_UP_AT) == 0)
		h->up_at = atoll(v);
	else if (strcmp(f, HEALTH_F_RS_UNTIL) == 0)
		h->rs_until = atoll(v);
	else if (strcmp(f, HEALTH_F_RS_WHY) == 0)
		snprintf(h->rs_why, sizeof(h->rs_why), "%s", v);
	else if (strcmp(f, HEALTH_F_WARM_HELD) == 0)
		h->held = atoll(v);
	else if (strncmp(f, HEALTH_F_PROVIDER, 2) == 0 && atoll(v) > h->now) {
		size_t n = strlen(h->prov);
		snprintf(h->prov + n, sizeof(h->prov) - n, "%s%s %llds",
			 n ? ", " : "", f + 2, (atoll(v) - h->now) / 1000);
	} else if ((strcmp(f, HEALTH_F_THROTTLE) == 0 ||
		    strncmp(f, "tp:", 3) == 0 || strncmp(f, "ts:", 3) == 0) &&
		   atoll(v) > h->now && strchr(v, ' ') != NULL) {
		size_t n = strlen(h->thr);
		snprintf(h->thr + n, sizeof(h->thr) - n, "%s%s %s/min %llds",
			 n ? ", " : "", f[1] == 'h' ? "all mail" : f + 3,
			 strchr(v, ' ') + 1, (atoll(v) - h->now) / 1000);
	}
}

/* The warm-up line of member m: its schedule's day (held days behind
 * the calendar), today's cap and count. */
static void health_warmup(const struct config *c, struct store_sync *s,
			  const struct cfg_member *m, const struct hfields *h)
{
	long long day = h->now / 86400000, d = day - m->warm_start_day;
	long long cap = route_warm_cap(m, day, h->held), today = 0;
	char key[200], ds[16], v[32];

	if (m->warm_start_day < 0)
		return;
	route_day_string(day, ds);
	snprintf(key, sizeof(key), "%sw:%s:%s", c->redis_prefix, m->name, ds);
	if (store_sync_get(s, key, v, sizeof(v)) == 1)
		today = atoll(v);
	if (d < 0)
		printf("%-16s warm-up: starts in %lld day(s)\n", "", -d);
	else if (cap < 0)
		printf("%-16s warm-up: done (today %lld)\n", "", today);
	else {
		char held[48] = "";
		if (h->held > 0)
			snprintf(held, sizeof(held), " (held back %lld day(s))",
				 h->held);
		printf("%-16s warm-up: day %lld of %zu%s, cap %lld/day, today "
		       "%lld\n",
		       "", d - h->held < 0 ? 1 : d - h->held + 1, m->nwarm, held,
		       cap, today);
	}
}

/* "3m12s ago" for a time in the past (Redis ms), "-" for none. */
static const char *ago(long long now, long long then, char *buf, size_t n)
{
	long long s = (now - then) / 1000;

	if (then <= 0)
		snprintf(buf, n, "-");
	else if (s < 120)
		snprintf(buf, n, "%llds ago", s);
	else if (s < 7200)
		snprintf(buf, n, "%lldm%llds ago", s / 60, s % 60);
	else
		snprintf(buf, n, "%lldh%lldm ago", s / 3600, s / 60 % 60);
	return buf;
}

static void on_event(void *arg, const char *item, const char *unused)
{
	long long now = *(long long *)arg;
	char when[32];

	(void)unused;
	printf("  %-12s %s\n", ago(now, atoll(item), when, sizeof(when)),
	       strchr(item, ' ') ? strchr(item, ' ') + 1 : item);
}

static void on_event_json(void *arg, const char *item, const char *unused)
{
	struct json *j = arg;
	const char *sp = strchr(item, ' ');

	(void)unused;
	json_obj_open(j, NULL);
	json_int(j, "time_ms", atoll(item));
	json_str(j, "event", sp ? sp + 1 : item);
	json_obj_close(j);
}

/* health --json: one member's object (with NAME, its recent events). */
static int health_member_json(const struct config *c, struct store_sync *s,
			      size_t mi, long long now, int detail,
			      struct json *j)
{
	const struct cfg_member *m = &c->members[mi];
	struct hfields h;
	struct fbsum sum;
	char key[200];
	int pct;

	memset(&h, 0, sizeof(h));
	h.now = now;
	snprintf(key, sizeof(key), "%sm:%s", c->redis_prefix, m->name);
	if (store_sync_hgetall(s, key, on_hfield, &h) < 0)
		return -1;
	memset(&sum, 0, sizeof(sum));
	if (fb_sum(c, s, mi, now, 5, &sum) < 0)
		return -1;
	pct = check_slowstart_pct(now - h.up_at, c->slowstart_ms,
				  c->slowstart_min_pct);
	json_obj_open(j, NULL);
	json_str(j, "name", m->name);
	json_str(j, "state", h.state[0] ? h.state : "ready");
	json_str(j, "check", !m->check ? NULL : h.hc[0] ? h.hc : "up");
	json_int(j, "check_since_ms", h.hc_since);
	json_str(j, "check_why", h.hc_why);
	json_str(j, "last_check", h.hc_last);
	json_obj_open(j, "breaker");
	json_bool(j, "open", h.cb_until > now);
	json_int(j, "until_ms", h.cb_until);
	json_int(j, "trips", h.cb_trips);
	json_str(j, "why", h.cb_why);
	json_obj_close(j);
	json_obj_open(j, "rule_suspension");
	json_bool(j, "active", h.rs_until > now);
	json_int(j, "until_ms", h.rs_until);
	json_str(j, "why", h.rs_why);
	json_obj_close(j);
	json_str(j, "providers_suspended", h.prov);
	json_str(j, "throttled", h.thr);
	if (m->warm_start_day < 0) {
		json_null(j, "warmup");
	} else {
		long long day = now / 86400000;
		json_obj_open(j, "warmup");
		json_int(j, "day", day - m->warm_start_day - h.held + 1);
		json_int(j, "days", (long long)m->nwarm);
		json_int(j, "held_days", h.held);
		if (day >= m->warm_start_day &&
		    route_warm_cap(m, day, h.held) >= 0)
			json_int(j, "cap", route_warm_cap(m, day, h.held));
		else
			json_null(j, "cap");
		json_obj_close(j);
	}
	json_int(j, "slowstart_pct", h.up_at > 0 ? pct : 100);
	json_obj_open(j, "deliveries_5m");
	for (int k = 0; k < FB_N; k++)
		json_int(j, fb_kind[k], sum.n[k]);
	json_obj_close(j);
	if (detail) {
		json_arr_open(j, "events");
		snprintf(key, sizeof(key), "%s" HEALTH_KEY_EVENTS "%s",
			 c->redis_prefix, m->name);
		if (store_sync_lrange(s, key, 0, 19, on_event_json, j) < 0)
			return -1;
		json_arr_close(j);
	}
	json_obj_close(j);
	return 0;
}

/* One member's line; with detail, its events and the check settings. */
static int health_member(const struct config *c, struct store_sync *s,
			 size_t mi, long long now, int detail)
{
	const struct cfg_member *m = &c->members[mi];
	struct hfields h;
	struct fbsum sum;
	char key[200], when[32], br[64] = "closed", ss[32] = "-", r[64];
	int pct;

	memset(&h, 0, sizeof(h));
	h.now = now;
	snprintf(key, sizeof(key), "%sm:%s", c->redis_prefix, m->name);
	if (store_sync_hgetall(s, key, on_hfield, &h) < 0)
		return -1;
	if (h.cb_until > now)
		snprintf(br, sizeof(br), "open %llds", (h.cb_until - now) / 1000);
	else if (h.rs_until > now)
		snprintf(br, sizeof(br), "rule %llds", (h.rs_until - now) / 1000);
	pct = check_slowstart_pct(now - h.up_at, c->slowstart_ms,
				  c->slowstart_min_pct);
	if (h.up_at > 0 && pct < 100)
		snprintf(ss, sizeof(ss), "%d%%", pct);
	memset(&sum, 0, sizeof(sum));
	if (fb_sum(c, s, mi, now, 5, &sum) < 0)
		return -1;
	printf("%-16s %-6s %-5s %-14s %-9s %-5s %-12s %s\n", m->name,
	       h.state[0] ? h.state : "ready",
	       !m->check ? "-" : h.hc[0] ? h.hc : "up",
	       ago(now, h.hc_since, when, sizeof(when)), br, ss,
	       fb_rate(sum.n, r, sizeof(r)),
	       h.hc[0] && strcmp(h.hc, "down") == 0 ? h.hc_why
	       : h.cb_until > now			 ? h.cb_why
	       : h.rs_until > now			 ? h.rs_why
	       : h.hc_last[0]				 ? h.hc_last
							 : "");
	if (h.prov[0])
		printf("%-16s suspended for provider(s): %s\n", "", h.prov);
	if (h.thr[0])
		printf("%-16s throttled: %s\n", "", h.thr);
	health_warmup(c, s, m, &h);
	if (ctl_drain_show(c, s, m->name) < 0)
		return -1;
	if (!detail)
		return 0;
	if (m->check)
		printf("check: every %lld ms (%lld ms while changing), timeout "
		       "%lld ms, rise %d, fall %d%s; last: %s\n",
		       m->chk.interval_ms, m->chk.fastinter_ms,
		       m->chk.timeout_ms, m->chk.rise, m->chk.fall,
		       m->check_starttls ? ", STARTTLS required" : "",
		       h.hc_last[0] ? h.hc_last : "none yet");
	if (h.cb_trips > 0)
		printf("breaker: tripped %lld time(s) in a row: %s\n",
		       h.cb_trips, h.cb_why);
	if (fb_detail(c, s, mi, now) < 0)
		return -1;
	printf("events (newest first):\n");
	snprintf(key, sizeof(key), "%s" HEALTH_KEY_EVENTS "%s",
		 c->redis_prefix, m->name);
	return store_sync_lrange(s, key, 0, 19, on_event, &now);
}

int ctl_health(const struct config *c, const char *name)
{
	struct store_sync *s;
	long long now;
	int rc = 0;

	if (name != NULL && config_member_index(c, name) < 0) {
		fprintf(stderr, "postlbctl: no member '%s'\n", name);
		return 1;
	}
	s = ctl_open(c);
	now = ctl_redis_ms(s);
	if (ctl_json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_open(&j, NULL);
		json_int(&j, "now_ms", now);
		json_arr_open(&j, "members");
		for (size_t i = 0; i < c->nmembers && rc == 0; i++)
			if (name == NULL || strcmp(c->members[i].name, name) == 0)
				rc = health_member_json(c, s, i, now,
							name != NULL, &j);
		json_arr_close(&j);
		json_obj_close(&j);
		if (rc < 0)
			fprintf(stderr, "postlbctl: %s\n", store_sync_error(s));
		else
			rc = json_end(&j) < 0;
		store_sync_close(s);
		return rc != 0;
	}
	printf("%-16s %-6s %-5s %-14s %-9s %-5s %-12s %s\n", "member", "state",
	       "check", "since", "breaker", "slow", "errors 5m",
	       "why / last check");
	for (size_t i = 0; i < c->nmembers && rc == 0; i++)
		if (name == NULL || strcmp(c->members[i].name, name) == 0)
			rc = health_member(c, s, i, now, name != NULL);
	if (rc < 0)
		fprintf(stderr, "postlbctl: %s\n", store_sync_error(s));
	store_sync_close(s);
	return rc < 0;
}
