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
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Candidate positions are 16-bit (select.c, the script's cycle string). */
_Static_assert(CONFIG_POOL_MEMBERS_MAX <= SELECT_N_MAX &&
		   CONFIG_POOL_MEMBERS_MAX < 65535,
	       "member positions must fit 16 bits");

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

long long route_warm_cap(const struct cfg_member *mb, long long day,
			 long long held)
{
	long long d;

	if (mb->warm_start_day < 0)
		return -1;
	d = day - mb->warm_start_day;
	if (d < 0)
		return 0;
	d -= held > 0 ? held : 0; /* a hold never goes before day 0 */
	if (d < 0)
		d = 0;
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

/* FNV-1a over len bytes of p into *h. */
static void route_fnv(unsigned long long *h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		*h = (*h ^ b[i]) * 1099511628211ULL;
}

/* plan->def: a hash of what the definition holds (the candidates' names,
 * weights and caps, and the cycle but for a hash pool). */
static void route_def_hash(const struct config *c, struct route_plan *plan)
{
	unsigned long long h = 1469598103934665603ULL;

	for (size_t i = 0; i < plan->n; i++) {
		const char *nm = c->members[plan->member[i]].name;
		route_fnv(&h, nm, strlen(nm) + 1);
		route_fnv(&h, &plan->weight[i], sizeof(plan->weight[i]));
		route_fnv(&h, &plan->cap[i], sizeof(plan->cap[i]));
	}
	if (plan->mode != RM_ORDER)
		route_fnv(&h, plan->cycle, plan->len * sizeof(plan->cycle[0]));
	snprintf(plan->def, sizeof(plan->def), "%016llx", h);
}

/*
 * The rotation counter's suffix of a plan over the members of pool p for
 * which allowed() holds: "" when that is all of them, else ":" and the
 * FNV-1a hash of their names, so hosts (sites) with the same set share
 * one rotation and others do not disturb it.
 */
static void route_set(const struct config *c, const struct cfg_pool *p,
		      const unsigned char *allowed, char *out)
{
	unsigned long long h = 1469598103934665603ULL;
	size_t n = 0;

	for (size_t i = 0; i < p->nmembers; i++) {
		if (!allowed[i])
			continue;
		n++;
		for (const char *s = c->members[p->members[i]].name; *s; s++)
			h = (h ^ (unsigned char)*s) * 1099511628211ULL;
		h = (h ^ ' ') * 1099511628211ULL;
	}
	if (n == p->nmembers)
		out[0] = '\0';
	else
		snprintf(out, ROUTE_SET_MAX + 1, ":%016llx", h);
}

int route_plan_pool(const struct config *c, int pool,
		    const struct route_view *view, const struct route_msg *m,
		    long long day, int site, struct route_plan *out)
{
	const struct cfg_pool *p = &c->pools[pool];
	unsigned char allowed[CONFIG_POOL_MEMBERS_MAX];
	long len;

	out->pool = pool;
	out->n = 0;
	for (size_t i = 0; i < p->nmembers; i++)
		allowed[i] = c->members[p->members[i]].here &&
			     (!site || config_member_local(c, p->members[i]));
	route_set(c, p, allowed, out->set);
	for (int pass = 0; pass < 2 && out->n == 0; pass++)
		for (size_t i = 0; i < p->nmembers; i++) {
			size_t mi = p->members[i];
			/* pass 1: nothing is ready as far as we know; let the
			 * live states decide among all members */
			if (!allowed[i] ||
			    (pass == 0 && view->state[mi] != MS_READY))
				continue;
			out->member[out->n] = mi;
			out->weight[out->n] = c->members[mi].weight;
			out->cap[out->n] = route_warm_cap(&c->members[mi], day,
							  view->held[mi]);
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
	default:
		out->mode = RM_ORDER;
		len = (long)out->n;
	}
	if (len <= 0)
		return -1;
	out->len = (size_t)len;
	out->spill = 0;
	route_def_hash(c, out);
	if (out->mode == RM_ORDER)
		route_plan_order(c, out, m, out->n);
	return 0;
}

size_t route_plan_order(const struct config *c, struct route_plan *plan,
			const struct route_msg *m, size_t top)
{
	uint64_t seeds[CONFIG_POOL_MEMBERS_MAX];
	const char *key = route_hash_key(&c->pools[plan->pool], m);

	for (size_t i = 0; i < plan->n; i++)
		seeds[i] = c->members[plan->member[i]].seed;
	plan->len = select_hash_order(key, strlen(key), seeds, plan->weight,
				      plan->n, plan->cycle, top);
	return plan->len;
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

/* The cycle argument: two digits of base 255 per slot, each + 1, so no
 * byte is NUL (redis-cli can pass it too); 2 * plan->len bytes. */
static void route_cycle_bytes(const struct route_plan *plan, char *out)
{
	for (size_t i = 0; i < plan->len; i++) {
		out[2 * i] = (char)((plan->cycle[i] + 1) / 255 + 1);
		out[2 * i + 1] = (char)((plan->cycle[i] + 1) % 255 + 1);
	}
}

int route_def_build(const struct config *c, const struct route_plan *plan,
		    struct route_def *out)
{
	char *f;

	if (plan->n > CONFIG_POOL_MEMBERS_MAX || plan->len > CONFIG_CYCLE_MAX)
		return -1;
	f = out->names;
	for (size_t i = 0; i < plan->n; i++, f += ROUTE_NAME_W)
		snprintf(f, ROUTE_NAME_W + 1, "%-*s", ROUTE_NAME_W,
			 c->members[plan->member[i]].name);
	out->lens[ROUTE_DEF_NAMES] = plan->n * ROUTE_NAME_W;
	f = out->weights;
	for (size_t i = 0; i < plan->n; i++, f += ROUTE_WEIGHT_W)
		snprintf(f, ROUTE_WEIGHT_W + 1, "%*d", ROUTE_WEIGHT_W,
			 plan->weight[i]);
	out->lens[ROUTE_DEF_WEIGHTS] = plan->n * ROUTE_WEIGHT_W;
	f = out->caps;
	for (size_t i = 0; i < plan->n; i++, f += ROUTE_CAP_W) {
		long long v = plan->cap[i] < 0 ? -1 : plan->cap[i];
		char tmp[24];
		snprintf(tmp, sizeof(tmp), "%*lld", ROUTE_CAP_W,
			 v < 9999999999LL ? v : 9999999999LL);
		memcpy(f, tmp, ROUTE_CAP_W + 1);
	}
	out->lens[ROUTE_DEF_CAPS] = plan->n * ROUTE_CAP_W;
	/* a hash pool's order is the message's: sent inline, not stored */
	out->lens[ROUTE_DEF_CYCLE] = plan->mode == RM_ORDER ? 0 : 2 * plan->len;
	route_cycle_bytes(plan, out->cycle);
	out->cycle[2 * plan->len] = '\0';
	snprintf(out->key, sizeof(out->key), "%srd:%s", c->redis_prefix,
		 plan->def);
	return 0;
}

int route_call_build(const struct config *c, const struct route_plan *plan,
		     const struct route_msg *m, long long day,
		     size_t npicks, struct route_call *out)
{
	static const char *const modes[] = {"seq", "order", "least"};
	const char *pfx = c->redis_prefix;
	char ds[16], cyc[2 * CONFIG_CYCLE_MAX];
	size_t used = 0;
	int rc = 0;

	route_day_string(day, ds);
	out->argc = 0;
	rc |= route_argf(out, &used, "%srr:%s%s", pfx, c->pools[plan->pool].name,
			 plan->set);
	rc |= route_argf(out, &used, "%s" HEALTH_KEY_PROVIDERS, pfx);
	rc |= route_argf(out, &used, "%srd:%s", pfx, plan->def);
	out->nkeys = 3;
	rc |= route_argf(out, &used, "%s", modes[plan->mode]);
	if (plan->mode == RM_ORDER) {
		route_cycle_bytes(plan, cyc);
		rc |= route_arg(out, &used, cyc, 2 * plan->len);
	} else
		rc |= route_arg(out, &used, "", 0);
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
	rc |= route_argf(out, &used, "%zu", plan->n);
	rc |= route_argf(out, &used, "%zu", plan->len);
	rc |= route_argf(out, &used, "%s", pfx);
	rc |= route_argf(out, &used, "%s", ds);
	if (c->slowstart_ms > 0) {
		rc |= route_argf(out, &used, "%lld", c->slowstart_ms);
		rc |= route_argf(out, &used, "%d", c->slowstart_min_pct);
	}
	rc |= route_argf(out, &used, "%zu", npicks ? npicks : 1);
	return rc ? -1 : 0;
}

static int route_prov_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct route_prov *)elem)->domain);
}

/* The learned provider of domain d in k, or NULL. */
static const char *route_provider(const struct route_known *k,
				  const char *d)
{
	const struct route_prov *p;

	if (k->nprov == 0)
		return NULL;
	p = bsearch(d, k->prov, k->nprov, sizeof(*p), route_prov_cmp);
	return p ? p->provider : NULL;
}

/* 1 if a suspension in k of member mi for m (one of its domains or of
 * their providers, or all its mail) lasts. */
static int route_suspended(const struct route_known *k, size_t mi,
			   const struct route_msg *m, long long now_ms)
{
	for (size_t i = 0; i < k->nsusp; i++) {
		const struct route_susp *s = &k->susp[i];
		if (s->member != mi || s->until_ms <= now_ms)
			continue;
		if (s->kind == RS_ALL)
			return 1;
		for (size_t d = 0; d < m->ndomains; d++) {
			const char *v =
			    s->kind == RS_DOMAIN
				? m->rcpt_domains[d]
				: route_provider(k, m->rcpt_domains[d]);
			if (v != NULL && strcmp(s->domain, v) == 0)
				return 1;
		}
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
