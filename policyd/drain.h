/*
 * drain: re-routing the mail already queued on this host for a member
 * that left rotation (see README, "Drain").
 *
 * Every drain.interval it reads each member's hash (engine/health.h) and
 * decides with engine/reroute.c what must move: everything for a member
 * set to drain, maint or down, or down by its health (hc down, breaker or
 * response rule open); only the suspended domains' or providers' mail
 * for a scoped suspension.  It lists the member's deferred mail through
 * postlb-requeue (this host's queue only), records each message's
 * recipient domains by Message-ID for the requeue socketmap, and has
 * postlb-requeue requeue it, at most drain.rate messages a second.  Each
 * pass that moved mail is logged once with the count; a pass in progress
 * is in Redis (PREFIX dr:NAME:HOST, lapsing) for `postlbctl health`.  Mail
 * in active delivery is never touched: it is drained by a later pass if
 * it comes back deferred.
 *
 * Its own thread, its own blocking Redis connection.  All functions are
 * called from the main thread.
 */
#ifndef POSTLB_DRAIN_H
#define POSTLB_DRAIN_H

#include "config.h"

/* How long a requeued message's domains stay recorded (seconds). */
#define DRAIN_RECORD_TTL_S 86400
/* How long a pass's progress record outlives its last update (seconds). */
#define DRAIN_PROGRESS_TTL_S 60
/* Learned provider map entries used by one pass at most. */
#define DRAIN_PROVIDERS_MAX 100000

struct drain;

/* Starts the drain thread of c (no drain.requeue: NULL, nothing to do). */
struct drain *drain_new(struct config *c);
void drain_set_config(struct drain *d, struct config *c);
void drain_free(struct drain *d); /* NULL: no-op */

#endif
