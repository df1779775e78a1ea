/*
 * rqclient: the client side of postlb-requeue's line protocol
 * (engine/rqproto.h), for the drain of postlb-policyd and for
 * `postlbctl member drain --dry-run`.  Blocking, with a timeout on every
 * read and write; one request at a time.
 */
#ifndef POSTLB_RQCLIENT_H
#define POSTLB_RQCLIENT_H

#include "rqproto.h"

#include <stddef.h>

struct rqclient;

/* Connects to path; NULL with err filled on failure. */
struct rqclient *rqclient_open(const char *path, long long timeout_ms,
			       char *err, size_t errsz);
void rqclient_close(struct rqclient *c); /* NULL: no-op */

/*
 * Lists member's deferred mail: cb for each message.  Returns the count,
 * or -1 with err filled (the connection is then unusable).
 */
long rqclient_list(struct rqclient *c, const char *member,
		   void (*cb)(void *arg, const struct qscan_msg *m), void *arg,
		   char *err, size_t errsz);

/*
 * Requeues ids (n <= RQ_IDS_MAX) of member.  Returns 0 with *moved and
 * *skipped set, or -1 with err filled.
 */
int rqclient_requeue(struct rqclient *c, const char *member,
		     char (*ids)[ROUTE_QUEUE_ID_MAX + 1], size_t n,
		     long *moved, long *skipped, char *err, size_t errsz);

#endif
