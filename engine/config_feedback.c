/*
 * config_feedback: the "feedback" group of postlb.conf — the delivery log
 * postlb-policyd follows (a file, or the systemd journal), the file that keeps its place there, how long
 * delivery counters are kept, and the circuit breaker.  Absent: no
 * feedback.  Shares config_int.h with config.c; no I/O (the log and the
 * state file are opened by policyd, not checked here).
 */
#include "config_int.h"

#include <stdlib.h>
#include <string.h>

static const struct breaker_conf breaker_defaults = {.window_ms = 60000,
						     .min_attempts = 20,
						     .error_rate = 50,
						     .backoff_ms = 30000,
						     .backoff_max_ms = 600000};

/* The breaker group, or false to turn the breaker off. */
static int feedback_breaker(struct cfg_ctx *x, const config_setting_t *f,
			    struct config *c)
{
	static const char *const keys[] = {"window",	  "min_attempts",
					   "error_rate",  "backoff",
					   "backoff_max", NULL};
	const config_setting_t *g = config_setting_get_member(f, "breaker");
	struct breaker_conf *b = &c->feedback_breaker;
	long long rate = b->error_rate;

	if (g != NULL && config_setting_type(g) == CONFIG_TYPE_BOOL) {
		c->feedback_breaker_on = config_setting_get_bool(g);
		return 0;
	}
	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_fail(x, g,
				"'breaker' must be false or a group { ... }");
	if (cfg_known(x, g, keys) < 0 ||
	    cfg_duration(x, g, "window", 1000, &b->window_ms) < 0 ||
	    cfg_int(x, g, "min_attempts", 1, 1000000, &b->min_attempts) < 0 ||
	    cfg_int(x, g, "error_rate", 1, 100, &rate) < 0 ||
	    cfg_duration(x, g, "backoff", 1000, &b->backoff_ms) < 0 ||
	    cfg_duration(x, g, "backoff_max", 1000, &b->backoff_max_ms) < 0)
		return -1;
	b->error_rate = (int)rate;
	if (b->window_ms > 86400000 || b->backoff_max_ms > 86400000)
		return cfg_fail(x, g,
				"breaker: window and backoff_max are at "
				"most 1d");
	if (b->backoff_max_ms < b->backoff_ms)
		return cfg_fail(x, g,
				"breaker: backoff_max must be at least "
				"backoff");
	return 0;
}

/* The warmup_hold group, or false to turn the hold off. */
static int feedback_hold(struct cfg_ctx *x, const config_setting_t *f,
			 struct config *c)
{
	static const char *const keys[] = {"window", "min_attempts",
					   "deferral_rate", NULL};
	const config_setting_t *g = config_setting_get_member(f, "warmup_hold");
	struct warmhold_conf *h = &c->feedback_hold;
	long long rate = h->deferral_rate;

	if (h->window_ms > c->feedback_keep_ms) /* the counters kept */
		h->window_ms = c->feedback_keep_ms;
	if (g != NULL && config_setting_type(g) == CONFIG_TYPE_BOOL) {
		c->feedback_hold_on = config_setting_get_bool(g);
		return 0;
	}
	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_fail(x, g,
				"'warmup_hold' must be false or a group "
				"{ ... }");
	if (cfg_known(x, g, keys) < 0 ||
	    cfg_duration(x, g, "window", 60000, &h->window_ms) < 0 ||
	    cfg_int(x, g, "min_attempts", 1, 100000000, &h->min_attempts) <
		0 ||
	    cfg_int(x, g, "deferral_rate", 1, 100, &rate) < 0)
		return -1;
	h->deferral_rate = (int)rate;
	if (h->window_ms > 86400000 || h->window_ms > c->feedback_keep_ms)
		return cfg_fail(x, g,
				"warmup_hold: 'window' must be at most 1d "
				"and at most feedback.keep");
	return 0;
}

/* A string member copied into buf[size]: 0, or -1 when too long. */
static int feedback_copy(struct cfg_ctx *x, const config_setting_t *g,
			 const char *name, char *buf, size_t size)
{
	char *v = NULL;
	int rc = 0;

	if (cfg_str(x, g, name, &v) < 0)
		return -1;
	if (v != NULL && strlen(v) >= size)
		rc = cfg_fail(x, config_setting_get_member(g, name),
			      "'%s' is longer than %zu bytes", name, size - 1);
	else if (v != NULL)
		memcpy(buf, v, strlen(v) + 1);
	free(v);
	return rc;
}

/*
 * One entry of feedback.rules into *r: a default of the same name is the
 * start (so an override names only what changes), else count 3 per 10m,
 * scope member, 30m.
 */
static int feedback_rule(struct cfg_ctx *x, const config_setting_t *g,
			 struct respond_rule *r)
{
	static const char *const keys[] = {
	    "name",   "match", "dsn",	   "provider", "count",
	    "period", "scope", "duration", "enabled",  "action",
	    "rate",   NULL};
	char *scope = NULL, *action = NULL, err[300];
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (!config_setting_is_group(g))
		return cfg_fail(x, g,
				"feedback.rules: each rule is a group "
				"{ name = ...; ... }");
	if (cfg_known(x, g, keys) < 0 ||
	    feedback_copy(x, g, "name", r->name, sizeof(r->name)) < 0)
		return -1;
	for (size_t i = 0; i < respond_ndefaults; i++)
		if (strcmp(respond_defaults[i].name, r->name) == 0)
			*r = respond_defaults[i];
	if (r->count == 0) {
		r->count = 3;
		r->period_ms = 600000;
		r->scope = RESPOND_MEMBER;
		r->duration_ms = 1800000;
		r->enabled = 1;
	}
	if (feedback_copy(x, g, "match", r->match, sizeof(r->match)) < 0 ||
	    feedback_copy(x, g, "dsn", r->dsn, sizeof(r->dsn)) < 0 ||
	    feedback_copy(x, g, "provider", r->provider, sizeof(r->provider)) <
		0 ||
	    cfg_int(x, g, "count", 1, 1000000, &r->count) < 0 ||
	    cfg_duration(x, g, "period", 1000, &r->period_ms) < 0 ||
	    cfg_duration(x, g, "duration", 1000, &r->duration_ms) < 0 ||
	    cfg_bool(x, g, "enabled", &r->enabled) < 0 ||
	    cfg_int(x, g, "rate", 1, RESPOND_RATE_MAX, &r->rate) < 0 ||
	    cfg_str(x, g, "action", &action) < 0 ||
	    cfg_str(x, g, "scope", &scope) < 0) {
		free(action);
		return -1;
	}
	if (action != NULL && strcmp(action, "suspend") == 0) {
		r->action = RESPOND_SUSPEND;
		if (config_setting_get_member(g, "rate") == NULL)
			r->rate = 0;
	} else if (action != NULL && strcmp(action, "throttle") == 0)
		r->action = RESPOND_THROTTLE;
	else if (action != NULL)
		rc = cfg_fail(x, config_setting_get_member(g, "action"),
			      "'action' must be \"suspend\" or "
			      "\"throttle\"");
	free(action);
	if (rc == 0 && scope != NULL && strcmp(scope, "member") == 0)
		r->scope = RESPOND_MEMBER;
	else if (rc == 0 && scope != NULL && strcmp(scope, "provider") == 0)
		r->scope = RESPOND_PROVIDER;
	else if (rc == 0 && scope != NULL)
		rc = cfg_fail(x, config_setting_get_member(g, "scope"),
			      "'scope' must be \"member\" or \"provider\"");
	free(scope);
	if (rc == 0 &&
	    (r->period_ms > 86400000 || r->duration_ms > 7 * 86400000LL))
		rc = cfg_fail(x, g,
			      "rule %s: period is at most 1d, duration "
			      "at most 7d",
			      r->name);
	if (rc == 0 && respond_rule_check(r, err, sizeof(err)) < 0)
		rc = cfg_fail(x, g, "%s", err);
	return rc;
}

/* feedback.rules, merged into the defaults, compiled into c. */
static int feedback_rules(struct cfg_ctx *x, const config_setting_t *f,
			  struct config *c)
{
	const config_setting_t *l =
	    f ? config_setting_get_member(f, "rules") : NULL;
	struct respond_rule user[RESPOND_RULES_MAX], all[RESPOND_RULES_MAX];
	size_t nuser = 0, nall = 0;

	if (l != NULL && !config_setting_is_list(l) &&
	    !config_setting_is_array(l))
		return cfg_fail(x, l,
				"feedback: 'rules' must be a list ( ... )");
	if (l != NULL && config_setting_length(l) > RESPOND_RULES_MAX)
		return cfg_fail(x, l, "feedback: at most %d rules",
				RESPOND_RULES_MAX);
	for (int i = 0; l != NULL && i < config_setting_length(l); i++) {
		const config_setting_t *g = config_setting_get_elem(l, i);
		if (feedback_rule(x, g, &user[nuser]) < 0)
			return -1;
		for (size_t j = 0; j < nuser; j++)
			if (strcmp(user[j].name, user[nuser].name) == 0)
				return cfg_fail(x, g, "rule %s: named twice",
						user[nuser].name);
		nuser++;
	}
	if (respond_merge(user, nuser, all, RESPOND_RULES_MAX, &nall) < 0)
		return cfg_fail(x, l,
				"feedback: at most %d rules with the "
				"defaults",
				RESPOND_RULES_MAX);
	if (respond_set_new(all, nall, &c->feedback_rules) < 0)
		return cfg_fail(x, l, "feedback: cannot compile the rules");
	return 0;
}

int cfg_feedback_load(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	static const char *const keys[] = {"log",   "state_file",  "keep",
					   "breaker", "rules", "warmup_hold",
					   NULL};
	const config_setting_t *f = config_lookup(cf, "feedback");
	const config_setting_t *l;

	c->feedback_breaker = breaker_defaults;
	c->feedback_breaker_on = 1;
	c->feedback_hold = warmhold_defaults;
	c->feedback_hold_on = 1;
	c->feedback_keep_ms = 3600000;
	if (f != NULL && !config_setting_is_group(f))
		return cfg_fail(x, f, "'feedback' must be a group { ... }");
	if ((f != NULL && cfg_known(x, f, keys) < 0) ||
	    feedback_rules(x, f, c) < 0)
		return -1;
	if (f == NULL)
		return 0;
	if (cfg_str(x, f, "log", &c->feedback_log) < 0 ||
	    cfg_str(x, f, "state_file", &c->feedback_state) < 0 ||
	    cfg_duration(x, f, "keep", 60000, &c->feedback_keep_ms) < 0 ||
	    feedback_breaker(x, f, c) < 0 || feedback_hold(x, f, c) < 0)
		return -1;
	l = config_setting_get_member(f, "log");
	if (c->feedback_log == NULL ||
	    (c->feedback_log[0] != '/' &&
	     strcmp(c->feedback_log, "journal") != 0 &&
	     strncmp(c->feedback_log, "journal:/", 9) != 0))
		return cfg_fail(x, l ? l : f,
				"feedback: 'log' must be the absolute path of "
				"the Postfix delivery log, \"journal\" or "
				"\"journal:/DIRECTORY\"");
	if (c->feedback_state != NULL && c->feedback_state[0] != '/')
		return cfg_fail(x, config_setting_get_member(f, "state_file"),
				"feedback: 'state_file' must be an absolute "
				"path");
	if (c->feedback_keep_ms > 7 * 86400000LL ||
	    c->feedback_keep_ms < c->feedback_breaker.window_ms)
		return cfg_fail(x, f,
				"feedback: 'keep' must be at least the "
				"breaker window and at most 7d");
	return 0;
}

void cfg_feedback_free(struct config *c)
{
	free(c->feedback_log);
	free(c->feedback_state);
	respond_set_free(c->feedback_rules);
	c->feedback_log = NULL;
	c->feedback_state = NULL;
	c->feedback_rules = NULL;
}
