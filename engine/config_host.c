/*
 * config_host: which host of the cluster this is, and which members it
 * may use (see config.h).  One postlb.conf can serve every host:
 *
 *   host = "mx1";                      # this host; default: its hostname
 *   hosts = ( { name = "mx1"; site = "fra"; },
 *             { name = "mx2.example.net"; site = "ams"; } );
 *   members = { ip1 = { host = "mx1"; ... }; relay = { ... }; };
 *
 * A member that names a host (host = "..." or hosts = [ ... ]) exists on
 * those hosts only (a source address of theirs); one that names none is
 * shared (a relay every host reaches).  When the hosts group exists it
 * declares every host: a member naming another is refused (a typo would
 * silently take the member out of rotation everywhere).  A pool without
 * fallback must leave every declared host (and this one) a member.
 * Shares config_int.h with config.c; no I/O besides gethostname().
 */
#include "config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A host name: 1..CONFIG_HOST_NAME_MAX letters, digits, '.', '_', '-'. */
static int host_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_HOST_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

/* The index of host name in the declared hosts, or -1. */
static int host_index(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nhosts; i++)
		if (strcmp(c->hosts[i].name, name) == 0)
			return (int)i;
	return -1;
}

int cfg_hosts_load(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	static const char *const keys[] = {"name", "site", NULL};
	const config_setting_t *h = config_lookup(cf, "host");
	const config_setting_t *g = config_lookup(cf, "hosts");
	char name[CONFIG_HOST_NAME_MAX + 2] = "";
	int n;

	if (h != NULL) {
		if (config_setting_type(h) != CONFIG_TYPE_STRING ||
		    !host_name_ok(config_setting_get_string(h)))
			return cfg_fail(x, h,
					"'host' must be a host name (1-%d "
					"letters, digits, '.', '_', '-')",
					CONFIG_HOST_NAME_MAX);
		snprintf(name, sizeof(name), "%s", config_setting_get_string(h));
	} else if (gethostname(name, sizeof(name) - 1) != 0 ||
		   !host_name_ok(name))
		snprintf(name, sizeof(name), "localhost");
	c->host_name = cfg_strdup(name);
	if (g == NULL)
		return 0;
	if (!config_setting_is_list(g))
		return cfg_fail(x, g, "'hosts' must be a list ( { name = "
				      "\"...\"; site = \"...\"; }, ... )");
	n = config_setting_length(g);
	if (n > CONFIG_HOSTS_MAX)
		return cfg_fail(x, g, "more than %d hosts", CONFIG_HOSTS_MAX);
	c->hosts = calloc((size_t)n + 1, sizeof(*c->hosts));
	if (c->hosts == NULL)
		abort();
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g, i);
		struct cfg_host *ho = &c->hosts[c->nhosts++];
		if (!config_setting_is_group(e))
			return cfg_fail(x, e, "each host is a group { name = "
					      "\"...\"; site = \"...\"; }");
		if (cfg_known(x, e, keys) < 0 ||
		    cfg_str(x, e, "name", &ho->name) < 0 ||
		    cfg_str(x, e, "site", &ho->site) < 0)
			return -1;
		if (ho->name == NULL || !host_name_ok(ho->name))
			return cfg_fail(x, e,
					"a host needs a name (1-%d letters, "
					"digits, '.', '_', '-')",
					CONFIG_HOST_NAME_MAX);
		if (host_index(c, ho->name) != (int)c->nhosts - 1)
			return cfg_fail(x, e, "host '%s' is listed twice",
					ho->name);
	}
	if (host_index(c, c->host_name) < 0)
		return cfg_fail(x, h ? h : g,
				"this host '%s' is not among 'hosts' (set "
				"host = \"NAME\")",
				c->host_name);
	c->host_site = c->hosts[host_index(c, c->host_name)].site;
	return 0;
}

int cfg_member_hosts(struct cfg_ctx *x, const config_setting_t *e,
		     struct config *c, struct cfg_member *m)
{
	const config_setting_t *one = config_setting_get_member(e, "host");
	const config_setting_t *l = config_setting_get_member(e, "hosts");
	int n;

	m->here = 1;
	if (one != NULL && l != NULL)
		return cfg_fail(x, l, "member '%s': 'host' or 'hosts', not both",
				m->name);
	if (one == NULL && l == NULL)
		return 0;
	if (l != NULL && (!config_setting_is_aggregate(l) ||
			  config_setting_is_group(l) ||
			  config_setting_length(l) < 1))
		return cfg_fail(x, l,
				"member '%s': 'hosts' must be a list of host "
				"names",
				m->name);
	n = one != NULL ? 1 : config_setting_length(l);
	if (n > CONFIG_MEMBER_HOSTS_MAX)
		return cfg_fail(x, l, "member '%s': more than %d hosts",
				m->name, CONFIG_MEMBER_HOSTS_MAX);
	m->hosts = calloc((size_t)n, sizeof(char *));
	if (m->hosts == NULL)
		abort();
	m->here = 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *s =
		    one != NULL ? one : config_setting_get_elem(l, i);
		const char *v = config_setting_get_string(s);
		if (v == NULL || !host_name_ok(v))
			return cfg_fail(x, s, "member '%s': bad host name",
					m->name);
		if (c->nhosts > 0 && host_index(c, v) < 0)
			return cfg_fail(x, s,
					"member '%s': host '%s' is not among "
					"'hosts'",
					m->name, v);
		m->hosts[m->nhosts++] = cfg_strdup(v);
		if (strcmp(v, c->host_name) == 0)
			m->here = 1;
	}
	return 0;
}

int config_member_on(const struct cfg_member *m, const char *host)
{
	if (m->nhosts == 0)
		return 1;
	for (size_t i = 0; i < m->nhosts; i++)
		if (strcmp(m->hosts[i], host) == 0)
			return 1;
	return 0;
}

int config_member_local(const struct config *c, size_t mi)
{
	const char *s = c->members[mi].site;

	return c->host_site == NULL || s == NULL || strcmp(s, c->host_site) == 0;
}

/* Pool p (config line e) leaves host a member, or has a fallback. */
static int host_pool_ok(struct cfg_ctx *x, const config_setting_t *e,
			const struct config *c, const struct cfg_pool *p,
			const char *host)
{
	if (p->fallback >= 0)
		return 0;
	for (size_t j = 0; j < p->nmembers; j++)
		if (config_member_on(&c->members[p->members[j]], host))
			return 0;
	return cfg_fail(x, e,
			"pool '%s': no member for host '%s' and no fallback "
			"pool",
			p->name, host);
}

int cfg_hosts_check(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	const config_setting_t *g = config_lookup(cf, "pools");

	for (size_t i = 0; g != NULL && i < c->npools; i++) {
		const config_setting_t *e = config_setting_get_elem(g, i);
		if (host_pool_ok(x, e, c, &c->pools[i], c->host_name) < 0)
			return -1;
		for (size_t h = 0; h < c->nhosts; h++)
			if (host_pool_ok(x, e, c, &c->pools[i],
					 c->hosts[h].name) < 0)
				return -1;
	}
	return 0;
}

void cfg_hosts_free(struct config *c)
{
	for (size_t i = 0; i < c->nhosts; i++) {
		free(c->hosts[i].name);
		free(c->hosts[i].site);
	}
	free(c->hosts);
	free(c->host_name);
	c->hosts = NULL;
	c->host_name = NULL;
	for (size_t i = 0; i < c->nmembers; i++) {
		for (size_t j = 0; j < c->members[i].nhosts; j++)
			free(c->members[i].hosts[j]);
		free(c->members[i].hosts);
	}
}
