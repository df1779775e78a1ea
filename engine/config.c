/*
 * config: loads postlb.conf with libconfig and validates every setting
 * (see config.h); config_route.c loads the routing part.  With it, the
 * only file that includes libconfig.h (via config_int.h).  It does not
 * open sockets or talk to Redis: it only describes what the daemons do.
 */
#include "config.h"

#include "config_int.h"

#include "num.h"

#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const subj_names[SUBJ_N] = {
    "sasl_user", "sender", "sender_domain", "client_ip", "recipient_domain",
    "global"};
static const char *const unit_names[] = {"messages", "recipients", "bytes"};

const char *config_subj_name(enum subj s)
{
	return (unsigned)s < SUBJ_N ? subj_names[s] : "?";
}

int config_subj_parse(const char *name)
{
	for (int i = 0; i < SUBJ_N; i++)
		if (strcmp(name, subj_names[i]) == 0)
			return i;
	return -1;
}

const char *config_unit_name(enum unit u)
{
	return (unsigned)u <= UNIT_BYTES ? unit_names[u] : "?";
}

/* Records "file:line: message" and returns -1. */
int cfg_fail(struct cfg_ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(x->err, x->errsz, "%s:%u: %s", x->name,
		 s ? config_setting_source_line(s) : 0, msg);
	return -1;
}

char *cfg_strdup(const char *s)
{
	char *d = strdup(s);
	if (d == NULL)
		abort(); /* out of memory while loading config */
	return d;
}

/* Rejects settings of a group that are not in allowed (catches typos). */
int cfg_known(struct cfg_ctx *x, const config_setting_t *g,
		     const char *const *allowed)
{
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g, i);
		const char *nm = config_setting_name(e);
		size_t k = 0;
		while (allowed[k] != NULL && strcmp(allowed[k], nm) != 0)
			k++;
		if (allowed[k] == NULL)
			return cfg_fail(x, e, "unknown setting '%s'", nm);
	}
	return 0;
}

/* Reads an optional string member; *out keeps its value when absent. */
int cfg_str(struct cfg_ctx *x, const config_setting_t *g,
		   const char *name, char **out)
{
	const config_setting_t *s = config_setting_get_member(g, name);

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_fail(x, s, "'%s' must be a string", name);
	free(*out);
	*out = cfg_strdup(config_setting_get_string(s));
	return 0;
}

/* Reads an optional integer member in [min, max]. */
int cfg_int(struct cfg_ctx *x, const config_setting_t *g,
		   const char *name, long long min, long long max,
		   long long *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	long long v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return cfg_fail(x, s, "'%s' must be an integer", name);
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return cfg_fail(x, s, "'%s' = %lld is out of range %lld..%lld",
				name, v, min, max);
	*out = v;
	return 0;
}

/* Reads an optional boolean (true or false). */
int cfg_bool(struct cfg_ctx *x, const config_setting_t *g, const char *name,
	     int *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return cfg_fail(x, s, "'%s' must be true or false", name);
	*out = config_setting_get_bool(s);
	return 0;
}

/* Reads an optional duration: "30s", "1m", "500ms" or seconds as integer. */
int cfg_duration(struct cfg_ctx *x, const config_setting_t *g,
			const char *name, long long min_ms, long long *out_ms)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	long long v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64) {
		v = config_setting_get_int64(s);
		if (v < 1 || v > 366LL * 86400)
			return cfg_fail(x, s, "'%s' = %lld s is out of range",
					name, v);
		v *= 1000;
	} else if (config_setting_type(s) != CONFIG_TYPE_STRING ||
		   num_parse_duration_ms(config_setting_get_string(s), &v) <
		       0) {
		return cfg_fail(x, s,
				"'%s' must be a duration such as \"500ms\", "
				"\"30s\", \"1m\", \"1h\", \"1d\"",
				name);
	}
	if (v < min_ms)
		return cfg_fail(x, s, "'%s' must be at least %lld ms", name,
				min_ms);
	*out_ms = v;
	return 0;
}

int cfg_mode(struct cfg_ctx *x, const config_setting_t *g, unsigned *out)
{
	const config_setting_t *s = config_setting_get_member(g, "socket_mode");
	const char *v;
	char *end;
	unsigned long m;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_fail(x, s, "'socket_mode' must be a string such as "
				      "\"0660\"");
	v = config_setting_get_string(s);
	/* strtoul alone would take "-1", "+7" and leading spaces */
	m = strtoul(v, &end, 8);
	if (*v < '0' || *v > '7' || *end != '\0' || m > 0777)
		return cfg_fail(x, s, "'socket_mode' must be octal such as "
				      "\"0660\"");
	*out = (unsigned)m;
	return 0;
}

void cfg_set_free(struct cfg_set *set)
{
	for (size_t i = 0; i < set->nvalues; i++)
		free(set->values[i]);
	free(set->values);
	free(set->nets);
	memset(set, 0, sizeof(*set));
}

/* Reads a list/array of strings into set (networks for client_ip). */
int cfg_set_read(struct cfg_ctx *x, const config_setting_t *s,
			enum subj subj, struct cfg_set *set)
{
	int n;

	if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
		return cfg_fail(x, s, "'%s' must be a list of strings",
				config_setting_name(s));
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const char *v;
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return cfg_fail(x, e, "'%s' must hold strings only",
					config_setting_name(s));
		v = config_setting_get_string(e);
		if (subj == SUBJ_CLIENT_IP) {
			struct cidr c;
			if (cidr_parse(v, &c) < 0)
				return cfg_fail(x, e,
						"'%s' is not an address or "
						"network (ADDR or ADDR/LEN)",
						v);
			set->nets = realloc(set->nets,
					    (set->nnets + 1) * sizeof(c));
			if (set->nets == NULL)
				abort();
			set->nets[set->nnets++] = c;
		} else {
			if (*v == '\0' || strlen(v) > 320)
				return cfg_fail(x, e,
						"empty or over-long value");
			set->values = realloc(set->values, (set->nvalues + 1) *
							       sizeof(char *));
			if (set->values == NULL)
				abort();
			set->values[set->nvalues++] = cfg_strdup(v);
		}
	}
	return 0;
}

int config_set_has(const struct cfg_set *set, enum subj s, const char *value)
{
	if (s == SUBJ_CLIENT_IP) {
		for (size_t i = 0; i < set->nnets; i++)
			if (cidr_match(&set->nets[i], value))
				return 1;
		return 0;
	}
	for (size_t i = 0; i < set->nvalues; i++) {
		const char *m = set->values[i];
		if (s == SUBJ_SASL_USER) {
			if (strcmp(m, value) == 0)
				return 1;
			continue;
		}
		if (strcasecmp(m, value) == 0)
			return 1;
		/* ".example.com" matches every subdomain of example.com */
		if (m[0] == '.' && (s == SUBJ_SENDER_DOMAIN ||
				    s == SUBJ_RCPT_DOMAIN)) {
			size_t ml = strlen(m), vl = strlen(value);
			if (vl > ml && strcasecmp(value + vl - ml, m) == 0)
				return 1;
		}
	}
	return 0;
}

static int cfg_redis(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	static const char *const keys[] = {"address", "prefix", "password",
					   "db", "username", "sentinels",
					   "master_name", "sentinel_password",
					   "sentinel_username", NULL};
	const config_setting_t *g = config_lookup(cf, "redis");
	long long db = 0;

	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_fail(x, g, "'redis' must be a group { ... }");
	if (cfg_known(x, g, keys) < 0 ||
	    cfg_str(x, g, "address", &c->redis_address) < 0 ||
	    cfg_str(x, g, "prefix", &c->redis_prefix) < 0 ||
	    cfg_str(x, g, "password", &c->redis_password) < 0 ||
	    cfg_int(x, g, "db", 0, 15, &db) < 0)
		return -1;
	c->redis_db = (int)db;
	if (strlen(c->redis_prefix) > 64)
		return cfg_fail(x, g, "redis prefix longer than 64 bytes");
	if (cfg_sentinel_load(x, g, c) < 0)
		return -1;
	if (strncmp(c->redis_address, "unix:", 5) != 0 &&
	    strrchr(c->redis_address, ':') == NULL)
		return cfg_fail(x, config_setting_get_member(g, "address"),
				"redis address must be \"unix:/path\" or "
				"\"host:port\"");
	return 0;
}

/* Validates one listen address. */
static int cfg_listen_addr(struct cfg_ctx *x, const config_setting_t *e,
			   const char *v)
{
	const char *colon;
	long long port;

	if (strncmp(v, "unix:", 5) == 0 && v[5] != '\0' && strlen(v) < 100)
		return 0;
	if (strncmp(v, "tcp:", 4) == 0 && (colon = strrchr(v + 4, ':')) &&
	    num_parse_ll(colon + 1, strlen(colon + 1), 1, 65535, &port) == 0)
		return 0;
	return cfg_fail(x, e,
			"listen address '%s' must be \"unix:/path\" (under 100 "
			"bytes) or \"tcp:host:port\"",
			v);
}

/* Reads policyd.allow: the client networks TCP listeners serve. */
static int cfg_policyd_allow(struct cfg_ctx *x, const config_setting_t *g,
			     struct config *c)
{
	const config_setting_t *s = config_setting_get_member(g, "allow");
	struct cfg_set set = {0};

	if (s == NULL)
		return 0;
	if (cfg_set_read(x, s, SUBJ_CLIENT_IP, &set) < 0) {
		cfg_set_free(&set);
		return -1;
	}
	if (set.nnets == 0) {
		cfg_set_free(&set);
		return cfg_fail(x, s, "'allow' is empty: list the client "
				      "networks TCP listeners serve");
	}
	cfg_set_free(&c->allow);
	c->allow = set;
	return 0;
}

/*
 * Reads policyd.count_only = { sasl = BOOL; networks = [...]; }: when set,
 * only requests of SASL-authenticated clients (sasl = true) or from the
 * listed client networks are counted against quotas.
 */
static int cfg_policyd_count(struct cfg_ctx *x, const config_setting_t *g,
			     struct config *c)
{
	static const char *const keys[] = {"sasl", "networks", NULL};
	const config_setting_t *s = config_setting_get_member(g, "count_only");
	const config_setting_t *n;

	if (s == NULL)
		return 0;
	if (!config_setting_is_group(s))
		return cfg_fail(x, s, "'count_only' must be a group { sasl = "
				      "true; networks = [...]; }");
	if (cfg_known(x, s, keys) < 0 || cfg_bool(x, s, "sasl", &c->count_sasl) < 0)
		return -1;
	n = config_setting_get_member(s, "networks");
	if (n != NULL &&
	    cfg_set_read(x, n, SUBJ_CLIENT_IP, &c->count_nets) < 0)
		return -1;
	if (!c->count_sasl && c->count_nets.nnets == 0)
		return cfg_fail(x, s, "'count_only' counts nothing: set sasl = "
				      "true or list networks");
	c->count_only = 1;
	return 0;
}

static int cfg_policyd(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	static const char *const keys[] = {
	    "listen",	 "socket_mode",	    "user",	 "group",
	    "budget",	 "fail_mode",	    "max_connections", "idle_timeout",
	    "line_max",	 "attributes_max", "request_max", "reserve",
	    "reserve_time", "allow", "count_only", "metrics",
	    "socketmap", NULL};
	const config_setting_t *g = config_lookup(cf, "policyd"), *s;
	long long v;
	char *fm = NULL;
	int rc = -1;

	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_fail(x, g, "'policyd' must be a group { ... }");
	if (cfg_known(x, g, keys) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "listen")) != NULL) {
		struct cfg_set set = {0};
		if (config_setting_type(s) == CONFIG_TYPE_STRING) {
			set.values = malloc(sizeof(char *));
			if (set.values == NULL)
				abort();
			set.values[0] = cfg_strdup(config_setting_get_string(s));
			set.nvalues = 1;
		} else if (cfg_set_read(x, s, SUBJ_SENDER, &set) < 0) {
			cfg_set_free(&set);
			return -1;
		}
		for (size_t i = 0; i < set.nvalues; i++)
			if (cfg_listen_addr(x, s, set.values[i]) < 0) {
				cfg_set_free(&set);
				return -1;
			}
		if (set.nvalues == 0) {
			cfg_set_free(&set);
			return cfg_fail(x, s, "'listen' is empty");
		}
		for (size_t i = 0; i < c->nlisten; i++)
			free(c->listen[i]);
		free(c->listen);
		c->listen = set.values;
		c->nlisten = set.nvalues;
		set.values = NULL;
		set.nvalues = 0;
		cfg_set_free(&set);
	}
	if (cfg_str(x, g, "user", &c->user) < 0 ||
	    cfg_str(x, g, "group", &c->group) < 0 ||
	    cfg_str(x, g, "fail_mode", &fm) < 0 ||
	    cfg_duration(x, g, "budget", 1, &c->budget_ms) < 0 ||
	    cfg_duration(x, g, "idle_timeout", 1000, &c->idle_timeout_ms) < 0 ||
	    cfg_int(x, g, "max_connections", 1, 1000000, &c->max_connections) <
		0 ||
	    cfg_bool(x, g, "reserve", &c->quota_reserve) < 0 ||
	    cfg_duration(x, g, "reserve_time", 1, &c->quota_reserve_ms) < 0)
		goto out;
	if (c->quota_reserve_ms > 10000) {
		cfg_fail(x, config_setting_get_member(g, "reserve_time"),
			 "'reserve_time' must be at most 10s");
		goto out;
	}
	if (c->budget_ms > 10000) {
		cfg_fail(x, config_setting_get_member(g, "budget"),
			 "'budget' must be at most 10s (Postfix waits for it)");
		goto out;
	}
	if (cfg_mode(x, g, &c->socket_mode) < 0)
		goto out;
	if (fm != NULL) {
		if (strcmp(fm, "open") == 0)
			c->fail_mode = FAIL_OPEN;
		else if (strcmp(fm, "closed") == 0)
			c->fail_mode = FAIL_CLOSED;
		else {
			cfg_fail(x, config_setting_get_member(g, "fail_mode"),
				 "'fail_mode' must be \"open\" or \"closed\"");
			goto out;
		}
	}
	v = (long long)c->limits.line_max;
	if (cfg_int(x, g, "line_max", 64, 1 << 20, &v) < 0)
		goto out;
	c->limits.line_max = (size_t)v;
	v = (long long)c->limits.attrs_max;
	if (cfg_int(x, g, "attributes_max", 8, 10000, &v) < 0)
		goto out;
	c->limits.attrs_max = (size_t)v;
	v = (long long)c->limits.request_max;
	if (cfg_int(x, g, "request_max", 256, 1 << 24, &v) < 0)
		goto out;
	c->limits.request_max = (size_t)v;
	if (cfg_policyd_allow(x, g, c) < 0 || cfg_policyd_count(x, g, c) < 0)
		goto out;
	rc = 0;
out:
	free(fm);
	return rc;
}

/* Reads one subject name setting. */
static int cfg_subject(struct cfg_ctx *x, const config_setting_t *g,
		       enum subj *out)
{
	const config_setting_t *s = config_setting_get_member(g, "subject");
	int v;

	if (s == NULL)
		return cfg_fail(x, g, "missing 'subject'");
	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    (v = config_subj_parse(config_setting_get_string(s))) < 0)
		return cfg_fail(x, s,
				"'subject' must be one of sasl_user, sender, "
				"sender_domain, client_ip, recipient_domain, "
				"global");
	*out = (enum subj)v;
	return 0;
}

static int cfg_classes(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	static const char *const keys[] = {"subject", "members", NULL};
	const config_setting_t *g = config_lookup(cf, "classes");
	int n;

	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_fail(x, g,
				"'classes' must be a group { name = {...}; }");
	n = config_setting_length(g);
	c->classes = calloc((size_t)n + 1, sizeof(*c->classes));
	if (c->classes == NULL)
		abort();
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g, i), *m;
		struct cfg_class *k = &c->classes[c->nclasses++];
		k->name = cfg_strdup(config_setting_name(e));
		k->line = (int)config_setting_source_line(e);
		if (!config_setting_is_group(e))
			return cfg_fail(x, e, "class '%s' must be a group",
					k->name);
		if (cfg_known(x, e, keys) < 0 ||
		    cfg_subject(x, e, &k->subject) < 0)
			return -1;
		if (k->subject == SUBJ_GLOBAL)
			return cfg_fail(x, e, "class '%s': a class of subject "
					      "global makes no sense",
					k->name);
		m = config_setting_get_member(e, "members");
		if (m == NULL)
			return cfg_fail(x, e, "class '%s' has no 'members'",
					k->name);
		if (cfg_set_read(x, m, k->subject, &k->members) < 0)
			return -1;
	}
	return 0;
}

static const struct cfg_class *cfg_class_find(const struct config *c,
					      const char *name)
{
	for (size_t i = 0; i < c->nclasses; i++)
		if (strcmp(c->classes[i].name, name) == 0)
			return &c->classes[i];
	return NULL;
}

/* Reads one quota entry q from group e. */
static int cfg_quota_one(struct cfg_ctx *x, const config_setting_t *e,
			 struct config *c, struct cfg_quota *q)
{
	static const char *const keys[] = {"name",   "subject", "unit",
					   "limit",  "window",	"action",
					   "class",  "cidr",	"cidr6", NULL};
	char *unit = NULL, *action = NULL, *class = NULL;
	long long v4 = 32, v6 = 128;
	int rc = -1;

	q->line = (int)config_setting_source_line(e);
	q->window_ms = 0;
	q->limit = -1;
	if (!config_setting_is_group(e))
		return cfg_fail(x, e, "a quota must be a group { ... }");
	if (cfg_known(x, e, keys) < 0 || cfg_str(x, e, "name", &q->name) < 0 ||
	    cfg_subject(x, e, &q->subject) < 0 ||
	    cfg_str(x, e, "unit", &unit) < 0 ||
	    cfg_str(x, e, "action", &action) < 0 ||
	    cfg_str(x, e, "class", &class) < 0 ||
	    cfg_int(x, e, "limit", 0, (long long)1 << 50, &q->limit) < 0 ||
	    cfg_duration(x, e, "window", 1000, &q->window_ms) < 0 ||
	    cfg_int(x, e, "cidr", 0, 32, &v4) < 0 ||
	    cfg_int(x, e, "cidr6", 0, 128, &v6) < 0)
		goto out;
	if (q->name == NULL || q->name[0] == '\0' || strlen(q->name) > 64 ||
	    strpbrk(q->name, ": \t") != NULL) {
		cfg_fail(x, e, "a quota needs a 'name' (1-64 bytes, no ':' or "
			       "spaces)");
		goto out;
	}
	if (q->limit < 0 || q->window_ms == 0) {
		cfg_fail(x, e, "quota '%s' needs 'limit' and 'window'",
			 q->name);
		goto out;
	}
	if (unit == NULL || (strcmp(unit, "messages") != 0 &&
			     strcmp(unit, "recipients") != 0 &&
			     strcmp(unit, "bytes") != 0)) {
		cfg_fail(x, e,
			 "quota '%s': 'unit' must be messages, recipients or "
			 "bytes",
			 q->name);
		goto out;
	}
	q->unit = unit[0] == 'm' ? UNIT_MESSAGES
		  : unit[0] == 'r' ? UNIT_RECIPIENTS
				   : UNIT_BYTES;
	if (q->subject == SUBJ_RCPT_DOMAIN && q->unit != UNIT_RECIPIENTS) {
		cfg_fail(x, e,
			 "quota '%s': recipient_domain quotas count recipients "
			 "(a message may go to several domains)",
			 q->name);
		goto out;
	}
	if (action != NULL && strcmp(action, "defer") != 0 &&
	    strcmp(action, "reject") != 0) {
		cfg_fail(x, e, "quota '%s': 'action' must be defer or reject",
			 q->name);
		goto out;
	}
	q->reject = action != NULL && strcmp(action, "reject") == 0;
	if (class != NULL) {
		q->class = cfg_class_find(c, class);
		if (q->class == NULL) {
			cfg_fail(x, e, "quota '%s': unknown class '%s'",
				 q->name, class);
			goto out;
		}
		if (q->class->subject != q->subject) {
			cfg_fail(x, e,
				 "quota '%s': class '%s' holds %s values, not "
				 "%s",
				 q->name, class,
				 config_subj_name(q->class->subject),
				 config_subj_name(q->subject));
			goto out;
		}
	}
	q->cidr4 = (unsigned)v4;
	q->cidr6 = (unsigned)v6;
	rc = 0;
out:
	free(unit);
	free(action);
	free(class);
	return rc;
}

static int cfg_quotas(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	const config_setting_t *g = config_lookup(cf, "quotas");
	int n;

	if (g == NULL)
		return 0;
	if (!config_setting_is_list(g))
		return cfg_fail(x, g, "'quotas' must be a list ( {...}, ... )");
	n = config_setting_length(g);
	if (n > CONFIG_QUOTAS_MAX)
		return cfg_fail(x, g, "more than %d quotas", CONFIG_QUOTAS_MAX);
	c->quotas = calloc((size_t)n + 1, sizeof(*c->quotas));
	if (c->quotas == NULL)
		abort();
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g, i);
		struct cfg_quota *q = &c->quotas[c->nquotas++];
		if (cfg_quota_one(x, e, c, q) < 0)
			return -1;
		for (size_t j = 0; j + 1 < c->nquotas; j++)
			if (strcmp(c->quotas[j].name, q->name) == 0)
				return cfg_fail(x, e,
						"quota name '%s' is already "
						"used at line %d",
						q->name, c->quotas[j].line);
	}
	return 0;
}

static int cfg_exempt(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	const config_setting_t *g = config_lookup(cf, "exempt");
	int n;

	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_fail(x, g, "'exempt' must be a group { ... }");
	n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g, i);
		int s = config_subj_parse(config_setting_name(e));
		if (s < 0 || s == SUBJ_GLOBAL)
			return cfg_fail(x, e,
					"unknown exemption '%s' (sasl_user, "
					"sender, sender_domain, client_ip, "
					"recipient_domain)",
					config_setting_name(e));
		if (cfg_set_read(x, e, (enum subj)s, &c->exempt[s]) < 0)
			return -1;
	}
	return 0;
}

static struct config *cfg_defaults(const char *name)
{
	struct config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	c->refs = 1;
	c->path = cfg_strdup(name);
	c->redis_address = cfg_strdup("127.0.0.1:6379");
	c->redis_prefix = cfg_strdup("postlb:");
	c->listen = malloc(sizeof(char *));
	if (c->listen == NULL)
		abort();
	c->listen[0] = cfg_strdup("unix:/var/spool/postfix/postlb/policy");
	c->nlisten = 1;
	c->socket_mode = 0660;
	c->budget_ms = 50;
	c->fail_mode = FAIL_OPEN;
	c->max_connections = 4096;
	c->idle_timeout_ms = 600000;
	c->quota_reserve = 1;
	c->quota_reserve_ms = 200;
	c->limits = pp_default_limits;
	c->allow.nets = malloc(2 * sizeof(*c->allow.nets));
	if (c->allow.nets == NULL || cidr_parse("127.0.0.0/8", &c->allow.nets[0]) ||
	    cidr_parse("::1/128", &c->allow.nets[1]))
		abort();
	c->allow.nnets = 2;
	c->default_pool = -1;
	c->route_budget_ms = 50;
	c->outstanding_ttl_ms = 60000; /* see routing.outstanding_ttl */
	c->state_refresh_ms = 1000;
	c->route_reserve = 32;
	c->route_reserve_ms = 200;
	c->milter_listen = cfg_strdup("unix:/var/spool/postfix/postlb/milter");
	c->milter_socket_mode = 0660;
	return c;
}

static int cfg_validate(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	static const char *const top[] = {
	    "redis",   "policyd", "classes", "quotas", "exempt", "members",
	    "pools",   "rules",	  "routing", "milter", "health", "feedback",
	    "host",    "hosts",	  "drain",   NULL};
	const config_setting_t *root = config_root_setting(cf);

	if (cfg_known(x, root, top) < 0 || cfg_redis(x, cf, c) < 0 ||
	    cfg_policyd(x, cf, c) < 0 || cfg_classes(x, cf, c) < 0 ||
	    cfg_quotas(x, cf, c) < 0 || cfg_exempt(x, cf, c) < 0 ||
	    cfg_route_load(x, cf, c) < 0 || cfg_feedback_load(x, cf, c) < 0 ||
	    cfg_metrics_load(x, cf, c) < 0 ||
	    cfg_drain_load(x, cf, c) < 0)
		return -1;
	return 0;
}

/* Shared tail of both loaders: parse result in cf, name for errors. */
static int cfg_finish(config_t *cf, int parsed, const char *name,
		      struct config **out, char *err, size_t errsz)
{
	struct cfg_ctx x = {name, err, errsz};
	struct config *c;

	if (!parsed) {
		if (config_error_type(cf) == CONFIG_ERR_FILE_IO)
			snprintf(err, errsz, "%s: cannot read file: %s", name,
				 config_error_text(cf));
		else
			snprintf(err, errsz, "%s:%d: %s", name,
				 config_error_line(cf), config_error_text(cf));
		return -1;
	}
	c = cfg_defaults(name);
	if (cfg_validate(&x, cf, c) < 0) {
		config_unref(c);
		return -1;
	}
	*out = c;
	return 0;
}

/* Two adjacent strings are one to libconfig: refuse the missing comma. */
static int cfg_lint(const char *text, const char *name, char *err,
		    size_t errsz)
{
	unsigned line = cfg_lint_text(text, strlen(text));

	if (line == 0)
		return 0;
	snprintf(err, errsz,
		 "%s:%u: two strings side by side would be joined into one "
		 "(a missing comma?); write one string or separate them",
		 name, line);
	return -1;
}

/* The file is read here, so a failure says why (errno), then parsed. */
int config_load(const char *path, struct config **out, char *err,
		size_t errsz)
{
	char *text;
	size_t len;
	int rc;

	if (cfg_read_text(path, &text, &len, err, errsz) < 0)
		return -1;
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errsz, "%s: holds a NUL byte", path);
		free(text);
		return -1;
	}
	rc = config_load_string(text, path, out, err, errsz);
	free(text);
	return rc;
}

int config_load_string(const char *text, const char *name,
		       struct config **out, char *err, size_t errsz)
{
	config_t cf;
	int rc;

	if (cfg_lint(text, name, err, errsz) < 0)
		return -1;
	config_init(&cf);
	rc = cfg_finish(&cf, config_read_string(&cf, text) == CONFIG_TRUE,
			name, out, err, errsz);
	config_destroy(&cf);
	return rc;
}

struct config *config_ref(struct config *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void config_unref(struct config *c)
{
	if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(c->path);
	free(c->redis_address);
	free(c->redis_prefix);
	free(c->redis_password);
	cfg_sentinel_free(c);
	for (size_t i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->listen);
	free(c->user);
	free(c->group);
	cfg_set_free(&c->allow);
	cfg_set_free(&c->count_nets);
	for (size_t i = 0; i < c->nclasses; i++) {
		free(c->classes[i].name);
		cfg_set_free(&c->classes[i].members);
	}
	free(c->classes);
	for (size_t i = 0; i < c->nquotas; i++)
		free(c->quotas[i].name);
	free(c->quotas);
	for (int s = 0; s < SUBJ_N; s++)
		cfg_set_free(&c->exempt[s]);
	cfg_route_free(c);
	cfg_feedback_free(c);
	cfg_metrics_free(c);
	cfg_drain_free(c);
	free(c);
}

const struct cfg_quota *config_quota(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nquotas; i++)
		if (strcmp(c->quotas[i].name, name) == 0)
			return &c->quotas[i];
	return NULL;
}
