/*
 * route: per-message routing decisions for postlb-milter, without I/O.
 *
 *  1. route_classify(): the first rule that matches the message names its
 *     pool; otherwise routing.default_pool.
 *  2. route_plan_pool(): the pool's candidates (members whose last known
 *     state is ready; all members when none is), today's warm-up caps and
 *     the algorithm's cycle or order.
 *  3. The store runs ROUTE_LUA with route_call_build()'s arguments: one
 *     round trip that checks each candidate's live state, per-domain
 *     suspension and warm-up count, advances the pool's shared counter and
 *     picks, for one message or, reserved, for the next few of a round
 *     robin or weighted pool.  Without Redis, route_pick_local() does the
 *     same walk on the last known states and a local counter.
 *  4. route_header_value() formats "MEMBER [NEXTHOP[,FAILOVER...]]" for
 *     the X-Postlb-Route header that milter_header_checks turns into
 *     FILTER MEMBER:NEXTHOP.
 */
#ifndef POSTLB_ROUTE_H
#define POSTLB_ROUTE_H

#include "config.h"

#include <stdint.h>

#define ROUTE_HEADER "X-Postlb-Route"
/* Distinct recipient domains of a message: Postfix's smtpd_recipient_limit
 * (1000 by default) bounds them; a message with more is left to Postfix. */
#define ROUTE_DOMAINS_MAX 1000
/* Header instances a message keeps: one per header rule at most. */
#define ROUTE_HEADERS_MAX CONFIG_HEADER_RULES_MAX
#define ROUTE_ARGS_MAX (16 + ROUTE_DOMAINS_MAX)
/* The script's fixed-width candidate fields (route.lua): name, weight
 * (1..1000) and today's cap (-1 or up to 10 digits). */
#define ROUTE_NAME_W CONFIG_NAME_MAX
#define ROUTE_WEIGHT_W 5
#define ROUTE_CAP_W 11
/* Queue ids longer than this are cut for the script (Postfix's are ~20) */
#define ROUTE_QUEUE_ID_MAX 64
#define ROUTE_DOMAIN_MAX 255 /* longer recipient domains are cut */
#define ROUTE_FAILOVER_MAX 3 /* other relays listed after a failover pick */
/* "MEMBER NEXTHOP[,NEXTHOP...]" and its NUL, the longest a config allows */
#define ROUTE_HEADER_VALUE_MAX                                                 \
	(CONFIG_NAME_MAX + (1 + ROUTE_FAILOVER_MAX) * (1 + CONFIG_NEXTHOP_MAX) + 1)

enum mstate { MS_READY, MS_DRAIN, MS_MAINT, MS_DOWN };

struct route_msg {
	const char *sasl_user;	 /* NULL or "" when not authenticated */
	const char *sender;
	const char *client_addr;
	const char *queue_id;
	const char *rcpt_domains[ROUTE_DOMAINS_MAX]; /* distinct, lower case */
	size_t ndomains;
	const char *hdr_name[ROUTE_HEADERS_MAX];
	const char *hdr_value[ROUTE_HEADERS_MAX];
	size_t nheaders;
	long long size; /* -1: unknown */
};

/* Last known member states, by config member index. */
struct route_view {
	enum mstate state[CONFIG_MEMBERS_MAX];
	/* warm-up days held back by a high deferral rate (health.h "wh") */
	long long held[CONFIG_MEMBERS_MAX];
};

enum route_mode { RM_SEQ, RM_ORDER, RM_LEAST };

/* The counter key's suffix for a host's or a site's own set of members:
 * ":" and 16 hex digits. */
#define ROUTE_SET_MAX 18

/* A key: prefix (at most 64) "rr:" pool ":" set; numbers fit 24. */
#define ROUTE_KEY_MAX (64 + 3 + CONFIG_NAME_MAX + ROUTE_SET_MAX)

struct route_plan {
	int pool;
	enum route_mode mode;
	size_t n;					/* candidates */
	size_t member[CONFIG_POOL_MEMBERS_MAX];		/* config member index */
	int weight[CONFIG_POOL_MEMBERS_MAX];
	long long cap[CONFIG_POOL_MEMBERS_MAX];		/* today's cap; -1 */
	uint16_t cycle[CONFIG_CYCLE_MAX];		/* candidate positions */
	size_t len;
	char set[ROUTE_SET_MAX + 1]; /* "" the whole pool's rotation */
	int spill; /* the other sites' turn (prefer_site): no reservations */
	char def[17]; /* the definition's hash (route_def_build) */
};

/*
 * A plan's definition as the route script reads it from Redis (keys
 * PREFIX rd:HASH:c, :n, :w, :k; see route.lua): the cycle (none for a
 * hash pool, whose order goes with each call), the candidates' names,
 * weights and today's caps in fixed-width fields.
 */
enum { ROUTE_DEF_CYCLE, ROUTE_DEF_NAMES, ROUTE_DEF_WEIGHTS, ROUTE_DEF_CAPS };
struct route_def {
	char key[ROUTE_KEY_MAX + 1]; /* PREFIX rd:HASH */
	char cycle[2 * CONFIG_CYCLE_MAX + 1];
	char names[ROUTE_NAME_W * CONFIG_POOL_MEMBERS_MAX + 1];
	char weights[ROUTE_WEIGHT_W * CONFIG_POOL_MEMBERS_MAX + 1];
	char caps[ROUTE_CAP_W * CONFIG_POOL_MEMBERS_MAX + 1];
	size_t lens[4]; /* by ROUTE_DEF_*; the cycle's 0 for a hash pool */
};
/* How long a written definition lives (it is written again when a plan
 * is rebuilt, at least daily: the caps change with the day). */
#define ROUTE_DEF_TTL_MS (2LL * 86400000)

/* Fills *out with plan's definition.  Returns 0, -1 if it cannot be. */
int route_def_build(const struct config *c, const struct route_plan *plan,
		    struct route_def *out);

#define ROUTE_CALL_BUF                                                         \
	(3 * (ROUTE_KEY_MAX + 1) + 2 * CONFIG_CYCLE_MAX + 1 +                  \
	 (ROUTE_QUEUE_ID_MAX + 1) + ROUTE_DOMAINS_MAX * (ROUTE_DOMAIN_MAX + 1) + \
	 12 * 24)

struct route_call {
	int argc;
	int nkeys; /* how many of argv are KEYS (the rest is ARGV) */
	const char *argv[ROUTE_ARGS_MAX];
	size_t lens[ROUTE_ARGS_MAX];
	char buf[ROUTE_CALL_BUF];
};

const char *route_state_name(enum mstate s);
/* Returns the state for "ready", "drain", "maint", "down", else -1. */
int route_state_parse(const char *s);

/*
 * Header rules see every instance of a header and its whole value, but a
 * message keeps only the instances that matched: returns 1 when instance
 * (name, value) matches a header rule that no earlier instance matched
 * (matched[] holds one flag per rule, zeroed per message, and is
 * updated), so route_msg holds at most one instance per header rule.
 */
int route_header_keep(const struct config *c, unsigned char *matched,
		      const char *name, const char *value);

/*
 * Returns the pool index for m and sets *rule to the matching rule's index
 * (-1: the default pool).  Requires c->default_pool >= 0.
 */
int route_classify(const struct config *c, const struct route_msg *m,
		   int *rule);

/*
 * Today's warm-up cap of member mb on day (days since 1970-01-01 UTC)
 * when held days of its schedule were held back: -1 none (no schedule,
 * or past its end), 0 before the start day.
 */
long long route_warm_cap(const struct cfg_member *mb, long long day,
			 long long held);

/*
 * Builds the plan for pool under view for day (days since 1970, UTC):
 * the pool's members this host may use (config_member_on), with site set
 * only those of its site (config_member_local), the ones known ready
 * first (all of them when none is).  A plan over fewer members than the
 * pool has its own rotation counter (out->set).  Returns 0, or -1 when no
 * member qualifies (site set: none of this site) or the cycle cannot be
 * built (never for a validated config).
 */
int route_plan_pool(const struct config *c, int pool,
		    const struct route_view *view, const struct route_msg *m,
		    long long day, int site, struct route_plan *out);
/*
 * A hash pool's order (plan->cycle, plan->len) for message m: the first
 * top of its candidates ranked for m's hash key (all of them when top >=
 * plan->n); returns how many.  route_plan_pool() ranks them all; a plan
 * kept for later messages gets each one's with this (it costs what
 * ranking n members costs, not what planning does).  The pick is the
 * first usable candidate of the order, so a cut order picks what the
 * whole one would, or none when none of its top can take the message:
 * then the whole order decides (see router_pick).
 */
size_t route_plan_order(const struct config *c, struct route_plan *plan,
			const struct route_msg *m, size_t top);
/* How much of a hash pool's order goes with a call first. */
#define ROUTE_ORDER_TOP 16

/*
 * Arguments of ROUTE_LUA for plan (argv[0] is the script's sha1, given):
 * the pick for message m (npicks 0 or 1), or a reservation of the next
 * npicks (2..CONFIG_RESERVE_MAX) slots of a round robin or weighted pool's
 * rotation, for no message in particular (m's queue id and domains are
 * not sent).  A queue id is cut to ROUTE_QUEUE_ID_MAX bytes and a domain
 * to ROUTE_DOMAIN_MAX, so no message makes them too long.  Returns 0, or
 * -1 if a reservation is asked of another kind of pool or of more than
 * CONFIG_RESERVE_MAX picks.  out->nkeys is the script's KEYS count.
 */
int route_call_build(const struct config *c, const struct route_plan *plan,
		     const struct route_msg *m, long long day,
		     size_t npicks, struct route_call *out);

/*
 * A member's suspension or throttle, as last read from Redis: for a
 * domain (s:DOMAIN, ts:DOMAIN), for a mailbox provider (p:PROVIDER,
 * tp:PROVIDER) or, a throttle only, for all its mail (th).  Without Redis
 * a throttle cannot be counted across hosts: it is kept as a suspension.
 */
enum route_susp_kind { RS_DOMAIN, RS_PROVIDER, RS_ALL };
struct route_susp {
	size_t member;	  /* config member index */
	enum route_susp_kind kind;
	char *domain;	  /* lower case domain or provider; "" for RS_ALL */
	long long until_ms; /* wall clock */
};

/* A learned recipient domain -> mailbox provider (PREFIX prov). */
struct route_prov {
	char *domain, *provider;
};

/* What is known of the members while Redis cannot be asked. */
struct route_known {
	const struct route_view *view;	/* last known states */
	const struct route_susp *susp;	/* suspensions, any order */
	size_t nsusp;
	const long long *count;		/* today's counts by member; NULL */
	const struct route_prov *prov;	/* sorted by domain (strcmp) */
	size_t nprov;
};

/*
 * Which candidates of plan may take message m without Redis, into ok[]
 * (by candidate position): the last known state is ready, no suspension
 * for one of m's domains or their providers (k->prov) lasts past now_ms,
 * and today's count is under the warm-up cap.  Returns how many may.
 */
size_t route_local_usable(const struct route_plan *plan,
			  const struct route_known *k,
			  const struct route_msg *m, long long now_ms, int *ok);

/*
 * The pick without Redis among the candidates with ok[pos] set (NULL:
 * all): the candidate position chosen from counter k and local
 * outstanding counts (by config member index), or -1.
 */
long route_pick_local(const struct route_plan *plan, unsigned long long k,
		      const long long *outstanding, const int *ok);

/*
 * The route header value for candidate position pos of plan:
 * "MEMBER" or "MEMBER NEXTHOP", where a failover pool of relays appends
 * the other candidates' distinct nexthops (at most ROUTE_FAILOVER_MAX),
 * comma-separated.  Returns 0 or -1 if out is too small (never with
 * ROUTE_HEADER_VALUE_MAX bytes).
 */
int route_header_value(const struct config *c, const struct route_plan *plan,
		       size_t pos, char *out, size_t outsz);

/* Day number (since 1970-01-01 UTC) and its "YYYYMMDD" form. */
long long route_today(void);
void route_day_string(long long day, char out[16]);

/* The selection script evaluated by Redis: engine/route.lua (its header
 * says KEYS, ARGV and the reply), embedded by the build as route_lua.c. */
extern const char ROUTE_LUA[];
/* Adds to a member's count for a day, giving a new count its expiry:
 * engine/count.lua (KEYS[1] the count, ARGV[1] the amount; {new count}). */
extern const char COUNT_LUA[];

#endif
