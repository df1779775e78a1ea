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

int cfg_feedback_load(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	static const char *const keys[] = {"log", "state_file", "keep",
					   "breaker", NULL};
	const config_setting_t *f = config_lookup(cf, "feedback");
	const config_setting_t *l;

	c->feedback_breaker = breaker_defaults;
	c->feedback_breaker_on = 1;
	c->feedback_keep_ms = 3600000;
	if (f == NULL)
		return 0;
	if (!config_setting_is_group(f))
		return cfg_fail(x, f, "'feedback' must be a group { ... }");
	if (cfg_known(x, f, keys) < 0 ||
	    cfg_str(x, f, "log", &c->feedback_log) < 0 ||
	    cfg_str(x, f, "state_file", &c->feedback_state) < 0 ||
	    cfg_duration(x, f, "keep", 60000, &c->feedback_keep_ms) < 0 ||
	    feedback_breaker(x, f, c) < 0)
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
	c->feedback_log = NULL;
	c->feedback_state = NULL;
}
