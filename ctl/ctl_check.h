/*
 * ctl_check: `postlbctl check` and `postlbctl stats` (ctl_check.c,
 * ctl_stats.c).  Each returns the exit code.
 */
#ifndef POSTLB_CTL_CHECK_H
#define POSTLB_CTL_CHECK_H

#include "config.h"

/*
 * check [-C POSTFIX_DIR]: inspects the running Postfix (postconf, postconf
 * -M, the route regexp file) and Redis and prints every problem with its
 * fix, one per line.  Returns 0 when there is none, 1 when there is one
 * or more, 2 on a usage error.
 */
int ctl_check(const struct config *c, int argc, char **argv);

/*
 * stats [-w SECONDS] [-n COUNT]: messages routed per member and quota
 * refusals per quota, per second, from the counters in Redis; with -w,
 * again every SECONDS until interrupted (or COUNT reports).
 */
int ctl_stats(const struct config *c, int argc, char **argv);

#endif
