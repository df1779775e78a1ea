/*
 * requeue: what postlb-requeue does to Postfix's queue, for one request
 * of its line protocol (engine/rqproto.h).  It reads the queue with
 * Postfix's own tools (postconf, postcat) and moves mail only with
 * `postsuper -r - deferred`, then wakes pickup with postkick; it never
 * writes a queue file itself, never touches the active queue and never
 * talks to Redis or the network.  Children are run without a shell, with
 * a fixed PATH.  Single-threaded.
 */
#ifndef POSTLB_REQUEUE_H
#define POSTLB_REQUEUE_H

#include "rqproto.h"

#include <stddef.h>

/* Queue ids handed to one postcat run (its argument list stays small). */
#define REQUEUE_BATCH 500
/* Deferred messages looked at by one list request at most. */
#define REQUEUE_LIST_MAX 1000000

/* Writes a reply line (with its newline) to the client; 0 or -1. */
typedef int (*requeue_out_fn)(void *arg, const char *line, size_t len);

/*
 * Sets the Postfix configuration directory and reads its
 * queue_directory.  Returns 0, or -1 with err filled.
 */
int requeue_init(const char *pfdir, char *err, size_t errsz);

/*
 * Serves one parsed request: writes its reply lines through out.
 * Returns 0, or -1 when the client is gone.
 */
int requeue_serve(const struct rq_cmd *cmd, requeue_out_fn out, void *arg);

#endif
