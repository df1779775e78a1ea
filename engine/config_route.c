/*
 * config_route: the routing part of postlb.conf — members, pools, rules,
 * the routing defaults and the milter's socket (see config.h).  Shares the
 * loader helpers of config.c through config_int.h; with config.c it is
 * the only file that includes libconfig.h.  Validation names file:line:
 * unknown members in pools, fallback cycles, bad regexes, bad names.
 */
#include "config_int.h"
#include "select.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const algo_names[] = {"round_robin", "weighted",
					 "least_outstanding", "hash"};
static const char *const hash_key_names[] = {
    "sender_domain", "recipient_domain", "sasl_user", "sender"};

const char *config_algo_name(enum algo a)
{
	return (unsigned)a <= ALGO_HASH ? algo_names[a] : "?";
}

int config_member_index(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nmembers; i++)
		if (strcmp(c->members[i].name, name) == 0)
			return (int)i;
	return -1;
}

int config_pool_index(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->npools; i++)
		if (strcmp(c->pools[i].name, name) == 0)
			return (int)i;
	return -1;
}

int config_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > CONFIG_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      (s[i] == '-' && i > 0)))
			return 0;
	return 1;
}

/*
 * A port as Postfix takes it: a number 1-65535 or a service name (a
 * letter, then letters, digits, '-'): "58x7" is neither.
 */
static int route_port_ok(const char *p)
{
	long v = 0;

	if (*p >= '0' && *p <= '9') {
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9' || (v = v * 10 + (*p - '0')) > 65535)
				return 0;
		}
		return v > 0;
	}
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	for (; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
	return 1;
}

/* A nexthop as Postfix takes it: host, [host], optional :port. */
static int route_nexthop_ok(const char *s)
{
	size_t n = strlen(s);
	const char *host_end, *colon;

	if (n == 0 || n > CONFIG_NEXTHOP_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == ',' || s[i] >= 0x7f)
			return 0;
	if (s[0] == '[') {
		host_end = strchr(s, ']');
		if (host_end == NULL || host_end == s + 1)
			return 0;
		host_end++;
		if (*host_end == '\0')
			return 1;
		return *host_end == ':' && route_port_ok(host_end + 1);
	}
	if (strchr(s, '[') != NULL || strchr(s, ']') != NULL)
		return 0;
	colon = strchr(s, ':');
	if (colon == NULL)
		return 1;
	return colon > s && route_port_ok(colon + 1);
}

/* Parses "YYYY-MM-DD" into days since 1970-01-01 (UTC). */
static int route_day(const char *s, long long *out)
{
	struct tm tm;
	char *end;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (long long)t / 86400;
	return 0;
}

static int route_warmup(struct cfg_ctx *x, const config_setting_t *w,
			struct cfg_member *m)
{
	static const char *const keys[] = {"start", "caps", NULL};
	const config_setting_t *caps;
	char *start = NULL;
	int n, rc = -1;

	if (!config_setting_is_group(w))
		return cfg_fail(x, w, "'warmup' must be a group { start; caps; }");
	if (cfg_known(x, w, keys) < 0 || cfg_str(x, w, "start", &start) < 0)
		return -1;
	if (start == NULL || route_day(start, &m->warm_start_day) < 0) {
		cfg_fail(x, w, "member '%s': warmup needs start = \"YYYY-MM-DD\"",
			 m->name);
		goto out;
	}
	caps = config_setting_get_member(w, "caps");
	if (caps == NULL || !config_setting_is_array(caps) ||
	    (n = config_setting_length(caps)) < 1 ||
	    n > CONFIG_WARM_DAYS_MAX) {
		cfg_fail(x, w,
			 "member '%s': warmup needs caps = [ messages on day 1, "
			 "day 2, ... ] (1..%d integers)",
			 m->name, CONFIG_WARM_DAYS_MAX);
		goto out;
	}
	m->warm_caps = calloc((size_t)n, sizeof(long long));
	if (m->warm_caps == NULL)
		abort();
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(caps, i);
		long long v = config_setting_get_int64(e);
		if ((config_setting_type(e) != CONFIG_TYPE_INT &&
		     config_setting_type(e) != CONFIG_TYPE_INT64) ||
		    v < 0) {
			cfg_fail(x, e, "member '%s': warmup caps must be "
				       "non-negative integers",
				 m->name);
			goto out;
		}
		m->warm_caps[m->nwarm++] = v;
	}
	rc = 0;
out:
	free(start);
	return rc;
}

static int route_members(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	static const char *const keys[] = {"nexthop", "address", "helo",
					   "weight",  "site",	 "warmup",
					   "check",   "host",	 "hosts",
					   NULL};
	const config_setting_t *g = config_lookup(cf, "members");
	int n;

	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_fail(x, g, "'members' must be a group { name = {...}; }");
	n = config_setting_length(g);
	if (n > CONFIG_MEMBERS_MAX)
		return cfg_fail(x, g, "more than %d members", CONFIG_MEMBERS_MAX);
	c->members = calloc((size_t)n + 1, sizeof(*c->members));
	if (c->members == NULL)
		abort();
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g, i), *w;
		struct cfg_member *m = &c->members[c->nmembers++];
		long long weight = 1;
		m->name = cfg_strdup(config_setting_name(e));
		m->line = (int)config_setting_source_line(e);
		m->warm_start_day = -1;
		if (!config_setting_is_group(e))
			return cfg_fail(x, e, "member '%s' must be a group",
					m->name);
		if (!config_name_ok(m->name, strlen(m->name)))
			return cfg_fail(x, e,
					"member name '%s' must be 1-32 letters, "
					"digits, '_' or '-' (it is a master.cf "
					"transport name)",
					m->name);
		if (cfg_known(x, e, keys) < 0 ||
		    cfg_str(x, e, "nexthop", &m->nexthop) < 0 ||
		    cfg_str(x, e, "address", &m->address) < 0 ||
		    cfg_str(x, e, "helo", &m->helo) < 0 ||
		    cfg_str(x, e, "site", &m->site) < 0 ||
		    cfg_int(x, e, "weight", 1, 1000, &weight) < 0 ||
		    cfg_member_hosts(x, e, c, m) < 0)
			return -1;
		m->weight = (int)weight;
		m->seed = select_hash_seed(m->name);
		if (m->nexthop != NULL && !route_nexthop_ok(m->nexthop))
			return cfg_fail(x, e,
					"member '%s': bad nexthop '%s' (e.g. "
					"\"[relay1.example]:587\")",
					m->name, m->nexthop);
		w = config_setting_get_member(e, "warmup");
		if (w != NULL && route_warmup(x, w, m) < 0)
			return -1;
	}
	return 0;
}

/* Reads one pool's settings (members resolved by name). */
static int route_pool(struct cfg_ctx *x, const config_setting_t *e,
		      struct config *c, struct cfg_pool *p, char **fallback)
{
	static const char *const keys[] = {"members",  "algorithm",
					   "hash_key", "fallback",
					   "failover", "prefer_site", NULL};
	const config_setting_t *ms = config_setting_get_member(e, "members");
	char *algo = NULL, *hk = NULL;
	int rc = -1, n;

	if (!config_setting_is_group(e))
		return cfg_fail(x, e, "pool '%s' must be a group", p->name);
	if (cfg_known(x, e, keys) < 0 || cfg_str(x, e, "algorithm", &algo) < 0 ||
	    cfg_str(x, e, "hash_key", &hk) < 0 ||
	    cfg_str(x, e, "fallback", fallback) < 0)
		goto out;
	if (ms == NULL || !config_setting_is_aggregate(ms) ||
	    config_setting_is_group(ms) || (n = config_setting_length(ms)) < 1) {
		cfg_fail(x, e, "pool '%s' needs members = [ \"name\", ... ]",
			 p->name);
		goto out;
	}
	if (n > CONFIG_POOL_MEMBERS_MAX) {
		cfg_fail(x, ms, "pool '%s': more than %d members", p->name,
			 CONFIG_POOL_MEMBERS_MAX);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(ms, i);
		const char *nm = config_setting_get_string(m);
		int idx = nm ? config_member_index(c, nm) : -1;
		if (idx < 0) {
			cfg_fail(x, m, "pool '%s': unknown member '%s'", p->name,
				 nm ? nm : "(not a string)");
			goto out;
		}
		for (size_t j = 0; j < p->nmembers; j++)
			if (p->members[j] == (size_t)idx) {
				cfg_fail(x, m, "pool '%s': member '%s' listed twice",
					 p->name, nm);
				goto out;
			}
		p->members[p->nmembers++] = (size_t)idx;
	}
	p->algo = ALGO_WRR;
	if (algo != NULL) {
		size_t a = 0;
		while (a <= ALGO_HASH && strcmp(algo, algo_names[a]) != 0)
			a++;
		if (a > ALGO_HASH) {
			cfg_fail(x, e,
				 "pool '%s': algorithm must be round_robin, "
				 "weighted, least_outstanding or hash",
				 p->name);
			goto out;
		}
		p->algo = (enum algo)a;
	}
	p->hash_key = HK_SENDER_DOMAIN;
	if (hk != NULL) {
		size_t k = 0;
		while (k <= HK_SENDER && strcmp(hk, hash_key_names[k]) != 0)
			k++;
		if (k > HK_SENDER || p->algo != ALGO_HASH) {
			cfg_fail(x, e,
				 "pool '%s': hash_key (sender_domain, "
				 "recipient_domain, sasl_user, sender) goes "
				 "with algorithm = \"hash\"",
				 p->name);
			goto out;
		}
		p->hash_key = (enum hash_key)k;
	}
	if (cfg_bool(x, e, "failover", &p->failover) < 0 ||
	    cfg_bool(x, e, "prefer_site", &p->prefer_site) < 0)
		goto out;
	rc = 0;
out:
	free(algo);
	free(hk);
	return rc;
}

/* Greatest common divisor, for the weighted cycle length. */
static long long route_gcd(long long a, long long b)
{
	while (b != 0) {
		long long t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static int route_pools(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	const config_setting_t *g = config_lookup(cf, "pools");
	char **fallbacks;
	int n, rc = 0;

	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_fail(x, g, "'pools' must be a group { name = {...}; }");
	n = config_setting_length(g);
	if (n > CONFIG_POOLS_MAX) /* the router keeps arrays per pool */
		return cfg_fail(x, g, "more than %d pools", CONFIG_POOLS_MAX);
	c->pools = calloc((size_t)n + 1, sizeof(*c->pools));
	fallbacks = calloc((size_t)n + 1, sizeof(char *));
	if (c->pools == NULL || fallbacks == NULL)
		abort();
	for (int i = 0; i < n && rc == 0; i++) {
		const config_setting_t *e = config_setting_get_elem(g, i);
		struct cfg_pool *p = &c->pools[c->npools++];
		long long gcd = 0, total = 0;
		p->name = cfg_strdup(config_setting_name(e));
		p->line = (int)config_setting_source_line(e);
		p->fallback = -1;
		if (!config_name_ok(p->name, strlen(p->name)))
			rc = cfg_fail(x, e, "bad pool name '%s'", p->name);
		else
			rc = route_pool(x, e, c, p, &fallbacks[i]);
		for (size_t j = 0; rc == 0 && j < p->nmembers; j++)
			gcd = route_gcd(gcd, c->members[p->members[j]].weight);
		for (size_t j = 0; rc == 0 && j < p->nmembers; j++)
			total += c->members[p->members[j]].weight / gcd;
		if (rc == 0 && total > CONFIG_CYCLE_MAX)
			rc = cfg_fail(x, e,
				      "pool '%s': weights add up to %lld after "
				      "dividing by their gcd; at most %d",
				      p->name, total, CONFIG_CYCLE_MAX);
	}
	for (int i = 0; rc == 0 && i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g, i);
		if (fallbacks[i] == NULL)
			continue;
		c->pools[i].fallback = config_pool_index(c, fallbacks[i]);
		if (c->pools[i].fallback < 0)
			rc = cfg_fail(x, e, "pool '%s': unknown fallback pool '%s'",
				      c->pools[i].name, fallbacks[i]);
	}
	for (int i = 0; rc == 0 && i < n; i++) {
		int p = c->pools[i].fallback, steps = 0;
		while (p >= 0 && p != i && steps++ <= n)
			p = c->pools[p].fallback;
		if (p == i)
			rc = cfg_fail(x, config_setting_get_elem(g, i),
				      "pool '%s': its fallback chain leads back "
				      "to itself",
				      c->pools[i].name);
	}
	for (int i = 0; i < n; i++)
		free(fallbacks[i]);
	free(fallbacks);
	return rc;
}

static int route_rule(struct cfg_ctx *x, const config_setting_t *e,
		      struct config *c, struct cfg_rule *r)
{
	static const char *const keys[] = {
	    "name",	   "pool",  "sasl_user", "sender",   "sender_domain",
	    "client_ip", "recipient_domain", "header", "match",   "size_min",
	    "size_max",  NULL};
	char *pool = NULL, *match = NULL;
	int rc = -1, conds = 0;

	r->line = (int)config_setting_source_line(e);
	r->size_min = r->size_max = -1;
	r->pool = -1;
	if (!config_setting_is_group(e))
		return cfg_fail(x, e, "a rule must be a group { ... }");
	if (cfg_known(x, e, keys) < 0 || cfg_str(x, e, "name", &r->name) < 0 ||
	    cfg_str(x, e, "pool", &pool) < 0 ||
	    cfg_str(x, e, "header", &r->header) < 0 ||
	    cfg_str(x, e, "match", &match) < 0 ||
	    cfg_int(x, e, "size_min", 0, 1LL << 40, &r->size_min) < 0 ||
	    cfg_int(x, e, "size_max", 0, 1LL << 40, &r->size_max) < 0)
		goto out;
	if (r->name == NULL) {
		char nm[32];
		snprintf(nm, sizeof(nm), "line%d", r->line);
		r->name = cfg_strdup(nm);
	}
	for (int s = 0; s < SUBJ_GLOBAL; s++) {
		const config_setting_t *v =
		    config_setting_get_member(e, config_subj_name((enum subj)s));
		if (v == NULL)
			continue;
		if (cfg_set_read(x, v, (enum subj)s, &r->match[s]) < 0)
			goto out;
		r->has[s] = 1;
		conds++;
	}
	if ((r->header == NULL) != (match == NULL)) {
		cfg_fail(x, e, "rule '%s': 'header' and 'match' go together",
			 r->name);
		goto out;
	}
	if (r->header != NULL) {
		int err = regcomp(&r->re, match,
				  REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (err != 0) {
			char msg[128];
			regerror(err, &r->re, msg, sizeof(msg));
			free(r->header);
			r->header = NULL; /* no regex to free */
			cfg_fail(x, config_setting_get_member(e, "match"),
				 "rule '%s': bad regular expression '%s': %s",
				 r->name, match, msg);
			goto out;
		}
		conds++;
	}
	conds += (r->size_min >= 0) + (r->size_max >= 0);
	if (pool == NULL || (r->pool = config_pool_index(c, pool)) < 0) {
		cfg_fail(x, e, "rule '%s': %s pool '%s'", r->name,
			 pool ? "unknown" : "missing", pool ? pool : "");
		goto out;
	}
	if (conds == 0) {
		cfg_fail(x, e,
			 "rule '%s' has no condition (use routing.default_pool "
			 "for a catch-all)",
			 r->name);
		goto out;
	}
	rc = 0;
out:
	free(pool);
	free(match);
	return rc;
}

static int route_rules(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	const config_setting_t *g = config_lookup(cf, "rules");
	int n, nheader = 0;

	if (g == NULL)
		return 0;
	if (!config_setting_is_list(g))
		return cfg_fail(x, g, "'rules' must be a list ( {...}, ... )");
	n = config_setting_length(g);
	c->rules = calloc((size_t)n + 1, sizeof(*c->rules));
	if (c->rules == NULL)
		abort();
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g, i);
		if (route_rule(x, e, c, &c->rules[c->nrules++]) < 0)
			return -1;
		if (c->rules[c->nrules - 1].header != NULL &&
		    ++nheader > CONFIG_HEADER_RULES_MAX)
			return cfg_fail(x, e,
					"more than %d rules with a header "
					"condition",
					CONFIG_HEADER_RULES_MAX);
	}
	return 0;
}

/*
 * routing.takeover: the transports and nexthops of Postfix's default
 * outbound route (see takeover.h); transports default to "smtp".
 */
static int route_takeover(struct cfg_ctx *x, const config_setting_t *r,
			  struct config *c)
{
	static const char *const keys[] = {"transports", "nexthops",
					   "unresolved", NULL};
	const config_setting_t *g = config_setting_get_member(r, "takeover");
	const config_setting_t *t = NULL, *n = NULL;
	char *u = NULL;

	if (g != NULL && !config_setting_is_group(g))
		return cfg_fail(x, g, "'takeover' must be a group { ... }");
	if (g != NULL) {
		if (cfg_known(x, g, keys) < 0 ||
		    cfg_str(x, g, "unresolved", &u) < 0)
			return -1;
		c->take_unresolved = u != NULL && strcmp(u, "route") == 0;
		if (u != NULL && !c->take_unresolved &&
		    strcmp(u, "leave") != 0) {
			free(u);
			return cfg_fail(x, config_setting_get_member(
					       g, "unresolved"),
					"takeover.unresolved must be \"leave\" "
					"or \"route\"");
		}
		free(u);
		t = config_setting_get_member(g, "transports");
		n = config_setting_get_member(g, "nexthops");
	}
	if (t != NULL) {
		if (cfg_set_read(x, t, SUBJ_SENDER, &c->take_transports) < 0)
			return -1;
		if (c->take_transports.nvalues == 0)
			return cfg_fail(x, t, "takeover.transports is empty: "
					      "postlb would route nothing");
	} else {
		c->take_transports.values = calloc(1, sizeof(char *));
		if (c->take_transports.values == NULL)
			return cfg_fail(x, r, "out of memory");
		c->take_transports.values[0] = cfg_strdup("smtp");
		c->take_transports.nvalues = 1;
	}
	if (n != NULL && cfg_set_read(x, n, SUBJ_SENDER, &c->take_nexthops) < 0)
		return -1;
	return 0;
}

static int route_routing(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	static const char *const keys[] = {"default_pool", "no_member",
					   "budget", "outstanding_ttl",
					   "refresh", "reserve",
					   "reserve_time", "takeover", NULL};
	const config_setting_t *g = config_lookup(cf, "routing");
	char *dp = NULL, *nm = NULL;
	int rc = -1;

	if (g == NULL) {
		if (c->npools > 0)
			return cfg_fail(x, config_lookup(cf, "pools"),
					"pools are defined but no "
					"routing { default_pool = ...; }");
		return 0;
	}
	if (!config_setting_is_group(g))
		return cfg_fail(x, g, "'routing' must be a group { ... }");
	if (cfg_known(x, g, keys) < 0 || cfg_str(x, g, "default_pool", &dp) < 0 ||
	    cfg_str(x, g, "no_member", &nm) < 0 ||
	    cfg_duration(x, g, "budget", 1, &c->route_budget_ms) < 0 ||
	    cfg_duration(x, g, "outstanding_ttl", 1000,
			 &c->outstanding_ttl_ms) < 0 ||
	    cfg_duration(x, g, "refresh", 100, &c->state_refresh_ms) < 0 ||
	    cfg_int(x, g, "reserve", 1, CONFIG_RESERVE_MAX, &c->route_reserve) <
		0 ||
	    cfg_duration(x, g, "reserve_time", 1, &c->route_reserve_ms) < 0)
		goto out;
	if (dp == NULL || (c->default_pool = config_pool_index(c, dp)) < 0) {
		cfg_fail(x, g, "routing: %s default_pool '%s'",
			 dp ? "unknown" : "missing", dp ? dp : "");
		goto out;
	}
	if (nm != NULL && strcmp(nm, "tempfail") != 0 &&
	    strcmp(nm, "default") != 0) {
		cfg_fail(x, g, "routing: no_member must be \"default\" (leave the "
			       "message to Postfix's default transport) or "
			       "\"tempfail\"");
		goto out;
	}
	c->no_member_tempfail = nm != NULL && strcmp(nm, "tempfail") == 0;
	if (c->route_reserve_ms > 10000) {
		cfg_fail(x, g, "routing: reserve_time must be at most 10s");
		goto out;
	}
	if (c->route_budget_ms > 5000) {
		cfg_fail(x, g, "routing: budget must be at most 5s");
		goto out;
	}
	rc = route_takeover(x, g, c);
out:
	free(dp);
	free(nm);
	return rc;
}

static int route_milter(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	static const char *const keys[] = {"listen", "socket_mode", "user",
					   "group", "metrics", NULL};
	const config_setting_t *g = config_lookup(cf, "milter");
	int rc = -1;

	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_fail(x, g, "'milter' must be a group { ... }");
	if (cfg_known(x, g, keys) < 0 ||
	    cfg_str(x, g, "listen", &c->milter_listen) < 0 ||
	    cfg_str(x, g, "user", &c->milter_user) < 0 ||
	    cfg_str(x, g, "group", &c->milter_group) < 0)
		goto out;
	if (strncmp(c->milter_listen, "unix:", 5) != 0 &&
	    strncmp(c->milter_listen, "inet:", 5) != 0) {
		cfg_fail(x, config_setting_get_member(g, "listen"),
			 "milter listen must be \"unix:/path\" or "
			 "\"inet:port@127.0.0.1\"");
		goto out;
	}
	if (cfg_mode(x, g, &c->milter_socket_mode) < 0)
		goto out;
	rc = 0;
out:
	return rc;
}

int cfg_route_load(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	if (cfg_hosts_load(x, cf, c) < 0 || route_members(x, cf, c) < 0 ||
	    cfg_health_load(x, cf, c) < 0 || route_pools(x, cf, c) < 0 ||
	    cfg_hosts_check(x, cf, c) < 0 || route_rules(x, cf, c) < 0 ||
	    route_routing(x, cf, c) < 0 || route_milter(x, cf, c) < 0)
		return -1;
	return 0;
}

void cfg_route_free(struct config *c)
{
	cfg_hosts_free(c);
	for (size_t i = 0; i < c->nmembers; i++) {
		struct cfg_member *m = &c->members[i];
		free(m->name);
		free(m->nexthop);
		free(m->address);
		free(m->helo);
		free(m->site);
		free(m->warm_caps);
	}
	free(c->members);
	for (size_t i = 0; i < c->npools; i++)
		free(c->pools[i].name);
	free(c->pools);
	for (size_t i = 0; i < c->nrules; i++) {
		struct cfg_rule *r = &c->rules[i];
		free(r->name);
		for (int s = 0; s < SUBJ_N; s++)
			cfg_set_free(&r->match[s]);
		if (r->header != NULL)
			regfree(&r->re);
		free(r->header);
	}
	free(c->rules);
	cfg_set_free(&c->take_transports);
	cfg_set_free(&c->take_nexthops);
	free(c->milter_listen);
	free(c->milter_user);
	free(c->milter_group);
}
