/*
 * warmhold: the warm-up hold's judgement (see warmhold.h).  No I/O.
 */
#include "warmhold.h"

#include <stdio.h>

const struct warmhold_conf warmhold_defaults = {
    .window_ms = 3600000, .min_attempts = 50, .deferral_rate = 20};

int warmhold_judge(const struct warmhold_conf *c, long long deliveries,
		   long long deferred, char *why, unsigned whysz)
{
	int hold;

	if (deliveries < 0)
		deliveries = 0;
	if (deferred < 0)
		deferred = 0;
	if (deferred > deliveries)
		deferred = deliveries;
	hold = deliveries >= c->min_attempts &&
	       deferred * 100 >= (long long)c->deferral_rate * deliveries;
	snprintf(why, whysz, "deferred %lld of %lld (%lld%%) in %llds%s",
		 deferred, deliveries,
		 deliveries ? deferred * 100 / deliveries : 0,
		 c->window_ms / 1000,
		 deliveries < c->min_attempts ? ", too few to judge" : "");
	return hold;
}
