/*
 * feedback: postlb-policyd's delivery-log feedback.  It follows the
 * Postfix log (a file with follow.c, or the systemd journal with
 * journal.c), parses the member transports' delivery lines
 * (logline.c) and, in Redis, through a store connection of its own (so
 * that nothing here ever queues in front of a policy answer):
 *   - counts each delivery in per-minute hashes PREFIX fb:NAME:MINUTE
 *     (MINUTE = unix ms / 60000), fields "KIND" and "KIND:DOMAIN" (KIND:
 *     sent, deferred, bounced, conn_error), expiring after feedback.keep;
 *   - ends the message's least-outstanding assignment (ZREM PREFIX lc:NAME
 *     QUEUEID) on any delivery result;
 *   - both in one call of FEEDBACK_LUA (engine/feedback.lua), which also stores
 *     the position after the line (PREFIX fo:HOST:LOGID) and skips a line
 *     at or before it: lines read again after a crash (the follower's
 *     state file lags by up to a second) are not counted twice;
 *   - runs each member's circuit breaker (breaker.c; errors are deferrals,
 *     including connection failures; bounces are the recipient's verdict)
 *     on the lines the script counted, and writes its changes to the member's
 * hash (cb_until, cb_trips, cb_why, up_at; see health.h) and event list,
 * logging each once. Tries at one host (logline kind TRY) are not counted:
 * their delivery's status line is.  While Redis is away, following pauses
 * (nothing is lost; the breaker, which cannot be published, waits too).
 *
 * Single-threaded, in policyd's event loop.  feedback owns its follower,
 * its store and a reference to the config.
 */
#ifndef POSTLB_FEEDBACK_H
#define POSTLB_FEEDBACK_H

struct config;
struct event_base;
struct feedback;

/*
 * Starts following c->feedback_log (which must be set).  Takes its own
 * reference to c.  Returns NULL when out of memory.
 */
struct feedback *feedback_new(struct event_base *base, struct config *c);

/* Applies a reloaded config (members, breaker, Redis); 0 or -1. */
int feedback_set_config(struct feedback *fb, struct config *c);

/* Logs one "feedback: ..." counters line. */
void feedback_log_stats(const struct feedback *fb);

/* Saves the follower's place, drops Redis, frees.  NULL is a no-op. */
void feedback_free(struct feedback *fb);

#endif
