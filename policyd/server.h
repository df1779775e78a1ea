/*
 * server: the policy delegation server of postlb-policyd.  Listens on unix
 * and TCP sockets, reads requests, asks the engine for a quota plan, the
 * store for a verdict, and answers each request within the config's
 * budget whatever Redis does.  Single-threaded (one libevent loop).
 */
#ifndef POSTLB_POLICYD_SERVER_H
#define POSTLB_POLICYD_SERVER_H

#include "config.h"

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
/* Gives back every reserved quota unit (waits up to 500 ms for Redis). */
void server_stop(struct server *srv);
/* Closes listeners and connections, removes unix socket files. */
void server_free(struct server *srv);

#endif
