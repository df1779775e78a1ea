/*
 * route: classification, candidate plans, the route script's arguments,
 * the local fallback pick and the route header (see route.h).  No I/O.
 * The script itself is engine/route.lua.
 */
#include "route.h"

#include "health.h"
#include "select.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Candidate positions are bytes (select.c, the script's cycle string). */
_Static_assert(CONFIG_MEMBERS_MAX < 256, "member positions must fit a byte");

static const char *const state_names[] = {"ready", "drain", "maint", "down"};

const char *route_state_name(enum mstate s)
{
	return (unsigned)s <= MS_DOWN ? state_names[s] : "?";
}

int route_state_parse(const char *s)
{
	for (int i = 0; i <= MS_DOWN; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

static const char *route_domain_of(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	return at && at[1] ? at + 1 : NULL;
}

static int route_rule_matches(const struct cfg_rule *r,
			      const struct route_msg *m)
{
	const char *sd = route_domain_of(m->sender);

	if (r->has[SUBJ_SASL_USER] &&
	    (m->sasl_user == NULL || *m->sasl_user == '\0' ||
	     !config_set_has(&r->match[SUBJ_SASL_USER], SUBJ_SASL_USER,
			     m->sasl_user)))
		return 0;
	if (r->has[SUBJ_SENDER] &&
	    (m->sender == NULL ||
	     !config_set_has(&r->match[SUBJ_SENDER], SUBJ_SENDER, m->sender)))
		return 0;
	if (r->has[SUBJ_SENDER_DOMAIN] &&
	    (sd == NULL || !config_set_has(&r->match[SUBJ_SENDER_DOMAIN],
					   SUBJ_SENDER_DOMAIN, sd)))
		return 0;
	if (r->has[SUBJ_CLIENT_IP] &&
	    (m->client_addr == NULL ||
	     !config_set_has(&r->match[SUBJ_CLIENT_IP], SUBJ_CLIENT_IP,
			     m->client_addr)))
		return 0;
	if (r->has[SUBJ_RCPT_DOMAIN]) {
		size_t i = 0;
		while (i < m->ndomains &&
		       !config_set_has(&r->match[SUBJ_RCPT_DOMAIN],
				       SUBJ_RCPT_DOMAIN, m->rcpt_domains[i]))
			i++;
		if (i == m->ndomains)
			return 0;
	}
	if (r->size_min >= 0 && (m->size < 0 || m->size < r->size_min))
		return 0;
	if (r->size_max >= 0 && (m->size < 0 || m->size > r->size_max))
		return 0;
	if (r->header != NULL) {
		size_t i = 0;
		while (i < m->nheaders &&
		       !(strcasecmp(m->hdr_name[i], r->header) == 0 &&
			 regexec(&r->re, m->hdr_value[i], 0, NULL, 0) == 0))
			i++;
		if (i == m->nheaders)
			return 0;
	}
	return 1;
}

int route_header_keep(const struct config *c, unsigned char *matched,
		      const char *name, const char *value)
{
	int keep = 0;

	for (size_t i = 0; i < c->nrules; i++) {
		const struct cfg_rule *r = &c->rules[i];
		if (r->header == NULL || matched[i] ||
		    strcasecmp(r->header, name) != 0 ||
		    regexec(&r->re, value, 0, NULL, 0) != 0)
			continue;
		matched[i] = 1;
		keep = 1;
	}
	return keep;
}

int route_classify(const struct config *c, const struct route_msg *m,
		   int *rule)
{
	for (size_t i = 0; i < c->nrules; i++)
		if (route_rule_matches(&c->rules[i], m)) {
			*rule = (int)i;
			return c->rules[i].pool;
		}
	*rule = -1;
	return c->default_pool;
}

long long route_cap(const struct cfg_member *mb, long long day)
{
	long long d;

	if (mb->warm_start_day < 0)
		return -1;
	d = day - mb->warm_start_day;
	if (d < 0)
		return 0;
	if ((size_t)d >= mb->nwarm)
		return -1;
	return mb->warm_caps[d];
}

/* The value an algorithm = hash pool hashes for m. */
static const char *route_hash_key(const struct cfg_pool *p,
				  const struct route_msg *m)
{
	switch (p->hash_key) {
	case HK_RCPT_DOMAIN:
		return m->ndomains ? m->rcpt_domains[0] : "";
	case HK_SASL_USER:
		return m->sasl_user ? m->sasl_user : "";
	case HK_SENDER:
		return m->sender ? m->sender : "";
	default: {
		const char *d = route_domain_of(m->sender);
		return d ? d : "";
	}
	}
}

int route_plan_pool(const struct config *c, int pool,
		    const struct route_view *view, const struct route_msg *m,
		    long long day, struct route_plan *out)
{
	const struct cfg_pool *p = &c->pools[pool];
	const char *names[CONFIG_MEMBERS_MAX];
	long len;

	out->pool = pool;
	out->n = 0;
	for (int pass = 0; pass < 2 && out->n == 0; pass++)
		for (size_t i = 0; i < p->nmembers; i++) {
			size_t mi = p->members[i];
			/* pass 1: nothing is ready as far as we know; let the
			 * live states decide among all members */
			if (pass == 0 && view->state[mi] != MS_READY)
				continue;
			out->member[out->n] = mi;
			out->weight[out->n] = c->members[mi].weight;
			out->cap[out->n] = route_cap(&c->members[mi], day);
			names[out->n] = c->members[mi].name;
			out->n++;
		}
	switch (p->algo) {
	case ALGO_RR:
		out->mode = RM_SEQ;
		len = select_rr_cycle(out->n, out->cycle, CONFIG_CYCLE_MAX);
		break;
	case ALGO_WRR:
		out->mode = RM_SEQ;
		len = select_wrr_cycle(out->weight, out->n, out->cycle,
				       CONFIG_CYCLE_MAX);
		break;
	case ALGO_LEAST:
		out->mode = RM_LEAST;
		len = select_rr_cycle(out->n, out->cycle, CONFIG_CYCLE_MAX);
		break;
	default: {
		const char *key = route_hash_key(p, m);
		out->mode = RM_ORDER;
		select_hash_order(key, strlen(key), names, out->weight, out->n,
				  out->cycle);
		len = (long)out->n;
	}
	}
	if (len <= 0)
		return -1;
	out->len = (size_t)len;
	return 0;
}

long long route_today(void)
{
	return (long long)time(NULL) / 86400;
}

void route_day_string(long long day, char out[16])
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y%m%d", &tm);
}

/* Appends one argument (copied into the call's buffer). */
static int route_arg(struct route_call *rc, size_t *used, const char *s,
		     size_t len)
{
	if (rc->argc >= ROUTE_ARGS_MAX || *used + len + 1 > sizeof(rc->buf))
		return -1;
	memcpy(rc->buf + *used, s, len);
	rc->buf[*used + len] = '\0';
	rc->argv[rc->argc] = rc->buf + *used;
	rc->lens[rc->argc++] = len;
	*used += len + 1;
	return 0;
}

/* printf-style route_arg. */
__attribute__((format(printf, 3, 4))) static int
route_argf(struct route_call *rc, size_t *used, const char *fmt,
		      ...)
{
	char tmp[600];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	return route_arg(rc, used, tmp, (size_t)n);
}

int route_call_build(const struct config *c, const struct route_plan *plan,
		     const struct route_msg *m, long long day,
		     size_t npicks, struct route_call *out)
{
	static const char *const modes[] = {"seq", "order", "least"};
	const char *pfx = c->redis_prefix;
	char ds[16], cyc[CONFIG_CYCLE_MAX];
	size_t used = 0;
	int rc = 0;

	route_day_string(day, ds);
	out->argc = 0;
	rc |= route_argf(out, &used, "%srr:%s", pfx, c->pools[plan->pool].name);
	for (size_t i = 0; i < plan->n; i++) {
		const char *nm = c->members[plan->member[i]].name;
		rc |= route_argf(out, &used, "%sm:%s", pfx, nm);
		rc |= route_argf(out, &used, "%sw:%s:%s", pfx, nm, ds);
		rc |= route_argf(out, &used, "%slc:%s", pfx, nm);
	}
	rc |= route_argf(out, &used, "%s" HEALTH_KEY_PROVIDERS, pfx);
	out->nkeys = (int)(2 + 3 * plan->n);
	for (size_t i = 0; i < plan->len; i++)
		cyc[i] = (char)(plan->cycle[i] + 1);
	rc |= route_argf(out, &used, "%s", modes[plan->mode]);
	rc |= route_arg(out, &used, cyc, plan->len);
	rc |= route_argf(out, &used, "%lld", c->outstanding_ttl_ms);
	if (npicks > 1) { /* a reservation: for no message in particular */
		if (plan->mode != RM_SEQ || npicks > CONFIG_RESERVE_MAX)
			return -1;
		rc |= route_arg(out, &used, "", 0);
		rc |= route_arg(out, &used, "0", 1);
	} else {
		const char *qid = m->queue_id ? m->queue_id : "";
		rc |= route_arg(out, &used, qid,
				strnlen(qid, ROUTE_QUEUE_ID_MAX));
		rc |= route_argf(out, &used, "%zu", m->ndomains);
		for (size_t d = 0; d < m->ndomains; d++)
			rc |= route_arg(out, &used, m->rcpt_domains[d],
					strnlen(m->rcpt_domains[d],
						ROUTE_DOMAIN_MAX));
	}
	for (size_t i = 0; i < plan->n; i++) {
		rc |= route_argf(out, &used, "%d", plan->weight[i]);
		rc |= route_argf(out, &used, "%lld", plan->cap[i]);
	}
	if (c->slowstart_ms > 0) {
		rc |= route_argf(out, &used, "%lld", c->slowstart_ms);
		rc |= route_argf(out, &used, "%d", c->slowstart_min_pct);
	}
	rc |= route_argf(out, &used, "%zu", npicks ? npicks : 1);
	return rc ? -1 : 0;
}

/* 1 if a suspension in k of member mi for one of m's domains lasts. */
static int route_suspended(const struct route_known *k, size_t mi,
			   const struct route_msg *m, long long now_ms)
{
	for (size_t i = 0; i < k->nsusp; i++) {
		const struct route_susp *s = &k->susp[i];
		if (s->member != mi || s->until_ms <= now_ms)
			continue;
		for (size_t d = 0; d < m->ndomains; d++)
			if (strcmp(s->domain, m->rcpt_domains[d]) == 0)
				return 1;
	}
	return 0;
}

size_t route_local_usable(const struct route_plan *plan,
			  const struct route_known *k,
			  const struct route_msg *m, long long now_ms, int *ok)
{
	size_t n = 0;

	for (size_t i = 0; i < plan->n; i++) {
		size_t mi = plan->member[i];
		ok[i] = k->view->state[mi] == MS_READY &&
			(plan->cap[i] < 0 || k->count == NULL ||
			 k->count[mi] < plan->cap[i]) &&
			!route_suspended(k, mi, m, now_ms);
		n += (size_t)ok[i];
	}
	return n;
}

long route_pick_local(const struct route_plan *plan, unsigned long long k,
		      const long long *outstanding, const int *usable)
{
	int ok[CONFIG_MEMBERS_MAX];
	long long out[CONFIG_MEMBERS_MAX];

	for (size_t i = 0; i < plan->n; i++) {
		ok[i] = usable ? usable[i] : 1;
		out[i] = outstanding ? outstanding[plan->member[i]] : 0;
	}
	if (plan->mode == RM_LEAST)
		return select_least(out, plan->weight, ok, plan->n, k);
	return select_walk(plan->cycle, plan->len,
			   plan->mode == RM_ORDER ? 0 : k, ok);
}

int route_header_value(const struct config *c, const struct route_plan *plan,
		       size_t pos, char *out, size_t outsz)
{
	const struct cfg_member *mb = &c->members[plan->member[pos]];
	const char *listed[ROUTE_FAILOVER_MAX];
	size_t o;
	int n, extra = 0;

	n = mb->nexthop ? snprintf(out, outsz, "%s %s", mb->name, mb->nexthop)
			: snprintf(out, outsz, "%s", mb->name);
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	o = (size_t)n;
	if (mb->nexthop == NULL || !c->pools[plan->pool].failover)
		return 0;
	for (size_t j = 1; j < plan->n && extra < ROUTE_FAILOVER_MAX; j++) {
		const struct cfg_member *alt =
		    &c->members[plan->member[(pos + j) % plan->n]];
		int dup = alt->nexthop == NULL ||
			  strcmp(alt->nexthop, mb->nexthop) == 0;
		/* a relay listed twice would take a failover slot for naught */
		for (int e = 0; !dup && e < extra; e++)
			dup = strcmp(alt->nexthop, listed[e]) == 0;
		if (dup)
			continue;
		n = snprintf(out + o, outsz - o, ",%s", alt->nexthop);
		if (n < 0 || (size_t)n >= outsz - o)
			return -1;
		o += (size_t)n;
		listed[extra++] = alt->nexthop;
	}
	return 0;
}
