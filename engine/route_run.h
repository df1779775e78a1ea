/*
 * route_run: one call of the route script on a blocking connection,
 * writing the plan's definition when Redis has none (route_run.c).
 */
#ifndef POSTLB_ROUTE_RUN_H
#define POSTLB_ROUTE_RUN_H

#include <stddef.h>

struct config;
struct route_plan;
struct route_call;
struct store_sync;

/*
 * Runs call (route_call_build() of plan) on s; when the script answers
 * that the plan's definition is missing, writes it and runs the call
 * once more.  Returns store_sync_eval()'s (the count of integers copied
 * into out), or a negative STORE_E code.
 */
int route_run(struct store_sync *s, const struct config *c,
	      const struct route_plan *plan, const struct route_call *call,
	      long long *out, size_t nout);

#endif
