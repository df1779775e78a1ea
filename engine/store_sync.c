/*
 * store_sync: the blocking face of the Redis client (see store_redis.h),
 * for postlb-milter's router threads (one connection per thread at a
 * time) and postlbctl: plain commands with a timeout, and scripts by
 * EVALSHA with their sha1 cached per connection (loaded again once after
 * NOSCRIPT).  With redis.sentinels, each open asks the sentinels for the
 * primary (store_sentinel.c) and checks its ROLE, asked again every
 * STORE_ROLE_CHECK_MS; a READONLY or NOREPLICAS reply or another role
 * breaks the connection (the caller closes it and opens a new one, which
 * finds the new primary).  A connection may also be turned into a
 * subscriber (store_sync_psubscribe), which then only waits for messages.
 * No policy decisions here.
 */
#include "store_int.h"

#include "num.h"
#include "sentinel.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

struct store_sync {
	redisContext *c;
	char err[256];
	const char *script[2]; /* scripts whose sha1 is known here */
	char sha[2][41];
	int sentinel;	   /* found through the sentinels: ROLE asked again */
	int broken;	   /* failover reply or demoted: never used again */
	long long role_ms; /* when ROLE last said "master" */
};

static long long store_sync_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval store_sync_tv(long long ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
			     (suseconds_t)(ms % 1000) * 1000};
	return tv;
}

/*
 * 1 if r is an error that means a failover (READONLY, NOREPLICAS; see
 * sentinel_is_failover()): the connection is marked broken so that it is
 * closed, not reused.
 */
static int store_sync_failover(struct store_sync *s, const redisReply *r)
{
	if (r->type != REDIS_REPLY_ERROR ||
	    !sentinel_is_failover(r->str, r->len))
		return 0;
	s->broken = 1;
	return 1;
}

/*
 * Asks ROLE; 0 when the server is the primary, -1 (err set, s broken when
 * it answered another role) otherwise.
 */
static int store_sync_role(struct store_sync *s)
{
	redisReply *r = redisCommand(s->c, "ROLE");
	int rc = -1;

	if (r == NULL) {
		snprintf(s->err, sizeof(s->err), "%s", s->c->errstr);
		return -1;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    sentinel_parse_role(r->element[0]->str, r->element[0]->len) ==
		SENTINEL_ROLE_MASTER) {
		s->role_ms = store_sync_now_ms();
		rc = 0;
	} else {
		s->broken = 1;
		snprintf(s->err, sizeof(s->err),
			 "READONLY: not the primary (ROLE %.32s)",
			 r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
				 r->element[0]->type == REDIS_REPLY_STRING
			     ? r->element[0]->str
			     : r->type == REDIS_REPLY_ERROR ? r->str : "?");
	}
	freeReplyObject(r);
	return rc;
}

/* 0 if s may send a command: not broken, and (found through the
 * sentinels) still the primary when ROLE was asked a while ago. */
static int store_sync_usable(struct store_sync *s)
{
	if (s->broken)
		return -1;
	if (s->sentinel &&
	    store_sync_now_ms() - s->role_ms >= STORE_ROLE_CHECK_MS)
		return store_sync_role(s);
	return 0;
}

/* Runs one command; returns the reply (caller frees) or NULL. */
static redisReply *store_sync_cmd(struct store_sync *s, int argc,
				  const char **argv)
{
	redisReply *r;

	if (store_sync_usable(s) < 0)
		return NULL;
	r = redisCommandArgv(s->c, argc, argv, NULL);
	if (r == NULL) {
		snprintf(s->err, sizeof(s->err), "%s", s->c->errstr);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		store_sync_failover(s, r);
		snprintf(s->err, sizeof(s->err), "%s", r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* Authenticates and selects the database on a new connection. */
static int store_sync_setup(struct store_sync *s, const struct config *c)
{
	const char *av[3];
	char db[16];
	redisReply *r;
	int n;

	n = store_auth_argv(c->redis_username, c->redis_password, av);
	if (n > 0) {
		if ((r = store_sync_cmd(s, n, av)) == NULL)
			return -1;
		freeReplyObject(r);
	}
	if (c->redis_db != 0) {
		av[0] = "SELECT";
		av[1] = db;
		snprintf(db, sizeof(db), "%d", c->redis_db);
		if ((r = store_sync_cmd(s, 2, av)) == NULL)
			return -1;
		freeReplyObject(r);
	}
	return 0;
}

int store_sync_open(const struct config *c, long long timeout_ms,
		    struct store_sync **out, char *err, size_t errsz)
{
	struct timeval tv = store_sync_tv(timeout_ms);
	struct store_sync *s;
	struct sentinel_addr a;
	char host[256], where[300];
	int port = 0, is_unix = 0;

	if (c->nredis_sentinels > 0) {
		if (store_ask_sync(c, timeout_ms, &a, err, errsz) < 0)
			return -1;
		snprintf(host, sizeof(host), "%s", a.host);
		port = a.port;
		snprintf(where, sizeof(where), "primary '%s' at %s:%d",
			 c->redis_master_name, a.host, a.port);
	} else if (store_parse_address(c->redis_address, host, &port,
				       &is_unix) < 0) {
		snprintf(err, errsz, "bad redis address '%s'",
			 c->redis_address);
		return -1;
	} else {
		snprintf(where, sizeof(where), "%s", c->redis_address);
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->c = is_unix ? redisConnectUnixWithTimeout(host, tv)
		       : redisConnectWithTimeout(host, port, tv);
	if (s->c == NULL || s->c->err) {
		snprintf(err, errsz, "cannot connect to redis at %s: %s",
			 where, s->c ? s->c->errstr : "no memory");
		store_sync_close(s);
		return -1;
	}
	redisSetTimeout(s->c, tv);
	/* a replica is never written to: the sentinels may lag a failover */
	if (store_sync_setup(s, c) < 0 ||
	    (c->nredis_sentinels > 0 && store_sync_role(s) < 0))
		goto fail;
	s->sentinel = c->nredis_sentinels > 0;
	*out = s;
	return 0;
fail:
	snprintf(err, errsz, "redis at %s: %s", where, s->err);
	store_sync_close(s);
	return -1;
}

void store_sync_close(struct store_sync *s)
{
	if (s == NULL)
		return;
	if (s->c)
		redisFree(s->c);
	free(s);
}

const char *store_sync_error(const struct store_sync *s)
{
	return s->err;
}

int store_sync_get(struct store_sync *s, const char *key, char *out,
		   size_t outsz)
{
	const char *av[] = {"GET", key};
	redisReply *r = store_sync_cmd(s, 2, av);
	int rc;

	if (r == NULL)
		return -STORE_EREPLY;
	if (r->type == REDIS_REPLY_NIL) {
		rc = 0;
	} else if (r->type == REDIS_REPLY_STRING) {
		snprintf(out, outsz, "%.*s", (int)r->len, r->str);
		rc = 1;
	} else {
		snprintf(s->err, sizeof(s->err), "GET: unexpected reply");
		rc = -STORE_EREPLY;
	}
	freeReplyObject(r);
	return rc;
}

/* Runs one command whose reply matters only as success: 0 or an error. */
static int store_sync_do(struct store_sync *s, int argc, const char **argv)
{
	redisReply *r = store_sync_cmd(s, argc, argv);

	if (r == NULL)
		return -STORE_EREPLY;
	freeReplyObject(r);
	return 0;
}

int store_sync_set(struct store_sync *s, const char *key, const char *value)
{
	const char *av[] = {"SET", key, value};

	return store_sync_do(s, 3, av);
}

int store_sync_set_px(struct store_sync *s, const char *key,
		      const char *value, size_t len, long long px_ms)
{
	char px[24];
	const char *av[] = {"SET", key, value, "PX", px};
	size_t lens[] = {3, strlen(key), len, 2, 0};
	redisReply *r;
	int rc = 0;

	snprintf(px, sizeof(px), "%lld", px_ms);
	lens[4] = strlen(px);
	r = redisCommandArgv(s->c, 5, av, lens);
	if (r == NULL) {
		snprintf(s->err, sizeof(s->err), "%s", s->c->errstr);
		return -STORE_EDOWN;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(s->err, sizeof(s->err), "%s", r->str);
		rc = -STORE_EREPLY;
	}
	freeReplyObject(r);
	return rc;
}

int store_sync_del(struct store_sync *s, const char *key)
{
	const char *av[] = {"DEL", key};
	redisReply *r = store_sync_cmd(s, 2, av);
	int n;

	if (r == NULL)
		return -STORE_EREPLY;
	n = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : 0;
	freeReplyObject(r);
	return n;
}

int store_sync_time_us(struct store_sync *s, long long *now_us)
{
	const char *av[] = {"TIME"};
	redisReply *r = store_sync_cmd(s, 1, av);
	long long sec, usec;
	int rc = -STORE_EREPLY;

	if (r == NULL)
		return rc;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    num_parse_ll(r->element[0]->str, r->element[0]->len, 0, 1LL << 40,
			 &sec) == 0 &&
	    num_parse_ll(r->element[1]->str, r->element[1]->len, 0, 999999,
			 &usec) == 0) {
		*now_us = sec * 1000000 + usec;
		rc = 0;
	}
	freeReplyObject(r);
	return rc;
}

int store_sync_scan(struct store_sync *s, const char *pattern, size_t max,
		    void (*cb)(void *arg, const char *key), void *arg)
{
	char cursor[32] = "0";
	size_t seen = 0;

	do {
		const char *av[] = {"SCAN", cursor, "MATCH", pattern, "COUNT",
				    "1000"};
		redisReply *r = store_sync_cmd(s, 6, av);
		if (r == NULL)
			return -STORE_EREPLY;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			return -STORE_EREPLY;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements && seen < max;
		     i++, seen++)
			cb(arg, r->element[1]->element[i]->str);
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 && seen < max);
	return 0;
}

int store_sync_load_script(struct store_sync *s, char sha[41])
{
	const char *av[] = {"SCRIPT", "LOAD", QUOTA_LUA};
	redisReply *r = store_sync_cmd(s, 3, av);

	if (r == NULL)
		return -STORE_EREPLY;
	snprintf(sha, 41, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
	return 0;
}

int store_sync_hset(struct store_sync *s, const char *key, const char *field,
		    const char *value)
{
	const char *av[] = {"HSET", key, field, value};

	return store_sync_do(s, 4, av);
}

int store_sync_hdel(struct store_sync *s, const char *key, const char *field)
{
	const char *av[] = {"HDEL", key, field};

	return store_sync_do(s, 3, av);
}

int store_sync_publish(struct store_sync *s, const char *channel,
		       const char *message)
{
	const char *av[] = {"PUBLISH", channel, message};

	return store_sync_do(s, 3, av);
}

int store_sync_psubscribe(struct store_sync *s, const char *pattern)
{
	const char *av[] = {"PSUBSCRIBE", pattern};
	redisReply *r = store_sync_cmd(s, 2, av);
	int ok;

	if (r == NULL) /* refused (an error reply) or the connection failed */
		return s->broken || s->c->err != 0 ? -STORE_EDOWN
						   : -STORE_EREPLY;
	ok = r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	     r->element[0]->type == REDIS_REPLY_STRING &&
	     strcmp(r->element[0]->str, "psubscribe") == 0;
	freeReplyObject(r);
	s->broken = 1; /* a subscriber takes no more commands */
	if (!ok)
		snprintf(s->err, sizeof(s->err), "PSUBSCRIBE: unexpected reply");
	return ok ? 0 : -STORE_EREPLY;
}

int store_sync_message(struct store_sync *s, long long timeout_ms, char *out,
		       size_t outsz)
{
	void *v = NULL;
	redisReply *r;
	int rc = 0;

	/* a reply already read with an earlier one comes first */
	if (redisGetReplyFromReader(s->c, &v) != REDIS_OK) {
		snprintf(s->err, sizeof(s->err), "%s", s->c->errstr);
		return -STORE_EDOWN;
	}
	if (v == NULL) {
		struct pollfd p = {.fd = s->c->fd, .events = POLLIN};
		int n = poll(&p, 1, (int)timeout_ms);
		if (n <= 0) {
			if (n == 0 || errno == EINTR)
				return 0;
			snprintf(s->err, sizeof(s->err), "poll: %s",
				 strerror(errno));
			return -STORE_EDOWN;
		}
		/* blocks at most the connection's timeout for the rest */
		if (redisGetReply(s->c, &v) != REDIS_OK || v == NULL) {
			snprintf(s->err, sizeof(s->err), "%s", s->c->errstr);
			return -STORE_EDOWN;
		}
	}
	r = v;
	/* "pmessage" PATTERN CHANNEL PAYLOAD; anything else is no message */
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(r->element[0]->str, "pmessage") == 0 &&
	    r->element[2]->type == REDIS_REPLY_STRING &&
	    r->element[3]->type == REDIS_REPLY_STRING) {
		if (outsz > 0)
			snprintf(out, outsz, "%s %s", r->element[2]->str,
				 r->element[3]->str);
		rc = 1;
	}
	freeReplyObject(r);
	return rc;
}

int store_sync_incrby(struct store_sync *s, const char *key, long long delta,
		      long long *out)
{
	char d[24];
	const char *av[] = {"INCRBY", key, d};
	redisReply *r;
	int rc = 0;

	snprintf(d, sizeof(d), "%lld", delta);
	r = store_sync_cmd(s, 3, av);
	if (r == NULL)
		return -STORE_EREPLY;
	if (r->type != REDIS_REPLY_INTEGER) {
		snprintf(s->err, sizeof(s->err), "INCRBY %s: not an integer",
			 key);
		rc = -STORE_EREPLY;
	} else if (out != NULL) {
		*out = r->integer;
	}
	freeReplyObject(r);
	return rc;
}

/*
 * Runs a command whose reply is an array of strings and calls cb with
 * them two (HGETALL: field, value) or one (the second NULL) at a time.
 */
static int store_sync_each(struct store_sync *s, int argc, const char **av,
			   size_t step,
			   void (*cb)(void *arg, const char *a, const char *b),
			   void *arg)
{
	redisReply *r = store_sync_cmd(s, argc, av);

	if (r == NULL)
		return -STORE_EREPLY;
	if (r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return -STORE_EREPLY;
	}
	for (size_t i = 0; i + step - 1 < r->elements; i += step)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    (step == 1 ||
		     r->element[i + 1]->type == REDIS_REPLY_STRING))
			cb(arg, r->element[i]->str,
			   step == 1 ? NULL : r->element[i + 1]->str);
	freeReplyObject(r);
	return 0;
}

int store_sync_hgetall(struct store_sync *s, const char *key,
		       void (*cb)(void *arg, const char *field,
				  const char *value),
		       void *arg)
{
	const char *av[] = {"HGETALL", key};

	return store_sync_each(s, 2, av, 2, cb, arg);
}

int store_sync_lrange(struct store_sync *s, const char *key, long start,
		      long stop, void (*cb)(void *arg, const char *item,
					    const char *unused),
		      void *arg)
{
	char a[24], b[24];
	const char *av[] = {"LRANGE", key, a, b};

	snprintf(a, sizeof(a), "%ld", start);
	snprintf(b, sizeof(b), "%ld", stop);
	return store_sync_each(s, 4, av, 1, cb, arg);
}

/* The sha1 of script on this connection, loading it when unknown. */
static const char *store_sync_sha(struct store_sync *s, const char *script,
				  int reload)
{
	const char *av[] = {"SCRIPT", "LOAD", script};
	redisReply *r;
	int slot = s->script[0] == script ? 0 : s->script[1] == script ? 1 : -1;

	if (slot >= 0 && !reload)
		return s->sha[slot];
	r = store_sync_cmd(s, 3, av);
	if (r == NULL)
		return NULL;
	if (r->type != REDIS_REPLY_STRING || r->len != 40) {
		freeReplyObject(r);
		return NULL;
	}
	if (slot < 0)
		slot = s->script[0] == NULL ? 0 : 1;
	s->script[slot] = script;
	memcpy(s->sha[slot], r->str, 41);
	freeReplyObject(r);
	return s->sha[slot];
}

int store_sync_eval(struct store_sync *s, const char *script, int nkeys,
		    int argc, const char *const *argv, const size_t *lens,
		    long long *out, size_t nout)
{
	const char *av[3 + 512];
	size_t al[3 + 512];
	char nk[16];
	redisReply *r = NULL;
	int n = -STORE_EREPLY;

	if (argc < 0 || argc > 512)
		return -STORE_EARG;
	if (store_sync_usable(s) < 0)
		return -STORE_EDOWN;
	snprintf(nk, sizeof(nk), "%d", nkeys);
	av[0] = "EVALSHA";
	av[2] = nk;
	al[0] = 7;
	al[2] = strlen(nk);
	memcpy(av + 3, argv, (size_t)argc * sizeof(char *));
	memcpy(al + 3, lens, (size_t)argc * sizeof(size_t));
	for (int attempt = 0; attempt < 2; attempt++) {
		av[1] = store_sync_sha(s, script, attempt);
		if (av[1] == NULL)
			return s->c->err ? -STORE_EDOWN : -STORE_EREPLY;
		al[1] = 40;
		r = redisCommandArgv(s->c, argc + 3, av, al);
		if (r == NULL) {
			snprintf(s->err, sizeof(s->err), "%s", s->c->errstr);
			return -STORE_EDOWN;
		}
		/* NOSCRIPT: it did not run, so sending it again is safe */
		if (store_reply_noscript(r) && attempt == 0) {
			freeReplyObject(r);
			r = NULL;
			continue;
		}
		break;
	}
	if (r->type == REDIS_REPLY_ARRAY) {
		n = 0;
		for (size_t i = 0; i < r->elements && (size_t)n < nout; i++) {
			if (r->element[i]->type != REDIS_REPLY_INTEGER) {
				n = -STORE_EREPLY;
				break;
			}
			out[n++] = r->element[i]->integer;
		}
	} else {
		snprintf(s->err, sizeof(s->err), "%s",
			 r->type == REDIS_REPLY_ERROR ? r->str
						      : "unexpected reply");
		if (store_sync_failover(s, r))
			n = -STORE_EDOWN; /* a failover: rediscover */
	}
	freeReplyObject(r);
	return n;
}

int store_sync_info(struct store_sync *s, const char *section,
		    void (*cb)(void *arg, const char *field,
			       const char *value),
		    void *arg)
{
	const char *av[] = {"INFO", section};
	redisReply *r = store_sync_cmd(s, 2, av);
	char line[512];
	const char *p, *end, *nl;

	if (r == NULL)
		return -STORE_EREPLY;
	if (r->type != REDIS_REPLY_STRING) {
		snprintf(s->err, sizeof(s->err), "INFO: unexpected reply");
		freeReplyObject(r);
		return -STORE_EREPLY;
	}
	/* "field:value\r\n" lines; "# Section" headers and blanks skipped */
	for (p = r->str, end = r->str + r->len; p < end; p = nl + 1) {
		char *colon;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		line[strcspn(line, "\r")] = '\0';
		if (line[0] == '#' || (colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		cb(arg, line, colon + 1);
	}
	freeReplyObject(r);
	return 0;
}
