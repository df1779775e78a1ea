/*
 * metrics_policyd: what postlb-policyd's /metrics says (the policy
 * server's counters, its Redis connection, the health sources), written
 * in the main thread from the running config.  The names are listed in
 * README.md, section Metrics.
 */
#ifndef POSTLB_POLICYD_METRICS_H
#define POSTLB_POLICYD_METRICS_H

#include "metrics.h"

struct server;

/* metrics_http_fn: arg is the struct server. */
void metrics_policyd_write(void *arg, struct metrics_buf *b);

#endif
