/*
 * server: the policy delegation server of postlb-policyd.  Listens on unix
 * and TCP sockets, reads requests, asks the engine for a quota plan, the
 * store for a verdict, and answers each request within the config's
 * budget whatever Redis does.  Single-threaded (one libevent loop).
 */
#ifndef POSTLB_POLICYD_SERVER_H
#define POSTLB_POLICYD_SERVER_H

#include "config.h"
#include "metrics.h"
#include "pp.h"

struct event_base;
struct server;

struct server_stats {
	unsigned long long requests, allowed, denied, failmode, bad,
	    timeouts, conns_now, conns_total, conns_refused;
	unsigned long long reserved;   /* allowed from units reserved ahead */
	unsigned long long given_back; /* units of lapsed reservations */
	unsigned long long back_failed; /* give-backs Redis did not take */
	unsigned long long redis_connects; /* connection attempts to Redis */
	unsigned long long conns_denied; /* TCP clients not in policyd.allow */
	unsigned long long late_back; /* late verdicts given back (closed) */
	unsigned long long redis_calls;	 /* quota script calls asked */
	unsigned long long redis_errors; /* ... failed: down or bad reply */
	int redis_up;
};

/* Answers counted for /metrics (server_metrics.c names them). */
enum server_answer {
	SA_DUNNO,
	SA_DEFER,
	SA_REJECT,
	SA_FAIL_OPEN,
	SA_FAIL_CLOSED,
	SA_N
};
/* Protocol states: pp.h's, then SERVER_INVALID for a request that did
 * not parse. */
#define SERVER_INVALID (PP_STATE_ETRN + 1)
#define SERVER_STATES (SERVER_INVALID + 1)
#define SERVER_DENIED_MAX (2 * 4 * CONFIG_QUOTAS_MAX) /* quota x answer */

struct server_metrics {
	metrics_counter requests[SERVER_STATES][SA_N];
	struct metrics_hist latency; /* request read to answer written */
	struct metrics_table *denied; /* by quota name and answer */
	metrics_counter units_granted, units_used; /* reserved ahead */
};

/*
 * Binds every listen address of c (unix sockets: stale file removed,
 * mode and owner set from c).  Returns NULL after logging on failure.
 * The server takes its own reference to c.
 */
struct server *server_new(struct event_base *base, struct config *c,
			  int uid, int gid);
/*
 * Swaps in a new config for new requests; requests in flight keep theirs.
 * Returns 0, or -1 (logged) with the running config kept.
 */
int server_set_config(struct server *srv, struct config *c);
void server_get_stats(const struct server *srv, struct server_stats *out);
/* The counters for /metrics (read with metrics_get), owned by srv. */
struct server_metrics *server_metrics(struct server *srv);
/* The running config (borrowed). */
const struct config *server_config(const struct server *srv);
/* Gives back every reserved quota unit (waits up to 500 ms for Redis). */
void server_stop(struct server *srv);
/* Closes listeners and connections, removes unix socket files. */
void server_free(struct server *srv);

#endif
