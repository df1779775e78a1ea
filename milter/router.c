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
 * The change listener waits for the pushes that every change of a member
 * publishes (channel PREFIX m:NAME: the health scripts, postlbctl): each
 * ends every reservation at once and wakes the refresher, so a member
 * marked down gets no reserved pick once the push is in (about a
 * millisecond), not only after routing.reserve_time; picks a call
 * brings back after a push that came while it was out are not kept.
 * Without pushes (Redis down, an ACL user without the channel)
 * routing.refresh and routing.reserve_time bound it as before.  A
 * subscription refused is asked for again after 30 s or a reload, one
 * lost with its connection after a second; each new subscription wakes
 * the refresher (a push may have been missed), except after a failed
 * refresh, which waits its period whatever comes but a push: a refresh
 * refused while the rest works (an ACL without TIME) would otherwise
 * flush the pool, the listener resubscribe, and the two loop.
 * State changes are logged once.  Config references are counted under
 * the router's lock.
 *
 * This file: the clocks, the refresher and listener threads, the config
 * swap and the
 * walk over a message's pools.  router_conn.c holds the connections,
 * router_reserve.c the picks through Redis, router_local.c what is known
 * without it (router_int.h is what they share).
 */
#include "router_int.h"

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

long long router_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Redis's clock as last measured by the refresher (the route script and
 * postlbctl use it: hosts with skewed clocks agree on days and expiry). */
long long router_now_ms(struct router *r)
{
	long long skew;

	pthread_mutex_lock(&r->lock);
	skew = r->skew_ms;
	pthread_mutex_unlock(&r->lock);
	return router_wall_ms() + skew;
}

long long router_today(struct router *r)
{
	return router_now_ms(r) / 86400000;
}

unsigned long long router_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL +
	       (unsigned long long)ts.tv_nsec;
}

long long router_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits ms, until the stop, a kick of a kind in kicks (which it takes:
 * r->kick is cleared), or, with cfg_gen not NULL, a reload after
 * *cfg_gen.  Returns 1 when stopped.
 */
static int router_wait(struct router *r, long long ms, int kicks,
		       const unsigned long *cfg_gen)
{
	struct timespec until;
	int stop;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->stop && !(r->kick & kicks) &&
	       (cfg_gen == NULL || r->cfg_gen == *cfg_gen) &&
	       pthread_cond_timedwait(&r->wake, &r->lock, &until) == 0)
		;
	if (r->kick & kicks)
		r->kick = 0;
	stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return stop;
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
		pthread_mutex_lock(&r->lock);
		c = config_ref(r->cfg);
		gen = r->cfg_gen;
		r->kick = 0; /* a kick before this read is answered by it */
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
		config_unref(c);
		/* sleep for the period, or until a push or the stop; after a
		 * failure not for a resubscription: the listener's follows
		 * this failure's flush, and answering it would fail again at
		 * once, in a loop */
		if (router_wait(r, period,
				s != NULL ? KICK_PUSH | KICK_RESUB : KICK_PUSH,
				NULL))
			break;
	}
	store_sync_close(s);
	return NULL;
}

/* A change was pushed (pushed set) or may have been missed (the listener
 * subscribed anew): every reservation ends, and the refresher reads the
 * members now. */
static void router_kick(struct router *r, int pushed)
{
	pthread_mutex_lock(&r->lock);
	r->st.pushes += pushed != 0;
	r->gen++;
	r->kick |= pushed ? KICK_PUSH : KICK_RESUB;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

/* The pattern of the members' channels: PREFIX (glob characters escaped)
 * followed by "m:*".  -1 when it does not fit. */
static int router_channels(const struct config *c, char *out, size_t outsz)
{
	size_t n = 0;

	for (const char *p = c->redis_prefix; *p != '\0'; p++) {
		if (n + 2 >= outsz)
			return -1;
		if (strchr("*?[]\\", *p) != NULL)
			out[n++] = '\\';
		out[n++] = *p;
	}
	if (n + 4 > outsz)
		return -1;
	memcpy(out + n, "m:*", 4);
	return 0;
}

/*
 * The change listener (see the top): a subscriber connection of its own,
 * opened anew after a reload or when Redis was seen failing or back.
 * Each subscription but the first wakes the refresher too: a change may
 * have come while there was none (before the first, the refresher's own
 * first read covers it).
 */
static void *router_listener(void *arg)
{
	struct router *r = arg;
	struct store_sync *s = NULL;
	unsigned long s_epoch = 0;
	int warned = 0, subscribed = 0;
	long long pause = 1000; /* ms */

	for (;;) {
		struct config *c;
		unsigned long epoch, cfg_gen;
		char err[256] = "", pat[2 * 64 + 8], msg[300];
		int stop, rc;
		pthread_mutex_lock(&r->lock);
		stop = r->stop;
		epoch = r->epoch;
		cfg_gen = r->cfg_gen;
		c = config_ref(r->cfg);
		pthread_mutex_unlock(&r->lock);
		if (stop) {
			config_unref(c);
			break;
		}
		if (s != NULL && s_epoch != epoch) {
			store_sync_close(s);
			s = NULL;
		}
		if (s == NULL) {
			if (router_channels(c, pat, sizeof(pat)) < 0 ||
			    store_sync_open(c, 1000, &s, err, sizeof(err)) < 0) {
				s = NULL;
				pause = 1000;
			} else if ((rc = store_sync_psubscribe(s, pat)) < 0) {
				/* refused (ACL): ask again later; a failed
				 * connection: like a failed open */
				int refused = rc == -STORE_EREPLY;
				if (refused && !warned)
					log_warn("redis: no member change "
						 "pushes (PSUBSCRIBE %s: %s); "
						 "changes reach routing within "
						 "routing.refresh",
						 pat, store_sync_error(s));
				warned |= refused;
				store_sync_close(s);
				s = NULL;
				pause = refused ? 30000 : 1000;
			} else {
				if (warned)
					log_info("redis: member change pushes "
						 "work again");
				warned = 0;
				pause = 1000;
				s_epoch = epoch;
				if (subscribed++)
					router_kick(r, 0);
			}
		}
		config_unref(c);
		if (s == NULL) { /* try again in a second (30 s if refused,
				  * at once after a reload) */
			if (router_wait(r, pause, 0, &cfg_gen))
				break;
			continue;
		}
		rc = store_sync_message(s, 200, msg, sizeof(msg));
		if (rc > 0) {
			log_debug("redis: change pushed: %s", msg);
			router_kick(r, 1);
		} else if (rc < 0) {
			store_sync_close(s);
			s = NULL;
		}
	}
	store_sync_close(s);
	return NULL;
}

/* Frees r once its threads are stopped (or were never started). */
static void router_release(struct router *r)
{
	router_pool_flush(r);
	router_susp_free(r->susp, r->nsusp);
	router_prov_free(r->prov, r->nprov);
	for (size_t i = 0; i < CONFIG_POOLS_MAX; i++) {
		free(r->plans[i][0]);
		free(r->plans[i][1]);
	}
	router_metrics_free(r);
	config_unref(r->cfg);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Stops the threads: the listener too when it was started. */
static void router_stop(struct router *r, int listener)
{
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->refresher, NULL);
	if (listener)
		pthread_join(r->listener, NULL);
}

struct router *router_new(struct config *c)
{
	struct router *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&r->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	r->cfg = config_ref(c);
	r->epoch = 1;
	r->redis_up = 1;
	r->st.redis_up = 1;
	if (router_metrics_init(r) < 0 ||
	    pthread_create(&r->refresher, NULL, router_refresher, r) != 0) {
		router_release(r);
		return NULL;
	}
	if (pthread_create(&r->listener, NULL, router_listener, r) != 0) {
		/* what the refresher read is freed with the rest */
		router_stop(r, 0);
		router_release(r);
		return NULL;
	}
	return r;
}

void router_free(struct router *r)
{
	if (r == NULL)
		return;
	router_stop(r, 1);
	router_release(r);
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
	pthread_cond_broadcast(&r->wake); /* a refused listener asks again */
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
 * The plan of pool (site: this site's members only) into *plan: built
 * once per state change and day (a weighted cycle of a big pool is not
 * cheap); a hash pool's order is then made for the message: its first
 * ROUTE_ORDER_TOP (route_plan_order; router_pick ranks the rest when none
 * of those can take it).  view is the router's as of gen.  Returns
 * route_plan_pool's.
 */
static int router_plan(struct router *r, const struct config *c, int pool,
		       const struct route_view *view, unsigned long gen,
		       const struct route_msg *m, long long day, int site,
		       struct route_plan *plan)
{
	struct plan_cache *pc;
	int rc;

	pthread_mutex_lock(&r->lock);
	pc = r->plans[pool][site];
	if (pc != NULL && pc->cfg == c && pc->gen == gen && pc->day == day) {
		*plan = pc->plan;
		pthread_mutex_unlock(&r->lock);
		if (plan->mode == RM_ORDER)
			route_plan_order(c, plan, m, ROUTE_ORDER_TOP);
		return 0;
	}
	pthread_mutex_unlock(&r->lock);
	rc = route_plan_pool(c, pool, view, m, day, site, plan);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&r->lock);
	if (r->plans[pool][site] == NULL)
		r->plans[pool][site] = malloc(sizeof(struct plan_cache));
	pc = r->plans[pool][site];
	if (pc != NULL) { /* without memory: no cache, nothing else lost */
		pc->cfg = c;
		pc->gen = gen;
		pc->day = day;
		pc->plan = *plan;
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* One pool's pick for m (site: its site's members only): the candidate
 * position in *plan, or -1.  A hash pool's order may hold only its top
 * (router_plan): when none of that can take m, the whole order decides,
 * which picks what one call with all of it would have (the script writes
 * nothing for a hash pick that finds no member). */
static long router_pick(struct router *r, struct config *c, int pool,
			const struct route_view *view, unsigned long gen,
			const struct route_msg *m, long long day, int site,
			struct route_plan *plan, struct router_result *out,
			int *reserved)
{
	long pos = -1;
	int local = 0;

	if (router_plan(r, c, pool, view, gen, m, day, site, plan) != 0)
		return -1;
	plan->spill = c->pools[pool].prefer_site && !site;
	for (int whole = 0; pos == -1 && whole < 2; whole++) {
		if (whole && (plan->mode != RM_ORDER || plan->len >= plan->n))
			break;
		if (whole)
			route_plan_order(c, plan, m, plan->n);
		if (!local)
			pos = router_pick_redis(r, c, plan, m, day, reserved);
		if (local || pos == -2) {
			out->local = local = 1;
			pos = router_pick_local(r, c, plan, m, day);
		}
	}
	return pos;
}

void router_route(struct router *r, struct config *c,
		  const struct route_msg *m, struct router_result *out)
{
	struct route_view view;
	struct route_plan *plan = malloc(sizeof(*plan));
	unsigned long long t0 = router_mono_ns();
	long long day = router_today(r);
	unsigned long gen;
	int pool, hops = 0, reserved = 0;

	pthread_mutex_lock(&r->lock);
	router_view_for(r, c, &view); /* by name after a reload */
	gen = r->gen;
	pthread_mutex_unlock(&r->lock);
	memset(out, 0, sizeof(*out));
	out->member = -1;
	out->pool = pool = route_classify(c, m, &out->rule);
	while (plan != NULL && pool >= 0 && hops++ <= (int)c->npools) {
		long pos = -1;
		/* prefer_site: this site's members first, the others only
		 * when none of them can take the message */
		if (c->pools[pool].prefer_site && c->host_site != NULL)
			pos = router_pick(r, c, pool, &view, gen, m, day, 1,
					  plan, out, &reserved);
		if (pos < 0)
			pos = router_pick(r, c, pool, &view, gen, m, day, 0,
					  plan, out, &reserved);
		if (pos >= 0 && route_header_value(c, plan, (size_t)pos,
						   out->header,
						   sizeof(out->header)) == 0) {
			out->member = (int)plan->member[pos];
			out->used_pool = pool;
			out->reserved = reserved && !out->local;
			break;
		}
		pool = c->pools[pool].fallback;
	}
	free(plan);
	pthread_mutex_lock(&r->lock);
	r->st.routed += out->member >= 0;
	r->st.none += out->member < 0;
	r->st.local += out->local;
	r->st.fallback += out->member >= 0 && out->used_pool != out->pool;
	pthread_mutex_unlock(&r->lock);
	router_metrics_count(r, c, out, router_mono_ns() - t0);
}
