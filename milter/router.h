/*
 * router: postlb-milter's routing service, shared by all libmilter
 * threads.  It owns the running config, a small pool of Redis connections,
 * the last known member states (refreshed by a background thread) and the
 * local rotation used while Redis cannot answer within the budget.
 * Thread-safe.
 */
#ifndef POSTLB_MILTER_ROUTER_H
#define POSTLB_MILTER_ROUTER_H

#include "config.h"
#include "metrics.h"
#include "route.h"

struct router;

struct router_result {
	int rule;		/* -1: the default pool */
	int pool;		/* the pool classified into */
	int used_pool;		/* the pool that gave the member (fallback) */
	int member;		/* config member index, -1: none */
	int local;		/* decided without Redis */
	int reserved;		/* a pick reserved ahead, no round trip */
	char header[ROUTE_HEADER_VALUE_MAX]; /* route header when member >= 0 */
};

struct router_stats {
	unsigned long long routed, local, none, fallback;
	unsigned long long calls; /* route script calls (reservations too) */
	unsigned long long returned; /* reserved picks left unused */
	unsigned long long pushes;   /* member changes pushed by Redis */
	int redis_up;
};

/* Takes a reference to c.  Starts the state refresher.  NULL on failure. */
struct router *router_new(struct config *c);
void router_free(struct router *r);
/* Swaps the config in for new connections (takes a reference). */
void router_set_config(struct router *r, struct config *c);
/* A new reference to the running config (config_unref it). */
struct config *router_config(struct router *r);
/* Routes one message classified under config c (a reference held). */
void router_route(struct router *r, struct config *c,
		  const struct route_msg *m, struct router_result *out);
void router_get_stats(struct router *r, struct router_stats *out);
/* What the router says on /metrics (a metrics_http_fn; arg: the router;
 * any thread). */
void router_metrics_write(void *arg, struct metrics_buf *b);

#endif
