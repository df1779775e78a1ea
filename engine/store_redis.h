/*
 * store: Redis, the shared state of every postlb host.  The store's files
 * (store_redis.c, shared; store_async.c; store_sync.c; store_sentinel.c,
 * Sentinel discovery for both faces) are the only ones that include
 * hiredis.h.  With redis.sentinels both faces connect only to the primary
 * the sentinels name and ROLE confirms, and leave it on a failover (see
 * README, "Failover and soft state").
 *
 * Two faces:
 *  - struct store (store_async.c): asynchronous (hiredis + libevent), for
 *    postlb-policyd.  It connects, reconnects with a short backoff, loads
 *    the quota script, notices a stalled server (no reply within stall_ms)
 *    and drops the connection.  While it is not up, calls fail at once
 *    with -STORE_EDOWN so callers answer from their fail mode.  It never
 *    retries a quota call that may have run; a NOSCRIPT reply (the script
 *    did not run) is retried once with EVAL.  Single-threaded: use it from
 *    the event loop's thread.
 *  - struct store_sync (store_sync.c): blocking, for postlb-milter (one
 *    connection per thread at a time), postlbctl and tests.
 */
#ifndef POSTLB_STORE_REDIS_H
#define POSTLB_STORE_REDIS_H

#include "config.h"
#include "quota.h"

#include <stddef.h>

struct event_base;
struct store;
struct store_sync;

enum { STORE_EDOWN = 1, STORE_EREPLY, STORE_EARG };

struct store_stats {
	unsigned long long calls, ok, errors, down_answers, reconnects,
	    noscript;
	int up;
};

/* Borrowed: address, prefix, password and db are copied from c. */
struct store *store_new(struct event_base *base, const struct config *c);
/* Drops the connection; pending callbacks are called with -STORE_EDOWN. */
void store_free(struct store *s);
/*
 * Applies a new config's Redis settings (reconnects if they changed).
 * Returns 0, or -1 when out of memory (logged), s unchanged.
 */
int store_reconfigure(struct store *s, const struct config *c);
int store_is_up(const struct store *s);
void store_get_stats(const struct store *s, struct store_stats *out);

typedef void (*store_quota_cb)(void *arg, int rc,
			       const struct quota_verdict *v);

/*
 * Evaluates plan (n > 0) in one script call.  cb(arg, 0, verdict) on an
 * answer, cb(arg, -STORE_E..., NULL) on failure; cb is always called
 * exactly once, possibly before this returns (when the store is down, with
 * -STORE_EDOWN).  Returns 0.
 */
int store_quota_check(struct store *s, const struct quota_plan *plan,
		      store_quota_cb cb, void *arg);

typedef void (*store_cmd_cb)(void *arg, int rc, long long value);

/*
 * Sends one plain command argv[0..argc) (binary-safe, copied at once) on
 * the asynchronous connection; it is not retried and not watched for
 * stalls (a caller whose commands must not delay quota calls uses a store
 * of its own).  Returns 0 when sent: cb (may be NULL) is then called
 * exactly once, with 0 and the value of an integer reply (or of a string
 * reply that is a decimal integer), 1 and 0 for any other reply (nil:
 * absent), -STORE_EREPLY for an error reply, -STORE_EDOWN if the
 * connection drops first.  Returns -STORE_EDOWN at once, cb not called,
 * when the store is not up.
 */
int store_command(struct store *s, int argc, const char **argv,
		  const size_t *lens, store_cmd_cb cb, void *arg);
/* Commands of store_command() still waiting for their reply. */

#define STORE_INTS_MAX 8
typedef void (*store_ints_cb)(void *arg, int rc, const long long *v,
			      size_t n);
/*
 * As store_command(), for a command whose reply is an integer or an
 * array of integers: cb (not NULL) gets 0 and the integers (at most
 * STORE_INTS_MAX; other elements are skipped), or an error code and none.
 */
int store_command_ints(struct store *s, int argc, const char **argv,
		       const size_t *lens, store_ints_cb cb, void *arg);
size_t store_command_pending(const struct store *s);

/* --- blocking face --- */

/*
 * Connects to c's Redis with timeout_ms for the connect and every command;
 * err gets a message on failure (returns -1).  Any error but a Redis error
 * reply leaves the connection unusable: close it and open a new one.
 */
int store_sync_open(const struct config *c, long long timeout_ms,
		    struct store_sync **out, char *err, size_t errsz);
void store_sync_close(struct store_sync *s);
/* 1 found (value copied, truncated to outsz), 0 absent, <0 error. */
int store_sync_get(struct store_sync *s, const char *key, char *out,
		   size_t outsz);
int store_sync_set(struct store_sync *s, const char *key, const char *value);
/* Returns the number of keys deleted (0 or 1) or <0. */
/* SET key value (len bytes) PX px_ms: 0 or a negative STORE_E code. */
int store_sync_set_px(struct store_sync *s, const char *key,
		      const char *value, size_t len, long long px_ms);
int store_sync_del(struct store_sync *s, const char *key);
/* Redis server time in microseconds. */
int store_sync_time_us(struct store_sync *s, long long *now_us);
/* Calls cb for every key matching pattern (SCAN; bounded to max keys). */
int store_sync_scan(struct store_sync *s, const char *pattern, size_t max,
		    void (*cb)(void *arg, const char *key), void *arg);
/* Loads QUOTA_LUA; writes its sha1 (41 bytes) to sha. */
int store_sync_load_script(struct store_sync *s, char sha[41]);
int store_sync_hset(struct store_sync *s, const char *key, const char *field,
		    const char *value);
int store_sync_hdel(struct store_sync *s, const char *key, const char *field);
/* PUBLISH channel message: 0 or a negative STORE_E code. */
int store_sync_publish(struct store_sync *s, const char *channel,
		       const char *message);
/*
 * PSUBSCRIBE pattern: from then on s only waits for messages
 * (store_sync_message); any other call on it fails.  0, -STORE_EREPLY
 * when Redis refuses it (an ACL user without the channel), -STORE_EDOWN
 * when the connection failed or timed out.
 */
int store_sync_psubscribe(struct store_sync *s, const char *pattern);
/*
 * Waits up to timeout_ms for a message on subscriber s: 1 with "CHANNEL
 * PAYLOAD" in out (cut to outsz), 0 when none came (or the reply was no
 * message), -STORE_EDOWN when the connection failed (close it).
 */
int store_sync_message(struct store_sync *s, long long timeout_ms, char *out,
		       size_t outsz);
/* INCRBY key delta; the new value into *out when out is not NULL. */
int store_sync_incrby(struct store_sync *s, const char *key, long long delta,
		      long long *out);
/* Calls cb for every field of hash key (absent key: no call). */
int store_sync_hgetall(struct store_sync *s, const char *key,
		       void (*cb)(void *arg, const char *field,
				  const char *value),
		       void *arg);
/* Calls cb for each item of list key from start to stop (LRANGE). */
int store_sync_lrange(struct store_sync *s, const char *key, long start,
		      long stop, void (*cb)(void *arg, const char *item,
					    const char *unused),
		      void *arg);
/*
 * Runs script (a constant; its sha1 is cached per connection) with nkeys
 * keys among argc arguments, loading it again once on NOSCRIPT.  Copies
 * an all-integer array reply into out (at most nout) and returns the count;
 * -STORE_EDOWN on a connection error or timeout, -STORE_EREPLY otherwise.
 */
int store_sync_eval(struct store_sync *s, const char *script, int nkeys,
		    int argc, const char *const *argv, const size_t *lens,
		    long long *out, size_t nout);
/*
 * INFO section: calls cb for every "field:value" line (header and blank
 * lines skipped; a line is cut at 511 bytes).
 */
int store_sync_info(struct store_sync *s, const char *section,
		    void (*cb)(void *arg, const char *field,
			       const char *value),
		    void *arg);
/* The last error text of s (for messages). */
const char *store_sync_error(const struct store_sync *s);

#endif
