/*
 * sockmap: the socketmap of postlb-policyd (policyd.socketmap), asked by
 * the requeue cleanup service (cleanup-rq) for every header line of
 * mail that pickup takes from maildrop — the mail a drain requeued with
 * `postsuper -r`, and mail submitted with sendmail.
 *
 * For the route header of a known member ("X-Postlb-Route: MEMBER ...")
 * it runs the normal selection (engine/route.lua) in that member's pool,
 * then its fallback pools, and answers "OK FILTER MEMBER:NEXTHOP..." as
 * the route regexp would have mapped the new pick's route header
 * (engine/reroute.c).  A Message-ID line seen before it on the same
 * connection names the recipient domains the drain recorded in Redis
 * (PREFIX rq:MESSAGE-ID), so that domain and provider suspensions apply.
 * Every other line: NOTFOUND.  Redis down or slow, or no usable member:
 * TEMP (the message waits in maildrop; pickup tries again), never
 * NOTFOUND for a route header, which would send the message to
 * default_transport.
 *
 * Its own thread and its own blocking Redis connection (each call bounded
 * by policyd.budget): pickup hands one message at a time to cleanup, so
 * requests come one after another, and the quota connection is never
 * shared with them.  The socket is created by sockmap_new() before
 * policyd drops root; the thread starts in sockmap_start(), after.
 */
#ifndef POSTLB_SOCKMAP_H
#define POSTLB_SOCKMAP_H

#include "config.h"

/* Connections served at once; one more is closed at accept. */
#define SOCKMAP_CONNS_MAX 64
/* The longest request taken (a header line and the map name). */
#define SOCKMAP_REQUEST_MAX 100000

struct sockmap;

/* Creates the socket of c->drain_socketmap (owner uid/gid, -1 keep);
 * NULL (logged) on failure. */
struct sockmap *sockmap_new(struct config *c, int uid, int gid);
/* Starts serving; returns 0 or -1. */
int sockmap_start(struct sockmap *s);
void sockmap_set_config(struct sockmap *s, struct config *c);
/* Stops the thread, removes the socket, frees; NULL is a no-op. */
void sockmap_free(struct sockmap *s);

#endif
