/*
 * router: routing service of postlb-milter (see router.h).
 *
 * Redis is asked by ROUTE_LUA on a connection borrowed from a small
 * process-wide pool (libmilter starts a thread per SMTP session, so
 * per-thread connections would mean a connect and a SCRIPT LOAD for most
 * messages), with the routing budget as connect and command timeout.
 *
 * A round robin or weighted pool under load reserves its picks: one call
 * takes the next P slots of the pool's shared rotation (P doubles, up to
 * routing.reserve, while a reservation is used up within half of
 * routing.reserve_time, and falls back to what was used when one expires),
 * and the following messages take them in order without a round trip.  A
 * reservation lives at most routing.reserve_time and is dropped when the
 * refresher sees a member state change; its unused picks are taken off
 * today's counts by the refresher.  A pick of a member suspended for some
 * domain, a least_outstanding or hash pool, and P = 1 ask Redis for the
 * message itself, with its domains.
 *
 * A failed call frees its connection and that message is routed locally
 * (a cut connection, or Redis seen failing or back, empties the pool;
 * connections are tagged with the pool epoch a reload also bumps, and
 * older ones are closed on return);
 * a failed connect marks Redis down for one second, during which every
 * thread routes locally: last known states, suspensions and today's
 * counts (a member not usable by them gets nothing: the fallback pool,
 * then routing.no_member), a local counter per pool, local assignment
 * counts.  Local picks are added to today's counts in Redis with the next
 * give-back.  The state refresher re-reads member states, suspensions and
 * warm-up counts every routing.refresh and notices when Redis is back.
 * State changes are logged once.  Config references are counted under
 * the router's lock.
 */
#include "router.h"

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

#define ROUTER_POOL_MAX 16
#define ROUTER_SUSP_MAX 4096 /* live suspensions kept for local routing */

/* The picks one Redis call reserved for a pool (see the top). */
struct reservation {
	unsigned long gen;	/* router gen when taken */
	long long born_ms;	/* monotonic */
	long long day;
	size_t n, next;		/* picks, the next one to take */
	size_t size, used;	/* the last one's size and picks used */
	int fetching;		/* a thread is asking Redis for one */
	int pick[CONFIG_RESERVE_MAX]; /* member index + 1; < 0: suspended */
};

struct router {
	pthread_mutex_t lock; /* cfg refs, view, counters, stats */
	struct config *cfg;
	struct route_view view;
	unsigned long long local_k[CONFIG_POOLS_MAX]; /* per pool */
	long long outstanding[CONFIG_MEMBERS_MAX];    /* local picks, per member */
	long long down_until_ms; /* no Redis attempts before this */
	long long down_at_ms;	 /* when Redis was last seen failing */
	int redis_up;
	/* last known, for routing without Redis (see router_pick_local) */
	struct route_susp *susp; /* live suspensions, owned */
	size_t nsusp;
	long long count[CONFIG_MEMBERS_MAX]; /* today's counts, by member */
	long long count_day;
	long long skew_ms; /* Redis's clock minus this host's */
	struct router_stats st;
	unsigned long gen; /* bumped when states or the config change */
	struct reservation res[CONFIG_POOLS_MAX]; /* per pool */
	long long giveback[CONFIG_MEMBERS_MAX]; /* per member: unused picks of */
	long long giveback_day;			 /* ... this day */
	struct pooled {
		struct store_sync *s;
		unsigned long epoch;
	} idle[ROUTER_POOL_MAX]; /* free connections */
	size_t nidle;
	/* A connection is pooled only if opened in this epoch: bumped by a
	 * reload and when Redis is seen failing or back (see router_flush). */
	unsigned long epoch;
	unsigned long cfg_gen; /* reloads; the refresher reconnects after one */
	unsigned long long call_errors;
	pthread_t refresher;
	int stop;
};

static long long router_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Redis's clock as last measured by the refresher (the route script and
 * postlbctl use it: hosts with skewed clocks agree on days and expiry). */
static long long router_now_ms(struct router *r)
{
	long long skew;

	pthread_mutex_lock(&r->lock);
	skew = r->skew_ms;
	pthread_mutex_unlock(&r->lock);
	return router_wall_ms() + skew;
}

static long long router_today(struct router *r)
{
	return router_now_ms(r) / 86400000;
}

static long long router_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Closes every pooled connection and makes those in use unpoolable (a
 * reload, Redis seen failing or back, shutdown): after a Redis restart
 * each would fail once.
 */
static void router_pool_flush(struct router *r)
{
	struct pooled idle[ROUTER_POOL_MAX];
	size_t n;

	pthread_mutex_lock(&r->lock);
	r->epoch++;
	n = r->nidle;
	memcpy(idle, r->idle, n * sizeof(idle[0]));
	r->nidle = 0;
	pthread_mutex_unlock(&r->lock);
	for (size_t i = 0; i < n; i++)
		store_sync_close(idle[i].s);
}

/*
 * Records Redis going up or down; logs only the change, and empties the
 * connection pool on it.  "Up" comes from a refresh that started at
 * since_ms: it does not count when a failure was seen after that start
 * (no flapping between racing threads).
 */
static void router_mark(struct router *r, int up, const char *why,
			long long since_ms)
{
	int changed;

	pthread_mutex_lock(&r->lock);
	if (!up) {
		r->down_at_ms = router_mono_ms();
		r->down_until_ms = r->down_at_ms + 1000;
	} else if (r->down_at_ms >= since_ms) {
		up = r->redis_up;
	} else {
		r->down_until_ms = 0;
	}
	changed = up != r->redis_up;
	if (changed) {
		r->redis_up = up;
		r->st.redis_up = up;
		if (up)
			log_info("redis: reachable again; routing with shared "
				 "state");
		else
			log_warn("redis: %s; routing from last known member "
				 "states and a local rotation",
				 why);
	}
	pthread_mutex_unlock(&r->lock);
	if (changed)
		router_pool_flush(r);
}

/*
 * Borrows a connection for a message under config c from the pool, or
 * opens one if allowed, into *s with its epoch; -1 if none (Redis marked
 * down, or c has just been replaced by a reload: the message is routed
 * locally rather than on a server the new config may no longer name).
 */
static int router_conn_get(struct router *r, struct config *c,
			   struct store_sync **s, unsigned long *epoch)
{
	char err[256];
	long long until;
	int current;

	*s = NULL;
	pthread_mutex_lock(&r->lock);
	current = c == r->cfg;
	if (current && r->nidle > 0) {
		r->nidle--;
		*s = r->idle[r->nidle].s;
		*epoch = r->idle[r->nidle].epoch;
	}
	*epoch = *s != NULL ? *epoch : r->epoch;
	until = r->down_until_ms;
	pthread_mutex_unlock(&r->lock);
	if (*s != NULL)
		return 0;
	if (!current || router_mono_ms() < until)
		return -1;
	if (store_sync_open(c, c->route_budget_ms, s, err, sizeof(err)) < 0) {
		*s = NULL;
		router_mark(r, 0, err, 0);
		return -1;
	}
	return 0;
}

/* Returns a healthy connection to the pool, or closes it when it was
 * opened before the last flush or the pool is full. */
static void router_conn_put(struct router *r, struct store_sync *s,
			    unsigned long epoch)
{
	pthread_mutex_lock(&r->lock);
	if (epoch == r->epoch && r->nidle < ROUTER_POOL_MAX) {
		r->idle[r->nidle].s = s;
		r->idle[r->nidle++].epoch = epoch;
		s = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	store_sync_close(s);
}

/*
 * 1 if a call's error means its connection, and so likely every pooled
 * one, is broken (closed, reset, broken pipe: Redis restarted), not a
 * timeout of a slow call.
 */
static int router_conn_broken(int rc, const char *err)
{
	return rc == -STORE_EDOWN && strstr(err, "timed out") == NULL &&
	       strstr(err, "temporarily unavailable") == NULL;
}

/* What one refresh reads: a member's state and its live suspensions. */
struct refresh_ctx {
	int state;
	size_t member;
	long long now_ms;
	struct route_susp *susp; /* owned until handed to the router */
	size_t nsusp, cap;
};

static void router_susp_free(struct route_susp *susp, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(susp[i].domain);
	free(susp);
}

/* Keeps a live suspension (field "s:DOMAIN", value until ms). */
static void router_on_susp(struct refresh_ctx *x, const char *domain,
			   const char *value)
{
	long long until;

	if (num_parse_ll(value, strlen(value), 0, LLONG_MAX, &until) < 0 ||
	    until <= x->now_ms || x->nsusp >= ROUTER_SUSP_MAX)
		return;
	if (x->nsusp == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 16;
		struct route_susp *n = realloc(x->susp, cap * sizeof(*n));
		if (n == NULL)
			return;
		x->susp = n;
		x->cap = cap;
	}
	x->susp[x->nsusp].domain = strdup(domain);
	if (x->susp[x->nsusp].domain == NULL)
		return;
	x->susp[x->nsusp].member = x->member;
	x->susp[x->nsusp++].until_ms = until;
}

static void router_on_field(void *arg, const char *field, const char *value)
{
	struct refresh_ctx *x = arg;
	int st;

	if (strcmp(field, "state") == 0 && (st = route_state_parse(value)) >= 0)
		x->state = st;
	else if (strncmp(field, "s:", 2) == 0 && field[2] != '\0')
		router_on_susp(x, field + 2, value);
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
static int router_refresh_once(struct router *r, struct config *c,
			       struct store_sync *s)
{
	struct route_view v;
	struct refresh_ctx x = {0};
	long long count[CONFIG_MEMBERS_MAX] = {0}, day, us;
	char key[200];

	if (store_sync_time_us(s, &us) < 0)
		return -1;
	pthread_mutex_lock(&r->lock);
	r->skew_ms = us / 1000 - router_wall_ms();
	pthread_mutex_unlock(&r->lock);
	x.now_ms = us / 1000;
	day = x.now_ms / 86400000;

	for (size_t i = 0; i < c->nmembers; i++) {
		x.state = MS_READY;
		x.member = i;
		snprintf(key, sizeof(key), "%sm:%s", c->redis_prefix,
			 c->members[i].name);
		if (store_sync_hgetall(s, key, router_on_field, &x) < 0 ||
		    router_read_count(c, s, i, day, &count[i]) < 0) {
			router_susp_free(x.susp, x.nsusp);
			return -1;
		}
		v.state[i] = (enum mstate)x.state;
	}
	pthread_mutex_lock(&r->lock);
	if (c == r->cfg) {
		struct route_susp *old = r->susp;
		size_t nold = r->nsusp;
		if (memcmp(&v.state, &r->view.state,
			   c->nmembers * sizeof(v.state[0])) != 0)
			r->gen++;
		r->view = v;
		r->susp = x.susp;
		r->nsusp = x.nsusp;
		memcpy(r->count, count, sizeof(count));
		r->count_day = day;
		x.susp = old; /* freed below, outside the lock */
		x.nsusp = nold;
	}
	pthread_mutex_unlock(&r->lock);
	router_susp_free(x.susp, x.nsusp);
	return 0;
}

static void reservation_end(struct router *r, struct reservation *v);

/*
 * 1 when reservation v holds picks it may no longer give (lock held): it
 * outlived routing.reserve_time, states changed since, or the day turned.
 */
static int reservation_lapsed(const struct router *r, const struct config *c,
			      const struct reservation *v, long long day,
			      long long now)
{
	return v->next < v->n &&
	       (v->gen != r->gen || v->day != day ||
		now - v->born_ms > c->route_reserve_ms);
}

/*
 * Ends the reservations that outlived routing.reserve_time and takes their
 * unused picks off today's counts; -1 on a Redis error.
 */
static int router_giveback(struct router *r, struct config *c,
			   struct store_sync *s)
{
	long long back[CONFIG_MEMBERS_MAX], day, now = router_mono_ms();
	long long today = router_today(r);
	char key[200], ds[16];
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; c == r->cfg && i < c->npools; i++)
		if (reservation_lapsed(r, c, &r->res[i], today, now))
			reservation_end(r, &r->res[i]);
	memcpy(back, r->giveback, sizeof(back));
	memset(r->giveback, 0, sizeof(r->giveback));
	day = r->giveback_day;
	if (c != r->cfg || day != today)
		memset(back, 0, sizeof(back)); /* stale: nothing to give */
	pthread_mutex_unlock(&r->lock);
	route_day_string(day, ds);
	for (size_t i = 0; i < c->nmembers; i++) {
		if (back[i] == 0)
			continue;
		snprintf(key, sizeof(key), "%sw:%s:%s", c->redis_prefix,
			 c->members[i].name, ds);
		if (rc == 0 && store_sync_incrby(s, key, -back[i], NULL) < 0)
			rc = -1;
		if (rc < 0) { /* keep it for the next round */
			pthread_mutex_lock(&r->lock);
			if (c == r->cfg && r->giveback_day == day)
				r->giveback[i] += back[i];
			pthread_mutex_unlock(&r->lock);
		}
	}
	return rc;
}

/*
 * The state refresher: every routing.refresh, gives back and re-reads the
 * members on its own connection, opened anew after a reload (the Redis
 * address, db or password may have changed) and after any error.
 */
static void *router_refresher(void *arg)
{
	struct router *r = arg;
	struct store_sync *s = NULL;
	unsigned long s_gen = 0; /* the reload s was opened after */
	char err[256] = "";

	for (;;) {
		struct config *c;
		unsigned long gen;
		long long period, t0 = router_mono_ms();
		int stop;
		pthread_mutex_lock(&r->lock);
		c = config_ref(r->cfg);
		gen = r->cfg_gen;
		pthread_mutex_unlock(&r->lock);
		period = c->state_refresh_ms;
		if (s != NULL && s_gen != gen) { /* opened under another config */
			store_sync_close(s);
			s = NULL;
		}
		if (s == NULL &&
		    store_sync_open(c, 1000, &s, err, sizeof(err)) < 0)
			s = NULL;
		s_gen = gen;
		/* give back first: counts then include local picks */
		if (s != NULL && (router_giveback(r, c, s) < 0 ||
				  router_refresh_once(r, c, s) < 0)) {
			snprintf(err, sizeof(err), "%s", store_sync_error(s));
			store_sync_close(s);
			s = NULL;
			router_pool_flush(r); /* they were likely cut too */
		}
		router_mark(r, s != NULL, err, t0);
		pthread_mutex_lock(&r->lock);
		config_unref(c);
		stop = r->stop;
		pthread_mutex_unlock(&r->lock);
		if (stop)
			break;
		for (long long t = 0; t < period && !stop; t += 50) {
			usleep(50000);
			pthread_mutex_lock(&r->lock);
			stop = r->stop;
			pthread_mutex_unlock(&r->lock);
		}
		if (stop)
			break;
	}
	store_sync_close(s);
	return NULL;
}

struct router *router_new(struct config *c)
{
	struct router *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->cfg = config_ref(c);
	r->epoch = 1;
	r->redis_up = 1;
	r->st.redis_up = 1;
	if (pthread_create(&r->refresher, NULL, router_refresher, r) != 0) {
		config_unref(r->cfg);
		free(r);
		return NULL;
	}
	return r;
}

void router_free(struct router *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->refresher, NULL);
	router_pool_flush(r);
	router_susp_free(r->susp, r->nsusp);
	config_unref(r->cfg);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/*
 * Carries what is known of the members of the running config over to c's
 * members of the same name (lock held): states, today's counts and
 * suspensions; a member new in c is taken as ready.
 */
static void router_known_remap(struct router *r, const struct config *c)
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

void router_set_config(struct router *r, struct config *c)
{
	pthread_mutex_lock(&r->lock);
	router_known_remap(r, c);
	config_unref(r->cfg);
	r->cfg = config_ref(c);
	memset(r->local_k, 0, sizeof(r->local_k));
	memset(r->outstanding, 0, sizeof(r->outstanding));
	/* member and pool indexes change: unused picks are not given back */
	memset(r->res, 0, sizeof(r->res));
	memset(r->giveback, 0, sizeof(r->giveback));
	r->gen++;
	r->cfg_gen++; /* the refresher reconnects */
	pthread_mutex_unlock(&r->lock);
	router_pool_flush(r); /* the Redis address may have changed */
}

struct config *router_config(struct router *r)
{
	struct config *c;

	pthread_mutex_lock(&r->lock);
	c = config_ref(r->cfg);
	pthread_mutex_unlock(&r->lock);
	return c;
}

void router_get_stats(struct router *r, struct router_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->st;
	pthread_mutex_unlock(&r->lock);
}

/*
 * Asks Redis for npicks picks in plan (one for message m, or a
 * reservation; see route_call_build()) into picks[]: candidate numbers,
 * 0 none, negated when suspended for some domain.  0, or -1 on error
 * (the connection is dropped; the caller routes locally).
 */
static int router_call(struct router *r, struct config *c,
		       const struct route_plan *plan, const struct route_msg *m,
		       long long day, size_t npicks, int *picks)
{
	struct store_sync *s;
	struct route_call *call = malloc(sizeof(*call));
	unsigned long long errors;
	unsigned long epoch;
	long long res[1 + CONFIG_RESERVE_MAX];
	int n, bad = 0;

	if (call == NULL)
		return -1;
	/* never for a message (its id and domains are cut to fit) */
	if (route_call_build(c, plan, m, day, npicks, call) < 0) {
		log_err("route: script arguments for pool '%s' do not fit; "
			"routing locally",
			c->pools[plan->pool].name);
		free(call);
		return -1;
	}
	if (router_conn_get(r, c, &s, &epoch) < 0) {
		free(call);
		return -1;
	}
	n = store_sync_eval(s, ROUTE_LUA, (int)(1 + 3 * plan->n), call->argc,
			    call->argv, call->lens, res, 1 + npicks);
	free(call);
	bad = n != (int)(1 + npicks);
	for (size_t i = 0; !bad && i < npicks; i++) {
		long long p = res[1 + i];
		bad = p < -(long long)plan->n || p > (long long)plan->n;
		picks[i] = (int)p;
	}
	if (!bad) {
		router_conn_put(r, s, epoch);
		pthread_mutex_lock(&r->lock);
		r->st.calls++;
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	/* A timeout or a broken reply: this connection is not reused; the
	 * message is routed locally.  Redis is marked down only when a
	 * connect fails (or by the refresher), not for one slow call; a
	 * connection cut (Redis restarted) empties the pool. */
	pthread_mutex_lock(&r->lock);
	errors = ++r->call_errors;
	pthread_mutex_unlock(&r->lock);
	if (errors % 1000 == 1)
		log_warn("route: Redis call failed (%llu so far), routing this "
			 "message locally: %s",
			 errors, n < 0 ? store_sync_error(s) : "bad reply shape");
	if (router_conn_broken(n, store_sync_error(s)))
		router_pool_flush(r);
	store_sync_close(s);
	return -1;
}

/* The candidate position of config member mi in plan, or -1. */
static long plan_pos(const struct route_plan *plan, size_t mi)
{
	for (size_t i = 0; i < plan->n; i++)
		if (plan->member[i] == mi)
			return (long)i;
	return -1;
}

/* A reserved pick (member index + 1, maybe negated) of day left unused. */
static void unused_pick(struct router *r, long long day, int pick)
{
	if (r->giveback_day != day) {
		memset(r->giveback, 0, sizeof(r->giveback));
		r->giveback_day = day;
	}
	r->giveback[abs(pick) - 1]++;
	r->st.returned++;
}

/* Ends reservation v (lock held): its unused picks are given back. */
static void reservation_end(struct router *r, struct reservation *v)
{
	for (size_t i = v->next; i < v->n; i++)
		unused_pick(r, v->day, v->pick[i]);
	v->used = v->next;
	v->n = v->next = 0;
}

/*
 * The size of the next reservation of v at now (lock held): twice the last
 * one if it was used up within half of its lifetime, else what the rate
 * it was used at needs for one lifetime; 1 to routing.reserve.
 */
static size_t reservation_size(const struct config *c,
			       const struct reservation *v, long long now)
{
	long long age = now - v->born_ms, want;

	if (v->size == 0)
		want = 1;
	else if (v->used >= v->size && age <= c->route_reserve_ms / 2)
		want = 2 * (long long)v->size;
	else
		want = (long long)v->used * c->route_reserve_ms /
		       (age > 1 ? age : 1);
	if (want > c->route_reserve)
		want = c->route_reserve;
	return want < 1 ? 1 : (size_t)want;
}

/* The candidate position of a reserved pick of day, or -1 when it cannot
 * serve (a member suspended for some domain): then it is given back. */
static long reserved_pos(struct router *r, const struct route_plan *plan,
			 long long day, int pick)
{
	long pos = pick > 0 ? plan_pos(plan, (size_t)pick - 1) : -1;

	if (pos < 0) {
		pthread_mutex_lock(&r->lock);
		unused_pick(r, day, pick);
		pthread_mutex_unlock(&r->lock);
	}
	return pos;
}

/*
 * Under the lock: the pool's next reserved pick into *pick (0: none), or,
 * when there is none to take, how many picks to ask Redis for into *want
 * (1: this message alone).  Only round robin and weighted pools reserve.
 */
static void reservation_next(struct router *r, const struct config *c,
			     const struct route_plan *plan,
			     struct reservation *v, long long day,
			     long long now, int *pick, size_t *want)
{
	*pick = 0;
	*want = 1;
	if (plan->mode != RM_SEQ || c->route_reserve <= 1 || c != r->cfg)
		return;
	if (reservation_lapsed(r, c, v, day, now))
		reservation_end(r, v);
	if (v->next < v->n) {
		*pick = v->pick[v->next++];
		return;
	}
	if (v->fetching) /* another thread is asking: this message alone */
		return;
	if (v->n > 0)
		reservation_end(r, v); /* used up */
	*want = reservation_size(c, v, now);
	v->fetching = *want > 1;
	if (*want == 1) { /* a reservation of one: this message */
		v->size = v->used = 1;
		v->born_ms = now;
	}
}

/*
 * Under the lock: keeps the want picks a reservation call returned
 * (candidate numbers of plan, up to the first slot no member could take)
 * and takes the first one; returns it, or 0.
 */
static int reservation_keep(struct router *r, const struct route_plan *plan,
			    struct reservation *v, long long day,
			    long long now, size_t want, const int *picks)
{
	v->gen = r->gen;
	v->born_ms = now;
	v->day = day;
	v->size = want;
	v->used = 0;
	v->n = v->next = 0;
	for (size_t i = 0; i < want && picks[i] != 0; i++)
		v->pick[v->n++] = picks[i] > 0
				      ? (int)plan->member[picks[i] - 1] + 1
				      : -(int)plan->member[-picks[i] - 1] - 1;
	return v->n > 0 ? v->pick[v->next++] : 0;
}

/*
 * Picks in plan through Redis for message m: from the pool's reservation,
 * by a new reservation, or by a call for m alone.  The candidate position,
 * -1 none, -2 error.
 */
static long router_pick_redis(struct router *r, struct config *c,
			      const struct route_plan *plan,
			      const struct route_msg *m, long long day)
{
	struct reservation *v = &r->res[plan->pool];
	long long now = router_mono_ms();
	int picks[CONFIG_RESERVE_MAX], p, rc;
	size_t want;
	long pos;

	pthread_mutex_lock(&r->lock);
	reservation_next(r, c, plan, v, day, now, &p, &want);
	pthread_mutex_unlock(&r->lock);
	if (p == 0 && want > 1) {
		rc = router_call(r, c, plan, m, day, want, picks);
		pthread_mutex_lock(&r->lock);
		v->fetching = 0;
		if (rc == 0 && c == r->cfg)
			p = reservation_keep(r, plan, v, day, now, want, picks);
		pthread_mutex_unlock(&r->lock);
		if (rc < 0)
			return -2;
	}
	if (p != 0 && (pos = reserved_pos(r, plan, day, p)) >= 0)
		return pos;
	/* this message alone: no reservation, a suspended member or none */
	if (router_call(r, c, plan, m, day, 1, picks) < 0)
		return -2;
	return picks[0] > 0 ? picks[0] - 1 : -1;
}

/*
 * Picks in plan for m from what is last known (Redis could not answer):
 * only members whose last known state is ready, not suspended for one of
 * m's domains and under today's warm-up cap.  The pick is counted in
 * today's count and given to Redis with the next give-back.  The
 * candidate position, or -1.
 */
static long router_pick_local(struct router *r, const struct config *c,
			      const struct route_plan *plan,
			      const struct route_msg *m, long long day)
{
	static const struct route_view unknown; /* all ready */
	int ok[CONFIG_MEMBERS_MAX];
	long long now = router_now_ms(r);
	struct route_known k;
	long pos;

	pthread_mutex_lock(&r->lock);
	if (c == r->cfg) {
		k = (struct route_known){&r->view, r->susp, r->nsusp,
					 r->count_day == day ? r->count : NULL};
	} else { /* picked under a config that has just been replaced */
		k = (struct route_known){&unknown, NULL, 0, NULL};
	}
	route_local_usable(plan, &k, m, now, ok);
	pos = route_pick_local(plan, r->local_k[plan->pool]++, r->outstanding,
			       ok);
	if (pos >= 0) {
		size_t mi = plan->member[pos];
		r->outstanding[mi]++;
		if (c == r->cfg) {
			if (r->count_day == day)
				r->count[mi]++;
			if (r->giveback_day != day) {
				memset(r->giveback, 0, sizeof(r->giveback));
				r->giveback_day = day;
			}
			r->giveback[mi]--; /* a give-back of -1: one more */
		}
	}
	pthread_mutex_unlock(&r->lock);
	return pos;
}

void router_route(struct router *r, struct config *c,
		  const struct route_msg *m, struct router_result *out)
{
	struct route_view view;
	long long day = router_today(r);
	int pool, hops = 0;

	pthread_mutex_lock(&r->lock);
	view = r->view;
	if (c != r->cfg) /* a reload happened: states are by index */
		memset(&view, 0, sizeof(view));
	pthread_mutex_unlock(&r->lock);
	memset(out, 0, sizeof(*out));
	out->member = -1;
	out->pool = pool = route_classify(c, m, &out->rule);
	while (pool >= 0 && hops++ <= (int)c->npools) {
		struct route_plan plan;
		long pos = -1;
		if (route_plan_pool(c, pool, &view, m, day, &plan) == 0) {
			pos = router_pick_redis(r, c, &plan, m, day);
			if (pos == -2) {
				out->local = 1;
				pos = router_pick_local(r, c, &plan, m, day);
			}
		}
		if (pos >= 0 && route_header_value(c, &plan, (size_t)pos,
						   out->header,
						   sizeof(out->header)) == 0) {
			out->member = (int)plan.member[pos];
			out->used_pool = pool;
			break;
		}
		pool = c->pools[pool].fallback;
	}
	pthread_mutex_lock(&r->lock);
	r->st.routed += out->member >= 0;
	r->st.none += out->member < 0;
	r->st.local += out->local;
	r->st.fallback += out->member >= 0 && out->used_pool != out->pool;
	pthread_mutex_unlock(&r->lock);
}
