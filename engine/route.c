/*
 * route: classification, candidate plans, the route script's arguments,
 * the local fallback pick and the route header (see route.h).  No I/O.
 */
#include "route.h"

#include "select.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Candidate positions are bytes (select.c, the script's cycle string). */
_Static_assert(CONFIG_MEMBERS_MAX < 256, "member positions must fit a byte");

/*
 * ROUTE_LUA.  KEYS: [1] the pool's counter, then per candidate i the
 * member's state hash (field "state", fields "s:DOMAIN" = suspended until
 * ms), its warm-up count for today and its outstanding set.  ARGV: mode
 * ("seq", "order", "least"), cycle (one byte per slot: candidate number),
 * outstanding ttl in ms, queue id, the number of domains, the domains,
 * then per candidate its weight and today's cap (-1: none), and last the
 * number of picks P.  Time is Redis's (TIME), not the caller's, so hosts
 * with skewed clocks agree on suspensions and outstanding ages.
 * A candidate is usable when its state is absent or "ready", no domain of
 * the message suspends it and its count is under the cap.  P > 1 (a
 * reservation, "seq" only, no domains): the next P slots of the shared
 * counter are picked at once, caps counted pick by pick, and a pick of a
 * member suspended for any domain is returned negated (the caller routes
 * such a message with its own call).  Suspension fields seen expired are
 * deleted.  Returns {counter before the picks, pick 1, ..., pick P}, a
 * pick being a candidate number or 0 (none).  Picks are counted in
 * today's counts and, in a least_outstanding pool with a queue id, in the
 * outstanding set.
 */
const char ROUTE_LUA[] =
    "#!lua\n"
    "local mode, cycle = ARGV[1], ARGV[2]\n"
    "local ttl, qid = tonumber(ARGV[3]), ARGV[4]\n"
    "local nd = tonumber(ARGV[5])\n"
    "local base = 5 + nd\n"
    "local np = tonumber(ARGV[#ARGV])\n"
    "local n = (#KEYS - 1) / 3\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local function hdel(key, f)\n"
    "  for j = 1, #f, 100 do\n"
    "    redis.call('HDEL', key, unpack(f, j, math.min(j + 99, #f)))\n"
    "  end\n"
    "end\n"
    "local fields = {'state'}\n"
    "for d = 1, nd do fields[d + 1] = 's:' .. ARGV[5 + d] end\n"
    "local ok, susp, cap, cnt, used = {}, {}, {}, {}, {}\n"
    "for i = 1, n do\n"
    "  local good, old = true, {}\n"
    "  if np > 1 then\n"
    "    local h = redis.call('HGETALL', KEYS[3*i - 1])\n"
    "    for j = 1, #h, 2 do\n"
    "      if h[j] == 'state' then\n"
    "        if h[j + 1] ~= 'ready' then good = false end\n"
    "      elseif string.sub(h[j], 1, 2) == 's:' then\n"
    "        if (tonumber(h[j + 1]) or 0) > now then susp[i] = true\n"
    "        else old[#old + 1] = h[j] end\n"
    "      end\n"
    "    end\n"
    "  else\n"
    "    local v = redis.call('HMGET', KEYS[3*i - 1], unpack(fields))\n"
    "    good = (not v[1]) or v[1] == 'ready'\n"
    "    for d = 2, #v do\n"
    "      if v[d] then\n"
    "        if (tonumber(v[d]) or 0) > now then good = false\n"
    "        else old[#old + 1] = fields[d] end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  hdel(KEYS[3*i - 1], old)\n"
    "  cap[i] = tonumber(ARGV[base + 2*i])\n"
    "  cnt[i] = 0\n"
    "  used[i] = 0\n"
    "  if good and cap[i] >= 0 then\n"
    "    cnt[i] = tonumber(redis.call('GET', KEYS[3*i]) or '0')\n"
    "    if cnt[i] >= cap[i] then good = false end\n"
    "  end\n"
    "  ok[i] = good\n"
    "end\n"
    "local k = 0\n"
    "if mode ~= 'order' then k = redis.call('INCRBY', KEYS[1], np) - np end\n"
    "local out = {k}\n"
    "for t = 1, np do\n"
    "  local kt, pick = k + t, 0\n"
    "  if mode == 'order' then kt = 0 end\n"
    "  if mode == 'least' then\n"
    "    local best\n"
    "    for j = 0, n - 1 do\n"
    "      local i = ((kt + j) % n) + 1\n"
    "      if ok[i] then\n"
    "        redis.call('ZREMRANGEBYSCORE', KEYS[3*i + 1], '-inf', now - ttl)\n"
    "        local s = (redis.call('ZCARD', KEYS[3*i + 1]) + 1) /\n"
    "          tonumber(ARGV[base + 2*i - 1])\n"
    "        if best == nil or s < best then best = s; pick = i end\n"
    "      end\n"
    "    end\n"
    "  else\n"
    "    local len = #cycle\n"
    "    for j = 0, len - 1 do\n"
    "      local i = string.byte(cycle, ((kt + j) % len) + 1)\n"
    "      if ok[i] then pick = i; break end\n"
    "    end\n"
    "  end\n"
    "  if pick > 0 then\n"
    "    used[pick] = used[pick] + 1\n"
    "    if cap[pick] >= 0 then\n"
    "      cnt[pick] = cnt[pick] + 1\n"
    "      if cnt[pick] >= cap[pick] then ok[pick] = false end\n"
    "    end\n"
    "    if mode == 'least' and qid ~= '' then\n"
    "      redis.call('ZADD', KEYS[3*pick + 1], now, qid)\n"
    "      redis.call('PEXPIRE', KEYS[3*pick + 1], ttl * 2)\n"
    "    end\n"
    "    if susp[pick] then pick = -pick end\n"
    "  end\n"
    "  out[t + 1] = pick\n"
    "end\n"
    "for i = 1, n do\n"
    "  if used[i] > 0 and\n"
    "      redis.call('INCRBY', KEYS[3*i], used[i]) == used[i] then\n"
    "    redis.call('EXPIRE', KEYS[3*i], 172800)\n"
    "  end\n"
    "end\n"
    "return out\n";

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

/* Today's warm-up cap of member mi: -1 none, 0 before the start day. */
static long long route_cap(const struct cfg_member *mb, long long day)
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
