/*
 * ctl_route: postlbctl's routing commands.  Each returns the exit code.
 */
#ifndef POSTLB_CTL_ROUTE_H
#define POSTLB_CTL_ROUTE_H

#include "config.h"

#include <stdio.h>

struct store_sync;

/* A Redis connection for c; prints the error and exits when there is none. */
struct store_sync *ctl_open(const struct config *c);
/* Redis's clock in ms; exits on a Redis error. */
long long ctl_redis_ms(struct store_sync *s);

/* health [NAME]: members' health (checks, breaker, slow start, events). */
int ctl_health(const struct config *c, const char *name);

int ctl_pools(const struct config *c);
int ctl_members(const struct config *c);
/* Sets a member's state (ready, drain, maint, down) in Redis. */
int ctl_member_set(const struct config *c, const char *name,
		   const char *state);
/* Suspends a member for one destination domain for ms (0: resume). */
int ctl_member_suspend(const struct config *c, const char *name,
		       const char *domain, long long ms);
/* explain [-s SENDER] [[-T TRANSPORT[:NEXTHOP]] -r RCPT]... [-u USER] [-i
 * IP] [-H 'N: v']... [-z SIZE] [-m FILE]: whether the message is postlb's
 * to route (-T: how Postfix resolves the recipients after it), rule,
 * pool, candidates and the next pick. */
int ctl_explain(const struct config *c, int argc, char **argv);
/*
 * Prints the Postfix configuration for the members (part: all, master,
 * main, route, strip, reinject); dir holds the regexp files, pfdir is
 * Postfix's configuration directory (NULL: dir), read with postconf to
 * find a content filter (ctl_postfix.c).
 */
int ctl_postfix_config(const struct config *c, const char *part,
		       const char *dir, const char *pfdir);

/*
 * Runs `postconf -c pfdir OPT [NAME]` (no shell: pfdir is passed as it
 * is; NAME may be NULL) and calls line_cb for each output line (newline
 * stripped, cut at 2047 bytes).  Returns 0, or -1 when postconf cannot
 * run or fails (ctl_postfix.c).
 */
int ctl_postconf(const char *pfdir, const char *opt, const char *name,
		 void (*line_cb)(void *, char *), void *arg);
/* Writes the route regexp file (milter_header_checks) for c's members. */
void ctl_route_regexp(const struct config *c, FILE *out);
/* ctl_drain.c: member drain NAME --dry-run; the drains in progress of a
 * member (health); the master.cf lines of the requeue path. */
int ctl_drain_dry_run(const struct config *c, const char *name);
int ctl_drain_show(const struct config *c, struct store_sync *s,
		   const char *name);
void ctl_drain_postfix(const struct config *c);

#endif
