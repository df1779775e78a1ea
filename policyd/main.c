/*
 * postlb-policyd: the Postfix policy server of postlb (sending quotas).
 *
 * Startup: parse options, load and validate the config (-n: only that),
 * raise the descriptor limit, bind the listeners as root if need be, then
 * drop privileges for good, then tell systemd it is ready (sd_notify; -d
 * keeps it in the foreground for Type=notify).  SIGHUP reloads the config without dropping
 * connections (listen changes need a restart); SIGTERM/SIGINT stop
 * cleanly; SIGUSR1 logs the counters.  Signals are handled by libevent in
 * the loop, never in a handler.
 */
#include "config.h"
#include "daemon.h"
#include "drain.h"
#include "feedback.h"
#include "health_metrics.h"
#include "log.h"
#include "metrics_http.h"
#include "metrics_policyd.h"
#include "prober.h"
#include "server.h"
#include "sockmap.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *cfg_path;
static struct daemon_opts opts;
static struct server *srv;
static struct prober *prober;
static struct config *cfg;
static struct feedback *fb; /* NULL: no feedback configured */
static struct metrics_http *mh; /* NULL: no policyd.metrics */
static struct sockmap *smap; /* NULL: no policyd.socketmap */
static struct drain *drainer; /* NULL: no drain.requeue */

/*
 * Loads path and checks that it gives postlb-policyd something to do: the
 * file is shared with postlb-milter, so config_load() accepts a file
 * without quotas, but for this daemon such a file (an empty or truncated
 * one, say) would answer DUNNO to everything.  Returns 0 with *out set, or
 * -1 with err filled.
 */
static int policyd_load(const char *path, struct config **out, char *err,
			size_t errsz)
{
	struct config *c;
	size_t checks = 0;

	if (config_load(path, &c, err, errsz) < 0)
		return -1;
	for (size_t i = 0; i < c->nmembers; i++)
		checks += c->members[i].check != 0;
	if (c->nquotas == 0 && checks == 0 && c->feedback_log == NULL &&
	    c->drain_socketmap == NULL && c->drain_requeue == NULL) {
		snprintf(err, errsz,
			 "%s: no quotas, no health checks and no feedback: "
			 "postlb-policyd has nothing to do (an empty or "
			 "truncated file?)",
			 path);
		config_unref(c);
		return -1;
	}
	*out = c;
	return 0;
}

static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct config *nc;
	char err[1024];

	(void)sig;
	(void)what;
	(void)arg;
	daemon_notify_reloading();
	if (policyd_load(cfg_path, &nc, err, sizeof(err)) < 0) {
		log_err("reload failed, keeping the running config: %s", err);
		daemon_notify_ready();
		return;
	}
	if (server_set_config(srv, nc) < 0) {
		log_err("reload failed, keeping the running config");
		config_unref(nc);
		daemon_notify_ready();
		return;
	}
	prober_set_config(prober, nc);
	sockmap_set_config(smap, nc);
	drain_set_config(drainer, nc);
	if (fb != NULL && feedback_set_config(fb, nc) < 0)
		log_err("reload: the feedback keeps its running config");
	else if (fb == NULL && nc->feedback_log != NULL)
		log_warn("reload: turning the feedback on takes a restart");
	if ((cfg->policyd_metrics == NULL) != (nc->policyd_metrics == NULL) ||
	    (nc->policyd_metrics != NULL &&
	     strcmp(cfg->policyd_metrics, nc->policyd_metrics) != 0))
		log_warn("reload: a new policyd.metrics takes a restart");
	config_unref(cfg);
	cfg = nc;
	log_info("reloaded %s (%zu quotas)", cfg_path, cfg->nquotas);
	daemon_notify_ready();
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	daemon_notify_stopping();
	event_base_loopexit(arg, NULL);
}

static void on_stats(evutil_socket_t sig, short what, void *arg)
{
	struct server_stats st;

	(void)sig;
	(void)what;
	(void)arg;
	server_get_stats(srv, &st);
	log_info("stats: requests=%llu allowed=%llu denied=%llu failmode=%llu "
		 "timeouts=%llu bad=%llu connections=%llu total=%llu "
		 "refused=%llu reserved=%llu given_back=%llu back_failed=%llu "
		 "redis_connects=%llu denied_clients=%llu late_back=%llu",
		 st.requests, st.allowed, st.denied, st.failmode, st.timeouts,
		 st.bad, st.conns_now, st.conns_total, st.conns_refused,
		 st.reserved, st.given_back, st.back_failed, st.redis_connects,
		 st.conns_denied, st.late_back);
	if (fb != NULL)
		feedback_log_stats(fb);
}

/*
 * The event loop.  The epoll changelist folds the add/remove of a write
 * event around each answer into one epoll_ctl (measured: ~10% less CPU).
 */
static struct event_base *policyd_base(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *b;

	if (ec == NULL)
		return NULL;
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	b = event_base_new_with_config(ec);
	event_config_free(ec);
	return b;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct event_base *base;
	struct event *ev[4];
	int uid, gid;
	char err[1024];

	daemon_parse(argc, argv, "postlb-policyd", &opts);
	cfg_path = opts.config;
	log_set_verbose(opts.verbose);
	log_init("postlb-policyd", opts.foreground || opts.check);
	if (policyd_load(cfg_path, &cfg, err, sizeof(err)) < 0)
		log_fatal("%s", err);
	/* -n refuses what a start would: an unknown user or group, root */
	daemon_ids(cfg->user, cfg->group, "policyd.user", &uid, &gid);
	if (opts.check) {
		printf("%s: OK (%zu quotas, %zu classes)\n", cfg_path,
		       cfg->nquotas, cfg->nclasses);
		config_unref(cfg);
		return 0;
	}
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	daemon_detach(&opts);
	base = policyd_base();
	if (base == NULL)
		log_fatal("cannot create the event loop");
	srv = server_new(base, cfg, uid, gid);
	if (srv == NULL)
		log_fatal("cannot start the policy server");
	if (health_metrics_init() < 0)
		log_fatal("out of memory");
	if (cfg->policyd_metrics != NULL &&
	    (mh = metrics_http_new(base, cfg->policyd_metrics,
				   metrics_policyd_write, srv)) == NULL)
		log_fatal("cannot serve metrics on %s", cfg->policyd_metrics);
	if (cfg->drain_socketmap != NULL &&
	    (smap = sockmap_new(cfg, uid, gid)) == NULL)
		log_fatal("cannot create the socketmap");
	daemon_drop(uid, gid, "policyd.user");
	if (smap != NULL && sockmap_start(smap) < 0)
		log_fatal("cannot start the socketmap");
	drainer = drain_new(cfg);
	if (cfg->drain_requeue != NULL && drainer == NULL)
		log_fatal("cannot start the drain");
	prober = prober_new(cfg);
	if (prober == NULL)
		log_fatal("cannot start the health checks");
	ev[0] = evsignal_new(base, SIGHUP, on_reload, NULL);
	ev[1] = evsignal_new(base, SIGTERM, on_stop, base);
	ev[2] = evsignal_new(base, SIGINT, on_stop, base);
	ev[3] = evsignal_new(base, SIGUSR1, on_stats, NULL);
	for (int i = 0; i < 4; i++)
		if (ev[i] == NULL || event_add(ev[i], NULL) < 0)
			log_fatal("cannot install signal handlers");
	if (cfg->feedback_log != NULL &&
	    (fb = feedback_new(base, cfg)) == NULL)
		log_fatal("cannot start the delivery-log feedback");
	log_info("started with %s (%zu quotas, budget %lld ms, fail mode %s)",
		 cfg_path, cfg->nquotas, cfg->budget_ms,
		 cfg->fail_mode == FAIL_OPEN ? "open" : "closed");
	daemon_notify_ready();
	event_base_dispatch(base);
	metrics_http_free(mh);
	drain_free(drainer);
	sockmap_free(smap);
	prober_free(prober);
	server_stop(srv);
	on_stats(0, 0, NULL);
	feedback_free(fb);
	server_free(srv);
	for (int i = 0; i < 4; i++)
		event_free(ev[i]);
	event_base_free(base);
	config_unref(cfg);
	health_metrics_free();
	daemon_pidfile_remove(&opts);
	log_info("stopped");
	return 0;
}
