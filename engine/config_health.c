/*
 * config_health: the health part of postlb.conf — the defaults of the
 * active SMTP checks and slow start (group "health") and each member's
 * own "check" (false, or a group overriding the defaults).  Checks are
 * off unless health.check or a member's check turns them on, and only
 * members with a nexthop can be checked.  Shares config_int.h with
 * config.c and config_route.c; no I/O.
 */
#include "config_int.h"

#include <string.h>

/* HAProxy-like defaults, tuned to take a dead relay out within 2 s. */
static const struct check_cfg check_defaults = {
    .interval_ms = 1000, .fastinter_ms = 250, .timeout_ms = 1000,
    .rise = 2, .fall = 2};

/* Reads a check group g over *k (absent members keep *k's values). */
static int health_check_group(struct cfg_ctx *x, const config_setting_t *g,
			      struct check_cfg *k, int *starttls)
{
	static const char *const keys[] = {"interval", "fastinter", "timeout",
					   "rise",     "fall",	    "starttls",
					   NULL};
	long long rise = k->rise, fall = k->fall;

	if (!config_setting_is_group(g))
		return cfg_fail(x, g, "'check' must be false or a group { ... }");
	if (cfg_known(x, g, keys) < 0 ||
	    cfg_duration(x, g, "interval", 100, &k->interval_ms) < 0 ||
	    cfg_duration(x, g, "fastinter", 50, &k->fastinter_ms) < 0 ||
	    cfg_duration(x, g, "timeout", 50, &k->timeout_ms) < 0 ||
	    cfg_int(x, g, "rise", 1, 100, &rise) < 0 ||
	    cfg_int(x, g, "fall", 1, 100, &fall) < 0 ||
	    cfg_bool(x, g, "starttls", starttls) < 0)
		return -1;
	k->rise = (int)rise;
	k->fall = (int)fall;
	if (k->interval_ms > 3600000 || k->fastinter_ms > k->interval_ms ||
	    k->timeout_ms > 60000)
		return cfg_fail(x, g, "check: interval at most 1h, fastinter "
				      "at most interval, timeout at most 60s");
	return 0;
}

/* One member's "check": false, true or a group. */
static int health_member(struct cfg_ctx *x, const config_setting_t *e,
			 struct cfg_member *m, int on, const struct check_cfg *d,
			 int starttls)
{
	const config_setting_t *g = config_setting_get_member(e, "check");

	m->chk = *d;
	m->check_starttls = starttls;
	m->check = on;
	if (g != NULL && config_setting_type(g) == CONFIG_TYPE_BOOL)
		m->check = config_setting_get_bool(g);
	else if (g != NULL) {
		if (health_check_group(x, g, &m->chk, &m->check_starttls) < 0)
			return -1;
		m->check = 1;
	}
	if (m->check && m->nexthop == NULL) {
		if (g != NULL)
			return cfg_fail(x, g,
					"member '%s': only a member with a "
					"nexthop can be checked",
					m->name);
		m->check = 0; /* MX delivery: nothing fixed to check */
	}
	return 0;
}

/* health.slowstart: a duration, or 0 / "0s" for none. */
static int health_slowstart(struct cfg_ctx *x, const config_setting_t *h,
			    long long *out)
{
	const config_setting_t *s = config_setting_get_member(h, "slowstart");
	const char *v;

	if (s != NULL && (config_setting_type(s) == CONFIG_TYPE_INT ||
			  config_setting_type(s) == CONFIG_TYPE_INT64) &&
	    config_setting_get_int64(s) == 0) {
		*out = 0;
		return 0;
	}
	v = s != NULL && config_setting_type(s) == CONFIG_TYPE_STRING
		? config_setting_get_string(s)
		: NULL;
	if (v != NULL && (strcmp(v, "0") == 0 || strcmp(v, "0s") == 0 ||
			  strcmp(v, "0ms") == 0)) {
		*out = 0;
		return 0;
	}
	return cfg_duration(x, h, "slowstart", 1, out);
}

int cfg_health_load(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	static const char *const keys[] = {"check", "slowstart",
					   "slowstart_min", NULL};
	const config_setting_t *h = config_lookup(cf, "health"), *g = NULL;
	const config_setting_t *ms = config_lookup(cf, "members");
	struct check_cfg d = check_defaults;
	long long min_pct = 10;
	int on = 0, starttls = 0;

	c->slowstart_ms = 0;
	if (h != NULL) {
		c->slowstart_ms = 60000;
		if (!config_setting_is_group(h))
			return cfg_fail(x, h, "'health' must be a group { ... }");
		if (cfg_known(x, h, keys) < 0 ||
		    health_slowstart(x, h, &c->slowstart_ms) < 0 ||
		    cfg_int(x, h, "slowstart_min", 1, 100, &min_pct) < 0)
			return -1;
		g = config_setting_get_member(h, "check");
	}
	c->slowstart_min_pct = (int)min_pct;
	if (g != NULL && config_setting_type(g) == CONFIG_TYPE_BOOL)
		on = config_setting_get_bool(g);
	else if (g != NULL) {
		if (health_check_group(x, g, &d, &starttls) < 0)
			return -1;
		on = 1;
	}
	for (size_t i = 0; i < c->nmembers; i++)
		if (health_member(x, config_setting_get_elem(ms, (int)i),
				  &c->members[i], on, &d, starttls) < 0)
			return -1;
	return 0;
}
