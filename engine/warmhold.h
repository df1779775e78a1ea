/*
 * warmhold: the warm-up hold.  A member on a warm-up schedule does not
 * move on to the next day's cap while receivers defer too much of its
 * mail: once a day (the first judgement of a day, by whichever host makes
 * it) its deliveries over the last window are judged, and a deferral rate
 * at or above the threshold (with at least min_attempts deliveries) holds
 * its schedule back one more day (health.h field "wh", which the route
 * caps subtract from the calendar day; route_warm_cap()).
 *
 * Pure: the counts come from Redis (warmhold.lua sums the cluster-wide
 * delivery counters of feedback.lua), no I/O, no allocation.
 */
#ifndef POSTLB_WARMHOLD_H
#define POSTLB_WARMHOLD_H

struct warmhold_conf {
	long long window_ms;	/* deliveries judged: this long back (> 0) */
	long long min_attempts; /* fewer deliveries never hold (>= 1) */
	int deferral_rate;	/* percent, 1..100 */
};

/* The defaults: 20% of at least 50 deliveries over 1 hour. */
extern const struct warmhold_conf warmhold_defaults;

/*
 * 1 when deliveries (sent + deferred + bounced) of which deferred were
 * deferred hold the member's warm-up back, else 0.  why (whysz bytes)
 * says why in one line either way ("deferred 30 of 100 (30%) in 60m").
 */
int warmhold_judge(const struct warmhold_conf *c, long long deliveries,
		   long long deferred, char *why, unsigned whysz);

#endif
