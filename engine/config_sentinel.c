/*
 * config_sentinel: the Redis settings beyond a plain address, in the
 * redis group: username (Redis 6 ACL users, in every mode), and Sentinel
 * mode: sentinels (at most CONFIG_SENTINELS_MAX "host:port") and
 * master_name, which replace address (see sentinel.h), and the sentinels'
 * own credentials (sentinel_password, sentinel_username: a sentinel's
 * requirepass or ACL user, apart from the data servers').  Only validates
 * and copies; the store does the discovery.
 */
#include "config_int.h"

#include "sentinel.h"

#include <stdlib.h>
#include <string.h>

#define CFG_REDIS_NAME_MAX 128 /* username and master_name, in bytes */

/* 1 if s is 1..max bytes of printable ASCII without blanks. */
static int cfg_sentinel_token(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Reads the sentinels list s into c. */
static int cfg_sentinel_list(struct cfg_ctx *x, const config_setting_t *s,
			     struct config *c)
{
	int n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return cfg_fail(x, s, "'sentinels' must be a list of "
				      "\"host:port\" strings");
	n = config_setting_length(s);
	if (n == 0)
		return cfg_fail(x, s, "'sentinels' is empty");
	if (n > CONFIG_SENTINELS_MAX)
		return cfg_fail(x, s, "%d sentinels, at most %d", n,
				CONFIG_SENTINELS_MAX);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		struct sentinel_addr a;
		const char *v;
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return cfg_fail(x, e, "sentinel %d is not a string",
					i + 1);
		v = config_setting_get_string(e);
		if (sentinel_parse_addr(v, strlen(v), &a) < 0)
			return cfg_fail(x, e, "sentinel '%.100s' is not "
					      "\"host:port\"", v);
		c->redis_sentinels[c->nredis_sentinels++] = cfg_strdup(v);
	}
	return 0;
}

int cfg_sentinel_load(struct cfg_ctx *x, const config_setting_t *g,
		      struct config *c)
{
	const config_setting_t *s = config_setting_get_member(g, "sentinels"),
			       *mn = config_setting_get_member(g, "master_name"),
			       *u = config_setting_get_member(g, "username"),
			       *sp = config_setting_get_member(g,
							       "sentinel_password"),
			       *su = config_setting_get_member(g,
							       "sentinel_username");

	if (cfg_str(x, g, "username", &c->redis_username) < 0 ||
	    cfg_str(x, g, "master_name", &c->redis_master_name) < 0 ||
	    cfg_str(x, g, "sentinel_password", &c->redis_sentinel_password) <
		0 ||
	    cfg_str(x, g, "sentinel_username", &c->redis_sentinel_username) <
		0)
		return -1;
	if (u != NULL && !cfg_sentinel_token(c->redis_username,
					      CFG_REDIS_NAME_MAX))
		return cfg_fail(x, u, "redis username must be 1..%d "
				      "printable bytes without blanks",
				CFG_REDIS_NAME_MAX);
	if (u != NULL && c->redis_password == NULL)
		return cfg_fail(x, u, "redis username needs a password");
	if (su != NULL && !cfg_sentinel_token(c->redis_sentinel_username,
					       CFG_REDIS_NAME_MAX))
		return cfg_fail(x, su, "redis sentinel_username must be 1..%d "
				       "printable bytes without blanks",
				CFG_REDIS_NAME_MAX);
	if (su != NULL && sp == NULL)
		return cfg_fail(x, su, "redis sentinel_username needs a "
				       "sentinel_password");
	if (sp != NULL && c->redis_sentinel_password[0] == '\0')
		return cfg_fail(x, sp, "redis sentinel_password is empty");
	if (s == NULL) {
		if (mn != NULL)
			return cfg_fail(x, mn, "'master_name' needs "
					       "'sentinels'");
		if (sp != NULL || su != NULL)
			return cfg_fail(x, sp != NULL ? sp : su,
					"'%s' needs 'sentinels'",
					sp != NULL ? "sentinel_password"
						   : "sentinel_username");
		return 0;
	}
	if (config_setting_get_member(g, "address") != NULL)
		return cfg_fail(x, s, "'sentinels' and 'address' are "
				      "mutually exclusive");
	if (cfg_sentinel_list(x, s, c) < 0)
		return -1;
	if (mn == NULL)
		return cfg_fail(x, s, "'sentinels' needs 'master_name'");
	if (!cfg_sentinel_token(c->redis_master_name, CFG_REDIS_NAME_MAX))
		return cfg_fail(x, mn, "master_name must be 1..%d printable "
				       "bytes without blanks",
				CFG_REDIS_NAME_MAX);
	return 0;
}

void cfg_sentinel_free(struct config *c)
{
	free(c->redis_username);
	c->redis_username = NULL;
	free(c->redis_master_name);
	c->redis_master_name = NULL;
	free(c->redis_sentinel_password);
	c->redis_sentinel_password = NULL;
	free(c->redis_sentinel_username);
	c->redis_sentinel_username = NULL;
	for (size_t i = 0; i < c->nredis_sentinels; i++) {
		free(c->redis_sentinels[i]);
		c->redis_sentinels[i] = NULL;
	}
	c->nredis_sentinels = 0;
}
