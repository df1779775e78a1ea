/*
 * route_run: one route script call on a blocking connection (see
 * route.h), writing the plan's definition first when Redis says it is
 * missing (a new plan, Redis restarted or failed over): one more round
 * trip for the first message of a plan, none after.  Used by
 * postlb-milter's router and the route benchmark.  No state: a missing
 * definition is noticed by the script, which then does nothing.
 */
#include "route_run.h"

#include "route.h"
#include "store_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes plan's definition (four string keys, ROUTE_DEF_TTL_MS). */
static int route_run_define(struct store_sync *s, const struct config *c,
			    const struct route_plan *plan)
{
	static const char *const sfx[] = {":c", ":n", ":w", ":k"};
	struct route_def *d = malloc(sizeof(*d));
	int rc = 0;

	if (d == NULL || route_def_build(c, plan, d) < 0) {
		free(d);
		return -STORE_EREPLY;
	}
	for (int i = 0; i < 4 && rc == 0; i++) {
		const char *v = i == ROUTE_DEF_CYCLE	? d->cycle
				: i == ROUTE_DEF_NAMES	? d->names
				: i == ROUTE_DEF_WEIGHTS ? d->weights
							 : d->caps;
		char key[ROUTE_KEY_MAX + 4];
		if (i == ROUTE_DEF_CYCLE && d->lens[i] == 0)
			continue; /* a hash pool's order goes inline */
		snprintf(key, sizeof(key), "%s%s", d->key, sfx[i]);
		rc = store_sync_set_px(s, key, v, d->lens[i], ROUTE_DEF_TTL_MS);
	}
	free(d);
	return rc;
}

int route_run(struct store_sync *s, const struct config *c,
	      const struct route_plan *plan, const struct route_call *call,
	      long long *out, size_t nout)
{
	int n = store_sync_eval(s, ROUTE_LUA, call->nkeys, call->argc,
				call->argv, call->lens, out, nout);
	int rc;

	if (n != 1 || out[0] != -1)
		return n;
	if ((rc = route_run_define(s, c, plan)) < 0)
		return rc;
	return store_sync_eval(s, ROUTE_LUA, call->nkeys, call->argc,
			       call->argv, call->lens, out, nout);
}
