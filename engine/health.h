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
 *   rs_until  a response rule of scope member suspends it until this ms
 *   rs_why    which rule and the reply that reached its threshold
 *   p:PROVIDER  a response rule of scope provider suspends it for every
 *             recipient domain of that mailbox provider until this ms
 *             (a rule that knows no provider sets "s:DOMAIN" instead)
 *   th, tp:PROVIDER, ts:DOMAIN  a response rule of action throttle:
 *             "UNTIL RATE", the member takes at most RATE messages a
 *             minute (everywhere, of that provider, of that domain) until
 *             UNTIL ms; the route script counts its picks under each in
 *             PREFIX m:NAME:FIELD:MINUTE
 *   wh        warm-up days held back: the member's warm-up schedule runs
 *             this many days behind the calendar (warm-up hold)
 *   wh_day    the day (since 1970-01-01 UTC) the hold was last judged
 * A member takes mail when its state is ready (or absent), hc is not
 * "down" and cb_until and rs_until are not in the future; it takes no
 * message with a recipient domain suspended by s:DOMAIN or by the
 * p:PROVIDER of the domain's provider.
 *
 * Mailbox providers: the hash PREFIX prov maps a recipient domain to its
 * provider ("gmail.com" -> "google"), learned by postlb-policyd from the
 * relay host of every delivery line that respond.c's MX suffix table
 * knows, or set by hand (HSET) for domains it cannot see.  Response rule
 * matches are counted in the sorted sets PREFIX rc:NAME:RULE (":PROVIDER"
 * or ":s:DOMAIN" appended for scope provider), expiring after the rule's
 * period.
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
#define HEALTH_F_RS_UNTIL "rs_until"
#define HEALTH_F_RS_WHY "rs_why"
#define HEALTH_F_PROVIDER "p:" /* + provider name */
#define HEALTH_F_THROTTLE "th"	/* "UNTIL RATE": throttled everywhere */
#define HEALTH_F_WARM_HELD "wh" /* warm-up days held back */
#define HEALTH_F_WARM_DAY "wh_day" /* the day the hold was last judged */
#define HEALTH_KEY_PROVIDERS "prov"
#define HEALTH_KEY_RULE_COUNT "rc:"
#define HEALTH_EVENTS_MAX 100 /* entries kept in PREFIX ev:NAME */
#define HEALTH_KEY_EVENTS "ev:"
#define HEALTH_KEY_LEASE "hl:"
#define HEALTH_KEY_FEEDBACK "fb:" /* added with the feedback, see above */

#endif
