/*
 * router_local: what the router knows of the members without asking Redis
 * (see router.c): the refresher's reading of states, live suspensions and
 * today's warm-up counts, carried over a reload by member name, and the
 * local pick made from it when Redis cannot answer.  The pick honours the
 * last known state: a member not usable by it gets nothing.  Suspensions
 * by mailbox provider need the learned providers (PREFIX prov): they are
 * read only while one lasts.  Throttles are kept as suspensions (no host
 * can count the cluster's picks without Redis).
 */
#include "router_int.h"

#include "health.h"
#include "log.h"
#include "num.h"
#include "store_redis.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What one refresh reads: a member's state and its live suspensions. */
struct refresh_ctx {
	int state;
	int health_down; /* hc "down" or the breaker open (health.h) */
	long long held;	 /* warm-up days held back (health.h "wh") */
	size_t member;
	long long now_ms;
	struct route_susp *susp; /* owned until handed to the router */
	size_t nsusp, cap;
	int providers; /* some live suspension is by provider */
};

/* What the refresher reads of the learned providers (PREFIX prov). */
struct prov_ctx {
	struct route_prov *p;
	size_t n, cap;
};

void router_susp_free(struct route_susp *susp, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(susp[i].domain);
	free(susp);
}

void router_prov_free(struct route_prov *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].domain);
		free(p[i].provider);
	}
	free(p);
}

/* The leading "UNTIL" of a suspension ("UNTIL") or throttle ("UNTIL
 * RATE") value into *until; -1 when it has none. */
static int router_until(const char *value, long long *until)
{
	const char *sp = strchr(value, ' ');
	size_t len = sp ? (size_t)(sp - value) : strlen(value);

	return num_parse_ll(value, len, 0, LLONG_MAX, until);
}

/* Keeps a live suspension or throttle of the member: kind, name (the
 * domain or provider; "" for all its mail) and value ("UNTIL [RATE]"). */
static void router_on_susp(struct refresh_ctx *x, enum route_susp_kind kind,
			   const char *name, const char *value)
{
	long long until;

	if (router_until(value, &until) < 0 || until <= x->now_ms ||
	    x->nsusp >= ROUTER_SUSP_MAX)
		return;
	if (x->nsusp == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 16;
		struct route_susp *n = realloc(x->susp, cap * sizeof(*n));
		if (n == NULL)
			return;
		x->susp = n;
		x->cap = cap;
	}
	x->susp[x->nsusp].domain = strdup(name);
	if (x->susp[x->nsusp].domain == NULL)
		return;
	x->susp[x->nsusp].kind = kind;
	x->susp[x->nsusp].member = x->member;
	x->susp[x->nsusp++].until_ms = until;
	x->providers |= kind == RS_PROVIDER;
}

/* The suspension fields: prefix, kind, and how long the prefix is. */
static const struct {
	const char *prefix;
	enum route_susp_kind kind;
} router_susp_fields[] = {
    {"s:", RS_DOMAIN},
    {"ts:", RS_DOMAIN},
    {HEALTH_F_PROVIDER, RS_PROVIDER},
    {"tp:", RS_PROVIDER},
};

static void router_on_field(void *arg, const char *field, const char *value)
{
	struct refresh_ctx *x = arg;
	int st;
	long long until;

	if (strcmp(field, "state") == 0 && (st = route_state_parse(value)) >= 0)
		x->state = st;
	else if (strcmp(field, HEALTH_F_HC) == 0 && strcmp(value, "down") == 0)
		x->health_down = 1;
	else if ((strcmp(field, HEALTH_F_CB_UNTIL) == 0 ||
		  strcmp(field, HEALTH_F_RS_UNTIL) == 0) &&
		 num_parse_ll(value, strlen(value), 0, LLONG_MAX, &until) == 0 &&
		 until > x->now_ms)
		x->health_down = 1;
	else if (strcmp(field, HEALTH_F_WARM_HELD) == 0 &&
		 num_parse_ll(value, strlen(value), 0, CONFIG_WARM_DAYS_MAX,
			      &until) == 0)
		x->held = until;
	else if (strcmp(field, HEALTH_F_THROTTLE) == 0)
		router_on_susp(x, RS_ALL, "", value);
	else
		for (size_t i = 0; i < sizeof(router_susp_fields) /
					   sizeof(router_susp_fields[0]);
		     i++) {
			size_t n = strlen(router_susp_fields[i].prefix);
			if (strncmp(field, router_susp_fields[i].prefix, n) ==
				0 &&
			    field[n] != '\0')
				router_on_susp(x, router_susp_fields[i].kind,
					       field + n, value);
		}
}

static void router_on_prov(void *arg, const char *domain, const char *prov)
{
	struct prov_ctx *x = arg;

	if (x->n >= ROUTER_PROV_MAX)
		return;
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		struct route_prov *n = realloc(x->p, cap * sizeof(*n));
		if (n == NULL)
			return;
		x->p = n;
		x->cap = cap;
	}
	x->p[x->n].domain = strdup(domain);
	x->p[x->n].provider = strdup(prov);
	if (x->p[x->n].domain == NULL || x->p[x->n].provider == NULL) {
		free(x->p[x->n].domain);
		free(x->p[x->n].provider);
		return;
	}
	x->n++;
}

static int router_prov_cmp(const void *a, const void *b)
{
	return strcmp(((const struct route_prov *)a)->domain,
		      ((const struct route_prov *)b)->domain);
}

/*
 * The learned providers into *x, sorted, read only when needed (a
 * provider suspension lasts; otherwise the map is left empty); -1 on
 * error (x freed).
 */
static int router_read_prov(struct config *c, struct store_sync *s,
			    int needed, struct prov_ctx *x)
{
	char key[200];

	if (!needed)
		return 0;
	snprintf(key, sizeof(key), "%sprov", c->redis_prefix);
	if (store_sync_hgetall(s, key, router_on_prov, x) < 0) {
		router_prov_free(x->p, x->n);
		x->p = NULL;
		x->n = 0;
		return -1;
	}
	if (x->n > 1)
		qsort(x->p, x->n, sizeof(*x->p), router_prov_cmp);
	return 0;
}

/* Today's count of member mi into *out (0 when it has no warm-up). */
static int router_read_count(struct config *c, struct store_sync *s,
			     size_t mi, long long day, long long *out)
{
	char key[200], ds[16], v[32];
	int rc;

	*out = 0;
	if (c->members[mi].warm_start_day < 0)
		return 0;
	route_day_string(day, ds);
	snprintf(key, sizeof(key), "%sw:%s:%s", c->redis_prefix,
		 c->members[mi].name, ds);
	rc = store_sync_get(s, key, v, sizeof(v));
	if (rc == 1 && num_parse_ll(v, strlen(v), LLONG_MIN, LLONG_MAX, out) < 0)
		*out = 0;
	return rc < 0 ? -1 : 0;
}

/*
 * One refresh on connection s of every member's state, live suspensions
 * and today's count (members with a warm-up); -1 on error.
 */
int router_refresh_once(struct router *r, struct config *c,
			struct store_sync *s)
{
	struct route_view v;
	struct refresh_ctx x = {0};
	struct prov_ctx pv = {0};
	long long count[CONFIG_MEMBERS_MAX] = {0}, day, us;
	char key[200];

	if (store_sync_time_us(s, &us) < 0)
		return -1;
	pthread_mutex_lock(&r->lock);
	r->skew_ms = us / 1000 - router_wall_ms();
	pthread_mutex_unlock(&r->lock);
	x.now_ms = us / 1000;
	day = x.now_ms / 86400000;

	memset(&v, 0, sizeof(v));
	for (size_t i = 0; i < c->nmembers; i++) {
		x.state = MS_READY;
		x.health_down = 0;
		x.held = 0;
		x.member = i;
		snprintf(key, sizeof(key), "%sm:%s", c->redis_prefix,
			 c->members[i].name);
		if (store_sync_hgetall(s, key, router_on_field, &x) < 0 ||
		    router_read_count(c, s, i, day, &count[i]) < 0) {
			router_susp_free(x.susp, x.nsusp);
			return -1;
		}
		/* a manual state wins; health takes a ready member down */
		v.state[i] = x.state == MS_READY && x.health_down
				 ? MS_DOWN
				 : (enum mstate)x.state;
		v.held[i] = x.held;
	}
	if (router_read_prov(c, s, x.providers, &pv) < 0) {
		router_susp_free(x.susp, x.nsusp);
		return -1;
	}
	pthread_mutex_lock(&r->lock);
	if (c == r->cfg) {
		struct route_susp *old = r->susp;
		struct route_prov *oldp = r->prov;
		size_t nold = r->nsusp, noldp = r->nprov;
		if (memcmp(&v.state, &r->view.state,
			   c->nmembers * sizeof(v.state[0])) != 0 ||
		    memcmp(&v.held, &r->view.held,
			   c->nmembers * sizeof(v.held[0])) != 0)
			r->gen++;
		r->view = v;
		r->susp = x.susp;
		r->nsusp = x.nsusp;
		r->prov = pv.p;
		r->nprov = pv.n;
		memcpy(r->count, count, sizeof(count));
		r->count_day = day;
		x.susp = old; /* freed below, outside the lock */
		x.nsusp = nold;
		pv.p = oldp;
		pv.n = noldp;
	}
	pthread_mutex_unlock(&r->lock);
	router_susp_free(x.susp, x.nsusp);
	router_prov_free(pv.p, pv.n);
	return 0;
}

/*
 * Carries what is known of the members of the running config over to c's
 * members of the same name (lock held): states, today's counts and
 * suspensions; a member new in c is taken as ready.
 */
void router_known_remap(struct router *r, const struct config *c)
{
	const struct config *old = r->cfg;
	struct route_view v;
	long long count[CONFIG_MEMBERS_MAX] = {0};
	int map[CONFIG_MEMBERS_MAX]; /* old member index -> new, or -1 */
	size_t n = 0;

	memset(&v, 0, sizeof(v));
	for (size_t i = 0; i < old->nmembers; i++) {
		map[i] = config_member_index(c, old->members[i].name);
		if (map[i] >= 0) {
			v.state[map[i]] = r->view.state[i];
			v.held[map[i]] = r->view.held[i];
			count[map[i]] = r->count[i];
		}
	}
	for (size_t i = 0; i < r->nsusp; i++) {
		struct route_susp sp = r->susp[i];
		if (map[sp.member] < 0) {
			free(sp.domain);
			continue;
		}
		sp.member = (size_t)map[sp.member];
		r->susp[n++] = sp;
	}
	r->nsusp = n;
	r->view = v;
	memcpy(r->count, count, sizeof(count));
}

/*
 * For each member of config c, the index of the member of that name in
 * the running config, or -1 (lock held).  c is the running config but
 * after a reload: an SMTP session keeps the config it started with.
 */
static void router_map(const struct router *r, const struct config *c,
		       int *map)
{
	for (size_t i = 0; i < c->nmembers; i++)
		map[i] = c == r->cfg ? (int)i
				     : config_member_index(r->cfg,
							   c->members[i].name);
}

void router_view_for(const struct router *r, const struct config *c,
		     struct route_view *v)
{
	int map[CONFIG_MEMBERS_MAX];

	router_map(r, c, map);
	memset(v, 0, sizeof(*v)); /* a member the router does not know: ready */
	for (size_t i = 0; i < c->nmembers; i++)
		if (map[i] >= 0) {
			v->state[i] = r->view.state[map[i]];
			v->held[i] = r->view.held[map[i]];
		}
}

/*
 * Which candidates of plan (config c) may take m by what is last known,
 * into ok[] (lock held); map as router_map() gives it.
 */
static void router_usable(const struct router *r, const struct config *c,
			  const int *map, const struct route_plan *plan,
			  const struct route_msg *m, long long day,
			  long long now, int *ok)
{
	struct route_view v;
	long long count[CONFIG_MEMBERS_MAX] = {0};
	struct route_susp *susp = r->susp;
	struct route_known k = {&v,   r->susp,	r->nsusp,
				NULL, r->prov,	r->nprov};

	router_view_for(r, c, &v);
	for (size_t i = 0; r->count_day == day && i < c->nmembers; i++)
		count[i] = map[i] >= 0 ? r->count[map[i]] : 0;
	k.count = r->count_day == day ? count : NULL;
	if (c != r->cfg) { /* suspensions by c's member indexes */
		susp = calloc(r->nsusp + 1, sizeof(*susp));
		k.susp = susp;
		k.nsusp = 0;
		for (size_t j = 0; susp != NULL && j < r->nsusp; j++)
			for (size_t i = 0; i < c->nmembers; i++)
				if (map[i] == (int)r->susp[j].member) {
					susp[k.nsusp] = r->susp[j];
					susp[k.nsusp++].member = i;
				}
	}
	route_local_usable(plan, &k, m, now, ok);
	if (susp != r->susp)
		free(susp); /* the domains are the router's */
}

/*
 * Picks in plan for m from what is last known (Redis could not answer):
 * only members whose last known state is ready, not suspended for one of
 * m's domains and under today's warm-up cap.  The pick is counted in
 * today's count and given to Redis with the next give-back.  The
 * candidate position, or -1.
 */
long router_pick_local(struct router *r, const struct config *c,
		       const struct route_plan *plan,
		       const struct route_msg *m, long long day)
{
	int ok[CONFIG_MEMBERS_MAX], map[CONFIG_MEMBERS_MAX];
	long long now = router_now_ms(r);
	long pos;

	pthread_mutex_lock(&r->lock);
	router_map(r, c, map);
	router_usable(r, c, map, plan, m, day, now, ok);
	pos = route_pick_local(plan, r->local_k[plan->pool]++, r->outstanding,
			       ok);
	if (pos >= 0 && map[plan->member[pos]] >= 0) {
		size_t mi = (size_t)map[plan->member[pos]];
		r->outstanding[mi]++;
		if (r->count_day == day)
			r->count[mi]++;
		if (r->giveback_day != day) {
			memset(r->giveback, 0, sizeof(r->giveback));
			r->giveback_day = day;
		}
		r->giveback[mi]--; /* a give-back of -1: one more */
	}
	pthread_mutex_unlock(&r->lock);
	return pos;
}
