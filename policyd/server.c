/*
 * server: policy protocol connections of postlb-policyd (see server.h).
 *
 * Each connection holds at most one request in flight (Postfix waits for
 * each answer).  A request in flight is a struct ticket, shared with the
 * store until its callback runs: when the budget timer fires first, the
 * connection answers from the fail mode and forgets the ticket, and the
 * late verdict is dropped (under fail_mode closed, what it charged is
 * given back: the client was told to try again).  The ticket keeps a
 * config reference so a reload never frees what a pending request points
 * to.
 *
 * A connection reads only while it has no request in flight and little
 * output queued, and never holds more than request_max bytes of input: a
 * client that floods one connection while Redis is slow fills its own
 * socket buffers, not this process's memory.  TCP listeners serve only
 * the client networks of policyd.allow.
 *
 * Quota units reserved ahead (credit.h) answer a busy subject's requests
 * without Redis; a timer gives back the units of lapsed reservations, and
 * a reload gives back all of them.
 */
#include "server.h"

#include "cidr.h"
#include "credit.h"
#include "log.h"
#include "pp.h"
#include "quota.h"
#include "refusals.h"
#include "sock.h"
#include "store_redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SERVER_CREDITS_MAX 4096 /* subjects holding reserved units */
#define SERVER_OUT_MAX 65536	/* answers queued before reading stops */

struct conn;

struct ticket {
	struct server *srv;
	struct conn *conn; /* NULL once answered or the conn is gone */
	struct config *cfg;
	int undo;    /* told the closed fail mode: a late charge goes back */
	char id[64]; /* queue id or instance, for the log */
	struct quota_plan plan; /* last: allocated for plan.n checks only */
};

struct conn {
	struct server *srv;
	struct bufferevent *bev;
	struct event *budget;
	struct ticket *ticket;
	int closing; /* answer written, close after flush */
	int in_read; /* conn_read is on the stack */
	int reading; /* EV_READ enabled */
	size_t wm;   /* the input high watermark set (request_max) */
	int state;   /* the request's protocol state (metrics) */
	unsigned long long t0_ns; /* when it was read (metrics) */
	struct conn *prev, *next;
};

struct server {
	struct event_base *base;
	struct config *cfg;
	struct store *store;
	struct evconnlistener **ls;
	char **unix_paths;
	size_t nls;
	struct conn *conns;
	struct quota_plan scratch; /* single-threaded: one plan at a time */
	struct credits *credits;
	struct event *sweep; /* gives back lapsed reservations */
	unsigned long backs_pending; /* give-backs sent, not answered */
	struct server_stats st;
	struct server_metrics m;
};

static long long server_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned long long server_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL +
	       (unsigned long long)ts.tv_nsec;
}

/* Counts the answer to the request read at c->t0_ns (see server.h). */
static void conn_count(struct conn *c, enum server_answer a)
{
	struct server_metrics *m = &c->srv->m;
	unsigned long long now = server_now_ns();

	/* the loop thread alone writes them (and serves /metrics) */
	metrics_add_1w(&m->requests[c->state][a], 1);
	metrics_hist_observe_1w(&m->latency, now - c->t0_ns);
}

static enum server_answer server_fail_answer(const struct config *cfg)
{
	return cfg->fail_mode == FAIL_CLOSED ? SA_FAIL_CLOSED : SA_FAIL_OPEN;
}

/* Counts a denial under its quota's name and the answer given. */
static void server_count_denied(struct server *srv,
				const struct quota_plan *plan,
				const struct quota_verdict *v)
{
	const struct cfg_quota *q;
	const char *lv[2];

	if (v->idx >= plan->n)
		return;
	q = plan->checks[v->idx].q;
	lv[0] = q->name;
	lv[1] = q->reject ? "reject" : "defer";
	metrics_table_add(srv->m.denied, lv, 1);
}

static void conn_free(struct conn *c)
{
	c->srv->st.conns_now--;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->ticket != NULL)
		c->ticket->conn = NULL;
	if (c->budget)
		event_free(c->budget);
	bufferevent_free(c->bev);
	free(c);
}

/* Writes one answer for the request in flight. */
/*
 * Writes one answer.  With nothing queued before it, it goes straight to
 * the socket: the answer leaves now, not after the rest of this loop
 * iteration, and the write event is not armed and disarmed per answer.
 * Whatever the socket does not take is queued on the bufferevent.
 */
static void conn_answer(struct conn *c, const char *action)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char buf[1100];
	ssize_t w = 0;
	int n = pp_format_reply(buf, sizeof(buf), action);

	if (n < 0)
		n = pp_format_reply(buf, sizeof(buf), "DUNNO");
	if (evbuffer_get_length(out) == 0) {
		w = send(bufferevent_getfd(c->bev), buf, (size_t)n,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0)
			w = 0; /* EAGAIN or an error the bufferevent will see */
	}
	if (w < n)
		bufferevent_write(c->bev, buf + w, (size_t)(n - w));
}

/* 1 when a closing connection has nothing left to send. */
static int conn_flushed(struct conn *c)
{
	return c->closing &&
	       evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

static void conn_read(struct bufferevent *bev, void *arg);

/*
 * Reads only while nothing waits for Redis and the client takes its
 * answers; the high watermark keeps the input within one request (a
 * reload may change request_max).
 */
static void conn_update_read(struct conn *c)
{
	size_t max = c->srv->cfg->limits.request_max;
	int want = !c->closing && c->ticket == NULL &&
		   evbuffer_get_length(bufferevent_get_output(c->bev)) <
		       SERVER_OUT_MAX;

	if (c->wm != max) {
		bufferevent_setwatermark(c->bev, EV_READ, 0, max);
		c->wm = max;
	}
	if (want == c->reading)
		return;
	c->reading = want;
	if (want)
		bufferevent_enable(c->bev, EV_READ);
	else
		bufferevent_disable(c->bev, EV_READ);
}

/* Ends the request in flight: answer written, look at the next one. */
static void conn_done(struct conn *c, const char *action)
{
	c->ticket = NULL;
	event_del(c->budget);
	conn_answer(c, action);
	if (!c->in_read)
		conn_read(c->bev, c);
}

static void server_give_back_late(struct server *srv,
				  const struct quota_plan *plan,
				  const struct quota_verdict *v);

static void conn_on_verdict(void *arg, int rc, const struct quota_verdict *v)
{
	struct ticket *t = arg;
	struct conn *c = t->conn;
	char action[1024];

	if (rc == 0 && v->allowed && t->undo) {
		/* the client was told to try again: charge nothing now */
		server_give_back_late(t->srv, &t->plan, v);
	} else if (rc == 0 && v->allowed && t->cfg->quota_reserve) {
		/* units reserved are charged: kept even when the answer went
		 * out (fail open: the client was told DUNNO) */
		credits_record(t->srv->credits, &t->plan, v, server_now_ms(),
			       t->cfg->quota_reserve_ms);
		for (size_t i = 0; i < t->plan.n; i++)
			metrics_add_1w(&t->srv->m.units_granted,
				    (unsigned long long)v->reserved[i]);
	}
	if (c != NULL) {
		struct server *srv = c->srv;
		if (rc < 0) {
			srv->st.failmode++;
			conn_count(c, server_fail_answer(t->cfg));
			snprintf(action, sizeof(action), "%s",
				 quota_fail_action(t->cfg->fail_mode));
		} else {
			quota_reply(&t->plan, v, action, sizeof(action));
			if (v->allowed) {
				srv->st.allowed++;
				conn_count(c, SA_DUNNO);
			} else {
				srv->st.denied++;
				server_count_denied(srv, &t->plan, v);
				conn_count(c, v->idx < t->plan.n &&
						      t->plan.checks[v->idx].q->reject
						  ? SA_REJECT
						  : SA_DEFER);
				log_info("%s: %s", t->id, action);
				if (v->idx < t->plan.n)
					refusals_count(
					    srv->store, t->cfg->redis_prefix,
					    t->plan.checks[v->idx].q->name);
			}
		}
		conn_done(c, action);
	}
	config_unref(t->cfg);
	free(t);
}

static void conn_on_budget(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct ticket *t = c->ticket;
	static unsigned long long logged;

	(void)fd;
	(void)what;
	if (t == NULL)
		return;
	t->conn = NULL; /* the store's late answer is dropped */
	t->undo = t->cfg->fail_mode == FAIL_CLOSED;
	c->srv->st.timeouts++;
	c->srv->st.failmode++;
	conn_count(c, server_fail_answer(t->cfg));
	if (logged++ % 1000 == 0)
		log_warn("policy: no quota verdict within %lld ms (%llu "
			 "times); answering from the fail mode",
			 t->cfg->budget_ms, logged);
	conn_done(c, quota_fail_action(t->cfg->fail_mode));
}

/* Handles one parsed request (consumed: freed here). */
static void conn_request(struct conn *c, struct pp_request *req)
{
	struct server *srv = c->srv;
	struct quota_plan *plan = &srv->scratch;
	struct ticket *t;
	struct timeval tv;

	quota_plan(srv->cfg, req, plan);
	if (plan->n == 0 ||
	    (srv->cfg->quota_reserve &&
	     credits_pay(srv->credits, plan, server_now_ms(),
			 srv->cfg->quota_reserve_ms))) {
		pp_request_free(req);
		srv->st.allowed++;
		srv->st.reserved += plan->n > 0;
		for (size_t i = 0; i < plan->n; i++)
			metrics_add_1w(&srv->m.units_used,
				    (unsigned long long)plan->checks[i].cost);
		conn_count(c, SA_DUNNO);
		conn_answer(c, "DUNNO");
		return;
	}
	t = malloc(offsetof(struct ticket, plan.checks) +
		   plan->n * sizeof(plan->checks[0]));
	if (t == NULL) {
		pp_request_free(req);
		conn_count(c, server_fail_answer(srv->cfg));
		conn_answer(c, quota_fail_action(srv->cfg->fail_mode));
		return;
	}
	t->cfg = config_ref(srv->cfg);
	t->srv = srv;
	t->conn = c;
	t->undo = 0;
	snprintf(t->id, sizeof(t->id), "%s",
		 req->queue_id && *req->queue_id ? req->queue_id
		 : req->instance		 ? req->instance
						 : "NOQUEUE");
	pp_request_free(req);
	memcpy(&t->plan, plan,
	       offsetof(struct quota_plan, checks) +
		   plan->n * sizeof(plan->checks[0]));
	c->ticket = t;
	tv.tv_sec = t->cfg->budget_ms / 1000;
	tv.tv_usec = (t->cfg->budget_ms % 1000) * 1000;
	evtimer_add(c->budget, &tv);
	store_quota_check(srv->store, &t->plan, conn_on_verdict, t);
}

/* Answers from the fail mode; closes when the stream cannot be resynced. */
static void conn_bad(struct conn *c, int rc, int fatal)
{
	const char *action = quota_fail_action(c->srv->cfg->fail_mode);
	static unsigned long long logged;

	c->srv->st.bad++;
	c->state = SERVER_INVALID;
	conn_count(c, server_fail_answer(c->srv->cfg));
	if (logged++ % 100 == 0)
		log_warn("policy: bad request (%s; %llu so far); answering %s%s",
			 pp_strerror(rc), logged, action,
			 fatal ? " and closing" : "");
	conn_answer(c, action);
	if (fatal)
		c->closing = 1; /* conn_read stops reading */
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct server *srv = c->srv;
	struct evbuffer *in = bufferevent_get_input(bev);

	c->in_read = 1;
	while (c->ticket == NULL && !c->closing &&
	       evbuffer_get_length(bufferevent_get_output(bev)) <
		   SERVER_OUT_MAX) {
		size_t len = evbuffer_get_length(in);
		struct pp_request req;
		const char *buf;
		long n;
		int rc;
		if (len == 0)
			break;
		c->t0_ns = server_now_ns();
		buf = (const char *)evbuffer_pullup(in, -1);
		n = pp_frame(buf, len, &srv->cfg->limits);
		if (n == 0)
			break;
		if (n < 0) {
			conn_bad(c, (int)n, 1);
			break;
		}
		srv->st.requests++;
		rc = pp_parse(buf, (size_t)n, &srv->cfg->limits, &req);
		c->state = rc < 0 ? SERVER_INVALID : (int)req.state;
		evbuffer_drain(in, (size_t)n);
		if (rc < 0)
			conn_bad(c, rc, 0);
		else
			conn_request(c, &req);
	}
	c->in_read = 0;
	if (conn_flushed(c))
		conn_free(c); /* answered directly: no write event will come */
	else
		conn_update_read(c);
}

/* Output drained: close, or go on with the requests already read. */
static void conn_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (conn_flushed(c))
		conn_free(c);
	else if (!c->in_read)
		conn_read(bev, c);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(arg);
}

/* Logs a TCP client outside policyd.allow (the first, then every 1000th). */
static void server_refuse(struct server *srv, const struct sockaddr *sa)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	const void *a = sa->sa_family == AF_INET
			    ? (const void *)&((const struct sockaddr_in *)sa)
				  ->sin_addr
			    : (const void *)&((const struct sockaddr_in6 *)sa)
				  ->sin6_addr;

	if (srv->st.conns_denied++ % 1000 != 0)
		return;
	inet_ntop(sa->sa_family, a, addr, sizeof(addr));
	log_warn("policy: connection from %s refused: not in policyd.allow "
		 "(%llu so far)",
		 addr, srv->st.conns_denied);
}

static void server_accept(struct evconnlistener *l, evutil_socket_t fd,
			  struct sockaddr *sa, int salen, void *arg)
{
	struct server *srv = arg;
	struct conn *c;
	struct timeval idle;
	int one = 1;

	(void)l;
	(void)salen;
	if ((sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
	    !cidr_list_match_sa(srv->cfg->allow.nets, srv->cfg->allow.nnets,
				sa)) {
		server_refuse(srv, sa);
		evutil_closesocket(fd);
		return;
	}
	if (srv->st.conns_now >= (unsigned long long)srv->cfg->max_connections) {
		if (srv->st.conns_refused++ % 1000 == 0)
			log_warn("policy: %lld connections open; refusing "
				 "more (max_connections)",
				 srv->cfg->max_connections);
		evutil_closesocket(fd);
		return;
	}
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->srv = srv;
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->budget = evtimer_new(srv->base, conn_on_budget, c);
	if (c->bev == NULL || c->budget == NULL) {
		if (c->bev)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		if (c->budget)
			event_free(c->budget);
		free(c);
		return;
	}
	srv->st.conns_now++;
	srv->st.conns_total++;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	idle.tv_sec = srv->cfg->idle_timeout_ms / 1000;
	idle.tv_usec = (srv->cfg->idle_timeout_ms % 1000) * 1000;
	/* a client that stops taking its answers is dropped as if idle */
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_enable(c->bev, EV_WRITE);
	conn_update_read(c);
}

static void server_accept_error(struct evconnlistener *l, void *arg)
{
	(void)arg;
	(void)l;
	log_warn("policy: accept: %s", strerror(errno));
}

/* The listener of a unix address (sock.h does the careful part). */
static struct evconnlistener *server_listen_unix(struct server *srv,
						 const char *path, int uid,
						 int gid)
{
	struct sock_listen b = {path, SOCK_NONBLOCK, 1024, -1};
	struct evconnlistener *l;
	char err[512];

	if (sock_unix_create(path, srv->cfg->socket_mode, uid, gid,
			     sock_listen_unix, &b, err, sizeof(err)) < 0) {
		log_err("policy: %s", err);
		return NULL;
	}
	l = evconnlistener_new(srv->base, server_accept, srv,
			       LEV_OPT_CLOSE_ON_FREE, 0, b.fd);
	if (l == NULL) {
		log_err("policy: cannot listen on %s", path);
		close(b.fd);
		sock_unix_remove(path);
	}
	return l;
}

/* Creates the listener for one address; returns 0 or -1 (logged). */
static int server_listen(struct server *srv, const char *addr, int uid,
			 int gid)
{
	const unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE;
	struct evconnlistener *l = NULL;

	if (strncmp(addr, "unix:", 5) == 0) {
		l = server_listen_unix(srv, addr + 5, uid, gid);
		if (l == NULL)
			return -1;
		srv->unix_paths[srv->nls] = strdup(addr + 5);
		if (srv->unix_paths[srv->nls] == NULL) {
			log_err("policy: out of memory");
			evconnlistener_free(l);
			return -1;
		}
	} else {
		struct sockaddr_storage ss;
		int sslen = sizeof(ss);
		if (evutil_parse_sockaddr_port(addr + 4, (struct sockaddr *)&ss,
					       &sslen) < 0) {
			log_err("policy: bad tcp address %s", addr + 4);
			return -1;
		}
		l = evconnlistener_new_bind(srv->base, server_accept, srv, flags,
					    1024, (struct sockaddr *)&ss,
					    sslen);
		if (l == NULL) {
			log_err("policy: cannot listen on %s: %s", addr + 4,
				strerror(errno));
			return -1;
		}
	}
	evconnlistener_set_error_cb(l, server_accept_error);
	srv->ls[srv->nls++] = l;
	log_info("policy: listening on %s", addr);
	return 0;
}

static void server_back_done(void *arg, int rc, const struct quota_verdict *v)
{
	struct server *srv = arg;

	(void)v;
	srv->backs_pending--;
	if (rc < 0)
		srv->st.back_failed++;
}

/*
 * Gives unused reserved units back to Redis (credits_expire cb): a charge
 * of -us, the time they added to the subject's TAT, so exactly what was
 * taken returns even if a live override changed the limit since.
 */
static void server_give_back(void *arg, const struct cfg_quota *q,
			     const char *subject, long long units, long long us)
{
	struct server *srv = arg;
	struct quota_plan plan;

	srv->st.given_back += (unsigned long long)units;
	if (us <= 0)
		return;
	plan.n = 1;
	plan.exempt = 0;
	plan.checks[0].q = q;
	snprintf(plan.checks[0].subject, sizeof(plan.checks[0].subject), "%s",
		 subject);
	plan.checks[0].cost = -us;
	plan.checks[0].reserve = 0;
	srv->backs_pending++;
	store_quota_check(srv->store, &plan, server_back_done, srv);
}

/*
 * Gives back everything an allowed verdict charged (its cost and any
 * units reserved with it, as time) when it came after the budget and the
 * client had been told the closed fail mode's 4.3.0: its retry will be
 * charged, so this one must not be.  Under fail_mode open the client was
 * told DUNNO and the charge stays.
 */
static void server_give_back_late(struct server *srv,
				  const struct quota_plan *plan,
				  const struct quota_verdict *v)
{
	struct quota_plan *back = &srv->scratch;

	back->n = 0;
	back->exempt = 0;
	for (size_t i = 0; i < plan->n; i++) {
		long long us = v->charged_us[i] + v->reserved_us[i];
		if (us <= 0)
			continue;
		back->checks[back->n] = plan->checks[i];
		back->checks[back->n].cost = -us;
		back->checks[back->n].reserve = 0;
		back->n++;
	}
	srv->st.late_back++;
	if (back->n == 0)
		return;
	srv->backs_pending++;
	store_quota_check(srv->store, back, server_back_done, srv);
}

static void server_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	credits_expire(srv->credits, server_now_ms(),
		       srv->cfg->quota_reserve_ms, 0, server_give_back, srv);
}

/* (Re)arms the sweep every reserve_time. */
static void server_arm_sweep(struct server *srv)
{
	struct timeval tv = {(time_t)(srv->cfg->quota_reserve_ms / 1000),
			     (suseconds_t)(srv->cfg->quota_reserve_ms % 1000) *
				 1000};

	event_add(srv->sweep, &tv);
}

static const char *const server_denied_labels[] = {"quota", "answer"};

struct server *server_new(struct event_base *base, struct config *c,
			  int uid, int gid)
{
	struct server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		return NULL;
	srv->base = base;
	srv->cfg = config_ref(c);
	srv->ls = calloc(c->nlisten, sizeof(*srv->ls));
	srv->unix_paths = calloc(c->nlisten, sizeof(char *));
	srv->store = store_new(base, c);
	srv->credits = credits_new(SERVER_CREDITS_MAX);
	srv->sweep = event_new(base, -1, EV_PERSIST, server_sweep, srv);
	srv->m.denied = metrics_table_new(2, server_denied_labels,
					  SERVER_DENIED_MAX);
	metrics_hist_init(&srv->m.latency, metrics_latency_bounds,
			  metrics_latency_nbounds);
	if (srv->ls == NULL || srv->unix_paths == NULL || srv->store == NULL ||
	    srv->credits == NULL || srv->sweep == NULL || srv->m.denied == NULL)
		goto fail;
	server_arm_sweep(srv);
	for (size_t i = 0; i < c->nlisten; i++)
		if (server_listen(srv, c->listen[i], uid, gid) < 0)
			goto fail;
	return srv;
fail:
	server_free(srv);
	return NULL;
}

int server_set_config(struct server *srv, struct config *c)
{
	/* quota names, limits or the prefix may change: give all back */
	credits_expire(srv->credits, server_now_ms(), 0, 1, server_give_back,
		       srv);
	if (store_reconfigure(srv->store, c) < 0)
		return -1;
	config_unref(srv->cfg);
	srv->cfg = config_ref(c);
	server_arm_sweep(srv);
	return 0;
}

void server_stop(struct server *srv)
{
	long long until = server_now_ms() + 500;

	credits_expire(srv->credits, server_now_ms(), 0, 1, server_give_back,
		       srv);
	while (srv->backs_pending > 0 && server_now_ms() < until) {
		event_base_loop(srv->base, EVLOOP_NONBLOCK);
		if (srv->backs_pending > 0)
			usleep(1000);
	}
}

void server_get_stats(const struct server *srv, struct server_stats *out)
{
	struct store_stats ss;

	*out = srv->st;
	store_get_stats(srv->store, &ss);
	out->redis_connects = ss.reconnects;
	out->redis_calls = ss.calls;
	out->redis_errors = ss.errors + ss.down_answers;
	out->redis_up = ss.up;
}

struct server_metrics *server_metrics(struct server *srv)
{
	return &srv->m;
}

const struct config *server_config(const struct server *srv)
{
	return srv->cfg;
}

void server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	metrics_table_free(srv->m.denied);
	while (srv->conns != NULL)
		conn_free(srv->conns);
	for (size_t i = 0; i < srv->nls; i++) {
		evconnlistener_free(srv->ls[i]);
		if (srv->unix_paths[i] != NULL) {
			sock_unix_remove(srv->unix_paths[i]);
			free(srv->unix_paths[i]);
		}
	}
	free(srv->ls);
	free(srv->unix_paths);
	credits_free(srv->credits);
	if (srv->sweep)
		event_free(srv->sweep);
	store_free(srv->store);
	config_unref(srv->cfg);
	free(srv);
}
