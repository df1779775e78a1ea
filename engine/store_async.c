/*
 * store_async: the asynchronous face of the Redis client (see
 * store_redis.h), for postlb-policyd: hiredis + libevent, one connection
 * per process, reconnect with a short backoff, a stall watchdog, the quota
 * script sent as EVALSHA (EVAL once after NOSCRIPT).  With
 * redis.sentinels, each connect first asks the sentinels for the primary
 * (store_sentinel.c; asynchronously: the event loop never waits), checks
 * that it says ROLE master, and asks ROLE again every
 * STORE_ROLE_CHECK_MS; a READONLY or NOREPLICAS reply or another role
 * drops the connection, and the next connect finds the new primary.
 * While it is down, calls answer -STORE_EDOWN at once (the fail mode).
 * Single-threaded.  No policy decisions here, and no blocking call.
 */
#include "store_int.h"

#include "log.h"
#include "num.h"
#include "sentinel.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define STORE_TICK_MS 50
#define STORE_CONNECT_TIMEOUT_MS 1000
#define STORE_STALL_MS 1000
/*
 * Reconnect attempts: 100 ms after a failure, then 200 and every 300 ms
 * for as long as Redis stays away.  A unix-socket or loopback
 * connect costs next to nothing, and the cap bounds how long quotas go
 * unenforced after Redis is back (at most one interval and a tick),
 * whatever the length of the outage; one attempt per interval, no storm.
 */
#define STORE_BACKOFF_MIN_MS 100
#define STORE_BACKOFF_MAX_MS 300

/* ST_ASKING: a sentinel is asked for the primary (Sentinel mode). */
enum store_state { ST_DOWN, ST_ASKING, ST_CONNECTING, ST_UP };

struct store_call {
	struct store *s;
	store_quota_cb cb;
	void *arg;
	long long sent_ms;
	int retried;
	int argc;
	char **argv;
	size_t *lens;
	struct store_call *prev, *next;
};

struct store {
	struct event_base *base;
	redisAsyncContext *ac;
	enum store_state state;
	struct store_target t;
	char *prefix;
	char where[300]; /* for messages: the address or the primary found */
	struct store_asker ask;	  /* Sentinel mode: finds the primary */
	long long role_ms;	  /* last ROLE sent (Sentinel mode) */
	int role_pending;
	char sha[41];
	struct event *tick;
	long long state_since_ms, next_attempt_ms, backoff_ms;
	int failures; /* consecutive failed attempts, for logging once */
	struct store_call *head, *tail;
	struct store_stats st;
	size_t cmd_pending; /* store_command() replies awaited */
};

static long long store_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static void store_call_unlink(struct store *s, struct store_call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->tail = c->prev;
	c->prev = c->next = NULL;
}

static void store_call_free(struct store_call *c)
{
	free(c); /* argv, lens and strings live in the same block */
}

/* Marks the store down and schedules the next attempt with backoff. */
static void store_set_down(struct store *s, const char *why)
{
	long long now = store_now_ms();

	if (s->state == ST_UP)
		log_warn("redis: %s is down: %s; answering from the fail mode",
			 s->where, why);
	else if (s->failures++ == 0)
		log_warn("redis: cannot connect to %s: %s; retrying with "
			 "backoff",
			 s->where, why);
	s->state = ST_DOWN;
	s->state_since_ms = now;
	s->backoff_ms = s->backoff_ms == 0 ? STORE_BACKOFF_MIN_MS
			: s->backoff_ms * 2 > STORE_BACKOFF_MAX_MS
			    ? STORE_BACKOFF_MAX_MS
			    : s->backoff_ms * 2;
	s->next_attempt_ms = now + s->backoff_ms;
	s->st.up = 0;
}

/* Drops the connection now; hiredis calls every pending callback. */
static void store_drop(struct store *s, const char *why)
{
	redisAsyncContext *ac = s->ac;

	s->ac = NULL;
	s->role_pending = 0;
	store_ask_cancel(&s->ask);
	store_set_down(s, why);
	if (ac != NULL)
		redisAsyncFree(ac);
}

static void store_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct store *s = ac->data;

	(void)status;
	if (s == NULL || s->ac != ac)
		return;
	s->ac = NULL;
	store_set_down(s, ac->errstr[0] ? ac->errstr : "connection closed");
}

static void store_on_script(redisAsyncContext *ac, void *r, void *priv)
{
	struct store *s = priv;
	redisReply *reply = r;

	if (s->ac != ac)
		return;
	if (reply == NULL || reply->type != REDIS_REPLY_STRING ||
	    reply->len != 40) {
		store_drop(s, reply && reply->type == REDIS_REPLY_ERROR
				  ? reply->str
				  : "SCRIPT LOAD failed");
		return;
	}
	memcpy(s->sha, reply->str, 40);
	s->sha[40] = '\0';
	s->state = ST_UP;
	s->st.up = 1;
	s->failures = 0;
	s->backoff_ms = 0;
	s->state_since_ms = store_now_ms();
	s->role_ms = s->state_since_ms;
	s->role_pending = 0; /* a ROLE lost with the last connection */
	log_info("redis: connected to %s", s->where);
}

/* AUTH and SELECT replies: an error drops the connection. */
static void store_on_setup(redisAsyncContext *ac, void *r, void *priv)
{
	struct store *s = priv;
	redisReply *reply = r;

	if (s->ac != ac || reply == NULL)
		return;
	if (reply->type == REDIS_REPLY_ERROR)
		store_drop(s, reply->str);
}

/*
 * A ROLE reply: anything but "master" drops the connection (the server
 * is a replica: a failover is under way or over).
 */
static void store_on_role(redisAsyncContext *ac, void *r, void *priv)
{
	struct store *s = priv;
	redisReply *reply = r;
	char why[64];

	if (s->ac != ac || reply == NULL)
		return;
	s->role_pending = 0;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
	    reply->element[0]->type == REDIS_REPLY_STRING &&
	    sentinel_parse_role(reply->element[0]->str,
				reply->element[0]->len) == SENTINEL_ROLE_MASTER)
		return;
	snprintf(why, sizeof(why), "not the primary (ROLE %.20s)",
		 reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
			 reply->element[0]->type == REDIS_REPLY_STRING
		     ? reply->element[0]->str
		     : "?");
	store_drop(s, why);
}

/*
 * An error reply that means a failover (READONLY, NOREPLICAS; see
 * sentinel_is_failover()): drops the connection, once, so that the next
 * connect asks the sentinels.
 */
static void store_drop_failover(struct store *s, const redisReply *r)
{
	char esc[120];

	if (s->ac != NULL)
		store_drop(s, log_escape(esc, sizeof(esc), r->str, r->len));
}

static void store_on_connect(const redisAsyncContext *ac, int status)
{
	struct store *s = ac->data;
	const char *av[3];
	char db[16];
	int n;

	if (s == NULL || s->ac != ac)
		return;
	if (status != REDIS_OK) {
		s->ac = NULL; /* hiredis frees it */
		store_set_down(s, ac->errstr);
		return;
	}
	if ((n = store_auth_argv(s->t.username, s->t.password, av)) > 0)
		redisAsyncCommandArgv(s->ac, store_on_setup, s, n, av, NULL);
	if (s->t.db != 0) {
		snprintf(db, sizeof(db), "%d", s->t.db);
		redisAsyncCommand(s->ac, store_on_setup, s, "SELECT %s", db);
	}
	/* a replica is never written to: the sentinels may lag a failover */
	if (s->t.nsentinels > 0)
		redisAsyncCommand(s->ac, store_on_role, s, "ROLE");
	redisAsyncCommand(s->ac, store_on_script, s, "SCRIPT LOAD %b",
			  QUOTA_LUA, strlen(QUOTA_LUA));
}

/* Connects to host:port (or the unix socket host). */
static void store_connect_to(struct store *s, const char *host, int port,
			     int is_unix)
{
	s->ac = is_unix ? redisAsyncConnectUnix(host)
			: redisAsyncConnect(host, port);
	if (s->ac == NULL || s->ac->err) {
		const char *why = s->ac ? s->ac->errstr : "out of memory";
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", why);
		if (s->ac)
			redisAsyncFree(s->ac);
		s->ac = NULL;
		store_set_down(s, buf);
		return;
	}
	s->ac->data = s;
	s->state = ST_CONNECTING;
	s->state_since_ms = store_now_ms();
	redisLibeventAttach(s->ac, s->base);
	redisAsyncSetConnectCallback(s->ac, store_on_connect);
	redisAsyncSetDisconnectCallback(s->ac, store_on_disconnect);
}

/* The primary the sentinels named (NULL: none): connect to it. */
static void store_on_asked(void *arg, const struct sentinel_addr *p)
{
	struct store *s = arg;

	if (p == NULL) {
		char why[260];
		snprintf(why, sizeof(why), "no sentinel named the primary%s%s",
			 s->ask.why[0] != '\0' ? ": " : "", s->ask.why);
		store_set_down(s, why);
		return;
	}
	snprintf(s->where, sizeof(s->where), "primary '%s' at %s:%d",
		 s->t.master_name, p->host, p->port);
	store_connect_to(s, p->host, p->port, 0);
}

static void store_connect(struct store *s)
{
	char host[256];
	int port = 0, is_unix = 0;

	s->st.reconnects++; /* every attempt, also those failing at once */
	if (s->t.nsentinels > 0) {
		snprintf(s->where, sizeof(s->where), "primary '%s'",
			 s->t.master_name);
		s->state = ST_ASKING; /* store_on_asked() may come at once */
		s->state_since_ms = store_now_ms();
		store_ask_start(&s->ask);
		return;
	}
	snprintf(s->where, sizeof(s->where), "%s", s->t.address);
	if (store_parse_address(s->t.address, host, &port, &is_unix) < 0) {
		store_set_down(s, "bad address");
		return;
	}
	store_connect_to(s, host, port, is_unix);
}

/* Periodic: reconnects when due, times out connects, notices stalls. */
static void store_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	long long now = store_now_ms();

	(void)fd;
	(void)what;
	switch (s->state) {
	case ST_DOWN:
		if (now >= s->next_attempt_ms)
			store_connect(s);
		break;
	case ST_ASKING:
		store_ask_tick(&s->ask);
		break;
	case ST_CONNECTING:
		if (now - s->state_since_ms > STORE_CONNECT_TIMEOUT_MS)
			store_drop(s, "connect timed out");
		break;
	case ST_UP:
		if (s->head != NULL &&
		    now - s->head->sent_ms > STORE_STALL_MS)
			store_drop(s, "no reply within 1000 ms");
		else if (s->t.nsentinels > 0 && !s->role_pending &&
			 now - s->role_ms >= STORE_ROLE_CHECK_MS) {
			s->role_ms = now;
			if (redisAsyncCommand(s->ac, store_on_role, s,
					      "ROLE") == REDIS_OK)
				s->role_pending = 1;
		}
		break;
	}
}

struct store *store_new(struct event_base *base, const struct config *c)
{
	struct store *s = calloc(1, sizeof(*s));
	struct timeval tv = {0, STORE_TICK_MS * 1000};

	if (s == NULL)
		return NULL;
	s->base = base;
	s->state = ST_DOWN;
	s->ask.base = base;
	s->ask.t = &s->t;
	s->ask.cb = store_on_asked;
	s->ask.arg = s;
	s->t.db = -1; /* not yet configured: every setting is copied */
	if (store_reconfigure(s, c) < 0) {
		store_free(s);
		return NULL;
	}
	s->tick = event_new(base, -1, EV_PERSIST, store_on_tick, s);
	if (s->tick == NULL) {
		store_free(s);
		return NULL;
	}
	event_add(s->tick, &tv);
	store_connect(s);
	return s;
}

int store_reconfigure(struct store *s, const struct config *c)
{
	int same = store_target_same(&s->t, c);
	char *prefix = c->redis_prefix != NULL ? strdup(c->redis_prefix) : NULL;

	/* every copy first: out of memory leaves s as it was */
	if ((c->redis_prefix != NULL && prefix == NULL) ||
	    (!same && store_target_set(&s->t, c) < 0)) {
		free(prefix);
		log_err("store: out of memory; keeping the Redis settings");
		return -1;
	}
	free(s->prefix);
	s->prefix = prefix;
	if (same)
		return 0;
	if (s->ac != NULL || s->ask.sac != NULL) {
		store_drop(s, "configuration changed");
		s->next_attempt_ms = 0;
	}
	return 0;
}

void store_free(struct store *s)
{
	if (s == NULL)
		return;
	if (s->tick)
		event_free(s->tick);
	if (s->ac != NULL) {
		redisAsyncContext *ac = s->ac;
		s->ac = NULL;
		redisAsyncFree(ac);
	}
	store_ask_cancel(&s->ask);
	store_target_clear(&s->t);
	free(s->prefix);
	free(s);
}

int store_is_up(const struct store *s)
{
	return s->state == ST_UP;
}

void store_get_stats(const struct store *s, struct store_stats *out)
{
	*out = s->st;
}

/* Turns a script reply into a verdict; -1 if it has the wrong shape. */
static int store_verdict(const redisReply *r, size_t n,
			 struct quota_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
		return -1;
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->type != REDIS_REPLY_INTEGER)
			return -1;
	if (r->element[0]->integer == 1) {
		if (r->elements != 3 * n + 1)
			return -1;
		v->allowed = 1;
		for (size_t i = 0; i < n; i++) {
			v->reserved[i] = r->element[1 + i]->integer;
			v->reserved_us[i] = r->element[1 + n + i]->integer;
			v->charged_us[i] = r->element[1 + 2 * n + i]->integer;
			if (v->reserved[i] < 0 || v->reserved_us[i] < 0 ||
			    v->charged_us[i] < 0)
				return -1;
		}
		return 0;
	}
	if (r->elements != 5 || r->element[1]->integer < 1 ||
	    (size_t)r->element[1]->integer > n)
		return -1;
	v->idx = (size_t)r->element[1]->integer - 1;
	v->retry_us = r->element[2]->integer;
	v->limit = r->element[3]->integer;
	v->window_ms = r->element[4]->integer;
	return 0;
}

static void store_send(struct store *s, struct store_call *c);
static void store_on_quota(redisAsyncContext *ac, void *r, void *priv);

/*
 * Sends c's command in the RESP wire format, written here in one buffer:
 * hiredis's own argv formatting allocates once per argument, a visible
 * share of policyd's CPU per decision.
 */
static int store_send_resp(struct store *s, struct store_call *c)
{
	char stack[8192], *buf = stack, *p;
	size_t need = 16;
	int rc;

	for (int i = 0; i < c->argc; i++)
		need += c->lens[i] + 24;
	if (need > sizeof(stack) && (buf = malloc(need)) == NULL)
		return REDIS_ERR;
	p = buf;
	*p++ = '*';
	p += num_format_ll(p, c->argc);
	*p++ = '\r';
	*p++ = '\n';
	for (int i = 0; i < c->argc; i++) {
		*p++ = '$';
		p += num_format_ll(p, (long long)c->lens[i]);
		*p++ = '\r';
		*p++ = '\n';
		memcpy(p, c->argv[i], c->lens[i]);
		p += c->lens[i];
		*p++ = '\r';
		*p++ = '\n';
	}
	rc = redisAsyncFormattedCommand(s->ac, store_on_quota, c, buf,
					(size_t)(p - buf));
	if (buf != stack)
		free(buf);
	return rc;
}

static void store_on_quota(redisAsyncContext *ac, void *r, void *priv)
{
	struct store_call *c = priv;
	struct store *s = c->s;
	redisReply *reply = r;
	struct quota_verdict v;
	int rc = 0;

	(void)ac;
	store_call_unlink(s, c);
	if (reply == NULL) {
		rc = -STORE_EDOWN;
	} else if (reply->type == REDIS_REPLY_ERROR &&
		   sentinel_is_failover(reply->str, reply->len)) {
		/* nothing was charged: find the primary */
		rc = -STORE_EDOWN;
		store_drop_failover(s, reply);
	} else if (store_reply_noscript(reply) && !c->retried &&
		   s->ac != NULL) {
		/* The script did not run: sending it again charges once. */
		s->st.noscript++;
		c->retried = 1;
		c->argv[0] = "EVAL";
		c->lens[0] = 4;
		c->argv[1] = (char *)QUOTA_LUA;
		c->lens[1] = strlen(QUOTA_LUA);
		store_send(s, c);
		return;
	} else if (store_verdict(reply, (size_t)(c->argc - 3) / 7, &v) < 0) {
		char esc[120];
		rc = -STORE_EREPLY;
		if (s->st.errors++ == 0 || s->st.errors % 1000 == 0)
			log_warn("redis: unexpected reply to the quota script "
				 "(%llu so far): %s",
				 s->st.errors,
				 reply->type == REDIS_REPLY_ERROR
				     ? log_escape(esc, sizeof(esc), reply->str,
						  reply->len)
				     : "not an integer array");
	}
	if (rc == 0)
		s->st.ok++;
	c->cb(c->arg, rc, rc == 0 ? &v : NULL);
	store_call_free(c);
}

/* Queues c on the connection and in the pending list. */
static void store_send(struct store *s, struct store_call *c)
{
	c->sent_ms = store_now_ms();
	c->prev = s->tail;
	c->next = NULL;
	if (s->tail)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	if (store_send_resp(s, c) != REDIS_OK) {
		store_call_unlink(s, c);
		c->cb(c->arg, -STORE_EDOWN, NULL);
		store_call_free(c);
	}
}

int store_quota_check(struct store *s, const struct quota_plan *plan,
		      store_quota_cb cb, void *arg)
{
	size_t n = plan->n, argc = 3 + 7 * n, i;
	size_t bytes = sizeof(struct store_call) + argc * sizeof(char *) +
		       argc * sizeof(size_t) + n * (3 * QUOTA_KEY_MAX + 4 * 24) +
		       16;
	struct store_call *c;
	char *p;

	s->st.calls++;
	if (s->state != ST_UP || s->ac == NULL || n == 0) {
		s->st.down_answers++;
		cb(arg, -STORE_EDOWN, NULL);
		return 0;
	}
	c = malloc(bytes);
	if (c == NULL) {
		cb(arg, -STORE_EDOWN, NULL);
		return 0;
	}
	c->s = s;
	c->cb = cb;
	c->arg = arg;
	c->retried = 0;
	c->prev = c->next = NULL;
	c->argc = (int)argc;
	c->argv = (char **)(c + 1);
	c->lens = (size_t *)(c->argv + argc);
	p = (char *)(c->lens + argc);
	c->argv[0] = "EVALSHA";
	c->argv[1] = s->sha;
	c->argv[2] = p;
	p += num_format_ll(p, (long long)(3 * n)) + 1;
	for (i = 0; i < n; i++) {
		const struct quota_check *k = &plan->checks[i];
		char *st = p, *ov = p + QUOTA_KEY_MAX,
		     *oa = p + 2 * QUOTA_KEY_MAX;
		if (quota_keys(s->prefix, k->q->name, k->subject, st, ov, oa) <
		    0)
			log_panic("store: quota key too long");
		c->argv[3 + 3 * i] = st;
		c->argv[4 + 3 * i] = ov;
		c->argv[5 + 3 * i] = oa;
		p += 3 * QUOTA_KEY_MAX;
	}
	for (i = 0; i < n; i++) {
		const struct quota_check *k = &plan->checks[i];
		char **a = &c->argv[3 + 3 * n + 4 * i];
		a[0] = p;
		p += num_format_ll(p, k->q->limit) + 1;
		a[1] = p;
		p += num_format_ll(p, k->q->window_ms) + 1;
		a[2] = p;
		p += num_format_ll(p, k->cost) + 1;
		a[3] = p;
		p += num_format_ll(p, k->reserve) + 1;
	}
	for (i = 0; i < argc; i++)
		c->lens[i] = strlen(c->argv[i]);
	store_send(s, c);
	return 0;
}

/* A plain command's context: freed by its reply callback (one of cb or
 * icb, or neither). */
struct store_cmd {
	struct store *s;
	store_cmd_cb cb;
	store_ints_cb icb;
	void *arg;
};

/* An all-integer array reply (at most STORE_INTS_MAX) for icb. */
static void store_on_ints(struct store_cmd *c, const redisReply *reply)
{
	long long v[STORE_INTS_MAX];
	size_t n = 0;

	if (reply == NULL) {
		c->icb(c->arg, -STORE_EDOWN, v, 0);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		c->icb(c->arg, -STORE_EREPLY, v, 0);
		return;
	}
	if (reply->type == REDIS_REPLY_INTEGER)
		v[n++] = reply->integer;
	else if (reply->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < reply->elements && n < STORE_INTS_MAX;
		     i++)
			if (reply->element[i]->type == REDIS_REPLY_INTEGER)
				v[n++] = reply->element[i]->integer;
	c->icb(c->arg, 0, v, n);
}

static void store_on_cmd(redisAsyncContext *ac, void *r, void *priv)
{
	struct store_cmd *c = priv;
	redisReply *reply = r;
	int rc = 0;
	long long v = 0;

	(void)ac;
	c->s->cmd_pending--;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    sentinel_is_failover(reply->str, reply->len))
		store_drop_failover(c->s, reply);
	if (c->icb != NULL) {
		store_on_ints(c, reply);
		free(c);
		return;
	}
	if (reply == NULL)
		rc = -STORE_EDOWN;
	else if (reply->type == REDIS_REPLY_ERROR)
		rc = -STORE_EREPLY;
	else if (reply->type == REDIS_REPLY_INTEGER)
		v = reply->integer;
	else if (reply->type != REDIS_REPLY_STRING ||
		 num_parse_ll(reply->str, reply->len, -0x7fffffffffffffffLL,
			      0x7fffffffffffffffLL, &v) < 0)
		rc = 1;
	if (c->cb != NULL)
		c->cb(c->arg, rc, v);
	free(c);
}

static int store_cmd_send(struct store *s, int argc, const char **argv,
		      const size_t *lens, store_cmd_cb cb, store_ints_cb icb,
		      void *arg)
{
	struct store_cmd *c;

	if (s->state != ST_UP || s->ac == NULL || argc < 1)
		return -STORE_EDOWN;
	c = malloc(sizeof(*c));
	if (c == NULL)
		return -STORE_EDOWN;
	c->s = s;
	c->cb = cb;
	c->icb = icb;
	c->arg = arg;
	if (redisAsyncCommandArgv(s->ac, store_on_cmd, c, argc, argv, lens) !=
	    REDIS_OK) {
		free(c);
		return -STORE_EDOWN;
	}
	s->cmd_pending++;
	return 0;
}

int store_command(struct store *s, int argc, const char **argv,
		  const size_t *lens, store_cmd_cb cb, void *arg)
{
	return store_cmd_send(s, argc, argv, lens, cb, NULL, arg);
}

int store_command_ints(struct store *s, int argc, const char **argv,
		       const size_t *lens, store_ints_cb cb, void *arg)
{
	return store_cmd_send(s, argc, argv, lens, NULL, cb, arg);
}

size_t store_command_pending(const struct store *s)
{
	return s->cmd_pending;
}
