/*
 * credit: quota units that one postlb-policyd reserved in Redis ahead of
 * use, so that a busy subject is not a Redis round trip per message.  No
 * I/O, single-threaded.
 *
 * A request whose every check can be paid from units this process holds
 * is answered at once (DUNNO).  Otherwise it goes to Redis as before, and
 * each of its checks asks to reserve the units its subject used over the
 * last lifetime (twice that while a reservation is used up within half of
 * its lifetime, none at a low rate); QUOTA_LUA grants them only while the
 * subject's bucket stays at most half full, and at most 1% of the limit.
 * Reserved units are charged in Redis when they are granted, so the
 * cluster never passes a quota; near the limit every request is checked
 * in Redis.  Units live at most the configured lifetime: then the unused
 * ones are given back (credits_expire()), and a live override or reset
 * reaches a subject holding units within that lifetime.
 */
#ifndef POSTLB_CREDIT_H
#define POSTLB_CREDIT_H

#include "quota.h"

struct credits;

/* A table of at most max subjects (quota, subject value).  NULL: no memory. */
struct credits *credits_new(size_t max);
void credits_free(struct credits *cr);
/* Subjects tracked now. */
size_t credits_count(const struct credits *cr);

/*
 * If every check of plan can be paid from units reserved less than life_ms
 * ago, pays them and returns 1.  Otherwise returns 0 and sets each check's
 * reserve: the units to ask Redis for along with this request.
 */
int credits_pay(struct credits *cr, struct quota_plan *plan, long long now_ms,
		long long life_ms);

/*
 * Records an allowed plan: its costs charged, v->reserved[i] units held,
 * charged v->reserved_us[i] microseconds.
 */
void credits_record(struct credits *cr, const struct quota_plan *plan,
		    const struct quota_verdict *v, long long now_ms,
		    long long life_ms);

/*
 * Gives back (through cb) the units of reservations older than life_ms, or
 * of all of them when all != 0, and forgets subjects idle for four
 * lifetimes (all of them when all != 0).  Returns how many calls to cb.
 * q is a copy that lives until cb returns.  us is the time Redis added to
 * the subject's TAT for those units when it granted them (the verdict's
 * reserved_us, less the share of units used since): the amount to give
 * back, priced as reserved and not at the limit in force now.
 */
typedef void (*credits_back_cb)(void *arg, const struct cfg_quota *q,
				const char *subject, long long units,
				long long us);
size_t credits_expire(struct credits *cr, long long now_ms, long long life_ms,
		      int all, credits_back_cb cb, void *arg);

#endif
