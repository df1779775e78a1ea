/*
 * quota: decisions about sending quotas, without I/O.
 *
 * quota_plan() turns a policy request and the config into the list of
 * (quota, subject value, cost) checks that one atomic Redis call evaluates;
 * quota_reply() turns the store's verdict into a Postfix action.  The GCRA
 * arithmetic is here in C (quota_gcra) for postlbctl's usage view and for
 * unit tests; QUOTA_LUA is the same arithmetic run inside Redis.
 *
 * GCRA: each (quota, subject) stores one "theoretical arrival time" (TAT,
 * microseconds).  A quota of L units per window W has emission interval
 * T = W / L; a request of cost c passes when TAT' = max(TAT, now) + c*T
 * stays within now + W.  No window edges, so no bursts at them.
 */
#ifndef POSTLB_QUOTA_H
#define POSTLB_QUOTA_H

#include "config.h"
#include "pp.h"

#define QUOTA_SUBJECT_MAX 330
#define QUOTA_KEY_MAX 480

struct quota_check {
	const struct cfg_quota *q;
	char subject[QUOTA_SUBJECT_MAX]; /* normalised subject value */
	long long cost;	   /* < 0: a give-back of -cost microseconds */
	long long reserve; /* units to reserve ahead along with it */
};

struct quota_plan {
	size_t n;
	int exempt; /* matched an exemption: no checks */
	struct quota_check checks[CONFIG_QUOTAS_MAX];
};

/* What the store found: allowed, or the first check that failed. */
struct quota_verdict {
	int allowed;
	size_t idx;	    /* the failing check */
	long long retry_us; /* when it may pass */
	long long limit;    /* effective limit (after a live override) */
	long long window_ms;
	long long reserved[CONFIG_QUOTAS_MAX]; /* allowed: units reserved */
	/* allowed: microseconds added to each check's TAT for the units
	 * reserved and for the cost; giving them back (a negative cost)
	 * undoes exactly that charge, whatever the limit is by then */
	long long reserved_us[CONFIG_QUOTAS_MAX];
	long long charged_us[CONFIG_QUOTAS_MAX];
};

/*
 * 1 if req counts against quotas under c's policyd.count_only: always
 * without it; with it, only a SASL-authenticated request (count_only.sasl)
 * or one from a listed client network (count_only.networks).  Others
 * are answered DUNNO and charge nothing, so that on a host that is also an
 * MX, inbound mail with a forged sender cannot use up a customer's quota.
 */
int quota_counted(const struct config *c, const struct pp_request *req);

/*
 * Fills *out with the checks that req triggers under c: recipients at RCPT
 * (cost 1), messages (cost 1) and bytes (cost size) at END-OF-MESSAGE,
 * nothing in other states or for a request quota_counted() leaves out.
 * Returns 0 (a plan with n == 0 needs no call).
 */
int quota_plan(const struct config *c, const struct pp_request *req,
	       struct quota_plan *out);

/*
 * Normalises a raw subject value the way requests are keyed: addresses and
 * domains lower-cased, client addresses grouped by the quota's prefix,
 * global as "*".  Writes out (QUOTA_SUBJECT_MAX); returns 1, or 0 when the
 * value is empty or not an address (client_ip).
 */
int quota_normalize(const struct cfg_quota *q, const char *value, char *out);

/*
 * Writes the Redis keys of one check: the state key, the per-subject
 * override key and the quota-wide override key ("*").  Returns 0, or -1
 * when a key would exceed QUOTA_KEY_MAX.
 */
int quota_keys(const char *prefix, const char *quota, const char *subject,
	       char state[QUOTA_KEY_MAX], char ovr[QUOTA_KEY_MAX],
	       char ovr_all[QUOTA_KEY_MAX]);

/*
 * Formats the Postfix action for a verdict on plan into out: "DUNNO" when
 * allowed, else "DEFER_IF_PERMIT 4.7.1 ..." (or "REJECT 5.7.1 ..." for a
 * quota with action = reject) naming the quota, subject and retry time.
 */
void quota_reply(const struct quota_plan *plan, const struct quota_verdict *v,
		 char *out, size_t outsz);

/* The action answered when the store cannot decide in time. */
const char *quota_fail_action(enum fail_mode mode);

struct gcra {
	int allowed;
	long long tat_us;   /* the new TAT when allowed */
	long long retry_us; /* wait before retrying when denied */
};

/*
 * One GCRA step: stored TAT tat_us (0: none), now now_us, limit units per
 * window_us, cost units.  A cost larger than the whole quota passes only
 * when the subject's bucket is empty (else it could never pass and the
 * mail would bounce after the queue lifetime).  limit 0 denies all.
 */
void quota_gcra(long long tat_us, long long now_us, long long limit,
		long long window_us, long long cost, struct gcra *out);

/*
 * A give-back of back_us microseconds on a stored TAT tat_us at now_us:
 * the new TAT, never before now; 0 when nothing stays charged (the key is
 * deleted).  Time, not units, so it returns exactly what was charged even
 * when a live override changed the limit in between.
 */
long long quota_give_back(long long tat_us, long long now_us,
			  long long back_us);

/* Units in use at now for a stored TAT (rounded up). */
long long quota_used(long long tat_us, long long now_us, long long limit,
		     long long window_us);

/* Parses a live override value "LIMIT WINDOW_MS" or "unlimited" (-1 0). */
int quota_override_parse(const char *s, long long *limit,
			 long long *window_ms);

/*
 * The GCRA script evaluated by Redis: engine/quota.lua (its header says
 * its KEYS, ARGV and replies), embedded at build time (quota_lua.c,
 * generated by make).
 */
extern const char QUOTA_LUA[];

#endif
