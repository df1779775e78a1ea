/*
 * router_int: what the parts of the router share (router.c, router_conn.c,
 * router_local.c, router_reserve.c): the router's state, guarded by its
 * lock, and the functions each part offers the others.  Not for the rest
 * of the milter: it uses router.h.
 */
#ifndef POSTLB_MILTER_ROUTER_INT_H
#define POSTLB_MILTER_ROUTER_INT_H

#include "router.h"

#include <pthread.h>

struct store_sync;

#define ROUTER_POOL_MAX 16
#define ROUTER_SUSP_MAX 4096 /* live suspensions kept for local routing */
#define ROUTER_PROV_MAX 100000 /* learned domain -> provider entries kept */
/* routed series (pool, member, rule, path) on /metrics; more are dropped
 * and counted */
#define ROUTER_SERIES_MAX 4096

/* The picks one Redis call reserved for a pool (see router.c). */
struct reservation {
	unsigned long gen;	/* router gen when asked for: a change pushed
				 * while the call was out ends it */
	long long born_ms;	/* monotonic */
	long long day;
	size_t n, next;		/* picks, the next one to take */
	size_t size, used;	/* the last one's size and picks used */
	int fetching;		/* a thread is asking Redis for one */
	int pick[CONFIG_RESERVE_MAX]; /* member index + 1; < 0: suspended */
};

/* A pool's plan as last built (round robin, weighted, least: the plan
 * depends on the states and the day, not on the message). */
struct plan_cache {
	const struct config *cfg; /* borrowed: compared, never used */
	unsigned long gen;
	long long day;
	struct route_plan plan;
};

/* Why the refresher should read the members now (struct router kick). */
enum { KICK_PUSH = 1, /* a change was pushed */
       KICK_RESUB = 2 /* the listener subscribed anew: one may be missed */
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
	struct route_prov *prov; /* learned providers, sorted, owned */
	size_t nprov;
	long long count[CONFIG_MEMBERS_MAX]; /* today's counts, by member */
	long long count_day;
	long long skew_ms; /* Redis's clock minus this host's */
	struct router_stats st;
	unsigned long gen; /* bumped when states or the config change */
	struct reservation res[CONFIG_POOLS_MAX]; /* per pool */
	struct plan_cache *plans[CONFIG_POOLS_MAX][2]; /* per pool, site */
	long long giveback[CONFIG_MEMBERS_MAX]; /* per member: unused picks of */
	long long giveback_day;			 /* ... this day */
	struct pooled {
		struct store_sync *s;
		unsigned long epoch;
	} idle[ROUTER_POOL_MAX]; /* free connections */
	size_t nidle;
	/* A connection is pooled only if opened in this epoch: bumped by a
	 * reload and when Redis is seen failing or back (router_pool_flush). */
	unsigned long epoch;
	unsigned long cfg_gen; /* reloads; the refresher reconnects after one */
	unsigned long long call_errors;
	pthread_t refresher;
	pthread_t listener; /* member change pushes (router.c) */
	int kick;	    /* KICK_*: refresh now */
	pthread_cond_t wake; /* the threads wait on it (kick, reload, stop) */
	int stop;
	struct metrics_table *routed; /* pool, member, rule, path */
	struct metrics_hist latency;  /* router_route() */
};

/* router.c: clocks.  Wall and monotonic ms; Redis's clock as last
 * measured by the refresher, and its day. */
long long router_wall_ms(void);
long long router_mono_ms(void);
unsigned long long router_mono_ns(void);
long long router_now_ms(struct router *r);
long long router_today(struct router *r);

/* router_conn.c: the connection pool and the route script call. */
void router_pool_flush(struct router *r);
void router_mark(struct router *r, int up, const char *why,
		 long long since_ms);
int router_call(struct router *r, struct config *c,
		const struct route_plan *plan, const struct route_msg *m,
		long long day, size_t npicks, int *picks);

/* router_local.c: what is known of the members, and picks from it. */
void router_susp_free(struct route_susp *susp, size_t n);
void router_prov_free(struct route_prov *p, size_t n);
int router_refresh_once(struct router *r, struct config *c,
			struct store_sync *s);
void router_known_remap(struct router *r, const struct config *c);
/* The last known states by member of c (lock held): the running
 * config's, by member name when c has been replaced by a reload. */
void router_view_for(const struct router *r, const struct config *c,
		     struct route_view *v);
long router_pick_local(struct router *r, const struct config *c,
		       const struct route_plan *plan,
		       const struct route_msg *m, long long day);

/* router_reserve.c: picks through Redis, reserved ahead under load. */
int router_giveback(struct router *r, struct config *c, struct store_sync *s);
long router_pick_redis(struct router *r, struct config *c,
		       const struct route_plan *plan,
		       const struct route_msg *m, long long day, int *reserved);

/* router_metrics.c: counting for /metrics (no lock needed). */
int router_metrics_init(struct router *r);
void router_metrics_free(struct router *r);
void router_metrics_count(struct router *r, const struct config *c,
			  const struct router_result *res,
			  unsigned long long ns);

#endif
