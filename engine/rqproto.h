/*
 * rqproto: the line protocol of postlb-requeue, the small root helper
 * that lists and requeues a member's deferred mail (see README, "Drain").
 * Parsing and formatting only, no I/O.
 *
 * Requests, one line each ("\n"-terminated, at most RQ_LINE_MAX bytes):
 *   list MEMBER                 the deferred mail whose stored content
 *                               filter's transport is MEMBER
 *   requeue MEMBER QID [QID...] at most RQ_IDS_MAX ids
 * Replies: for list, one "m QID MSGID DOMAINS" line per message (MSGID
 * "-" when none, DOMAINS comma-separated, "-" none, "*" more than
 * REROUTE_DOMAINS_MAX), then "ok N"; for requeue, "ok MOVED SKIPPED";
 * on any failure "err TEXT".  A reply line is at most RQ_REPLY_MAX bytes.
 */
#ifndef POSTLB_RQPROTO_H
#define POSTLB_RQPROTO_H

#include "reroute.h"

#include <stddef.h>

#define RQ_LINE_MAX 16384 /* request line, newline included */
#define RQ_IDS_MAX 200	  /* queue ids in one requeue request */
#define RQ_REPLY_MAX                                                           \
	(8 + ROUTE_QUEUE_ID_MAX + REROUTE_MSGID_MAX +                          \
	 REROUTE_DOMAINS_MAX * (ROUTE_DOMAIN_MAX + 1))

enum { RQ_EEMPTY = 1, RQ_ETOOLONG, RQ_EVERB, RQ_ENAME, RQ_EQID, RQ_ETOOMANY,
       RQ_ENUL, RQ_EFORM };

enum rq_verb { RQ_LIST, RQ_REQUEUE };

struct rq_cmd {
	enum rq_verb verb;
	char member[CONFIG_NAME_MAX + 1];
	char qids[RQ_IDS_MAX][ROUTE_QUEUE_ID_MAX + 1];
	size_t nqids;
};

/*
 * Parses one request line line[0..len) (the newline already removed).
 * Returns 0 with *out filled, or -RQ_E... (out then unspecified).
 */
int rqproto_parse(const char *line, size_t len, struct rq_cmd *out);

/*
 * Formats m as a list reply line (with its newline) into out (RQ_REPLY_MAX
 * + 2 bytes always suffice).  Returns its length, 0 when out is too small.
 */
size_t rqproto_item_format(const struct qscan_msg *m, char *out, size_t outsz);

/*
 * Parses a list reply line "m QID MSGID DOMAINS" (no newline) into out
 * (qid, msgid, domains, many; queue and transport left empty).  Returns 0
 * or -RQ_E....
 */
int rqproto_item_parse(const char *line, size_t len, struct qscan_msg *out);

const char *rqproto_strerror(int rc);

#endif
