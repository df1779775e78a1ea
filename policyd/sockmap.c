/*
 * sockmap: the requeue socketmap (see sockmap.h).
 *
 * Thread rules: the main thread creates the socket, hands configs over
 * (under the lock) and stops the thread; everything else — poll, the
 * connections, the Redis connection — belongs to the sockmap thread.
 */
#include "sockmap.h"

#include "log.h"
#include "netstr.h"
#include "reroute.h"
#include "route.h"
#include "route_run.h"
#include "sock.h"
#include "store_redis.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SM_RECONNECT_MS 1000 /* after a failed connect, TEMP at once */
#define SM_REPLY_MAX 1024

struct sm_conn {
	int fd;
	size_t have;
	char *buf; /* SOCKMAP_REQUEST_MAX + 16 bytes */
	char msgid[REROUTE_MSGID_MAX + 1]; /* last Message-ID, "" none */
};

struct sockmap {
	pthread_t tid;
	pthread_mutex_t lock;
	struct config *pending;
	int stop, started;
	int lfd;
	char *path;
	struct config *cfg;
	struct store_sync *rs;
	long long rs_retry_ms;
	int down_logged;
	struct sm_conn conns[SOCKMAP_CONNS_MAX];
	unsigned long long routed, temp, notfound;
	/* the lookups' scratch (the socketmap's thread alone uses it): an
	 * all-ready view (the script reads the live states), a plan, a call */
	struct route_view *view;
	struct route_plan *plan;
	struct route_call *call;
};

static long long sm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The Redis connection, opened again after a failure (not too often). */
static struct store_sync *sm_store(struct sockmap *s)
{
	char err[256];

	if (s->rs != NULL)
		return s->rs;
	if (sm_now_ms() < s->rs_retry_ms)
		return NULL;
	if (store_sync_open(s->cfg, s->cfg->budget_ms, &s->rs, err,
			    sizeof(err)) < 0) {
		s->rs = NULL;
		s->rs_retry_ms = sm_now_ms() + SM_RECONNECT_MS;
		if (!s->down_logged)
			log_warn("socketmap: Redis: %s; answering TEMP", err);
		s->down_logged = 1;
		return NULL;
	}
	if (s->down_logged)
		log_info("socketmap: Redis connected again");
	s->down_logged = 0;
	return s->rs;
}

static void sm_store_drop(struct sockmap *s)
{
	if (!s->down_logged)
		log_warn("socketmap: Redis call failed: %s; answering TEMP",
			 store_sync_error(s->rs));
	s->down_logged = 1;
	store_sync_close(s->rs);
	s->rs = NULL;
}

/* The drain's record of msgid: its recipient domains into m (split in
 * place in buf).  0 (found or absent) or -1 (Redis failed). */
static int sm_domains(struct sockmap *s, const char *msgid,
		      struct route_msg *m, char *buf, size_t bufsz)
{
	char key[64 + 3 + REROUTE_MSGID_MAX + 1], *save = NULL, *d;
	int rc;

	snprintf(key, sizeof(key), "%srq:%s", s->cfg->redis_prefix, msgid);
	rc = store_sync_get(s->rs, key, buf, bufsz);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0;
	for (d = strtok_r(buf, " ", &save);
	     d != NULL && m->ndomains < ROUTE_DOMAINS_MAX;
	     d = strtok_r(NULL, " ", &save))
		m->rcpt_domains[m->ndomains++] = d;
	return 0;
}

/* The first pool that has member mi; -1 none. */
static int sm_pool_of(const struct config *c, int mi)
{
	for (size_t p = 0; p < c->npools; p++)
		for (size_t j = 0; j < c->pools[p].nmembers; j++)
			if (c->pools[p].members[j] == (size_t)mi)
				return (int)p;
	return -1;
}

/*
 * One pick in pool for m: 1 with the route header value in hdr, 0 none
 * usable, -1 Redis failed.
 */
static int sm_pick_plan(struct sockmap *s, int pool,
			const struct route_msg *m, int site, char *hdr,
			size_t hdrsz)
{
	const struct config *c = s->cfg;
	struct route_plan *plan = s->plan;
	long long day = route_today(), res[2];
	int n;

	if (route_plan_pool(c, pool, s->view, m, day, site, plan) < 0 ||
	    plan->n == 0 || route_call_build(c, plan, m, day, 1, s->call) < 0)
		return 0;
	n = route_run(s->rs, c, plan, s->call, res, 2);
	if (n != 2)
		return -1;
	if (res[1] > 0 && res[1] <= (long long)plan->n)
		return route_header_value(c, plan, (size_t)(res[1] - 1), hdr,
					  hdrsz) == 0;
	return 0;
}

/*
 * One pick in pool for m (this site's members first when the pool
 * prefers them, as the milter does): 1 with the route header value in
 * hdr, 0 none usable, -1 Redis failed.
 */
static int sm_pick(struct sockmap *s, int pool, const struct route_msg *m,
		   char *hdr, size_t hdrsz)
{
	const struct config *c = s->cfg;
	int rc = 0;

	if (c->pools[pool].prefer_site && c->host_site != NULL)
		rc = sm_pick_plan(s, pool, m, 1, hdr, hdrsz);
	return rc != 0 ? rc : sm_pick_plan(s, pool, m, 0, hdr, hdrsz);
}

/* The answer for the route header of member mi (text into out). */
static void sm_route(struct sockmap *s, struct sm_conn *k, int mi, char *out,
		     size_t outsz)
{
	static char dombuf[ROUTE_DOMAINS_MAX * 64];
	struct route_msg m;
	char hdr[ROUTE_HEADER_VALUE_MAX];
	int pool = sm_pool_of(s->cfg, mi), hops = 0, rc = 0;

	memset(&m, 0, sizeof(m));
	m.size = -1;
	m.queue_id = "";
	if (sm_store(s) == NULL) {
		snprintf(out, outsz, "TEMP postlb: Redis is not reachable");
		return;
	}
	if (k->msgid[0] != '\0' &&
	    sm_domains(s, k->msgid, &m, dombuf, sizeof(dombuf)) < 0) {
		sm_store_drop(s);
		snprintf(out, outsz, "TEMP postlb: Redis call failed");
		return;
	}
	k->msgid[0] = '\0'; /* one message's route header uses it */
	while (pool >= 0 && hops++ <= (int)s->cfg->npools) {
		rc = sm_pick(s, pool, &m, hdr, sizeof(hdr));
		if (rc != 0)
			break;
		pool = s->cfg->pools[pool].fallback;
	}
	if (rc < 0) {
		sm_store_drop(s);
		snprintf(out, outsz, "TEMP postlb: Redis call failed");
	} else if (rc == 0 || reroute_filter(hdr, out + 3, outsz - 3) < 0) {
		snprintf(out, outsz, "TEMP postlb: no usable member for %s",
			 s->cfg->members[mi].name);
	} else {
		memcpy(out, "OK ", 3);
		s->routed++;
		log_debug("socketmap: %s -> %s", s->cfg->members[mi].name, out + 3);
	}
}

/* Answers one request payload; 0, or -1 to close the connection. */
static int sm_answer(struct sockmap *s, struct sm_conn *k, const char *p,
		     size_t plen)
{
	static char key[SOCKMAP_REQUEST_MAX + 1];
	char name[64], text[SM_REPLY_MAX], reply[SM_REPLY_MAX + 16];
	struct reroute_hit h;
	int n;

	if (netstr_request(p, plen, name, sizeof(name), key, sizeof(key)) < 0)
		snprintf(text, sizeof(text), "PERM bad request");
	else if (reroute_line(s->cfg, key, &h) == RR_ROUTE)
		sm_route(s, k, h.member, text, sizeof(text));
	else {
		if (h.kind == RR_MSGID)
			memcpy(k->msgid, h.msgid, strlen(h.msgid) + 1);
		else if (strncasecmp(key, "Received:", 9) == 0)
			k->msgid[0] = '\0'; /* trace headers open a message */
		snprintf(text, sizeof(text), "NOTFOUND ");
	}
	s->temp += strncmp(text, "TEMP", 4) == 0;
	s->notfound += text[0] == 'N';
	n = netstr_format(text, reply, sizeof(reply));
	if (n < 0)
		return -1;
	for (int off = 0; off < n;) {
		ssize_t w = write(k->fd, reply + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1; /* a client that does not read: gone */
		off += (int)w;
	}
	return 0;
}

static void sm_close(struct sm_conn *k)
{
	close(k->fd);
	free(k->buf);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

/* Reads what k sent and answers every complete request. */
static void sm_read(struct sockmap *s, struct sm_conn *k)
{
	const char *p;
	size_t plen, used;
	ssize_t r = read(k->fd, k->buf + k->have, SOCKMAP_REQUEST_MAX + 16 - k->have);
	int rc;

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		sm_close(k);
		return;
	}
	k->have += (size_t)r;
	while ((rc = netstr_parse(k->buf, k->have, SOCKMAP_REQUEST_MAX, &p, &plen,
				  &used)) == 0) {
		if (sm_answer(s, k, p, plen) < 0) {
			sm_close(k);
			return;
		}
		k->have -= used;
		memmove(k->buf, k->buf + used, k->have);
	}
	if (rc != -NETSTR_EAGAIN) {
		log_warn("socketmap: %s; closing the connection",
			 netstr_strerror(rc));
		sm_close(k);
	}
}

static void sm_accept(struct sockmap *s)
{
	int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd == -1)
		return;
	for (size_t i = 0; i < SOCKMAP_CONNS_MAX; i++)
		if (s->conns[i].fd == -1) {
			s->conns[i].buf = malloc(SOCKMAP_REQUEST_MAX + 16);
			if (s->conns[i].buf == NULL)
				break;
			s->conns[i].fd = fd;
			return;
		}
	log_warn("socketmap: more than %d connections; closing one",
		 SOCKMAP_CONNS_MAX);
	close(fd);
}

/* Takes a config handed over by the main thread; 1 to stop. */
static int sm_sync(struct sockmap *s)
{
	struct config *nc;
	int stop;

	pthread_mutex_lock(&s->lock);
	nc = s->pending;
	s->pending = NULL;
	stop = s->stop;
	pthread_mutex_unlock(&s->lock);
	if (nc != NULL) {
		config_unref(s->cfg);
		s->cfg = nc;
		store_sync_close(s->rs); /* the address may have changed */
		s->rs = NULL;
	}
	return stop;
}

static void *sm_main(void *arg)
{
	struct sockmap *s = arg;
	struct pollfd pf[1 + SOCKMAP_CONNS_MAX];
	size_t idx[1 + SOCKMAP_CONNS_MAX];

	while (!sm_sync(s)) {
		nfds_t n = 1;
		pf[0] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		for (size_t i = 0; i < SOCKMAP_CONNS_MAX; i++)
			if (s->conns[i].fd != -1) {
				pf[n] = (struct pollfd){.fd = s->conns[i].fd,
							.events = POLLIN};
				idx[n++] = i;
			}
		if (poll(pf, n, 200) <= 0)
			continue;
		if (pf[0].revents & POLLIN)
			sm_accept(s);
		for (nfds_t i = 1; i < n; i++)
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
				sm_read(s, &s->conns[idx[i]]);
	}
	for (size_t i = 0; i < SOCKMAP_CONNS_MAX; i++)
		if (s->conns[i].fd != -1)
			sm_close(&s->conns[i]);
	store_sync_close(s->rs);
	s->rs = NULL;
	log_info("socketmap: stopped (routed=%llu temp=%llu notfound=%llu)",
		 s->routed, s->temp, s->notfound);
	return NULL;
}

static void sm_scratch_free(struct sockmap *s)
{
	free(s->view);
	free(s->plan);
	free(s->call);
}

struct sockmap *sockmap_new(struct config *c, int uid, int gid)
{
	struct sockmap *s = calloc(1, sizeof(*s));
	struct sock_listen b = {c->drain_socketmap + 5, SOCK_NONBLOCK, 64, -1};
	char err[512];

	if (s == NULL)
		return NULL;
	s->view = calloc(1, sizeof(*s->view));
	s->plan = malloc(sizeof(*s->plan));
	s->call = malloc(sizeof(*s->call));
	if (s->view == NULL || s->plan == NULL || s->call == NULL) {
		log_err("socketmap: out of memory");
		sm_scratch_free(s);
		free(s);
		return NULL;
	}
	if (sock_unix_create(b.path, c->socket_mode, uid, gid, sock_listen_unix, &b, err,
			     sizeof(err)) < 0) {
		log_err("socketmap: %s", err);
		sm_scratch_free(s);
		free(s);
		return NULL;
	}
	s->lfd = b.fd;
	s->path = strdup(b.path);
	s->cfg = config_ref(c);
	for (size_t i = 0; i < SOCKMAP_CONNS_MAX; i++)
		s->conns[i].fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

int sockmap_start(struct sockmap *s)
{
	if (pthread_create(&s->tid, NULL, sm_main, s) != 0)
		return -1;
	s->started = 1;
	log_info("socketmap: serving %s", s->path);
	return 0;
}

void sockmap_set_config(struct sockmap *s, struct config *c)
{
	struct config *old;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	old = s->pending;
	s->pending = config_ref(c);
	pthread_mutex_unlock(&s->lock);
	config_unref(old);
}

void sockmap_free(struct sockmap *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_mutex_unlock(&s->lock);
	if (s->started)
		pthread_join(s->tid, NULL);
	close(s->lfd);
	if (s->path != NULL)
		sock_unix_remove(s->path);
	free(s->path);
	config_unref(s->pending);
	config_unref(s->cfg);
	pthread_mutex_destroy(&s->lock);
	sm_scratch_free(s);
	free(s);
}
