/*
 * store_redis: what the two faces of the Redis client share (see
 * store_redis.h and store_int.h): address parsing and the one test of a
 * NOSCRIPT reply, after which a script call is sent again once (it did
 * not run, so it cannot charge twice).  store_async.c is the face of
 * postlb-policyd, store_sync.c that of postlb-milter and postlbctl.
 */
#include "store_int.h"

#include "num.h"

#include <stdio.h>
#include <string.h>

int store_parse_address(const char *addr, char *host, int *port,
			       int *is_unix)
{
	const char *colon;
	long long p;
	size_t hl;

	if (strncmp(addr, "unix:", 5) == 0) {
		*is_unix = 1;
		snprintf(host, 256, "%s", addr + 5);
		return 0;
	}
	*is_unix = 0;
	colon = strrchr(addr, ':');
	if (colon == NULL ||
	    num_parse_ll(colon + 1, strlen(colon + 1), 1, 65535, &p) < 0)
		return -1;
	hl = (size_t)(colon - addr);
	if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl == 0 || hl >= 256)
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
}

int store_reply_noscript(const redisReply *r)
{
	return r != NULL && r->type == REDIS_REPLY_ERROR && r->len >= 8 &&
	       strncmp(r->str, "NOSCRIPT", 8) == 0;
}
