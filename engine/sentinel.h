/*
 * sentinel: the pure part of finding the Redis primary through Redis
 * Sentinel (hiredis 0.14 has no Sentinel support): parsing a sentinel's
 * "host:port", the reply to SENTINEL get-master-addr-by-name and the
 * first element of ROLE, the test of an error reply that means a
 * failover (READONLY, NOREPLICAS), and the order in which to ask the
 * sentinels.  No I/O and no hiredis types: the store's files
 * (store_sync.c, store_async.c) do the talking and hand the reply's
 * strings in.
 */
#ifndef POSTLB_SENTINEL_H
#define POSTLB_SENTINEL_H

#include <stddef.h>

#define SENTINEL_HOST_MAX 256 /* a host name or address, with its NUL */
/* How long one sentinel may take to answer before the next is asked. */
#define SENTINEL_TIMEOUT_MS 250

enum { SENTINEL_EADDR = 1, SENTINEL_EREPLY };
enum sentinel_role { SENTINEL_ROLE_OTHER, SENTINEL_ROLE_MASTER,
		     SENTINEL_ROLE_REPLICA };

struct sentinel_addr {
	char host[SENTINEL_HOST_MAX];
	int port;
};

/*
 * Parses "host:port" or "[v6]:port" (s, len bytes; no NUL needed; a
 * port 1..65535, a host of 1..255 bytes without NUL, blank or control
 * bytes) into *out.  Returns 0, or -SENTINEL_EADDR (*out untouched).
 */
int sentinel_parse_addr(const char *s, size_t len, struct sentinel_addr *out);

/*
 * Parses the reply to SENTINEL get-master-addr-by-name: n string
 * elements el[i] of lens[i] bytes.  A nil reply (the sentinel does not
 * know the name) is n == 0.  Returns 1 with the primary in *out, 0 when
 * unknown, -SENTINEL_EREPLY when the reply has another shape (*out
 * untouched but on 1).
 */
int sentinel_parse_master(size_t n, const char *const *el,
			  const size_t *lens, struct sentinel_addr *out);

/* The role named by ROLE's first element (s, len bytes). */
enum sentinel_role sentinel_parse_role(const char *s, size_t len);

/*
 * 1 if an error reply (s, len bytes) says that writes must go elsewhere:
 * READONLY (the server is a replica now; also from inside a script) or
 * NOREPLICAS (a primary cut off from its replicas under
 * min-replicas-to-write, which Sentinel is likely replacing): drop the
 * connection and ask the sentinels again.  Nothing was written.  0
 * otherwise.
 */
int sentinel_is_failover(const char *s, size_t len);

/*
 * The i-th sentinel to ask (0 <= i < n) when the one at index first
 * answered last: the one that answered is asked first, then the others
 * in configured order.  n > 0.
 */
size_t sentinel_order(size_t n, size_t first, size_t i);

#endif
