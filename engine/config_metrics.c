/*
 * config_metrics: the listen addresses of the daemons' /metrics
 * endpoints, policyd.metrics and milter.metrics ("host:port", an IPv4
 * address, a name or "[IPv6]"; absent: no endpoint).  Only the syntax is
 * checked here; the daemon resolves and binds it at startup, and a
 * reload that changes it takes effect at the next start.
 */
#include "config_int.h"

#include "num.h"

#include <stdlib.h>
#include <string.h>

/* Returns 0 when v is "host:port" with a port in 1..65535. */
static int cfg_metrics_addr_ok(const char *v)
{
	const char *colon = strrchr(v, ':');
	long long port;
	size_t hl;

	if (colon == NULL || colon == v || strlen(v) > CONFIG_METRICS_ADDR_MAX)
		return -1;
	hl = (size_t)(colon - v);
	if (v[0] == '[' ? v[hl - 1] != ']' || hl < 3
			: memchr(v, ':', hl) != NULL)
		return -1;
	return num_parse_ll(colon + 1, strlen(colon + 1), 1, 65535, &port);
}

static int cfg_metrics_one(struct cfg_ctx *x, config_t *cf, const char *path,
			   char **out)
{
	const config_setting_t *s = config_lookup(cf, path);
	const char *v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_fail(x, s, "'metrics' must be a string");
	v = config_setting_get_string(s);
	if (cfg_metrics_addr_ok(v) < 0)
		return cfg_fail(x, s,
				"metrics address '%.100s' must be "
				"\"host:port\" or \"[v6]:port\" (at most %d "
				"bytes)",
				v, CONFIG_METRICS_ADDR_MAX);
	free(*out);
	*out = cfg_strdup(v);
	return 0;
}

int cfg_metrics_load(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	if (cfg_metrics_one(x, cf, "policyd.metrics", &c->policyd_metrics) <
		0 ||
	    cfg_metrics_one(x, cf, "milter.metrics", &c->milter_metrics) < 0)
		return -1;
	return 0;
}

void cfg_metrics_free(struct config *c)
{
	free(c->policyd_metrics);
	free(c->milter_metrics);
}
