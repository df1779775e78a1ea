/*
 * prober: the active SMTP health checks of postlb-policyd.
 *
 * Members with a nexthop and checks on (health.check, members.NAME.check)
 * are checked like a relay's client would see them: connect (from the
 * member's own address when it has one), the 220 banner, EHLO (and
 * STARTTLS offered when required), QUIT, within the check timeout.  Each
 * member is checked by one host of the cluster at a time: the host that
 * holds its lease in Redis (check.lua); any other takes over when it
 * lapses.  Results go through the state machine of check.h; each change
 * is written to the member's hash and event list (health.h) and logged
 * once.
 *
 * The checks run in a thread of their own with their own event loop and
 * Redis connection, so a dead or stalled relay never delays a policy
 * answer.  All functions are called from the main thread.
 */
#ifndef POSTLB_PROBER_H
#define POSTLB_PROBER_H

#include "config.h"

struct prober;

/* Starts the checks of c (none configured: a thread that idles). */
struct prober *prober_new(struct config *c);

/* Applies a reloaded config: the checks start over with it. */
void prober_set_config(struct prober *p, struct config *c);

/* Stops the thread and frees everything; NULL is a no-op. */
void prober_free(struct prober *p);

#endif
