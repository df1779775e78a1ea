/*
 * reroute: the pure parts of re-routing mail already queued for a member
 * (the drain), without I/O.
 *
 *  - reroute_line(): what the socketmap of the requeue cleanup service
 *    (cleanup-rq's header_checks) makes of one header line: the route
 *    header of a known member, a Message-ID, or anything else.
 *  - reroute_filter(): the one mapping of a route header value
 *    "MEMBER [NEXTHOP[,FAILOVER...]]" to the header_checks action
 *    "FILTER MEMBER:NEXTHOP..." — exactly what the milter_header_checks
 *    regexp printed by `postlbctl postfix-config route` does.
 *  - struct qscan: a bounded, line-by-line reader of `postcat -e -h`
 *    output that yields, per queue file, its queue id, queue, stored
 *    content filter transport, Message-ID and distinct recipient domains.
 *
 * Nothing here talks to Postfix or Redis; the adapters are
 * policyd/requeue_main.c (postlb-requeue), policyd/sockmap.c and
 * policyd/drain.c.
 */
#ifndef POSTLB_REROUTE_H
#define POSTLB_REROUTE_H

#include "config.h"
#include "route.h"

#include <stddef.h>

/* Message-IDs longer than this are not recorded (RFC 5322 allows 998
 * bytes a line; real ones are < 100).  Such a message is drained
 * without its domains, see README. */
#define REROUTE_MSGID_MAX 250
/* Distinct recipient domains kept per message by the drain; a message with
 * more is marked "many" (it moves only in a whole-member drain). */
#define REROUTE_DOMAINS_MAX 50
/* A postcat output line kept at most (longer lines are cut). */
#define REROUTE_LINE_MAX 4096

enum reroute_kind { RR_OTHER, RR_ROUTE, RR_MSGID };

struct reroute_hit {
	enum reroute_kind kind;
	int member;	  /* RR_ROUTE: config member index */
	char msgid[REROUTE_MSGID_MAX + 1]; /* RR_MSGID: "<...>" */
};

/*
 * Classifies one header line (name and value, as Postfix passes it to a
 * header_checks table; NUL-terminated, may hold folded newlines).  The
 * route header must look exactly as the milter writes it ("NAME: MEMBER"
 * or "NAME: MEMBER NEXTHOP", MEMBER a member of c); anything else is
 * RR_OTHER.  A Message-ID longer than REROUTE_MSGID_MAX is RR_OTHER.
 * Returns the kind (out filled).
 */
enum reroute_kind reroute_line(const struct config *c, const char *line,
			       struct reroute_hit *out);

/*
 * "FILTER MEMBER:NEXTHOP" for a route header value "MEMBER NEXTHOP",
 * "FILTER MEMBER:" for "MEMBER".  Returns 0, or -1 when value has more
 * than one space or out (outsz) is too small.
 */
int reroute_filter(const char *value, char *out, size_t outsz);

/* One queue file seen by qscan. */
struct qscan_msg {
	char qid[ROUTE_QUEUE_ID_MAX + 1];
	char queue[16];			    /* "deferred", "active", ... */
	char transport[CONFIG_NAME_MAX + 1]; /* of content_filter; "" none */
	char msgid[REROUTE_MSGID_MAX + 1];  /* "" none (or too long) */
	char domains[REROUTE_DOMAINS_MAX][ROUTE_DOMAIN_MAX + 1];
	size_t ndomains;
	int many; /* more distinct domains than REROUTE_DOMAINS_MAX */
};

enum qscan_sect { QS_NONE, QS_ENV, QS_HDR, QS_BODY, QS_EXTRACTED };

struct qscan {
	enum qscan_sect sect;
	int in_msgid; /* a folded Message-ID continues on the next line */
	struct qscan_msg cur;
};

void qscan_init(struct qscan *q);

/*
 * Feeds one line of `postcat -e -h [-q] ...` output (without its
 * newline; len bytes, may hold anything).  Returns 1 when the line ends a
 * queue file ("*** MESSAGE FILE END ..."): *out then holds it; else 0.
 */
int qscan_line(struct qscan *q, const char *line, size_t len,
	       struct qscan_msg *out);

/*
 * Checks a queue id as postlb-requeue accepts it (and as Postfix makes
 * them): 1..ROUTE_QUEUE_ID_MAX letters and digits.  Returns 1 or 0.
 */
int reroute_qid_ok(const char *s, size_t len);

/*
 * What a drain of one member moves, from the fields of its hash PREFIX
 * m:NAME (engine/health.h) at now_ms (Redis's clock):
 *  - everything when its manual state is drain, maint or down, or (when
 *    health drains are on) hc is down or cb_until or rs_until lies ahead;
 *  - else the messages with a recipient domain suspended by s:DOMAIN or
 *    whose domain's provider is suspended by p:PROVIDER (health drains).
 * At most REROUTE_SCOPES_MAX providers and as many domains are kept; the
 * rest waits for the next pass.
 */
#define REROUTE_SCOPES_MAX 64
#define REROUTE_PROVIDER_MAX 32 /* as RESPOND_PROVIDER_MAX */

struct reroute_need {
	int whole;
	char why[80]; /* "state drain", "hc down", "p:google", ... */
	char prov[REROUTE_SCOPES_MAX][REROUTE_PROVIDER_MAX];
	size_t nprov;
	char dom[REROUTE_SCOPES_MAX][ROUTE_DOMAIN_MAX + 1];
	size_t ndom;
};

/* Zeroes n; then feed every field of the member's hash. */
void reroute_need_init(struct reroute_need *n);
void reroute_need_field(struct reroute_need *n, const char *field,
			const char *value, long long now_ms, int health);
/* 1 if the member needs a drain at all. */
int reroute_need_any(const struct reroute_need *n);

/*
 * 1 if message m moves under n: any message for a whole drain; for a
 * scoped one, a message whose domains are known (a Message-ID to record
 * them under, not "many") and one of them suspended, by domain or through
 * prov[i], the provider of m->domains[i] (NULL: unknown).
 */
int reroute_need_moves(const struct reroute_need *n, const struct qscan_msg *m,
		       const char *const *prov);

/* The drain's record script (engine/drain_record.lua, see its header). */
extern const char DRAIN_RECORD_LUA[];

#endif
