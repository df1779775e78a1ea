/*
 * metrics_http: the /metrics endpoint of a daemon, served by libevent's
 * evhttp on a "host:port" address (config_metrics.c checks its syntax).
 * GET /metrics answers what the daemon's write function puts into a
 * struct metrics_buf, as Prometheus text format 0.0.4 (HEAD: the same
 * headers); any other path is 404, any other method 501 (evhttp's answer
 * to a method not allowed).  No other HTTP feature (no TLS, no
 * authentication: bind it to loopback or a management network).
 *
 * Threads: metrics_http_new() serves in the caller's event loop (postlb-
 * policyd: the write function runs in its one thread).
 * metrics_http_start() serves from a thread of its own with its own
 * event_base (postlb-milter, whose threads belong to libmilter): the
 * write function then runs in that thread and must take the locks of
 * what it reads.
 */
#ifndef POSTLB_METRICS_HTTP_H
#define POSTLB_METRICS_HTTP_H

#include "metrics.h"

struct event_base;
struct metrics_http;

typedef void (*metrics_http_fn)(void *arg, struct metrics_buf *b);

/* Binds addr and serves in base.  NULL (logged) when it cannot. */
struct metrics_http *metrics_http_new(struct event_base *base,
				      const char *addr, metrics_http_fn fn,
				      void *arg);
/* Stops serving and closes the socket; NULL is a no-op. */
void metrics_http_free(struct metrics_http *h);

/* Binds addr now, then serves from a new thread.  NULL (logged). */
struct metrics_http *metrics_http_start(const char *addr, metrics_http_fn fn,
					void *arg);
/* Stops and joins the thread, frees; NULL is a no-op. */
void metrics_http_stop(struct metrics_http *h);

#endif
