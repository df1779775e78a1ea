/*
 * store_int: declarations shared by the store's files (store_redis.c,
 * store_async.c, store_sync.c), the only files that include hiredis.h.
 * Not for use outside them.
 */
#ifndef POSTLB_STORE_INT_H
#define POSTLB_STORE_INT_H

#include "store_redis.h"

#include <hiredis/hiredis.h>

/*
 * Splits "unix:/path" (is_unix 1, the path in host) or "host:port" /
 * "[v6]:port" into host (room for 256 bytes) and port.  Returns 0 or -1.
 */
int store_parse_address(const char *addr, char *host, int *port,
			int *is_unix);

/*
 * 1 if r is Redis's NOSCRIPT error: the script did not run, so it may be
 * sent again once (as EVAL, or after SCRIPT LOAD) without charging twice.
 * Both faces take this one path; any other error is never retried.
 */
int store_reply_noscript(const redisReply *r);

#endif
