/*
 * health: the shared vocabulary of member health in Redis, for the two
 * health sources (active SMTP checks and delivery-log feedback), the
 * route script that acts on them and postlbctl that shows them.
 *
 * A member's hash PREFIX m:NAME holds, besides the manual "state" (ready,
 * drain, maint, down; set by postlbctl, always wins) and the "s:DOMAIN"
 * suspensions:
 *   hc        the active check's verdict: "up" or "down" (absent: up)
 *   hc_since  ms (Redis clock) of the last hc change
 *   hc_why    why, one line ("connect: Connection refused", "timeout
 *             after 2000 ms waiting for the banner", ...)
 *   hc_last   the last check's result: "ok 12ms" or "fail: <why>"
 *   cb_until  the delivery-log circuit breaker is open until this ms
 *             (absent or past: closed; the first delivery after it is the
 *             half-open trial)
 *   cb_trips  how many times in a row it tripped (backoff grows with it)
 *   cb_why    why it tripped last ("deferred 12 of 20 in 60s", ...)
 *   up_at     ms when the member last became usable again after a health
 *             down (hc back up or breaker closed): the start of its slow
 *             start ramp
 * A member takes mail when its state is ready (or absent), hc is not
 * "down" and cb_until is not in the future.
 *
 * Every change of hc or of the breaker is also pushed, newest first, onto
 * the list PREFIX ev:NAME as "MS SOURCE WHAT: WHY" (at most
 * HEALTH_EVENTS_MAX entries), so postlbctl can say since when and why.
 *
 * Delivery counters of the feedback (postlb-policyd, from the Postfix
 * log): PREFIX fb:NAME:MINUTE (MINUTE = unix ms / 60000) is a hash of
 * "sent", "deferred", "bounced", "conn_error" and the same per recipient
 * domain ("deferred:gmail.com"), expiring after feedback.keep.
 *
 * The lease of active checks: PREFIX hl:NAME holds the id of the host
 * that checks NAME now (SET NX PX); another host takes over when it
 * lapses.
 */
#ifndef POSTLB_HEALTH_H
#define POSTLB_HEALTH_H

#define HEALTH_F_HC "hc"
#define HEALTH_F_HC_SINCE "hc_since"
#define HEALTH_F_HC_WHY "hc_why"
#define HEALTH_F_HC_LAST "hc_last"
#define HEALTH_F_CB_UNTIL "cb_until"
#define HEALTH_F_CB_TRIPS "cb_trips"
#define HEALTH_F_CB_WHY "cb_why"
#define HEALTH_F_UP_AT "up_at"
#define HEALTH_EVENTS_MAX 100 /* entries kept in PREFIX ev:NAME */
#define HEALTH_KEY_EVENTS "ev:"
#define HEALTH_KEY_LEASE "hl:"
#define HEALTH_KEY_FEEDBACK "fb:" /* added with the feedback, see above */

#endif
