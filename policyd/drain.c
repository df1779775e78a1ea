/*
 * drain: the drain thread of postlb-policyd (see drain.h).
 *
 * Thread rules: the main thread only hands configs over and stops the
 * thread (under the lock); the Redis connection, the postlb-requeue
 * connection and the pass state belong to the drain thread.
 */
#include "drain.h"

#include "health.h"
#include "log.h"
#include "reroute.h"
#include "respond.h"
#include "rqclient.h"
#include "store_redis.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_IDLE_MAX 16	  /* an idle member is looked at 16x less */
#define DRAIN_LIST_TIMEOUT_MS 120000 /* postlb-requeue lists a big queue */

/* A message to move. */
struct dr_item {
	char qid[ROUTE_QUEUE_ID_MAX + 1];
	char *msgid;   /* NULL: none */
	char *domains; /* space-separated */
};

struct dr_list {
	const struct reroute_need *need;
	struct drain *d;
	struct dr_item *it;
	size_t n, cap;
	long seen, skipped;
};

struct drain {
	pthread_t tid;
	pthread_mutex_t lock;
	struct config *pending;
	int stop;
	struct config *cfg;
	struct store_sync *rs;
	char host[300];
	long long next_ms[CONFIG_MEMBERS_MAX]; /* monotonic */
	int idle[CONFIG_MEMBERS_MAX];	       /* passes with nothing to move */
	int rq_warned[CONFIG_MEMBERS_MAX];     /* postlb-requeue failure logged */
	/* the learned provider map, read once per pass that needs it */
	char **prov_dom, **prov_name;
	size_t nprov, capprov;
	int prov_loaded;
	int down_logged;
};

static long long dr_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dr_stopping(struct drain *d)
{
	int stop;

	pthread_mutex_lock(&d->lock);
	stop = d->stop;
	pthread_mutex_unlock(&d->lock);
	return stop;
}

/* Sleeps ms, waking early to stop. */
static void dr_sleep(struct drain *d, long long ms)
{
	while (ms > 0 && !dr_stopping(d)) {
		long long step = ms < 100 ? ms : 100;
		struct timespec ts = {(time_t)(step / 1000),
				      (long)(step % 1000) * 1000000};
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void dr_prov_clear(struct drain *d)
{
	for (size_t i = 0; i < d->nprov; i++) {
		free(d->prov_dom[i]);
		free(d->prov_name[i]);
	}
	d->nprov = 0;
	d->prov_loaded = 0;
}

static void dr_prov_add(void *arg, const char *dom, const char *prov)
{
	struct drain *d = arg;

	if (d->nprov == DRAIN_PROVIDERS_MAX)
		return;
	if (d->nprov == d->capprov) {
		size_t cap = d->capprov ? d->capprov * 2 : 256;
		char **a = realloc(d->prov_dom, cap * sizeof(*a));
		char **b;
		if (a == NULL)
			return;
		d->prov_dom = a;
		b = realloc(d->prov_name, cap * sizeof(*b));
		if (b == NULL)
			return;
		d->prov_name = b;
		d->capprov = cap;
	}
	d->prov_dom[d->nprov] = strdup(dom);
	d->prov_name[d->nprov] = strdup(prov);
	if (d->prov_dom[d->nprov] == NULL || d->prov_name[d->nprov] == NULL) {
		free(d->prov_dom[d->nprov]);
		free(d->prov_name[d->nprov]);
		return;
	}
	d->nprov++;
}

/* The provider of domain: the learned map, then the shipped table. */
static const char *dr_provider(struct drain *d, const char *dom)
{
	char key[300];

	if (!d->prov_loaded) {
		snprintf(key, sizeof(key), "%s%s", d->cfg->redis_prefix,
			 HEALTH_KEY_PROVIDERS);
		store_sync_hgetall(d->rs, key, dr_prov_add, d);
		d->prov_loaded = 1;
	}
	for (size_t i = 0; i < d->nprov; i++)
		if (strcmp(d->prov_dom[i], dom) == 0)
			return d->prov_name[i];
	return respond_provider_of_host(dom);
}

static void dr_list_msg(void *arg, const struct qscan_msg *m)
{
	struct dr_list *l = arg;
	const char *prov[REROUTE_DOMAINS_MAX];
	struct dr_item *it;
	char doms[REROUTE_DOMAINS_MAX * (ROUTE_DOMAIN_MAX + 1)];
	size_t n = 0;

	l->seen++;
	for (size_t i = 0; !l->need->whole && i < m->ndomains; i++)
		prov[i] = l->need->nprov > 0 ? dr_provider(l->d, m->domains[i])
					     : NULL;
	if (!reroute_need_moves(l->need, m, prov)) {
		l->skipped += !l->need->whole && (m->msgid[0] == '\0' || m->many);
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		void *p = realloc(l->it, cap * sizeof(*l->it));
		if (p == NULL)
			return;
		l->it = p;
		l->cap = cap;
	}
	it = &l->it[l->n];
	memcpy(it->qid, m->qid, sizeof(it->qid));
	doms[0] = '\0';
	for (size_t i = 0; i < m->ndomains; i++)
		n += (size_t)snprintf(doms + n, sizeof(doms) - n, "%s%s",
				      i ? " " : "", m->domains[i]);
	it->msgid = m->msgid[0] != '\0' ? strdup(m->msgid) : NULL;
	it->domains = strdup(doms);
	l->n++;
}

static void dr_list_free(struct dr_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->it[i].msgid);
		free(l->it[i].domains);
	}
	free(l->it);
}

/* Records the domains of it[0..n) by Message-ID; 0 or -1. */
static int dr_record(struct drain *d, const struct dr_item *it, size_t n)
{
	static char keys[RQ_IDS_MAX][64 + 3 + REROUTE_MSGID_MAX + 1];
	const char *argv[1 + 2 * RQ_IDS_MAX + 1];
	size_t lens[1 + 2 * RQ_IDS_MAX + 1];
	char ttl[16];
	long long out[1];
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (it[i].msgid != NULL)
			k++;
	if (k == 0)
		return 0;
	for (size_t i = 0, j = 0; i < n; i++) {
		if (it[i].msgid == NULL)
			continue;
		snprintf(keys[j], sizeof(keys[j]), "%srq:%s",
			 d->cfg->redis_prefix, it[i].msgid);
		argv[j] = keys[j];
		lens[j] = strlen(keys[j]);
		argv[k + 1 + j] = it[i].domains;
		lens[k + 1 + j] = strlen(it[i].domains);
		j++;
	}
	snprintf(ttl, sizeof(ttl), "%d", DRAIN_RECORD_TTL_S);
	argv[k] = ttl;
	lens[k] = strlen(ttl);
	return store_sync_eval(d->rs, DRAIN_RECORD_LUA, (int)k, (int)(2 * k + 1),
			       argv, lens, out, 1) == 1
		   ? 0
		   : -1;
}

/*
 * The progress of a pass in Redis: PREFIX dr:MEMBER:HOST, a string that
 * lapses after DRAIN_PROGRESS_TTL_S unless refreshed (a host that dies
 * mid-drain leaves nothing behind for long); moved < 0 deletes it.
 */
static void dr_progress(struct drain *d, const char *member, long moved,
			size_t total, const char *why, long long since_ms)
{
	char key[400], val[200], ttl[16];
	const char *argv[3] = {key, ttl, val};
	size_t lens[3];
	long long out[1];

	snprintf(key, sizeof(key), "%sdr:%s:%s", d->cfg->redis_prefix, member,
		 d->host);
	if (moved < 0) {
		store_sync_del(d->rs, key);
		return;
	}
	snprintf(val, sizeof(val), "moved=%ld of=%zu since=%lld why=%s", moved,
		 total, since_ms, why);
	snprintf(ttl, sizeof(ttl), "%d", DRAIN_PROGRESS_TTL_S);
	for (int i = 0; i < 3; i++)
		lens[i] = strlen(argv[i]);
	store_sync_eval(d->rs, DRAIN_RECORD_LUA, 1, 3, argv, lens, out, 1);
}

/* Moves l's messages at drain.rate; returns how many moved, -1 on error. */
static long dr_move(struct drain *d, struct rqclient *rq, const char *member,
		    const struct dr_list *l, const char *why)
{
	static char ids[RQ_IDS_MAX][ROUTE_QUEUE_ID_MAX + 1];
	size_t batch = (size_t)d->cfg->drain_rate < RQ_IDS_MAX
			   ? (size_t)d->cfg->drain_rate
			   : RQ_IDS_MAX;
	long long t0 = dr_mono_ms(), wall0 = (long long)time(NULL) * 1000;
	long moved = 0;
	char err[256];

	for (size_t i = 0; i < l->n && !dr_stopping(d); i += batch) {
		size_t n = l->n - i < batch ? l->n - i : batch;
		long mv, sk;
		long long due;
		if (dr_record(d, l->it + i, n) < 0) {
			log_warn("drain: %s: cannot record domains in Redis: %s",
				 member, store_sync_error(d->rs));
			return -1;
		}
		for (size_t j = 0; j < n; j++)
			memcpy(ids[j], l->it[i + j].qid, sizeof(ids[j]));
		if (rqclient_requeue(rq, member, ids, n, &mv, &sk, err,
				     sizeof(err)) < 0) {
			log_warn("drain: %s: %s", member, err);
			return moved > 0 ? moved : -1;
		}
		moved += mv;
		dr_progress(d, member, moved, l->n, why, wall0);
		due = t0 + (long long)(i + n) * 1000 / d->cfg->drain_rate;
		dr_sleep(d, due - dr_mono_ms());
	}
	return moved;
}

struct dr_need_arg {
	struct reroute_need *n;
	long long now;
	int health;
};

static void dr_need_field(void *arg, const char *f, const char *v)
{
	struct dr_need_arg *a = arg;

	reroute_need_field(a->n, f, v, a->now, a->health);
}

/*
 * One pass over member mi: 1 if it moved mail, 2 if it needs a drain but
 * moved nothing, 0 if it needs none, -1 if Redis failed.
 */
static int dr_member(struct drain *d, size_t mi, long long now_ms)
{
	static struct reroute_need need;
	const char *name = d->cfg->members[mi].name;
	struct dr_need_arg a = {&need, now_ms, d->cfg->drain_auto};
	struct dr_list l = {&need, d, NULL, 0, 0, 0, 0};
	struct rqclient *rq;
	long long t0 = dr_mono_ms(), t_list;
	long moved;
	char key[300], err[256];

	reroute_need_init(&need);
	snprintf(key, sizeof(key), "%sm:%s", d->cfg->redis_prefix, name);
	if (store_sync_hgetall(d->rs, key, dr_need_field, &a) < 0)
		return -1;
	if (!reroute_need_any(&need))
		return 0;
	rq = rqclient_open(d->cfg->drain_requeue, DRAIN_LIST_TIMEOUT_MS, err,
			   sizeof(err));
	if (rq == NULL || rqclient_list(rq, name, dr_list_msg, &l, err,
					sizeof(err)) < 0) {
		if (!d->rq_warned[mi]) /* once until it works again */
			log_warn("drain: %s needs a drain (%s): %s", name,
				 need.why, err);
		d->rq_warned[mi] = 1;
		rqclient_close(rq);
		dr_list_free(&l);
		return 2;
	}
	if (d->rq_warned[mi])
		log_info("drain: %s: postlb-requeue answers again", name);
	d->rq_warned[mi] = 0;
	t_list = dr_mono_ms() - t0;
	moved = l.n > 0 ? dr_move(d, rq, name, &l, need.why) : 0;
	rqclient_close(rq);
	if (l.n > 0) {
		dr_progress(d, name, -1, 0, NULL, 0);
		log_info("drain: %s (%s): moved %ld of %zu deferred messages in "
			 "%lld ms (listing %ld took %lld ms)%s",
			 name, need.why, moved < 0 ? 0 : moved, l.n,
			 dr_mono_ms() - t0, l.seen, t_list,
			 l.skipped > 0 ? "; scoped drain: messages without a "
					 "Message-ID or with too many domains "
					 "stay"
				       : "");
	}
	dr_list_free(&l);
	return moved > 0 ? 1 : 2;
}

/* Takes a config handed over by the main thread; 1 to stop. */
static int dr_sync(struct drain *d)
{
	struct config *nc;
	int stop;

	pthread_mutex_lock(&d->lock);
	nc = d->pending;
	d->pending = NULL;
	stop = d->stop;
	pthread_mutex_unlock(&d->lock);
	if (nc != NULL) {
		config_unref(d->cfg);
		d->cfg = nc;
		store_sync_close(d->rs);
		d->rs = NULL;
		memset(d->next_ms, 0, sizeof(d->next_ms));
		memset(d->idle, 0, sizeof(d->idle));
	}
	return stop;
}

static void dr_pass(struct drain *d)
{
	long long now_us;
	char err[256];

	if (d->rs == NULL &&
	    store_sync_open(d->cfg, 2000, &d->rs, err, sizeof(err)) < 0) {
		d->rs = NULL;
		if (!d->down_logged)
			log_warn("drain: Redis: %s; no drains until it is back",
				 err);
		d->down_logged = 1;
		return;
	}
	d->down_logged = 0;
	if (store_sync_time_us(d->rs, &now_us) < 0)
		goto broken;
	dr_prov_clear(d);
	for (size_t mi = 0; mi < d->cfg->nmembers && !dr_stopping(d); mi++) {
		int rc;
		if (dr_mono_ms() < d->next_ms[mi])
			continue;
		rc = dr_member(d, mi, now_us / 1000);
		if (rc < 0)
			goto broken;
		/* a member that needs a drain but had nothing to move is
		 * listed less and less often (a listing reads the whole
		 * deferred queue); one that needs none costs one HGETALL */
		if (rc != 2)
			d->idle[mi] = 0;
		else if (d->idle[mi] < DRAIN_IDLE_MAX)
			d->idle[mi]++;
		d->next_ms[mi] = dr_mono_ms() + (long long)d->idle[mi] *
						    d->cfg->drain_interval_ms;
	}
	return;
broken:
	log_warn("drain: Redis call failed: %s", store_sync_error(d->rs));
	store_sync_close(d->rs);
	d->rs = NULL;
}

static void *dr_main(void *arg)
{
	struct drain *d = arg;

	while (!dr_sync(d)) {
		long long t0 = dr_mono_ms();
		dr_pass(d);
		dr_sleep(d, d->cfg->drain_interval_ms - (dr_mono_ms() - t0));
	}
	store_sync_close(d->rs);
	d->rs = NULL;
	return NULL;
}

struct drain *drain_new(struct config *c)
{
	struct drain *d;

	if (c->drain_requeue == NULL)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	d->cfg = config_ref(c);
	gethostname(d->host, sizeof(d->host) - 16);
	d->host[sizeof(d->host) - 16] = '\0';
	snprintf(d->host + strlen(d->host), 16, ":%ld", (long)getpid());
	if (pthread_create(&d->tid, NULL, dr_main, d) != 0) {
		config_unref(d->cfg);
		free(d);
		return NULL;
	}
	log_info("drain: on (postlb-requeue at %s, %lld messages/s)",
		 c->drain_requeue, c->drain_rate);
	return d;
}

void drain_set_config(struct drain *d, struct config *c)
{
	struct config *old;

	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	old = d->pending;
	d->pending = config_ref(c);
	pthread_mutex_unlock(&d->lock);
	config_unref(old);
}

void drain_free(struct drain *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = 1;
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->tid, NULL);
	dr_prov_clear(d);
	free(d->prov_dom);
	free(d->prov_name);
	config_unref(d->pending);
	config_unref(d->cfg);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
