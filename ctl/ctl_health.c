/*
 * ctl_health: `postlbctl health [NAME]`, the members' health as every
 * postlb daemon sees it in Redis (fields and keys of health.h): the
 * manual state, the active check's verdict with since when, why and the
 * last result, the delivery-log breaker, the slow-start ramp and, for one
 * member, its recent events.  Reads only.
 */
#include "ctl_route.h"

#include "check.h"
#include "health.h"
#include "store_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hfields {
	char state[16], hc[16], hc_why[200], hc_last[200], cb_why[200];
	long long hc_since, cb_until, cb_trips, up_at;
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

/* One member's line; with detail, its events and the check settings. */
static int health_member(const struct config *c, struct store_sync *s,
			 size_t mi, long long now, int detail)
{
	const struct cfg_member *m = &c->members[mi];
	struct hfields h;
	char key[200], when[32], br[64] = "closed", ss[32] = "-";
	int pct;

	memset(&h, 0, sizeof(h));
	snprintf(key, sizeof(key), "%sm:%s", c->redis_prefix, m->name);
	if (store_sync_hgetall(s, key, on_hfield, &h) < 0)
		return -1;
	if (h.cb_until > now)
		snprintf(br, sizeof(br), "open %llds", (h.cb_until - now) / 1000);
	pct = check_slowstart_pct(now - h.up_at, c->slowstart_ms,
				  c->slowstart_min_pct);
	if (h.up_at > 0 && pct < 100)
		snprintf(ss, sizeof(ss), "%d%%", pct);
	printf("%-16s %-6s %-5s %-14s %-9s %-5s %s\n", m->name,
	       h.state[0] ? h.state : "ready",
	       !m->check ? "-" : h.hc[0] ? h.hc : "up",
	       ago(now, h.hc_since, when, sizeof(when)), br, ss,
	       h.hc[0] && strcmp(h.hc, "down") == 0 ? h.hc_why
	       : h.cb_until > now			 ? h.cb_why
	       : h.hc_last[0]				 ? h.hc_last
							 : "");
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
	printf("%-16s %-6s %-5s %-14s %-9s %-5s %s\n", "member", "state",
	       "check", "since", "breaker", "slow", "why / last check");
	for (size_t i = 0; i < c->nmembers && rc == 0; i++)
		if (name == NULL || strcmp(c->members[i].name, name) == 0)
			rc = health_member(c, s, i, now, name != NULL);
	if (rc < 0)
		fprintf(stderr, "postlbctl: %s\n", store_sync_error(s));
	store_sync_close(s);
	return rc < 0;
}
