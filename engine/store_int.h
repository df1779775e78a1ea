/*
 * store_int: declarations shared by the store's files (store_redis.c,
 * store_async.c, store_sync.c, store_sentinel.c), the only files that
 * include hiredis.h.
 * Not for use outside them.
 */
#ifndef POSTLB_STORE_INT_H
#define POSTLB_STORE_INT_H

#include "store_redis.h"

#include <hiredis/hiredis.h>

/* Every 1000 ms a connection found through the sentinels asks ROLE again:
 * a primary demoted while connected is left within a second. */
#define STORE_ROLE_CHECK_MS 1000

/*
 * Where a store connects: a plain address, or the primary that the
 * sentinels name for master_name; and how it authenticates.  Copies of a
 * config's strings, owned.
 */
struct store_target {
	char *address, *password, *username, *master_name;
	char *sentinel_password, *sentinel_username; /* the sentinels' own */
	char *sentinels[CONFIG_SENTINELS_MAX];
	size_t nsentinels; /* 0: plain address */
	int db;
};

/*
 * Copies c's Redis settings into *t (replacing what it held).  Returns
 * 0, or -1 when out of memory, *t unchanged.
 */
int store_target_set(struct store_target *t, const struct config *c);
/* 1 if t holds c's Redis settings (the prefix aside). */
int store_target_same(const struct store_target *t, const struct config *c);
void store_target_clear(struct store_target *t);
/*
 * store_sentinel.c: finding the primary through the sentinels.
 *
 * An asker lives in its store (its address is the privdata of hiredis
 * callbacks, so it must not move or go away while it asks).  Set base, t
 * (borrowed: the store's settings), cb and arg once; first is the index
 * of the sentinel that answered last.  store_ask_start() asks the
 * sentinels in turn; cb(arg, primary) is called exactly once, with the
 * primary found or NULL when none named one (why says what the last
 * one answered, when it refused or failed), possibly before
 * store_ask_start() returns.  store_ask_tick() moves on from a sentinel
 * that has not answered within SENTINEL_TIMEOUT_MS; store_ask_cancel()
 * stops asking (cb is not called).
 */
struct sentinel_addr;
typedef void (*store_asked_cb)(void *arg, const struct sentinel_addr *p);
struct store_asker {
	struct event_base *base;
	const struct store_target *t;
	store_asked_cb cb;
	void *arg;
	struct redisAsyncContext *sac; /* the sentinel being asked */
	size_t first, i;
	long long since_ms;
	char why[200]; /* why the last sentinel gave no primary ("" none) */
};
void store_ask_start(struct store_asker *a);
void store_ask_tick(struct store_asker *a);
void store_ask_cancel(struct store_asker *a);
/*
 * Blocking: asks c's sentinels in turn (each within SENTINEL_TIMEOUT_MS,
 * all within timeout_ms) for the primary of c's master_name.  0 with
 * *out, or -1 with err.  Thread-safe.
 */
int store_ask_sync(const struct config *c, long long timeout_ms,
		   struct sentinel_addr *out, char *err, size_t errsz);

/*
 * The AUTH command into av (room for 3): "AUTH password" or, with a
 * username (Redis 6 ACL), "AUTH username password".  Returns argc, 0
 * when there is no password.
 */
int store_auth_argv(const char *username, const char *password,
		    const char **av);

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
