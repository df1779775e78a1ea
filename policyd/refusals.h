/*
 * refusals: counts quota refusals per quota and minute in Redis for
 * `postlbctl stats` (hash PREFIX qd:MINUTE, field QUOTA, minute = Unix
 * time / 60 by this host's clock, kept two hours).  Fire and forget on
 * policyd's asynchronous store: nothing waits for the reply, and a count
 * sent while Redis is down is lost.  Event loop thread only.
 */
#ifndef POSTLB_REFUSALS_H
#define POSTLB_REFUSALS_H

struct store;

/* Counts one refusal by quota (its name) under prefix. */
void refusals_count(struct store *st, const char *prefix, const char *quota);

#endif
