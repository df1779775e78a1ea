/*
 * test_router: tests of postlb-milter's router (milter/router*.c) over a
 * fake store: the blocking store API is replaced with -Wl,--wrap by an
 * in-memory Redis stand-in that records what it was asked, can refuse
 * connections (Redis down), cut every open connection (Redis restarted)
 * and run its clock ahead of the host's.  The router's refresher thread
 * runs as in the milter, so the fake is thread-safe and tests wait for
 * refreshes with bounded polls.
 *
 * Checks: the largest number of pools routes without overflow; a 4 KiB
 * queue id neither aborts nor reaches Redis uncut; without Redis the last
 * known states decide (a drained member gets nothing, none usable means
 * none); a cut connection empties the pool; a reload moves every
 * connection, the refresher's too, to the new Redis, also for sessions
 * that keep the old config; the day comes from Redis's clock; /metrics
 * counts each message once under its path (redis, reserved, local, none)
 * with one latency observation, and shows the states last read; a pushed
 * change ends the picks reserved ahead at once (reservations that could
 * live 10 s, states re-read every 10 s), the listener subscribes to the
 * members' channels (glob characters of the prefix escaped) and follows a
 * reload to the new Redis; a Redis user without channels costs the
 * pushes, not the routing, and is asked again after a reload; a change
 * pushed while a reservation call is out ends what it brings back; a
 * subscription lost to a failed connection is retried within a second; a
 * refresh that keeps failing while Redis answers the rest opens one
 * connection per try, not a loop of them.
 */
#include "router.h"

#include "store_redis.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_cases.h"

#define NAME "router.conf"
#define FAKE_CONNS 1024

/* ---- the fake store ---- */

struct fconn {
	char addr[64];
	int refresher; /* opened by the refresher (its 1 s timeout) or the
			* listener: not a pooled connection */
	int listener;  /* subscribed */
	int seen;      /* pushes it delivered */
	int dead;
	char err[64];
};

static struct {
	pthread_mutex_t mu;
	int down;		/* opens fail */
	long long skew_ms;	/* Redis's clock minus the host's */
	int eval_sleep_ms;	/* each eval's reply takes this long (the
				 * script ran at once: states as of then) */
	int eval_started;	/* evals whose script ran */
	int time_refused;	/* TIME is refused (an ACL without it) */
	int psub_io_fail;	/* PSUBSCRIBE times out */
	int psubs;		/* PSUBSCRIBEs asked */
	char state[10][16];	/* member mN's "state" field; "" none */
	int opens, closes, evals, eval_errors;
	int hgetall_a, hgetall_b; /* refresher reads per address */
	size_t last_qid_len;
	char last_wkey[128];	/* the first candidate's count key */
	char defs[8][128];	/* plan definitions written: PREFIX rd:HASH */
	char def_names[8][256]; /* ... and their names (DEF:n) */
	int ndefs, def_writes;
	char last_addr[64];	/* the connection of the last eval */
	int pushes;		 /* changes published so far */
	int no_channels;	 /* PSUBSCRIBE is refused (ACL) */
	char pattern[64];	 /* the last PSUBSCRIBE's */
	struct fconn *conns[FAKE_CONNS]; /* every open connection */
	int nconns;
	unsigned long long k;
} F = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void fake_reset(void)
{
	pthread_mutex_lock(&F.mu);
	F.down = 0;
	F.skew_ms = 0;
	F.eval_sleep_ms = 0;
	F.eval_started = F.time_refused = F.psub_io_fail = F.psubs = 0;
	memset(F.state, 0, sizeof(F.state));
	F.opens = F.closes = F.evals = F.eval_errors = 0;
	F.hgetall_a = F.hgetall_b = 0;
	F.last_qid_len = 0;
	F.last_wkey[0] = F.last_addr[0] = '\0';
	F.ndefs = F.def_writes = 0;
	F.no_channels = 0;
	F.pattern[0] = '\0';
	pthread_mutex_unlock(&F.mu);
}

/* Redis restarted: every connection open now is cut (but the
 * refresher's when pooled_only: it then sees nothing). */
static void fake_cut(int pooled_only)
{
	pthread_mutex_lock(&F.mu);
	for (int i = 0; i < F.nconns; i++)
		if (!pooled_only || !F.conns[i]->refresher)
			F.conns[i]->dead = 1;
	pthread_mutex_unlock(&F.mu);
}

static void fake_cut_all(void)
{
	fake_cut(0);
}

static int fake_get(int *field)
{
	int v;

	pthread_mutex_lock(&F.mu);
	v = *field;
	pthread_mutex_unlock(&F.mu);
	return v;
}

static void fake_set(int *field, int v)
{
	pthread_mutex_lock(&F.mu);
	*field = v;
	pthread_mutex_unlock(&F.mu);
}

static void fake_set_state(int member, const char *st)
{
	pthread_mutex_lock(&F.mu);
	snprintf(F.state[member], sizeof(F.state[member]), "%s", st);
	pthread_mutex_unlock(&F.mu);
}

/* Member number of a key ending in "mN" (1..9), else 0. */
static int key_member(const char *key, size_t len)
{
	if (len >= 2 && key[len - 2] == 'm' && key[len - 1] >= '1' &&
	    key[len - 1] <= '9')
		return key[len - 1] - '0';
	return 0;
}

/* Fails a call on a cut connection the way hiredis does (lock held). */
static int fake_dead(struct fconn *fc)
{
	if (!fc->dead)
		return 0;
	snprintf(fc->err, sizeof(fc->err), "Broken pipe");
	return 1;
}

int __wrap_store_sync_open(const struct config *c, long long timeout_ms,
			   struct store_sync **out, char *err, size_t errsz);
int __wrap_store_sync_open(const struct config *c, long long timeout_ms,
			   struct store_sync **out, char *err, size_t errsz)
{
	struct fconn *fc;

	pthread_mutex_lock(&F.mu);
	if (F.down || F.nconns == FAKE_CONNS) {
		pthread_mutex_unlock(&F.mu);
		snprintf(err, errsz, "connect to %s: Connection refused",
			 c->redis_address);
		return -1;
	}
	fc = calloc(1, sizeof(*fc));
	assert_non_null(fc);
	snprintf(fc->addr, sizeof(fc->addr), "%s", c->redis_address);
	fc->refresher = timeout_ms == 1000;
	F.conns[F.nconns++] = fc;
	F.opens++;
	pthread_mutex_unlock(&F.mu);
	*out = (struct store_sync *)fc;
	return 0;
}

void __wrap_store_sync_close(struct store_sync *s);
void __wrap_store_sync_close(struct store_sync *s)
{
	struct fconn *fc = (struct fconn *)s;

	if (fc == NULL)
		return;
	pthread_mutex_lock(&F.mu);
	for (int i = 0; i < F.nconns; i++)
		if (F.conns[i] == fc) {
			F.conns[i] = F.conns[--F.nconns];
			break;
		}
	F.closes++;
	pthread_mutex_unlock(&F.mu);
	free(fc);
}

const char *__wrap_store_sync_error(const struct store_sync *s);
const char *__wrap_store_sync_error(const struct store_sync *s)
{
	return ((const struct fconn *)s)->err;
}

int __wrap_store_sync_time_us(struct store_sync *s, long long *now_us);
int __wrap_store_sync_time_us(struct store_sync *s, long long *now_us)
{
	struct fconn *fc = (struct fconn *)s;
	struct timespec ts;
	int dead;

	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&F.mu);
	dead = fake_dead(fc);
	if (!dead && F.time_refused) {
		snprintf(fc->err, sizeof(fc->err), "NOPERM time");
		pthread_mutex_unlock(&F.mu);
		return -STORE_EREPLY;
	}
	*now_us = ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
		   F.skew_ms) *
		  1000;
	pthread_mutex_unlock(&F.mu);
	return dead ? -STORE_EDOWN : 0;
}

int __wrap_store_sync_hgetall(struct store_sync *s, const char *key,
			      void (*cb)(void *, const char *, const char *),
			      void *arg);
int __wrap_store_sync_hgetall(struct store_sync *s, const char *key,
			      void (*cb)(void *, const char *, const char *),
			      void *arg)
{
	struct fconn *fc = (struct fconn *)s;
	char st[16] = "";
	int mi = key_member(key, strlen(key));

	pthread_mutex_lock(&F.mu);
	if (fake_dead(fc)) {
		pthread_mutex_unlock(&F.mu);
		return -STORE_EDOWN;
	}
	if (strstr(fc->addr, "/a") != NULL)
		F.hgetall_a++;
	else
		F.hgetall_b++;
	snprintf(st, sizeof(st), "%s", F.state[mi]);
	pthread_mutex_unlock(&F.mu);
	if (st[0] != '\0')
		cb(arg, "state", st);
	return 0;
}

int __wrap_store_sync_get(struct store_sync *s, const char *key, char *out,
			  size_t outsz);
int __wrap_store_sync_get(struct store_sync *s, const char *key, char *out,
			  size_t outsz)
{
	struct fconn *fc = (struct fconn *)s;
	int dead;

	(void)key;
	(void)out;
	(void)outsz;
	pthread_mutex_lock(&F.mu);
	dead = fake_dead(fc);
	pthread_mutex_unlock(&F.mu);
	return dead ? -STORE_EDOWN : 0;
}

int __wrap_store_sync_incrby(struct store_sync *s, const char *key,
			     long long delta, long long *out);
int __wrap_store_sync_incrby(struct store_sync *s, const char *key,
			     long long delta, long long *out)
{
	struct fconn *fc = (struct fconn *)s;
	int dead;

	(void)key;
	pthread_mutex_lock(&F.mu);
	dead = fake_dead(fc);
	pthread_mutex_unlock(&F.mu);
	if (out != NULL)
		*out = delta;
	return dead ? -STORE_EDOWN : 0;
}

/* The plan definitions route_run.c writes: the names part is kept. */
int __wrap_store_sync_set_px(struct store_sync *s, const char *key,
			     const char *value, size_t len, long long px_ms);
int __wrap_store_sync_set_px(struct store_sync *s, const char *key,
			     const char *value, size_t len, long long px_ms)
{
	size_t kl = strlen(key);
	int dead;

	assert_true(px_ms > 0);
	pthread_mutex_lock(&F.mu);
	dead = fake_dead((struct fconn *)s);
	if (!dead && kl > 2 && strcmp(key + kl - 2, ":n") == 0 &&
	    F.ndefs < 8) {
		snprintf(F.defs[F.ndefs], sizeof(F.defs[0]), "%.*s",
			 (int)(kl - 2), key);
		snprintf(F.def_names[F.ndefs++], sizeof(F.def_names[0]),
			 "%.*s", (int)len, value);
	}
	F.def_writes += !dead;
	pthread_mutex_unlock(&F.mu);
	return dead ? -STORE_EDOWN : 0;
}

/* The names of definition key (lock held), or NULL: not written yet. */
static const char *fake_def(const char *key, size_t len)
{
	for (int i = 0; i < F.ndefs; i++)
		if (strlen(F.defs[i]) == len &&
		    memcmp(F.defs[i], key, len) == 0)
			return F.def_names[i];
	return NULL;
}

int __wrap_store_sync_psubscribe(struct store_sync *s, const char *pattern);
int __wrap_store_sync_psubscribe(struct store_sync *s, const char *pattern)
{
	struct fconn *fc = (struct fconn *)s;
	int rc = 0;

	pthread_mutex_lock(&F.mu);
	F.psubs++;
	if (fake_dead(fc)) {
		rc = -STORE_EDOWN;
	} else if (F.psub_io_fail) {
		snprintf(fc->err, sizeof(fc->err), "Resource temporarily "
						   "unavailable");
		rc = -STORE_EDOWN;
	} else if (F.no_channels) {
		snprintf(fc->err, sizeof(fc->err), "NOPERM");
		rc = -STORE_EREPLY;
	} else {
		snprintf(F.pattern, sizeof(F.pattern), "%s", pattern);
		fc->listener = fc->refresher = 1;
		fc->seen = F.pushes; /* earlier ones are not replayed */
	}
	pthread_mutex_unlock(&F.mu);
	return rc;
}

/* Waits (in 5 ms steps) for a push the connection has not delivered. */
int __wrap_store_sync_message(struct store_sync *s, long long timeout_ms,
			      char *out, size_t outsz);
int __wrap_store_sync_message(struct store_sync *s, long long timeout_ms,
			      char *out, size_t outsz)
{
	struct fconn *fc = (struct fconn *)s;

	for (long long t = 0; t <= timeout_ms; t += 5) {
		pthread_mutex_lock(&F.mu);
		if (fake_dead(fc)) {
			pthread_mutex_unlock(&F.mu);
			return -STORE_EDOWN;
		}
		if (fc->seen < F.pushes) {
			fc->seen++;
			pthread_mutex_unlock(&F.mu);
			snprintf(out, outsz, "postlb:m:m2 state");
			return 1;
		}
		pthread_mutex_unlock(&F.mu);
		usleep(5000);
	}
	return 0;
}

/* The last PSUBSCRIBE's pattern. */
static void fake_pattern(char *out, size_t outsz)
{
	pthread_mutex_lock(&F.mu);
	snprintf(out, outsz, "%s", F.pattern);
	pthread_mutex_unlock(&F.mu);
}

/* The subscriber connection's address ("" none). */
static void fake_listener_addr(char *out, size_t outsz)
{
	pthread_mutex_lock(&F.mu);
	out[0] = '\0';
	for (int i = 0; i < F.nconns; i++)
		if (F.conns[i]->listener && !F.conns[i]->dead)
			snprintf(out, outsz, "%s", F.conns[i]->addr);
	pthread_mutex_unlock(&F.mu);
}

/* The reply of an eval that ran, sleep_ms on its way (the connection may
 * be cut meanwhile): rc, or the error. */
static int fake_reply(struct fconn *fc, int sleep_ms, int rc)
{
	if (sleep_ms > 0)
		usleep((useconds_t)sleep_ms * 1000);
	pthread_mutex_lock(&F.mu);
	F.evals++;
	if (fake_dead(fc)) {
		F.eval_errors++;
		rc = -STORE_EDOWN;
	}
	pthread_mutex_unlock(&F.mu);
	return rc;
}

/*
 * The route script as the fake runs it: {-1} while the plan's definition
 * was not written; else each pick is the next candidate (rotating) whose
 * member's state is absent or "ready", 0 if none.
 */
int __wrap_store_sync_eval(struct store_sync *s, const char *script,
			   int nkeys, int argc, const char *const *argv,
			   const size_t *lens, long long *out, size_t nout);
int __wrap_store_sync_eval(struct store_sync *s, const char *script,
			   int nkeys, int argc, const char *const *argv,
			   const size_t *lens, long long *out, size_t nout)
{
	struct fconn *fc = (struct fconn *)s;
	const char *names;
	size_t n, np;
	int sleep_ms;

	if (script == COUNT_LUA) { /* a give-back: {the new count} */
		int dead;
		pthread_mutex_lock(&F.mu);
		dead = fake_dead(fc);
		pthread_mutex_unlock(&F.mu);
		assert_int_equal(nkeys, 1);
		assert_int_equal(argc, 2);
		out[0] = atoll(argv[1]);
		return dead ? -STORE_EDOWN : (int)(nout > 0);
	}
	pthread_mutex_lock(&F.mu);
	sleep_ms = F.eval_sleep_ms;
	F.eval_started++;
	if (fake_dead(fc)) {
		pthread_mutex_unlock(&F.mu);
		return fake_reply(fc, 0, -STORE_EDOWN);
	}
	snprintf(F.last_addr, sizeof(F.last_addr), "%s", fc->addr);
	assert_int_equal(nkeys, 3);
	names = fake_def(argv[2], lens[2]);
	if (names == NULL) { /* the definition is missing */
		pthread_mutex_unlock(&F.mu);
		out[0] = -1;
		return fake_reply(fc, sleep_ms, 1);
	}
	/* ..., candidates, slots, prefix, day, picks (no slow start) */
	n = (size_t)atoi(argv[argc - 5]);
	assert_int_equal(strlen(names), n * ROUTE_NAME_W);
	snprintf(F.last_wkey, sizeof(F.last_wkey), "%sw:%.*s:%s",
		 argv[argc - 3], (int)strcspn(names, " "), names,
		 argv[argc - 2]);
	F.last_qid_len = lens[nkeys + 3];
	np = (size_t)atoi(argv[argc - 1]);
	assert_true(np + 1 <= nout);
	out[0] = (long long)F.k;
	for (size_t t = 0; t < np; t++) {
		out[1 + t] = 0;
		for (size_t j = 0; j < n; j++) {
			size_t i = (F.k + j) % n;
			const char *nm = names + i * ROUTE_NAME_W;
			int mi = key_member(nm, strcspn(nm, " "));
			if (F.state[mi][0] == '\0' ||
			    strcmp(F.state[mi], "ready") == 0) {
				out[1 + t] = (long long)i + 1;
				break;
			}
		}
		F.k++;
	}
	pthread_mutex_unlock(&F.mu);
	return fake_reply(fc, sleep_ms, (int)(1 + np));
}

/* ---- helpers ---- */

static const char base_conf[] =
    "redis = { address = \"unix:/fake/%s\"; };\n"
    "members = { m1 = {}; m2 = {}; m3 = {}; };\n"
    "pools = {\n"
    "  p = { members = [ \"m1\", \"m2\" ]; algorithm = \"round_robin\"; };\n"
    "  q = { members = [ \"m3\" ]; };\n"
    "};\n"
    "rules = ( { sender_domain = [ \"q.example\" ]; pool = \"q\"; } );\n"
    "routing = { default_pool = \"p\"; refresh = \"100ms\"; "
    "budget = \"100ms\"; reserve = 1; };\n";

static struct config *conf_at(const char *addr)
{
	char text[sizeof(base_conf) + 16];

	snprintf(text, sizeof(text), base_conf, addr);
	return load_valid(NAME, text);
}

/* A round robin pool p of members m1..mn that reserves up to 32 picks
 * for 10 s, on fake Redis addr with key prefix prefix. */
static struct config *rr_conf(const char *addr, const char *prefix, int n,
			      const char *refresh, const char *budget)
{
	char text[1024], mem[256] = "", names[256] = "";
	size_t lm = 0, ln = 0;

	for (int i = 1; i <= n; i++) {
		lm += (size_t)snprintf(mem + lm, sizeof(mem) - lm, "m%d = {}; ", i);
		ln += (size_t)snprintf(names + ln, sizeof(names) - ln,
				       "%s\"m%d\"", i > 1 ? ", " : "", i);
	}
	snprintf(text, sizeof(text),
		 "redis = { address = \"unix:/fake/%s\"; prefix = \"%s\"; };\n"
		 "members = { %s};\n"
		 "pools = { p = { members = [ %s ]; "
		 "algorithm = \"round_robin\"; }; };\n"
		 "routing = { default_pool = \"p\"; refresh = \"%s\"; "
		 "budget = \"%s\"; reserve = 32; reserve_time = \"10s\"; };\n",
		 addr, prefix, mem, names, refresh, budget);
	return load_valid(NAME, text);
}

static int cnt_ge(int *field, int n)
{
	return fake_get(field) >= n;
}

/* Waits (at most 5 s) until *field reaches n. */
static void wait_ge(int *field, int n)
{
	for (int i = 0; i < 500 && !cnt_ge(field, n); i++)
		usleep(10000);
	if (!cnt_ge(field, n))
		fail_msg("waited for %d, got %d", n, fake_get(field));
}

/* Waits for two more refreshes (hgetall of every member) on address a. */
static void wait_refreshes(int *field, int nmembers)
{
	wait_ge(field, fake_get(field) + 2 * nmembers);
}

static struct route_msg msg_from(const char *sender, const char *qid)
{
	static const char *dom = "dest.example";
	struct route_msg m = {.size = -1, .sender = sender, .queue_id = qid};

	m.rcpt_domains[0] = dom;
	m.ndomains = 1;
	return m;
}

/*
 * The router under test.  A failed check leaves its test at once, with
 * the router's threads still running against the fake; the teardown
 * stops it, so the next test starts alone.  No check fails while F.mu is
 * held (the threads would wait for it forever).
 */
static struct router *live;

static struct router *live_router(struct config *c)
{
	live = router_new(c);
	return live;
}

static void end_router(struct router *r)
{
	router_free(r);
	live = NULL;
}

static int teardown(void **state)
{
	(void)state;
	if (live != NULL)
		end_router(live);
	return 0;
}

/* ---- tests ---- */

/* CONFIG_POOLS_MAX pools, each routed with and without Redis. */
static void test_pools_max(void **state)
{
	size_t cap = 4096 + CONFIG_POOLS_MAX * 160, o = 0;
	char *t = malloc(cap), sender[64];
	struct config *c;
	struct router *r;

	(void)state;
	fake_reset();
	assert_non_null(t);
	o += (size_t)snprintf(t + o, cap - o,
			      "redis = { address = \"unix:/fake/a\"; };\n"
			      "members = { m1 = {}; m2 = {}; };\npools = {\n");
	for (int i = 0; i < CONFIG_POOLS_MAX; i++)
		o += (size_t)snprintf(t + o, cap - o,
				      "  p%d = { members = [ \"m%d\" ]; };\n", i,
				      1 + i % 2);
	o += (size_t)snprintf(t + o, cap - o, "};\nrules = (\n");
	for (int i = 0; i < CONFIG_POOLS_MAX; i++)
		o += (size_t)snprintf(
		    t + o, cap - o,
		    "  { sender_domain = [ \"p%d.example\" ]; pool = \"p%d\"; "
		    "}%s\n",
		    i, i, i + 1 < CONFIG_POOLS_MAX ? "," : "");
	snprintf(t + o, cap - o,
		 ");\nrouting = { default_pool = \"p0\"; refresh = \"100ms\"; "
		 "};\n");
	c = load_valid(NAME, t);
	assert_int_equal(c->npools, CONFIG_POOLS_MAX);
	r = live_router(c);
	assert_non_null(r);
	for (int down = 0; down < 2; down++) {
		pthread_mutex_lock(&F.mu);
		F.down = down;
		pthread_mutex_unlock(&F.mu);
		if (down)
			fake_cut_all();
		for (int round = 0; round < 3; round++)
			for (int i = 0; i < CONFIG_POOLS_MAX; i++) {
				struct router_result res;
				struct route_msg m;
				snprintf(sender, sizeof(sender),
					 "x@p%d.example", i);
				m = msg_from(sender, "Q1");
				router_route(r, c, &m, &res);
				assert_int_equal(res.pool, i);
				assert_int_equal(res.member, i % 2);
				assert_int_equal(res.local, down);
			}
	}
	end_router(r);
	config_unref(c);
	free(t);
}

/* A 4 KiB queue id: routed with Redis, cut to ROUTE_QUEUE_ID_MAX. */
static void test_long_queue_id(void **state)
{
	static char qid[4097];
	struct config *c = conf_at("a");
	struct router *r;
	struct router_result res;
	struct route_msg m;

	(void)state;
	fake_reset();
	r = live_router(c);
	memset(qid, 'Q', sizeof(qid) - 1);
	m = msg_from("a@x.example", qid);
	router_route(r, c, &m, &res);
	assert_true(res.member >= 0);
	assert_int_equal(res.local, 0);
	assert_int_equal(F.last_qid_len, ROUTE_QUEUE_ID_MAX);
	/* the first call found no definition: written (4 keys), asked
	 * again; the next message needs one call */
	assert_int_equal(F.def_writes, 4);
	assert_int_equal(F.evals, 2);
	router_route(r, c, &m, &res);
	assert_true(res.member >= 0);
	assert_int_equal(F.def_writes, 4);
	assert_int_equal(F.evals, 3);
	end_router(r);
	config_unref(c);
}

/* Without Redis the last known states decide. */
static void test_local_last_known(void **state)
{
	struct config *c = conf_at("a");
	struct router *r;
	struct router_result res;
	struct route_msg m = msg_from("a@x.example", "Q2");

	(void)state;
	fake_reset();
	fake_set_state(1, "drain");
	r = live_router(c);
	wait_refreshes(&F.hgetall_a, 3);
	pthread_mutex_lock(&F.mu);
	F.down = 1;
	pthread_mutex_unlock(&F.mu);
	fake_cut_all();
	for (int i = 0; i < 20; i++) {
		router_route(r, c, &m, &res);
		assert_int_equal(res.local, 1);
		assert_int_equal(res.member, 1); /* m2, never drained m1 */
	}
	/* every member of p known drained or down: no member, not "all" */
	pthread_mutex_lock(&F.mu);
	F.down = 0;
	pthread_mutex_unlock(&F.mu);
	fake_set_state(2, "down");
	wait_refreshes(&F.hgetall_a, 3);
	pthread_mutex_lock(&F.mu);
	F.down = 1;
	pthread_mutex_unlock(&F.mu);
	fake_cut_all();
	for (int i = 0; i < 10; i++) {
		router_route(r, c, &m, &res);
		assert_int_equal(res.member, -1);
	}
	end_router(r);
	config_unref(c);
}

struct route_job {
	struct router *r;
	struct config *c;
	int member;
};

static void *route_thread(void *arg)
{
	struct route_job *j = arg;
	struct route_msg m = msg_from("a@x.example", "Q3");
	struct router_result res;

	router_route(j->r, j->c, &m, &res);
	j->member = res.member;
	return NULL;
}

/* Routes n messages at once (each eval slow), so n connections open. */
static void route_parallel(struct router *r, struct config *c, int n)
{
	pthread_t th[8];
	struct route_job jobs[8];

	assert_true(n <= 8);
	pthread_mutex_lock(&F.mu);
	F.eval_sleep_ms = 50;
	pthread_mutex_unlock(&F.mu);
	for (int i = 0; i < n; i++) {
		jobs[i] = (struct route_job){r, c, -1};
		assert_int_equal(
		    pthread_create(&th[i], NULL, route_thread, &jobs[i]), 0);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		assert_true(jobs[i].member >= 0);
	}
	pthread_mutex_lock(&F.mu);
	F.eval_sleep_ms = 0;
	pthread_mutex_unlock(&F.mu);
}

/* A connection cut (Redis restarted) empties the pool: one message pays
 * for it, not one per pooled connection. */
static void test_cut_empties_pool(void **state)
{
	struct config *c = conf_at("a");
	struct router *r;
	struct router_result res;
	struct route_msg m = msg_from("a@x.example", "Q4");
	int local = 0;

	(void)state;
	fake_reset();
	r = live_router(c);
	route_parallel(r, c, 6);
	assert_true(fake_get(&F.opens) >= 6);
	fake_cut(1); /* the pooled connections are cut; Redis accepts again */
	for (int i = 0; i < 10; i++) {
		router_route(r, c, &m, &res);
		assert_true(res.member >= 0);
		local += res.local;
	}
	assert_true(local <= 1);
	end_router(r);
	config_unref(c);
}

/* A reload onto another Redis moves every connection there: pooled ones,
 * one borrowed across the reload, and the refresher's. */
static void test_reload_moves_connections(void **state)
{
	struct config *a = conf_at("a"), *b = conf_at("b");
	struct router *r;
	struct router_result res;
	struct route_msg m = msg_from("a@x.example", "Q5");
	pthread_t th;
	struct route_job job;
	int before;

	(void)state;
	fake_reset();
	r = live_router(a);
	wait_refreshes(&F.hgetall_a, 3);
	route_parallel(r, a, 3);
	/* one call in flight under the old config across the reload */
	pthread_mutex_lock(&F.mu);
	F.eval_sleep_ms = 150;
	pthread_mutex_unlock(&F.mu);
	job = (struct route_job){r, a, -1};
	assert_int_equal(pthread_create(&th, NULL, route_thread, &job), 0);
	usleep(50000);
	router_set_config(r, b);
	pthread_join(th, NULL);
	pthread_mutex_lock(&F.mu);
	F.eval_sleep_ms = 0;
	pthread_mutex_unlock(&F.mu);
	wait_refreshes(&F.hgetall_b, 3);
	before = fake_get(&F.hgetall_a);
	for (int i = 0; i < 10; i++) {
		router_route(r, b, &m, &res);
		assert_int_equal(res.local, 0);
		assert_string_equal(F.last_addr, "unix:/fake/b");
	}
	wait_refreshes(&F.hgetall_b, 3);
	assert_int_equal(fake_get(&F.hgetall_a), before);
	{
		int old = 0;
		pthread_mutex_lock(&F.mu);
		for (int i = 0; i < F.nconns; i++)
			old += strcmp(F.conns[i]->addr, "unix:/fake/a") == 0;
		pthread_mutex_unlock(&F.mu);
		if (old > 0)
			fail_msg("a connection to the old Redis is still open");
	}
	end_router(r);
	config_unref(a);
	config_unref(b);
}

/*
 * An SMTP session keeps the config it started with: after a reload its
 * messages still use the running config's Redis, and without Redis the
 * last known states, matched by member name.
 */
static void test_session_config_after_reload(void **state)
{
	struct config *a = conf_at("a"), *b = conf_at("b");
	struct router *r;
	struct router_result res;
	struct route_msg m = msg_from("a@x.example", "Q7");

	(void)state;
	fake_reset();
	fake_set_state(1, "drain");
	r = live_router(a);
	wait_refreshes(&F.hgetall_a, 3);
	router_set_config(r, b);
	wait_refreshes(&F.hgetall_b, 3);
	for (int i = 0; i < 5; i++) {
		router_route(r, a, &m, &res); /* the session's old config */
		assert_int_equal(res.local, 0);
		assert_int_equal(res.member, 1);
		assert_string_equal(F.last_addr, "unix:/fake/b");
	}
	pthread_mutex_lock(&F.mu);
	F.down = 1;
	pthread_mutex_unlock(&F.mu);
	fake_cut_all();
	for (int i = 0; i < 10; i++) {
		router_route(r, a, &m, &res);
		assert_int_equal(res.local, 1);
		assert_int_equal(res.member, 1); /* m2: m1 is known drained */
	}
	end_router(r);
	config_unref(a);
	config_unref(b);
}

/* The day of the count keys is Redis's, not the host's. */
static void test_redis_day(void **state)
{
	struct config *c = conf_at("a");
	struct router *r;
	struct router_result res;
	struct route_msg m = msg_from("a@x.example", "Q6");
	char want[64], ds[16];
	time_t now = time(NULL);

	(void)state;
	fake_reset();
	pthread_mutex_lock(&F.mu);
	F.skew_ms = 3LL * 86400000; /* Redis three days ahead */
	pthread_mutex_unlock(&F.mu);
	r = live_router(c);
	wait_refreshes(&F.hgetall_a, 3);
	router_route(r, c, &m, &res);
	assert_int_equal(res.local, 0);
	route_day_string((long long)now / 86400 + 3, ds);
	snprintf(want, sizeof(want), "postlb:w:m1:%s", ds);
	assert_string_equal(F.last_wkey, want);
	end_router(r);
	config_unref(c);
}

/* The sum of the routed series of path in a /metrics text. */
static unsigned long long routed_path(const char *text, const char *path)
{
	char want[64];
	unsigned long long sum = 0;

	snprintf(want, sizeof(want), "path=\"%s\"} ", path);
	for (const char *l = text; l != NULL && *l; l = strchr(l, '\n')) {
		const char *p;
		if (*l == '\n')
			l++;
		if (strncmp(l, "postlb_milter_routed_total{", 27) != 0)
			continue;
		p = strstr(l, want);
		if (p != NULL && p < strchr(l, '\n'))
			sum += strtoull(p + strlen(want), NULL, 10);
	}
	return sum;
}

/* Each message is counted once, under the path that routed it. */
static void test_metrics_paths(void **state)
{
	struct config *c = rr_conf("a", "postlb:", 2, "100ms", "100ms");
	struct route_msg m = msg_from("a@x.example", "Q9");
	struct router_result res;
	struct metrics_buf b = {0};
	struct router *r;
	unsigned long long redis, reserved;
	int total = 40, local = 0;
	char want[80];

	(void)state;
	fake_reset();
	r = live_router(c);
	wait_refreshes(&F.hgetall_a, 2);
	for (int i = 0; i < 40; i++) { /* Redis up: fetched or reserved */
		router_route(r, c, &m, &res);
		assert_true(res.member >= 0);
	}
	pthread_mutex_lock(&F.mu);
	F.down = 1;
	pthread_mutex_unlock(&F.mu);
	fake_cut_all();
	/* Redis down: picks reserved before go on, then local ones */
	while (local < 10 && total < 200) {
		router_route(r, c, &m, &res);
		assert_true(res.member >= 0);
		local += res.local;
		total++;
	}
	assert_int_equal(local, 10);
	router_metrics_write(r, &b);
	assert_false(b.oom);
	redis = routed_path(b.p, "redis");
	reserved = routed_path(b.p, "reserved");
	print_message("  redis %llu, reserved %llu of %d\n", redis, reserved,
		      total);
	assert_int_equal(redis + reserved, total - 10);
	assert_true(reserved >= 20); /* reservations grow: 1, 2, 4, ... */
	assert_int_equal(routed_path(b.p, "local"), 10);
	assert_int_equal(routed_path(b.p, "none"), 0);
	snprintf(want, sizeof(want), "postlb_milter_route_seconds_count %d\n",
		 total);
	assert_non_null(strstr(b.p, want));
	assert_non_null(strstr(b.p, "postlb_member_state{member=\"m1\","
				    "state=\"ready\"} 1\n"));
	metrics_buf_free(&b);
	/* no member usable: counted as none, with an empty member */
	pthread_mutex_lock(&F.mu);
	F.down = 0;
	pthread_mutex_unlock(&F.mu);
	fake_set_state(1, "maint"); /* m1 (the fake counts from 1) */
	fake_set_state(2, "down");
	wait_refreshes(&F.hgetall_a, 2);
	pthread_mutex_lock(&F.mu);
	F.down = 1;
	pthread_mutex_unlock(&F.mu);
	fake_cut_all();
	router_route(r, c, &m, &res);
	assert_int_equal(res.member, -1);
	router_metrics_write(r, &b);
	assert_non_null(strstr(b.p, "postlb_milter_routed_total{pool=\"p\","
				    "member=\"\",rule=\"\",path=\"none\"} 1\n"));
	assert_non_null(strstr(b.p, "postlb_member_state{member=\"m1\","
				    "state=\"maint\"} 1\n"));
	assert_non_null(strstr(b.p, "postlb_member_state{member=\"m2\","
				    "state=\"down\"} 1\n"));
	assert_non_null(strstr(b.p, "postlb_pool_members_ready{pool=\"p\"} 0\n"));
	assert_non_null(strstr(b.p, "postlb_milter_redis_up 0\n"));
	metrics_buf_free(&b);
	end_router(r);
	config_unref(c);
}

static unsigned long long pushes_of(struct router *r)
{
	struct router_stats st;

	router_get_stats(r, &st);
	return st.pushes;
}

/* Waits (at most 5 s) until the router counted n pushes. */
static void wait_pushes(struct router *r, unsigned long long n)
{
	for (int i = 0; i < 500 && pushes_of(r) < n; i++)
		usleep(10000);
	assert_true(pushes_of(r) >= n);
}

static void wait_subscribed(void)
{
	char addr[64];

	for (int i = 0; i < 500; i++) {
		fake_listener_addr(addr, sizeof(addr));
		if (addr[0] != '\0')
			return;
		usleep(10000);
	}
	fail_msg("the listener did not subscribe");
}

static void test_push_ends_reservations(void **state)
{
	char addr[64], pat[64];
	struct config *c, *b;
	struct route_msg m = msg_from("a@x.example", "Q10");
	struct router_result res;
	struct router *r;
	int reserved = 0, to_m2 = 0;

	(void)state;
	fake_reset();
	c = rr_conf("a", "pl*[x]?:", 3, "10s", "100ms");
	r = live_router(c);
	wait_subscribed();
	fake_pattern(pat, sizeof(pat));
	assert_string_equal(pat, "pl\\*\\[x\\]\\?:m:*");
	for (int i = 0; i < 40; i++) {
		router_route(r, c, &m, &res);
		reserved += res.reserved;
	}
	assert_true(reserved >= 20); /* picks are reserved 32 at a time */
	/* m2 goes down in Redis and the change is published */
	fake_set_state(2, "down");
	pthread_mutex_lock(&F.mu);
	F.pushes++;
	pthread_mutex_unlock(&F.mu);
	wait_pushes(r, 1);
	for (int i = 0; i < 30; i++) {
		router_route(r, c, &m, &res);
		to_m2 += res.member == 1;
	}
	assert_int_equal(to_m2, 0);
	/* a reload onto another Redis subscribes there */
	b = rr_conf("b", "postlb:", 3, "10s", "100ms");
	router_set_config(r, b);
	for (int i = 0; i < 500; i++) {
		fake_listener_addr(addr, sizeof(addr));
		if (strcmp(addr, "unix:/fake/b") == 0)
			break;
		usleep(10000);
	}
	assert_string_equal(addr, "unix:/fake/b");
	fake_pattern(pat, sizeof(pat));
	assert_string_equal(pat, "postlb:m:*");
	end_router(r);
	config_unref(c);
	config_unref(b);
	fake_set_state(2, "");
}

/* A Redis user that may not subscribe: no pushes, routing as before. */
static void test_no_channels(void **state)
{
	struct config *c = conf_at("a");
	struct route_msg m = msg_from("a@x.example", "Q11");
	struct router_result res;
	struct router *r;

	(void)state;
	fake_reset();
	pthread_mutex_lock(&F.mu);
	F.no_channels = 1;
	pthread_mutex_unlock(&F.mu);
	r = live_router(c);
	wait_refreshes(&F.hgetall_a, 3);
	for (int i = 0; i < 10; i++) {
		router_route(r, c, &m, &res);
		assert_true(res.member >= 0);
		assert_int_equal(res.local, 0);
	}
	pthread_mutex_lock(&F.mu);
	F.pushes++;
	pthread_mutex_unlock(&F.mu);
	usleep(100000);
	assert_int_equal(pushes_of(r), 0);
	end_router(r);
	config_unref(c);
}

/* A change pushed while a reservation call is out (the script ran before
 * the change, its reply comes after the push): the picks it brings are
 * not kept past the push, so the next messages avoid the member at once,
 * not only after routing.reserve_time. */
static void test_push_during_reservation(void **state)
{
	struct config *c = rr_conf("a", "postlb:", 3, "10s", "1s");
	struct route_msg m = msg_from("a@x.example", "Q12");
	struct router_result res;
	struct route_job job;
	struct router *r;
	pthread_t th;
	int reserved = 0, to_m2 = 0, started, evals;

	(void)state;
	fake_reset();
	r = live_router(c);
	wait_subscribed();
	for (int i = 0; i < 40; i++) {
		router_route(r, c, &m, &res);
		reserved += res.reserved;
	}
	assert_true(reserved >= 20); /* picks are reserved up to 32 ahead */
	/* a push with no change ends the reservation: the next message asks
	 * for a new one, which is slow to come back */
	pthread_mutex_lock(&F.mu);
	F.pushes++;
	F.eval_sleep_ms = 300;
	started = F.eval_started;
	pthread_mutex_unlock(&F.mu);
	wait_pushes(r, 1);
	job = (struct route_job){r, c, -1};
	assert_int_equal(pthread_create(&th, NULL, route_thread, &job), 0);
	wait_ge(&F.eval_started, started + 1); /* the script ran: m2 ready */
	fake_set_state(2, "down");
	pthread_mutex_lock(&F.mu);
	F.pushes++;
	pthread_mutex_unlock(&F.mu);
	wait_pushes(r, 2);
	fake_set(&F.eval_sleep_ms, 0);
	pthread_join(th, NULL);
	assert_true(job.member >= 0); /* that message had its pick */
	evals = fake_get(&F.evals);
	for (int i = 0; i < 30; i++) {
		router_route(r, c, &m, &res);
		assert_true(res.member >= 0);
		to_m2 += res.member == 1;
	}
	assert_int_equal(to_m2, 0);
	/* the picks that call brought back lapsed with the push: one new
	 * reservation serves the 30, not a call per pick of m2 refused */
	evals = fake_get(&F.evals) - evals;
	if (evals > 2)
		fail_msg("%d Redis calls for 30 messages", evals);
	end_router(r);
	config_unref(c);
	fake_set_state(2, "");
}

/* A refresh that fails while Redis answers the rest (an ACL without TIME,
 * a full Redis refusing writes) empties the connection pool, and the
 * listener subscribes anew: that must not wake the refresher to fail
 * again at once, in a loop of new connections.  It tries once per
 * routing.refresh, routing goes on (locally), and the refresher reads the
 * members again once Redis lets it. */
static void test_refresh_failure_paced(void **state)
{
	static const char text[] =
	    "redis = { address = \"unix:/fake/a\"; };\n"
	    "members = { m1 = {}; m2 = {}; m3 = {}; };\n"
	    "pools = { p = { members = [ \"m1\", \"m2\" ]; }; };\n"
	    "routing = { default_pool = \"p\"; refresh = \"1s\"; "
	    "budget = \"100ms\"; reserve = 1; };\n";
	struct config *c = load_valid(NAME, text);
	struct route_msg m = msg_from("a@x.example", "Q13");
	struct router_result res;
	struct router *r;
	int opens, reads;

	(void)state;
	fake_reset();
	r = live_router(c);
	wait_subscribed();
	fake_set(&F.time_refused, 1);
	usleep(1200000); /* a refresh has failed */
	opens = fake_get(&F.opens);
	usleep(2000000);
	/* each failed refresh: its connection and the listener's new one */
	opens = fake_get(&F.opens) - opens;
	assert_true(opens >= 2);
	if (opens > 8)
		fail_msg("%d connections in 2 s of failing refreshes", opens);
	for (int i = 0; i < 5; i++) {
		router_route(r, c, &m, &res);
		assert_true(res.member >= 0);
	}
	reads = fake_get(&F.hgetall_a);
	fake_set(&F.time_refused, 0);
	wait_ge(&F.hgetall_a, reads + 2);
	end_router(r);
	config_unref(c);
}

/* A PSUBSCRIBE that times out is a failed connection, asked again within
 * a second, not a refusal (no warning, no 30 s pause); a refused one is
 * asked again at once after a reload (the Redis user may have changed). */
static void test_subscribe_failures(void **state)
{
	struct config *c = conf_at("a"), *b = conf_at("b");
	struct router *r;
	int psubs;

	(void)state;
	fake_reset();
	fake_set(&F.psub_io_fail, 1);
	r = live_router(c);
	wait_ge(&F.psubs, 1);
	psubs = fake_get(&F.psubs);
	wait_ge(&F.psubs, psubs + 2); /* (at most 5 s) */
	fake_set(&F.psub_io_fail, 0);
	fake_set(&F.no_channels, 1);
	psubs = fake_get(&F.psubs);
	wait_ge(&F.psubs, psubs + 1);
	usleep(100000); /* refused: the listener waits 30 s */
	psubs = fake_get(&F.psubs);
	fake_set(&F.no_channels, 0);
	router_set_config(r, b);
	wait_ge(&F.psubs, psubs + 1);
	wait_subscribed();
	end_router(r);
	config_unref(c);
	config_unref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_pools_max, teardown),
	    cmocka_unit_test_teardown(test_long_queue_id, teardown),
	    cmocka_unit_test_teardown(test_local_last_known, teardown),
	    cmocka_unit_test_teardown(test_cut_empties_pool, teardown),
	    cmocka_unit_test_teardown(test_reload_moves_connections, teardown),
	    cmocka_unit_test_teardown(test_session_config_after_reload, teardown),
	    cmocka_unit_test_teardown(test_redis_day, teardown),
	    cmocka_unit_test_teardown(test_metrics_paths, teardown),
	    cmocka_unit_test_teardown(test_push_ends_reservations, teardown),
	    cmocka_unit_test_teardown(test_no_channels, teardown),
	    cmocka_unit_test_teardown(test_push_during_reservation, teardown),
	    cmocka_unit_test_teardown(test_refresh_failure_paced, teardown),
	    cmocka_unit_test_teardown(test_subscribe_failures, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
