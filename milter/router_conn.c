/*
 * router_conn: the router's Redis connections (see router.c): a small
 * process-wide pool of blocking connections, each tagged with the pool
 * epoch it was opened in; the epoch is bumped, and idle connections
 * closed, by a reload, by Redis seen failing or coming back, and by a
 * call whose connection was cut, so a stale connection never serves a
 * second message.  Also the route script call itself.  Does not decide
 * anything about picks.
 */
#include "router_int.h"

#include "route_run.h"

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

/*
 * Closes every pooled connection and makes those in use unpoolable (a
 * reload, Redis seen failing or back, shutdown): after a Redis restart
 * each would fail once.
 */
void router_pool_flush(struct router *r)
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
void router_mark(struct router *r, int up, const char *why,
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
 * Borrows a connection from the pool, or opens one if allowed, into *s
 * with its epoch; -1 if none (Redis marked down).  A message classified
 * under a config a reload has since replaced (an SMTP session keeps its
 * config) still gets a connection to the Redis of the running config.
 */
static int router_conn_get(struct router *r, struct store_sync **s,
			   unsigned long *epoch)
{
	struct config *cur;
	char err[256];
	long long until;
	int rc = 0;

	*s = NULL;
	pthread_mutex_lock(&r->lock);
	if (r->nidle > 0) {
		r->nidle--;
		*s = r->idle[r->nidle].s;
		*epoch = r->idle[r->nidle].epoch;
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	*epoch = r->epoch;
	until = r->down_until_ms;
	cur = config_ref(r->cfg);
	pthread_mutex_unlock(&r->lock);
	if (router_mono_ms() < until) {
		rc = -1;
	} else if (store_sync_open(cur, cur->route_budget_ms, s, err,
				   sizeof(err)) < 0) {
		*s = NULL;
		router_mark(r, 0, err, 0);
		rc = -1;
	}
	pthread_mutex_lock(&r->lock);
	config_unref(cur);
	pthread_mutex_unlock(&r->lock);
	return rc;
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

/*
 * Asks Redis for npicks picks in plan (one for message m, or a
 * reservation; see route_call_build()) into picks[]: candidate numbers,
 * 0 none, negated when suspended for some domain.  0, or -1 on error
 * (the connection is dropped; the caller routes locally).
 */
int router_call(struct router *r, struct config *c,
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
	if (router_conn_get(r, &s, &epoch) < 0) {
		free(call);
		return -1;
	}
	n = route_run(s, c, plan, call, res, 1 + npicks);
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
