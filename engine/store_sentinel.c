/*
 * store_sentinel: the store's Redis Sentinel discovery (see sentinel.h
 * for the parsing): asking the sentinels in turn, each within
 * SENTINEL_TIMEOUT_MS, for the primary of a master_name, the sentinel
 * that answered last first.  Two faces, like the store's: an asker that
 * lives in struct store (store_async.c) and runs on its event loop
 * without ever blocking it (but a sentinel named by host name is resolved
 * by a blocking lookup: configure addresses), and a blocking call for
 * store_sync.c (threads: the last sentinel that answered is shared,
 * atomically).  It finds a primary; checking it (ROLE) and connecting
 * stay with the faces.
 */
#include "store_int.h"

#include "sentinel.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static long long store_sentinel_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The reply r to SENTINEL get-master-addr-by-name into *out: 1 found, 0
 * unknown (nil), -SENTINEL_EREPLY otherwise (see sentinel_parse_master()).
 */
static int store_sentinel_reply(const redisReply *r, struct sentinel_addr *out)
{
	const char *el[2];
	size_t lens[2], n = 0;

	if (r->type == REDIS_REPLY_NIL)
		return 0;
	if (r->type != REDIS_REPLY_ARRAY || r->elements > 2)
		return -SENTINEL_EREPLY;
	for (; n < r->elements; n++) {
		if (r->element[n]->type != REDIS_REPLY_STRING)
			return -SENTINEL_EREPLY;
		el[n] = r->element[n]->str;
		lens[n] = r->element[n]->len;
	}
	return sentinel_parse_master(n, el, lens, out);
}

/* --- asynchronous face --- */

static void store_ask_next(struct store_asker *a);

/* Frees the sentinel connection (also from its own callbacks). */
void store_ask_cancel(struct store_asker *a)
{
	redisAsyncContext *sac = a->sac;

	a->sac = NULL;
	if (sac != NULL)
		redisAsyncFree(sac);
}

/* A sentinel's reply: the primary for cb, or the next sentinel. */
static void store_on_ask(redisAsyncContext *ac, void *r, void *priv)
{
	struct store_asker *a = priv;
	struct sentinel_addr p;
	int rc;

	if (a->sac != ac || r == NULL)
		return;
	rc = store_sentinel_reply(r, &p);
	if (rc != 1)
		snprintf(a->why, sizeof(a->why), "%.160s",
			 ((const redisReply *)r)->type == REDIS_REPLY_ERROR
			     ? ((const redisReply *)r)->str
			 : rc == 0 ? "the sentinel does not know it"
				   : "unexpected sentinel reply");
	store_ask_cancel(a);
	if (rc != 1) {
		a->i++;
		store_ask_next(a);
		return;
	}
	a->first = sentinel_order(a->t->nsentinels, a->first, a->i);
	a->cb(a->arg, &p);
}

/* The reply to AUTH, sent before the question: a refusal moves on to the
 * next sentinel (the question's reply is then never looked at). */
static void store_on_ask_auth(redisAsyncContext *ac, void *r, void *priv)
{
	struct store_asker *a = priv;
	const redisReply *rr = r;

	if (a->sac != ac || rr == NULL || rr->type != REDIS_REPLY_ERROR)
		return;
	snprintf(a->why, sizeof(a->why), "sentinel AUTH: %.160s", rr->str);
	store_ask_cancel(a);
	a->i++;
	store_ask_next(a);
}

static void store_on_ask_disconnect(const redisAsyncContext *ac, int status)
{
	struct store_asker *a = ac->data;

	(void)status;
	if (a == NULL || a->sac != ac)
		return;
	/* a failed connect has its error on the context only (hiredis
	 * copies it to ac after the connect callback) */
	snprintf(a->why, sizeof(a->why), "sentinel: %.160s",
		 ac->err != 0	? ac->errstr
		 : ac->c.err != 0 ? ac->c.errstr
				  : "connection closed");
	a->sac = NULL; /* hiredis frees it */
	a->i++;
	store_ask_next(a);
}

static void store_on_ask_connect(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK)
		store_on_ask_disconnect(ac, status);
}

/*
 * Asks sentinel number i (in sentinel_order()) for the primary; when
 * every sentinel has failed, cb gets NULL.
 */
static void store_ask_next(struct store_asker *a)
{
	const struct store_target *t = a->t;
	struct sentinel_addr sa;
	const char *s, *av[3];
	int n;

	for (; a->i < t->nsentinels; a->i++) {
		s = t->sentinels[sentinel_order(t->nsentinels, a->first, a->i)];
		if (sentinel_parse_addr(s, strlen(s), &sa) < 0)
			continue; /* refused by config validation */
		a->sac = redisAsyncConnect(sa.host, sa.port);
		if (a->sac == NULL || a->sac->err) {
			snprintf(a->why, sizeof(a->why), "sentinel %.60s: %.100s",
				 s, a->sac != NULL ? a->sac->errstr
						   : "out of memory");
			if (a->sac != NULL)
				redisAsyncFree(a->sac);
			a->sac = NULL;
			continue;
		}
		a->sac->data = a;
		redisLibeventAttach(a->sac, a->base);
		redisAsyncSetConnectCallback(a->sac, store_on_ask_connect);
		redisAsyncSetDisconnectCallback(a->sac, store_on_ask_disconnect);
		n = store_auth_argv(t->sentinel_username, t->sentinel_password,
				    av);
		if (n > 0)
			redisAsyncCommandArgv(a->sac, store_on_ask_auth, a, n,
					      av, NULL);
		redisAsyncCommand(a->sac, store_on_ask, a,
				  "SENTINEL get-master-addr-by-name %s",
				  t->master_name);
		a->since_ms = store_sentinel_now_ms();
		return;
	}
	a->cb(a->arg, NULL);
}

void store_ask_start(struct store_asker *a)
{
	store_ask_cancel(a);
	a->i = 0;
	a->why[0] = '\0';
	store_ask_next(a);
}

void store_ask_tick(struct store_asker *a)
{
	if (a->sac != NULL &&
	    store_sentinel_now_ms() - a->since_ms > SENTINEL_TIMEOUT_MS) {
		snprintf(a->why, sizeof(a->why), "sentinel: no answer in %d ms",
			 SENTINEL_TIMEOUT_MS);
		store_ask_cancel(a);
		a->i++;
		store_ask_next(a);
	}
}

/* --- blocking face --- */

/* The sentinel that answered last, asked first by the next call. */
static size_t store_sentinel_first;

static struct timeval store_sentinel_tv(long long ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
			     (suseconds_t)(ms % 1000) * 1000};
	return tv;
}

/* AUTH on sentinel connection sc (sa: its address) when the config gives
 * the sentinels a password; -1 with err when refused. */
static int store_sentinel_auth_sync(const struct config *c, redisContext *sc,
				    char *err, size_t errsz, const char *sa)
{
	const char *av[3];
	int n = store_auth_argv(c->redis_sentinel_username,
				c->redis_sentinel_password, av);
	redisReply *r;
	int rc;

	if (n == 0)
		return 0;
	r = redisCommandArgv(sc, n, av, NULL);
	rc = r != NULL && r->type != REDIS_REPLY_ERROR ? 0 : -1;
	if (rc < 0)
		snprintf(err, errsz, "sentinel %s: AUTH: %s", sa,
			 r == NULL ? sc->errstr : r->str);
	freeReplyObject(r);
	return rc;
}

int store_ask_sync(const struct config *c, long long timeout_ms,
		   struct sentinel_addr *out, char *err, size_t errsz)
{
	long long t0 = store_sentinel_now_ms(), ms;
	size_t n = c->nredis_sentinels,
	       first = __atomic_load_n(&store_sentinel_first, __ATOMIC_RELAXED);

	snprintf(err, errsz, "no sentinel answered for '%s'",
		 c->redis_master_name);
	for (size_t i = 0; i < n; i++) {
		size_t k = sentinel_order(n, first, i);
		const char *sa = c->redis_sentinels[k];
		struct sentinel_addr a;
		redisContext *sc;
		redisReply *r;
		int rc;

		ms = timeout_ms - (store_sentinel_now_ms() - t0);
		if (ms <= 0)
			break;
		if (sentinel_parse_addr(sa, strlen(sa), &a) < 0)
			continue; /* refused by config validation */
		ms = ms < SENTINEL_TIMEOUT_MS ? ms : SENTINEL_TIMEOUT_MS;
		sc = redisConnectWithTimeout(a.host, a.port,
					     store_sentinel_tv(ms));
		if (sc == NULL || sc->err) {
			snprintf(err, errsz, "sentinel %s: %s", sa,
				 sc ? sc->errstr : "out of memory");
			redisFree(sc);
			continue;
		}
		redisSetTimeout(sc, store_sentinel_tv(ms));
		if (store_sentinel_auth_sync(c, sc, err, errsz, sa) < 0) {
			redisFree(sc);
			continue;
		}
		r = redisCommand(sc, "SENTINEL get-master-addr-by-name %s",
				 c->redis_master_name);
		rc = r == NULL ? -SENTINEL_EREPLY : store_sentinel_reply(r, out);
		snprintf(err, errsz, "sentinel %s: %s", sa,
			 r == NULL			? sc->errstr
			 : r->type == REDIS_REPLY_ERROR ? r->str
			 : rc == 0 ? "does not know the primary"
				   : "unexpected reply");
		freeReplyObject(r);
		redisFree(sc);
		if (rc == 1) {
			__atomic_store_n(&store_sentinel_first, k,
					 __ATOMIC_RELAXED);
			return 0;
		}
	}
	return -1;
}
