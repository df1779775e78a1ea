/*
 * router_reserve: picks through Redis (see router.c): one call per
 * message, or, for a round robin or weighted pool under load, reservations
 * of the next picks of the pool's rotation, and the give-back of the
 * reserved picks left unused (and of local picks) to today's counts.
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

/* Adds delta to count key by COUNT_LUA (a count it creates expires). */
static int router_count_add(struct store_sync *s, const char *key,
			    long long delta)
{
	char d[24];
	const char *argv[2] = {key, d};
	size_t lens[2] = {strlen(key), 0};
	long long out[1];

	lens[1] = (size_t)snprintf(d, sizeof(d), "%lld", delta);
	return store_sync_eval(s, COUNT_LUA, 1, 2, argv, lens, out, 1) == 1
		   ? 0
		   : -1;
}

/*
 * Ends the reservations that outlived routing.reserve_time and takes their
 * unused picks off today's counts; -1 on a Redis error.
 */
int router_giveback(struct router *r, struct config *c, struct store_sync *s)
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
		if (rc == 0 && router_count_add(s, key, -back[i]) < 0)
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
	if (plan->mode != RM_SEQ || plan->spill || c->route_reserve <= 1 ||
	    c != r->cfg)
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
	v->gen = r->gen; /* the states the call will be answered under */
	if (*want == 1) { /* a reservation of one: this message */
		v->size = v->used = 1;
		v->born_ms = now;
	}
}

/*
 * Under the lock: keeps the want picks a reservation call returned
 * (candidate numbers of plan, up to the first slot no member could take)
 * and takes the first one; returns it, or 0.  A change pushed while the
 * call was out (r->gen moved on from v->gen) leaves the rest lapsed.
 */
static int reservation_keep(const struct route_plan *plan,
			    struct reservation *v, long long day,
			    long long now, size_t want, const int *picks)
{
	v->born_ms = now; /* v->gen: when it was asked for */
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
long router_pick_redis(struct router *r, struct config *c,
		       const struct route_plan *plan,
		       const struct route_msg *m, long long day, int *reserved)
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
			p = reservation_keep(plan, v, day, now, want, picks);
		pthread_mutex_unlock(&r->lock);
		if (rc < 0)
			return -2;
	}
	*reserved = p != 0 && want <= 1; /* taken, not fetched now */
	if (p != 0 && (pos = reserved_pos(r, plan, day, p)) >= 0)
		return pos;
	*reserved = 0;
	/* this message alone: no reservation, a suspended member or none */
	if (router_call(r, c, plan, m, day, 1, picks) < 0)
		return -2;
	return picks[0] > 0 ? picks[0] - 1 : -1;
}
