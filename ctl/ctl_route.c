/*
 * ctl_route: postlbctl's routing commands — pools, members, member state
 * changes, explain and postfix-config (see ctl_route.h).  Reads the config
 * and Redis; changes only member state keys (PREFIX m:NAME).
 */
#include "ctl_route.h"

#include "ctl_json.h"
#include "health.h"
#include "route.h"
#include "select.h"
#include "store_redis.h"
#include "takeover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Strings explain copies: every domain, two per header. */
#define EXPLAIN_STRINGS_MAX (ROUTE_DOMAINS_MAX + 2 * ROUTE_HEADERS_MAX)

struct store_sync *ctl_open(const struct config *c)
{
	struct store_sync *s;
	char err[512];

	if (store_sync_open(c, 2000, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "postlbctl: %s\n", err);
		exit(1);
	}
	return s;
}

static void member_key(const struct config *c, size_t mi, char *out,
		       size_t outsz)
{
	snprintf(out, outsz, "%sm:%s", c->redis_prefix, c->members[mi].name);
}

/*
 * Tells the milters' change listeners that field of member hash key
 * changed (the channel is the key's name).  Best effort: without it they
 * see the change within routing.refresh.
 */
static void ctl_member_changed(struct store_sync *s, const char *key,
			       const char *field)
{
	(void)store_sync_publish(s, key, field);
}

struct mfields {
	enum mstate state;
	long long held; /* warm-up days held back */
	char susp[1024]; /* "domain until ..." */
	long long now_ms;
};

static void on_member_field(void *arg, const char *field, const char *value)
{
	struct mfields *f = arg;
	size_t o = strlen(f->susp);
	int st;

	if (strcmp(field, "state") == 0 && (st = route_state_parse(value)) >= 0)
		f->state = (enum mstate)st;
	else if (strcmp(field, HEALTH_F_WARM_HELD) == 0)
		f->held = atoll(value);
	else if (strncmp(field, "s:", 2) == 0 && atoll(value) > f->now_ms &&
		 o + strlen(field) + 24 < sizeof(f->susp))
		snprintf(f->susp + o, sizeof(f->susp) - o, "%s%s (%llds)",
			 o ? ", " : "", field + 2,
			 (atoll(value) - f->now_ms + 999) / 1000);
}

/* Redis's clock in ms: suspensions and days are by it, as in the route
 * script, whatever this host's clock says.  Exits on a Redis error. */
long long ctl_redis_ms(struct store_sync *s)
{
	long long us;

	if (store_sync_time_us(s, &us) < 0) {
		fprintf(stderr, "postlbctl: %s\n", store_sync_error(s));
		exit(1);
	}
	return us / 1000;
}

/* Reads a member's live state into f; exits on a Redis error. */
static void member_fields(struct store_sync *s, const struct config *c,
			  size_t mi, struct mfields *f)
{
	char key[200];

	memset(f, 0, sizeof(*f));
	f->now_ms = ctl_redis_ms(s);
	member_key(c, mi, key, sizeof(key));
	if (store_sync_hgetall(s, key, on_member_field, f) < 0) {
		fprintf(stderr, "postlbctl: %s\n", store_sync_error(s));
		exit(1);
	}
}

static long long member_today(struct store_sync *s, const struct config *c,
			      size_t mi)
{
	char key[200], v[32], ds[16];

	route_day_string(ctl_redis_ms(s) / 86400000, ds);
	snprintf(key, sizeof(key), "%sw:%s:%s", c->redis_prefix,
		 c->members[mi].name, ds);
	return store_sync_get(s, key, v, sizeof(v)) == 1 ? atoll(v) : 0;
}

/* "all", or the hosts a member exists on, and its site: "mx1,mx2 (fra)" */
static const char *member_hosts(const struct cfg_member *m, char *out,
				size_t outsz)
{
	size_t o = 0;

	out[0] = '\0';
	if (m->nhosts == 0)
		o = (size_t)snprintf(out, outsz, "all");
	for (size_t i = 0; i < m->nhosts && o < outsz; i++)
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? "," : "",
				      m->hosts[i]);
	if (m->site != NULL && o < outsz)
		snprintf(out + o, outsz - o, " (%s)", m->site);
	return out;
}

/* A member's state hash, for members --json: its live suspensions. */
struct susp_json {
	struct json *j;
	long long now_ms;
};

static void on_susp_json(void *arg, const char *field, const char *value)
{
	struct susp_json *x = arg;

	if (strncmp(field, "s:", 2) != 0 || atoll(value) <= x->now_ms)
		return;
	json_obj_open(x->j, NULL);
	json_str(x->j, "domain", field + 2);
	json_int(x->j, "remaining_s", (atoll(value) - x->now_ms + 999) / 1000);
	json_obj_close(x->j);
}

/* members --json: one object per member. */
static int members_json(const struct config *c, struct store_sync *s)
{
	long long day = ctl_redis_ms(s) / 86400000;
	struct json j;
	struct mfields f;
	struct susp_json sj = {&j, 0};
	char key[200];

	json_init(&j, stdout);
	json_obj_open(&j, NULL);
	json_arr_open(&j, "members");
	for (size_t i = 0; i < c->nmembers; i++) {
		const struct cfg_member *m = &c->members[i];
		long long wc;
		member_fields(s, c, i, &f);
		wc = route_warm_cap(m, day, f.held);
		json_obj_open(&j, NULL);
		json_str(&j, "name", m->name);
		json_str(&j, "state", route_state_name(f.state));
		json_int(&j, "weight", m->weight);
		json_int(&j, "today", member_today(s, c, i));
		if (m->warm_start_day < 0) {
			json_null(&j, "warmup");
		} else {
			json_obj_open(&j, "warmup");
			json_str(&j, "status", day < m->warm_start_day ? "not_yet"
					       : wc >= 0		 ? "active"
									 : "done");
			if (day >= m->warm_start_day && wc >= 0)
				json_int(&j, "cap", wc);
			else
				json_null(&j, "cap");
			json_int(&j, "held_days", f.held);
			json_obj_close(&j);
		}
		json_str(&j, "nexthop", m->nexthop);
		json_str(&j, "address", m->address);
		json_arr_open(&j, "hosts"); /* empty: every host */
		for (size_t h = 0; h < m->nhosts; h++)
			json_str(&j, NULL, m->hosts[h]);
		json_arr_close(&j);
		json_str(&j, "site", m->site);
		json_arr_open(&j, "suspended");
		sj.now_ms = f.now_ms;
		member_key(c, i, key, sizeof(key));
		if (store_sync_hgetall(s, key, on_susp_json, &sj) < 0) {
			fprintf(stderr, "postlbctl: %s\n", store_sync_error(s));
			return 1;
		}
		json_arr_close(&j);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_obj_close(&j);
	return json_end(&j) < 0;
}

int ctl_members(const struct config *c)
{
	struct store_sync *s = ctl_open(c);
	long long day = ctl_redis_ms(s) / 86400000;

	if (ctl_json) {
		int rc = members_json(c, s);
		store_sync_close(s);
		return rc;
	}

	printf("%-16s %-6s %6s %8s %10s  %-20s %s\n", "member", "state",
	       "weight", "today", "warmup", "hosts (site)",
	       "nexthop / suspended for");
	for (size_t i = 0; i < c->nmembers; i++) {
		const struct cfg_member *m = &c->members[i];
		struct mfields f;
		char cap[24] = "-", hosts[200];
		member_fields(s, c, i, &f);
		if (m->warm_start_day >= 0) {
			long long wc = route_warm_cap(m, day, f.held);
			if (day < m->warm_start_day)
				snprintf(cap, sizeof(cap), "not yet");
			else if (wc >= 0)
				snprintf(cap, sizeof(cap), "%lld/day", wc);
			else
				snprintf(cap, sizeof(cap), "done");
		}
		printf("%-16s %-6s %6d %8lld %10s  %-20s %s%s%s\n", m->name,
		       route_state_name(f.state), m->weight,
		       member_today(s, c, i), cap, member_hosts(m, hosts,
							      sizeof(hosts)),
		       m->nexthop ? m->nexthop : "(MX)", f.susp[0] ? "; " : "",
		       f.susp);
	}
	store_sync_close(s);
	return 0;
}

/* pools --json: the configured pools (no Redis). */
static int pools_json(const struct config *c)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_open(&j, NULL);
	json_arr_open(&j, "pools");
	for (size_t i = 0; i < c->npools; i++) {
		const struct cfg_pool *p = &c->pools[i];
		json_obj_open(&j, NULL);
		json_str(&j, "name", p->name);
		json_bool(&j, "default", (int)i == c->default_pool);
		json_str(&j, "algorithm", config_algo_name(p->algo));
		json_str(&j, "fallback",
			 p->fallback >= 0 ? c->pools[p->fallback].name : NULL);
		json_bool(&j, "failover", p->failover);
		json_arr_open(&j, "members");
		for (size_t k = 0; k < p->nmembers; k++) {
			json_obj_open(&j, NULL);
			json_str(&j, "name", c->members[p->members[k]].name);
			json_int(&j, "weight", c->members[p->members[k]].weight);
			json_obj_close(&j);
		}
		json_arr_close(&j);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_obj_close(&j);
	return json_end(&j) < 0;
}

int ctl_pools(const struct config *c)
{
	if (ctl_json)
		return pools_json(c);
	for (size_t i = 0; i < c->npools; i++) {
		const struct cfg_pool *p = &c->pools[i];
		printf("%s%s: algorithm %s", p->name,
		       (int)i == c->default_pool ? " (default)" : "",
		       config_algo_name(p->algo));
		if (p->fallback >= 0)
			printf(", fallback %s", c->pools[p->fallback].name);
		if (p->failover)
			printf(", failover");
		printf("\n  members:");
		for (size_t j = 0; j < p->nmembers; j++)
			printf(" %s(%d)", c->members[p->members[j]].name,
			       c->members[p->members[j]].weight);
		printf("\n");
	}
	return 0;
}

int ctl_member_set(const struct config *c, const char *name,
		   const char *state)
{
	int mi = config_member_index(c, name);
	struct store_sync *s;
	char key[200];

	if (mi < 0) {
		fprintf(stderr, "postlbctl: no member '%s' in %s\n", name,
			c->path);
		return 1;
	}
	if (route_state_parse(state) < 0) {
		fprintf(stderr, "postlbctl: state must be ready, drain, maint "
				"or down\n");
		return 1;
	}
	s = ctl_open(c);
	member_key(c, (size_t)mi, key, sizeof(key));
	if (store_sync_hset(s, key, "state", state) < 0) {
		fprintf(stderr, "postlbctl: %s\n", store_sync_error(s));
		store_sync_close(s);
		return 1;
	}
	ctl_member_changed(s, key, "state");
	printf("%s: %s\n", name, state);
	store_sync_close(s);
	return 0;
}

int ctl_member_suspend(const struct config *c, const char *name,
		       const char *domain, long long ms)
{
	int mi = config_member_index(c, name);
	struct store_sync *s;
	char key[200], field[300], until[32];
	int rc;

	if (mi < 0) {
		fprintf(stderr, "postlbctl: no member '%s'\n", name);
		return 1;
	}
	s = ctl_open(c);
	member_key(c, (size_t)mi, key, sizeof(key));
	snprintf(field, sizeof(field), "s:%s", domain);
	for (char *p = field; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	snprintf(until, sizeof(until), "%lld", ctl_redis_ms(s) + ms);
	rc = ms > 0 ? store_sync_hset(s, key, field, until)
		    : store_sync_hdel(s, key, field);
	if (rc < 0)
		fprintf(stderr, "postlbctl: %s\n", store_sync_error(s));
	else
		ctl_member_changed(s, key, field);
	if (rc >= 0)
		printf("%s: %s for %s\n", name, ms > 0 ? "suspended" : "resumed",
		       field + 2);
	store_sync_close(s);
	return rc < 0;
}

/* explain --json: the rule that matched and its conditions. */
static void explain_rule_json(struct json *j, const struct cfg_rule *r)
{
	json_obj_open(j, "rule");
	json_str(j, "name", r->name);
	json_int(j, "line", r->line);
	json_arr_open(j, "matched_on");
	for (int s = 0; s < SUBJ_GLOBAL; s++)
		if (r->has[s])
			json_str(j, NULL, config_subj_name((enum subj)s));
	if (r->header)
		json_str(j, NULL, "header");
	if (r->size_min >= 0 || r->size_max >= 0)
		json_str(j, NULL, "size");
	json_arr_close(j);
	json_obj_close(j);
}

/* Prints why rule r matched: its conditions. */
static void explain_rule(const struct cfg_rule *r)
{
	printf("rule '%s' (line %d) matched on:", r->name, r->line);
	for (int s = 0; s < SUBJ_GLOBAL; s++)
		if (r->has[s])
			printf(" %s", config_subj_name((enum subj)s));
	if (r->header)
		printf(" header %s", r->header);
	if (r->size_min >= 0)
		printf(" size >= %lld", r->size_min);
	if (r->size_max >= 0)
		printf(" size <= %lld", r->size_max);
	printf("\n");
}

/* strdup that says so when memory runs out (NULL then). */
static char *ctl_dup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		fprintf(stderr, "postlbctl: out of memory\n");
	return d;
}

/*
 * Reads the headers (until the empty line) of a message file that rules
 * match, as the milter keeps them (route_header_keep; unfolded lines
 * only), and its size with CRLF line ends, as the milter counts it.
 */
static int explain_file(const struct config *c, const char *path,
			struct route_msg *m, char **store, size_t *nstore)
{
	FILE *f = fopen(path, "r");
	unsigned char *matched = calloc(c->nrules + 1, 1); /* flag per rule */
	char line[1000];
	long long size = 0;
	int in_headers = 1;

	if (f == NULL || matched == NULL) {
		perror(path);
		if (f != NULL)
			fclose(f);
		free(matched);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon;
		line[strcspn(line, "\r\n")] = '\0';
		size += (long long)strlen(line) + 2;
		if (line[0] == '\0')
			in_headers = 0;
		if (!in_headers || line[0] == ' ' || line[0] == '\t' ||
		    (colon = strchr(line, ':')) == NULL ||
		    m->nheaders == ROUTE_HEADERS_MAX ||
		    *nstore + 2 > EXPLAIN_STRINGS_MAX)
			continue;
		*colon = '\0';
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		if (!route_header_keep(c, matched, line, colon))
			continue;
		store[*nstore] = ctl_dup(line);
		store[*nstore + 1] = ctl_dup(colon);
		if (store[*nstore] == NULL || store[*nstore + 1] == NULL) {
			free(store[*nstore]);
			free(store[*nstore + 1]);
			fclose(f);
			free(matched);
			return -1;
		}
		m->hdr_name[m->nheaders] = store[*nstore];
		m->hdr_value[m->nheaders++] = store[*nstore + 1];
		*nstore += 2;
	}
	fclose(f);
	free(matched);
	m->size = size;
	return 0;
}

/*
 * Counts recipient rcpt as Postfix would resolve it: by -T
 * TRANSPORT[:NEXTHOP] (the last one given before it) or, without one, by
 * the default "smtp" to the recipient's domain.
 */
static void explain_take(const struct config *c, const char *spec,
			 const char *domain, struct take_tally *t)
{
	char mailer[128], host[300];
	const char *colon;

	if (spec == NULL) {
		snprintf(mailer, sizeof(mailer), "smtp");
		snprintf(host, sizeof(host), "%s", domain);
	} else {
		colon = strchr(spec, ':');
		snprintf(mailer, sizeof(mailer), "%.*s",
			 colon ? (int)(colon - spec) : (int)strlen(spec), spec);
		snprintf(host, sizeof(host), "%s",
			 colon && colon[1] ? colon + 1 : domain);
	}
	takeover_count(t, takeover_rcpt(c, mailer, host, domain), mailer,
		       host);
}

/* Parses explain's options into m and t; strings live in store. */
static int explain_args(const struct config *c, int argc, char **argv,
			struct route_msg *m, struct take_tally *t,
			char **store, size_t *nstore)
{
	const char *spec = NULL;

	memset(m, 0, sizeof(*m));
	memset(t, 0, sizeof(*t));
	m->size = -1;
	for (int i = 0; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (strcmp(o, "-T") == 0) {
			spec = v;
		} else if (strcmp(o, "-r") == 0 && strrchr(v, '@') != NULL &&
			   m->ndomains == ROUTE_DOMAINS_MAX) {
			explain_take(c, spec, strrchr(v, '@') + 1, t);
		} else if (strcmp(o, "-s") == 0) {
			m->sender = v;
		} else if (strcmp(o, "-u") == 0) {
			m->sasl_user = v;
		} else if (strcmp(o, "-i") == 0) {
			m->client_addr = v;
		} else if (strcmp(o, "-z") == 0) {
			m->size = atoll(v);
		} else if (strcmp(o, "-r") == 0 && m->ndomains < ROUTE_DOMAINS_MAX &&
			   strrchr(v, '@') != NULL) {
			char *d = ctl_dup(strrchr(v, '@') + 1);
			if (d == NULL)
				return -1;
			for (char *p = d; *p; p++)
				*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			store[(*nstore)++] = d;
			m->rcpt_domains[m->ndomains++] = d;
			explain_take(c, spec, d, t);
		} else if (strcmp(o, "-H") == 0 && strchr(v, ':') != NULL &&
			   m->nheaders < ROUTE_HEADERS_MAX) {
			char *n = ctl_dup(v), *val;
			if (n == NULL)
				return -1;
			val = strchr(n, ':');
			*val++ = '\0';
			while (*val == ' ')
				val++;
			store[(*nstore)++] = n;
			m->hdr_name[m->nheaders] = n;
			m->hdr_value[m->nheaders++] = val;
		} else if (strcmp(o, "-m") == 0) {
			if (explain_file(c, v, m, store, nstore) < 0)
				return -1;
		} else {
			fprintf(stderr,
				"postlbctl explain: [-s SENDER] "
				"[[-T TRANSPORT[:NEXTHOP]] -r RCPT]... "
				"[-u SASL_USER] [-i CLIENT_IP] [-H 'Name: "
				"value']... [-z SIZE] [-m MESSAGE_FILE]\n");
			return -1;
		}
	}
	if (argc % 2 != 0) {
		fprintf(stderr, "postlbctl explain: option %s needs a value\n",
			argv[argc - 1]);
		return -1;
	}
	return 0;
}

/*
 * Explains one pool (site: this host's site's members only; prefer_site
 * tries them first): candidates, live states, the next pick; as JSON into
 * j when it is not NULL.
 */
static int explain_plan(const struct config *c, struct store_sync *s,
			int pool, const struct route_msg *m, int site,
			struct json *j)
{
	static struct route_view view;
	static struct route_plan plan;
	static int ok[CONFIG_POOL_MEMBERS_MAX];
	char key[200], v[32], hdr[ROUTE_HEADER_VALUE_MAX];
	long long k = 0;
	long pos;

	if (j != NULL) {
		json_obj_open(j, NULL);
		json_str(j, "name", c->pools[pool].name);
		json_str(j, "algorithm", config_algo_name(c->pools[pool].algo));
		json_bool(j, "site_only", site);
		json_arr_open(j, "members");
	} else {
		printf("pool '%s': algorithm %s%s\n", c->pools[pool].name,
		       config_algo_name(c->pools[pool].algo),
		       site ? ", members of this host's site first" : "");
	}
	for (size_t i = 0; i < c->nmembers; i++) {
		struct mfields f;
		member_fields(s, c, i, &f);
		view.state[i] = f.state;
		view.held[i] = f.held;
	}
	if (route_plan_pool(c, pool, &view, m, ctl_redis_ms(s) / 86400000,
			    site, &plan) != 0) {
		if (j != NULL) {
			json_arr_close(j);
			json_null(j, "next_pick");
			json_obj_close(j);
		} else
			printf("  no member of this host%s\n",
			       site ? "'s site" : "");
		return -1;
	}
	for (size_t i = 0; i < plan.n; i++) {
		size_t mi = plan.member[i];
		struct mfields f;
		long long today = member_today(s, c, mi);
		member_fields(s, c, mi, &f);
		ok[i] = f.state == MS_READY &&
			(plan.cap[i] < 0 || today < plan.cap[i]);
		for (size_t d = 0; d < m->ndomains && ok[i]; d++) {
			char needle[300];
			snprintf(needle, sizeof(needle), "%s (",
				 m->rcpt_domains[d]);
			if (strstr(f.susp, needle) != NULL)
				ok[i] = 0;
		}
		if (j != NULL) {
			json_obj_open(j, NULL);
			json_str(j, "name", c->members[mi].name);
			json_int(j, "weight", plan.weight[i]);
			json_str(j, "state", route_state_name(f.state));
			json_int(j, "today", today);
			if (plan.cap[i] >= 0)
				json_int(j, "cap", plan.cap[i]);
			else
				json_null(j, "cap");
			json_str(j, "suspended", f.susp);
			json_bool(j, "usable", ok[i]);
			json_obj_close(j);
			continue;
		}
		printf("  %-16s weight %-4d %-6s today %lld", c->members[mi].name,
		       plan.weight[i], route_state_name(f.state), today);
		if (plan.cap[i] >= 0)
			printf(" of warm-up cap %lld", plan.cap[i]);
		printf("%s%s%s\n", f.susp[0] ? ", suspended for " : "", f.susp,
		       ok[i] ? "" : " (skipped)");
	}
	snprintf(key, sizeof(key), "%srr:%s%s", c->redis_prefix,
		 c->pools[pool].name, plan.set);
	if (store_sync_get(s, key, v, sizeof(v)) == 1)
		k = atoll(v);
	if (j != NULL)
		json_arr_close(j);
	if (j != NULL && plan.mode == RM_LEAST) {
		json_null(j, "next_pick");
		json_str(j, "next_pick_rule", "least_outstanding");
		json_obj_close(j);
		return 0;
	}
	if (plan.mode == RM_LEAST) {
		printf("  next pick: the member with the fewest messages "
		       "assigned in the last %llds per weight\n",
		       c->outstanding_ttl_ms / 1000);
		return 0;
	}
	pos = select_walk(plan.cycle, plan.len,
			  plan.mode == RM_SEQ ? (unsigned long long)k + 1 : 0,
			  ok);
	if (pos >= 0)
		route_header_value(c, &plan, (size_t)pos, hdr, sizeof(hdr));
	if (j != NULL) {
		json_str(j, "next_pick",
			 pos >= 0 ? c->members[plan.member[pos]].name : NULL);
		json_str(j, "header", pos >= 0 ? hdr : NULL);
		json_obj_close(j);
		return pos >= 0 ? 0 : -1;
	}
	if (pos < 0) {
		printf("  no member can take mail now\n");
		return -1;
	}
	printf("  next pick: %s\n  header: %s: %s\n",
	       c->members[plan.member[pos]].name, ROUTE_HEADER, hdr);
	return 0;
}

static int explain_pool(const struct config *c, struct store_sync *s,
			int pool, const struct route_msg *m, struct json *j)
{
	if (c->pools[pool].prefer_site && c->host_site != NULL &&
	    explain_plan(c, s, pool, m, 1, j) == 0)
		return 0;
	return explain_plan(c, s, pool, m, 0, j);
}

/* Says why a message is not postlb's to route (takeover.h). */
static void explain_left(const char *why, const struct take_tally *t)
{
	printf("left to Postfix (%s): ", why);
	if (strcmp(why, "mixed") == 0)
		printf("%zu recipient(s) go by Postfix's default outbound "
		       "route and %zu by another (first: %s); a route header "
		       "would send them all through one member, so postlb "
		       "adds none\n",
		       t->yes, t->no, t->why);
	else if (strcmp(why, "not-outbound") == 0)
		printf("Postfix resolves the recipients to %s, not to its "
		       "default outbound route (local, virtual, lmtp, relay "
		       "or transport_maps delivery; routing.takeover)\n",
		       t->why);
	else
		printf("Postfix does not say how it resolves the recipients\n");
}

int ctl_explain(const struct config *c, int argc, char **argv)
{
	struct route_msg m;
	struct take_tally take;
	const char *why;
	char *store[EXPLAIN_STRINGS_MAX] = {0};
	size_t nstore = 0;
	struct store_sync *s;
	struct json j, *jp = NULL;
	int rule, pool, hops = 0, rc = 1;

	if (c->default_pool < 0) {
		fprintf(stderr, "postlbctl: %s has no routing section\n",
			c->path);
		return 1;
	}
	if (explain_args(c, argc, argv, &m, &take, store, &nstore) < 0)
		goto out;
	/* without -r nothing says where the message goes: assume outbound */
	if (ctl_json) {
		jp = &j;
		json_init(jp, stdout);
		json_obj_open(jp, NULL);
	}
	if (take.yes + take.no + take.unknown > 0 &&
	    !takeover_message(&take, &why)) {
		if (jp != NULL) {
			json_bool(jp, "routed_by_postlb", 0);
			json_str(jp, "left_to_postfix", why);
			json_obj_close(jp);
			rc = json_end(jp) < 0;
			goto out;
		}
		explain_left(why, &take);
		rc = 0;
		goto out;
	}
	pool = route_classify(c, &m, &rule);
	if (jp != NULL) {
		json_bool(jp, "routed_by_postlb", 1);
		json_null(jp, "left_to_postfix");
		if (rule >= 0)
			explain_rule_json(jp, &c->rules[rule]);
		else
			json_null(jp, "rule");
		json_arr_open(jp, "pools");
	} else if (rule >= 0) {
		explain_rule(&c->rules[rule]);
	} else {
		printf("no rule matched: default pool\n");
	}
	s = ctl_open(c);
	while (pool >= 0 && hops++ <= (int)c->npools) {
		if (explain_pool(c, s, pool, &m, jp) == 0) {
			rc = 0;
			break;
		}
		pool = c->pools[pool].fallback;
		if (pool >= 0 && jp == NULL)
			printf("falling back to pool '%s'\n",
			       c->pools[pool].name);
	}
	if (jp != NULL) {
		json_arr_close(jp);
		json_str(jp, "no_member",
			 rc == 0 ? NULL
			 : c->no_member_tempfail ? "tempfail"
						 : "default_transport");
		json_obj_close(jp);
	} else if (rc != 0) {
		printf("no member: %s\n", c->no_member_tempfail
					      ? "the message is tempfailed (451 4.4.3)"
					      : "Postfix's default transport");
	}
	store_sync_close(s);
	rc = jp != NULL ? json_end(jp) < 0 : 0;
out:
	for (size_t i = 0; i < nstore; i++)
		free(store[i]);
	return rc;
}
