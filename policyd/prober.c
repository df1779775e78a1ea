/*
 * prober: active SMTP health checks in a thread of their own (see
 * prober.h).
 *
 * Thread rules: the main thread only hands configs over (under the lock);
 * everything else — the event loop, the probes, the Redis connection —
 * belongs to the prober thread.  A probe is one member's check cycle: a
 * timer, the lease, one SMTP conversation at a time, the result.
 */
#include "prober.h"

#include "check.h"
#include "check_lua.h"
#include "health.h"
#include "health_metrics.h"
#include "log.h"
#include "smtpr.h"
#include "store_redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROBE_BUF_MAX 8192 /* bytes of replies kept while reading */

enum phase { PH_IDLE, PH_CONNECT, PH_BANNER, PH_EHLO, PH_QUIT };

struct probe {
	struct prober *p;
	size_t mi;		/* config member index */
	struct check_state st;
	int known;		/* st was taken from Redis with the lease */
	struct event *timer;	/* the next check */
	struct event *deadline; /* the check's timeout */
	struct bufferevent *bev;
	enum phase phase;
	int ok;			/* the conversation succeeded so far */
	char why[200];		/* the first failure */
	long long t0_ms;
};

struct prober {
	pthread_t tid;
	pthread_mutex_t lock;
	struct config *pending; /* handed over by the main thread */
	int stop;
	struct event_base *base;
	struct event *tick;	/* picks up pending configs and stops */
	struct config *cfg;
	struct probe *probes;
	size_t nprobes;
	struct store_sync *rs;
	long long rs_retry_ms;
	char id[300]; /* this host's lease id */
};

static long long probe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void probe_timer_add(struct event *ev, long long ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(ev, &tv);
}

/* The Redis connection of the thread, reopened at most every second. */
static struct store_sync *prober_redis(struct prober *p)
{
	char err[256];

	if (p->rs != NULL)
		return p->rs;
	if (probe_now_ms() < p->rs_retry_ms)
		return NULL;
	p->rs_retry_ms = probe_now_ms() + 1000;
	if (store_sync_open(p->cfg, 500, &p->rs, err, sizeof(err)) < 0) {
		p->rs = NULL;
		log_debug("health: %s", err);
	}
	return p->rs;
}

/*
 * Runs check.lua for probe pr in mode ("lease" or "report"); out[2]
 * gets the reply.  Returns 0, or -1 (Redis unreachable: dropped).
 */
static int probe_script(struct probe *pr, const char *mode,
			const char *verdict, const char *last,
			const char *why, long long out[2])
{
	const struct cfg_member *m = &pr->p->cfg->members[pr->mi];
	const char *pfx = pr->p->cfg->redis_prefix;
	char k[3][200], lease[32];
	const char *argv[10];
	size_t lens[10];
	struct store_sync *rs = prober_redis(pr->p);
	long long lease_ms = 3 * m->chk.interval_ms + m->chk.timeout_ms;

	if (rs == NULL)
		return -1;
	snprintf(k[0], sizeof(k[0]), "%s" HEALTH_KEY_LEASE "%s", pfx, m->name);
	snprintf(k[1], sizeof(k[1]), "%sm:%s", pfx, m->name);
	snprintf(k[2], sizeof(k[2]), "%s" HEALTH_KEY_EVENTS "%s", pfx, m->name);
	snprintf(lease, sizeof(lease), "%lld", lease_ms);
	argv[0] = k[0], argv[1] = k[1], argv[2] = k[2];
	argv[3] = pr->p->id, argv[4] = lease, argv[5] = mode;
	argv[6] = verdict, argv[7] = last, argv[8] = why;
	for (int i = 0; i < 9; i++)
		lens[i] = strlen(argv[i]);
	if (store_sync_eval(rs, CHECK_LUA, 3, 9, argv, lens, out, 2) != 2) {
		log_debug("health: check script: %s", store_sync_error(rs));
		store_sync_close(rs);
		pr->p->rs = NULL;
		return -1;
	}
	return 0;
}

static void probe_close(struct probe *pr)
{
	if (pr->bev != NULL)
		bufferevent_free(pr->bev);
	pr->bev = NULL;
	evtimer_del(pr->deadline);
	pr->phase = PH_IDLE;
}

/* Ends a check: the state machine, Redis, the log, the next check. */
static void probe_done(struct probe *pr)
{
	const struct cfg_member *m = &pr->p->cfg->members[pr->mi];
	long long ms = probe_now_ms() - pr->t0_ms, out[2];
	char last[256];
	int changed;

	probe_close(pr);
	changed = check_result(&pr->st, &m->chk, pr->ok);
	health_metrics_check(m->name, pr->ok, pr->st.up, ms);
	if (pr->ok)
		snprintf(last, sizeof(last), "ok %lldms", ms);
	else
		snprintf(last, sizeof(last), "fail: %s", pr->why);
	if (changed && pr->st.up)
		log_info("health: member %s is up again (%d good checks)",
			 m->name, m->chk.rise);
	else if (changed)
		log_warn("health: member %s is down: %s (%d failed checks)",
			 m->name, pr->why, m->chk.fall);
	probe_script(pr, "report", pr->st.up ? "up" : "down", last,
		     pr->st.up ? "checks pass" : pr->why, out);
	probe_timer_add(pr->timer, check_next_ms(&pr->st, &m->chk));
}

/* Records the first failure of the conversation and ends it politely. */
static void probe_fail(struct probe *pr, const char *why)
{
	if (pr->ok)
		snprintf(pr->why, sizeof(pr->why), "%s", why);
	pr->ok = 0;
	if ((pr->phase == PH_BANNER || pr->phase == PH_EHLO) &&
	    pr->bev != NULL) { /* a reply came: say goodbye */
		bufferevent_write(pr->bev, "QUIT\r\n", 6);
		pr->phase = PH_QUIT;
		return;
	}
	probe_done(pr);
}

static const char *probe_phase_name(enum phase ph)
{
	return ph == PH_CONNECT ? "connect"
	       : ph == PH_BANNER ? "the banner"
	       : ph == PH_EHLO	 ? "the EHLO reply"
				 : "the QUIT reply";
}

/* One complete reply r in the current phase. */
static void probe_reply(struct probe *pr, const struct smtpr_reply *r)
{
	const struct cfg_member *m = &pr->p->cfg->members[pr->mi];
	char why[200], ehlo[300];

	if (pr->phase == PH_BANNER) {
		if (r->code != 220) {
			snprintf(why, sizeof(why), "banner %d %s", r->code,
				 r->text);
			probe_fail(pr, why);
			return;
		}
		snprintf(ehlo, sizeof(ehlo), "EHLO %s\r\n",
			 m->helo ? m->helo : "postlb-check.invalid");
		bufferevent_write(pr->bev, ehlo, strlen(ehlo));
		pr->phase = PH_EHLO;
	} else if (pr->phase == PH_EHLO) {
		snprintf(why, sizeof(why), "EHLO answered %d %s", r->code,
			 r->text);
		if (r->code != 250)
			probe_fail(pr, why);
		else if (m->check_starttls && !r->starttls)
			probe_fail(pr, "STARTTLS not offered");
		else {
			bufferevent_write(pr->bev, "QUIT\r\n", 6);
			pr->phase = PH_QUIT;
		}
	} else if (pr->phase == PH_QUIT) {
		probe_done(pr); /* any answer to QUIT ends it cleanly */
	}
}

static void probe_read(struct bufferevent *bev, void *arg)
{
	struct probe *pr = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	static const struct smtpr_limits lim = {1000, 100};

	while (pr->phase != PH_IDLE && pr->bev != NULL) {
		size_t len = evbuffer_get_length(in);
		struct smtpr_reply r;
		long n;
		if (len == 0)
			return;
		if (len > PROBE_BUF_MAX)
			len = PROBE_BUF_MAX;
		n = smtpr_parse((const char *)evbuffer_pullup(in, (ssize_t)len),
				len, &lim, &r);
		if (n == 0 && len == PROBE_BUF_MAX)
			n = -SMTPR_ETOOLONG;
		if (n == 0)
			return;
		if (n < 0) {
			probe_fail(pr, smtpr_strerror((int)n));
			return;
		}
		evbuffer_drain(in, (size_t)n);
		probe_reply(pr, &r);
	}
}

static void probe_event(struct bufferevent *bev, short what, void *arg)
{
	struct probe *pr = arg;
	int e = EVUTIL_SOCKET_ERROR();
	char why[160];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		pr->phase = PH_BANNER;
		return;
	}
	if (pr->phase == PH_QUIT && pr->ok) { /* closed after QUIT: fine */
		probe_done(pr);
		return;
	}
	snprintf(why, sizeof(why), "%s: %s", probe_phase_name(pr->phase),
		 (what & BEV_EVENT_EOF) ? "connection closed"
		 : e			 ? evutil_socket_error_to_string(e)
					 : "connection error");
	if (pr->ok)
		snprintf(pr->why, sizeof(pr->why), "%s", why);
	pr->ok = 0;
	probe_done(pr);
}

static void probe_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct probe *pr = arg;
	const struct cfg_member *m = &pr->p->cfg->members[pr->mi];
	char why[160];

	(void)fd;
	(void)what;
	snprintf(why, sizeof(why), "timeout after %lld ms waiting for %s",
		 m->chk.timeout_ms, probe_phase_name(pr->phase));
	if (pr->ok)
		snprintf(pr->why, sizeof(pr->why), "%s", why);
	pr->ok = 0;
	probe_done(pr);
}

/*
 * Splits nexthop "[host]:port", "host:port", "[host]" or "host" into a
 * socket address (numeric hosts, or a name resolved here).  0 or -1.
 */
static int probe_addr(const char *nexthop, struct sockaddr_storage *ss,
		      socklen_t *sslen, char *why, size_t whysz)
{
	char host[300], port[16] = "25";
	const char *p = nexthop, *end;
	struct addrinfo hints = {0}, *ai = NULL;
	int rc;

	if (*p == '[') {
		end = strchr(++p, ']');
		if (end == NULL)
			return snprintf(why, whysz, "bad nexthop"), -1;
	} else {
		end = strrchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
	}
	snprintf(host, sizeof(host), "%.*s", (int)(end - p), p);
	if (*end == ']')
		end++;
	if (*end == ':')
		snprintf(port, sizeof(port), "%s", end + 1);
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0 || ai == NULL) {
		snprintf(why, whysz, "cannot resolve %.100s: %s", host,
			 gai_strerror(rc));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* Opens the socket, bound to the member's address when it has one. */
static int probe_socket(const struct cfg_member *m, int family, char *why,
			size_t whysz)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_storage src = {0};

	if (fd == -1 || m->address == NULL)
		return fd;
	if (family == AF_INET &&
	    inet_pton(AF_INET, m->address,
		      &((struct sockaddr_in *)&src)->sin_addr) == 1) {
		src.ss_family = AF_INET;
		if (bind(fd, (struct sockaddr *)&src,
			 sizeof(struct sockaddr_in)) < 0) {
			snprintf(why, whysz, "bind %s: %s", m->address,
				 strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Starts one SMTP conversation with the member's nexthop. */
static void probe_start(struct probe *pr)
{
	const struct cfg_member *m = &pr->p->cfg->members[pr->mi];
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd;

	pr->ok = 1;
	pr->why[0] = '\0';
	pr->t0_ms = probe_now_ms();
	pr->phase = PH_CONNECT;
	probe_timer_add(pr->deadline, m->chk.timeout_ms);
	if (probe_addr(m->nexthop, &ss, &sslen, pr->why, sizeof(pr->why)) < 0 ||
	    (fd = probe_socket(m, ss.ss_family, pr->why, sizeof(pr->why))) ==
		-1) {
		if (pr->why[0] == '\0')
			snprintf(pr->why, sizeof(pr->why), "socket: %s",
				 strerror(errno));
		pr->ok = 0;
		probe_done(pr);
		return;
	}
	pr->bev = bufferevent_socket_new(pr->p->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (pr->bev == NULL) {
		close(fd);
		snprintf(pr->why, sizeof(pr->why), "out of memory");
		pr->ok = 0;
		probe_done(pr);
		return;
	}
	bufferevent_setcb(pr->bev, probe_read, NULL, probe_event, pr);
	bufferevent_enable(pr->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(pr->bev, (struct sockaddr *)&ss,
				       (int)sslen) < 0) {
		snprintf(pr->why, sizeof(pr->why), "connect: %s",
			 strerror(errno));
		pr->ok = 0;
		probe_done(pr);
	}
}

/* The timer: check if this host holds the lease, else wait a round. */
static void probe_tick(evutil_socket_t fd, short what, void *arg)
{
	struct probe *pr = arg;
	const struct cfg_member *m = &pr->p->cfg->members[pr->mi];
	long long out[2];

	(void)fd;
	(void)what;
	if (pr->phase != PH_IDLE)
		return;
	if (probe_script(pr, "lease", "", "", "", out) < 0 || out[0] != 1) {
		pr->known = 0; /* another host checks it, or no Redis */
		probe_timer_add(pr->timer, m->chk.interval_ms);
		return;
	}
	if (!pr->known) { /* take over where the last holder left it */
		check_init(&pr->st, out[1] == 0);
		pr->known = 1;
	}
	probe_start(pr);
}

static void prober_clear(struct prober *p)
{
	long long out[2];

	for (size_t i = 0; i < p->nprobes; i++) {
		/* another host takes over at its next check, not a lease later */
		if (p->probes[i].known)
			probe_script(&p->probes[i], "release", "", "", "", out);
		probe_close(&p->probes[i]);
		event_free(p->probes[i].timer);
		event_free(p->probes[i].deadline);
	}
	free(p->probes);
	p->probes = NULL;
	p->nprobes = 0;
	store_sync_close(p->rs);
	p->rs = NULL;
	p->rs_retry_ms = 0;
	config_unref(p->cfg);
	p->cfg = NULL;
}

/* Builds the probes of config c (a reference is taken over). */
static void prober_build(struct prober *p, struct config *c)
{
	size_t n = 0;

	prober_clear(p);
	p->cfg = c;
	/* a member of other hosts only is theirs to check (their source
	 * address, their lease) */
	for (size_t i = 0; i < c->nmembers; i++)
		n += c->members[i].check && c->members[i].here;
	p->probes = calloc(n + 1, sizeof(*p->probes));
	if (p->probes == NULL)
		return;
	for (size_t i = 0; i < c->nmembers; i++) {
		struct probe *pr = &p->probes[p->nprobes];
		if (!c->members[i].check || !c->members[i].here)
			continue;
		pr->p = p;
		pr->mi = i;
		check_init(&pr->st, 1);
		pr->timer = evtimer_new(p->base, probe_tick, pr);
		pr->deadline = evtimer_new(p->base, probe_timeout, pr);
		if (pr->timer == NULL || pr->deadline == NULL)
			log_panic("health: out of memory");
		p->nprobes++;
	}
	/* spread the checks over an interval, not all at once every cycle */
	for (size_t i = 0; i < p->nprobes; i++)
		probe_timer_add(p->probes[i].timer,
				(long long)i *
				    c->members[p->probes[i].mi].chk.interval_ms /
				    (long long)p->nprobes);
	if (p->nprobes > 0)
		log_info("health: checking %zu member(s)", p->nprobes);
}

/* Every 100 ms: a new config to take, or the end. */
static void prober_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct prober *p = arg;
	struct config *c;
	int stop;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&p->lock);
	c = p->pending;
	p->pending = NULL;
	stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	if (c != NULL)
		prober_build(p, c);
	if (stop)
		event_base_loopbreak(p->base);
}

static void *prober_main(void *arg)
{
	struct prober *p = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals are the main's */
	event_base_dispatch(p->base);
	prober_clear(p);
	return NULL;
}

struct prober *prober_new(struct config *c)
{
	struct prober *p = calloc(1, sizeof(*p));
	struct timeval tv = {0, 100000};
	char host[256] = "host";

	if (p == NULL)
		return NULL;
	gethostname(host, sizeof(host) - 1);
	snprintf(p->id, sizeof(p->id), "%s:%ld", host, (long)getpid());
	pthread_mutex_init(&p->lock, NULL);
	p->base = event_base_new();
	if (p->base == NULL)
		goto fail;
	p->tick = event_new(p->base, -1, EV_PERSIST, prober_on_tick, p);
	if (p->tick == NULL || event_add(p->tick, &tv) < 0)
		goto fail;
	p->pending = config_ref(c);
	if (pthread_create(&p->tid, NULL, prober_main, p) != 0)
		goto fail;
	return p;
fail:
	config_unref(p->pending);
	if (p->tick)
		event_free(p->tick);
	if (p->base)
		event_base_free(p->base);
	free(p);
	return NULL;
}

void prober_set_config(struct prober *p, struct config *c)
{
	struct config *old;

	pthread_mutex_lock(&p->lock);
	old = p->pending;
	p->pending = config_ref(c);
	pthread_mutex_unlock(&p->lock);
	config_unref(old);
}

void prober_free(struct prober *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->tid, NULL);
	config_unref(p->pending);
	event_free(p->tick);
	event_base_free(p->base);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
