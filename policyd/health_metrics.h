/*
 * health_metrics: what postlb-policyd's health sources saw, for /metrics:
 * the active checks' results, latency and verdict by member (prober.c,
 * its own thread) and the delivery-log breaker's trips by member
 * (feedback.c, the main thread).  Process-wide and thread safe (atomic
 * counters, metrics_table locks); every function is a no-op before
 * health_metrics_init().  Member names come from the config; a reload's
 * removed members are left out of the exposition.
 */
#ifndef POSTLB_POLICYD_HEALTH_METRICS_H
#define POSTLB_POLICYD_HEALTH_METRICS_H

#include "breaker.h"
#include "config.h"
#include "metrics.h"

/* Returns 0, or -1 when out of memory. */
int health_metrics_init(void);
void health_metrics_free(void);

/* One active check of member ended: ok or not, after ms; up is the
 * member's verdict after it (rise/fall). */
void health_metrics_check(const char *member, int ok, int up, long long ms);
/* The breaker of member changed (breaker_record's event). */
void health_metrics_breaker(const char *member, enum breaker_event ev);

/* The families above, for the members of c. */
void health_metrics_write(struct metrics_buf *b, const struct config *c);

#endif
