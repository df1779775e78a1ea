/*
 * routebench: the cost of one route call (ROUTE_LUA through Redis, as
 * postlb-milter makes it) for a pool of a given config, for bench/.
 *
 *   routebench -c CONF [-p POOL] [-n CALLS] [-d DOMAIN] [-P]
 *
 * Plans POOL (default: routing.default_pool) with every member known
 * ready, builds the call of one message to DOMAIN (default
 * dest.example) and runs it CALLS times (default 20000) on one blocking
 * connection, one call at a time (the plan's definition is written
 * before the first, untimed, call).  Prints "calls N members M median_us X
 * p99_us Y per_s Z arg_bytes B".  With -P each call is for a message of
 * its own (recipient domain dN.DOMAIN, sender domain sN.example) and is
 * prepared as postlb-milter prepares it from its kept plan: a hash pool's
 * order for the message (route_plan_order, its first ROUTE_ORDER_TOP:
 * every member is ready, so the first call always picks), then the call's arguments
 * (route_call_build); the line adds "plan_median_us P plan_p99_us Q" for
 * that preparation alone and "msg_median_us M" for preparation and call.  Exits 1 on a config or Redis error.
 */
#include "config.h"
#include "route.h"
#include "route_run.h"
#include "store_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *poolname = NULL, *domain = "dest.example";
	long n = 20000;
	struct config *c;
	struct store_sync *s;
	struct route_view *view = calloc(1, sizeof(*view));
	struct route_plan *plan = malloc(sizeof(*plan));
	struct route_call *call = malloc(sizeof(*call));
	struct route_msg m = {.size = -1, .queue_id = "4XyZ1Q2w"};
	long long *t, *tp = NULL, *tm = NULL, out[4], t0, total;
	char dom[300], snd[64];
	int per_msg = 0;
	size_t bytes = 0;
	char err[600];
	int opt, pool;

	while ((opt = getopt(argc, argv, "c:p:n:d:P")) != -1) {
		if (opt == 'c')
			conf = optarg;
		else if (opt == 'p')
			poolname = optarg;
		else if (opt == 'n')
			n = atol(optarg);
		else if (opt == 'd')
			domain = optarg;
		else if (opt == 'P')
			per_msg = 1;
		else
			return 2;
	}
	if (conf == NULL || n < 1 || n > 10000000 || view == NULL ||
	    plan == NULL || call == NULL) {
		fprintf(stderr, "usage: routebench -c CONF [-p POOL] [-n CALLS] "
				"[-d DOMAIN] [-P]\n");
		return 2;
	}
	if (config_load(conf, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "routebench: %s\n", err);
		return 1;
	}
	pool = poolname ? config_pool_index(c, poolname) : c->default_pool;
	m.rcpt_domains[0] = domain;
	m.ndomains = 1;
	if (pool < 0 || route_plan_pool(c, pool, view, &m, route_today(), 0,
					plan) != 0) {
		fprintf(stderr, "routebench: cannot plan the pool\n");
		return 1;
	}
	if (per_msg && plan->mode == RM_ORDER) /* as each message's is sent */
		route_plan_order(c, plan, &m, ROUTE_ORDER_TOP);
	if (route_call_build(c, plan, &m, route_today(), 1, call) != 0) {
		fprintf(stderr, "routebench: cannot plan the pool\n");
		return 1;
	}
	for (int i = 0; i < call->argc; i++)
		bytes += call->lens[i];
	if (store_sync_open(c, 5000, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "routebench: %s\n", err);
		return 1;
	}
	t = calloc((size_t)n, sizeof(*t));
	tp = calloc((size_t)n, sizeof(*tp));
	tm = calloc((size_t)n, sizeof(*tm));
	if (t == NULL || tp == NULL || tm == NULL)
		return 1;
	/* one call first: the script is loaded, not timed */
	if (route_run(s, c, plan, call, out, 4) < 2) {
		fprintf(stderr, "routebench: %s\n", store_sync_error(s));
		return 1;
	}
	total = now_ns();
	for (long i = 0; i < n; i++) {
		t0 = now_ns();
		if (per_msg) {
			snprintf(dom, sizeof(dom), "d%ld.%s", i, domain);
			snprintf(snd, sizeof(snd), "u@s%ld.example", i);
			m.rcpt_domains[0] = dom;
			m.sender = snd;
			if (plan->mode == RM_ORDER)
				route_plan_order(c, plan, &m, ROUTE_ORDER_TOP);
			if (route_call_build(c, plan, &m, route_today(), 1,
					     call) != 0)
				return 1;
			tp[i] = now_ns() - t0;
		}
		t0 += tp[i]; /* the call alone in t, both in tm */
		if (route_run(s, c, plan, call, out, 4) < 2 ||
		    out[1] <= 0) {
			fprintf(stderr, "routebench: call %ld failed\n", i);
			return 1;
		}
		t[i] = now_ns() - t0;
		tm[i] = t[i] + tp[i];
	}
	total = now_ns() - total;
	qsort(t, (size_t)n, sizeof(*t), cmp_ll);
	qsort(tp, (size_t)n, sizeof(*tp), cmp_ll);
	qsort(tm, (size_t)n, sizeof(*tm), cmp_ll);
	printf("calls %ld members %zu median_us %.1f p99_us %.1f per_s %.0f "
	       "arg_bytes %zu",
	       n, plan->n, (double)t[n / 2] / 1000.0,
	       (double)t[n * 99 / 100] / 1000.0,
	       (double)n * 1e9 / (double)total, bytes);
	if (per_msg)
		printf(" plan_median_us %.1f plan_p99_us %.1f msg_median_us %.1f",
		       (double)tp[n / 2] / 1000.0,
		       (double)tp[n * 99 / 100] / 1000.0,
		       (double)tm[n / 2] / 1000.0);
	printf("\n");
	store_sync_close(s);
	config_unref(c);
	free(t);
	free(tp);
	free(tm);
	free(view);
	free(plan);
	free(call);
	return 0;
}
