/*
 * postlb-milter: per-message routing for Postfix (pools and members).
 *
 * Startup: options, config (-n: check and exit), the milter socket (sock.h:
 * a stale socket is removed, never a link or a file; mode and owner from
 * the config), then privileges are dropped for good, systemd is told it
 * is ready (sd_notify) and smfi_main() runs.  Without -d or -f it goes to
 * the background first.
 * HUP, TERM and INT are blocked in every thread but libmilter's signal
 * thread, which turns them into a clean stop.  libmilter turns
 * SIGHUP into a shutdown, so the config is reloaded on SIGUSR1 by a
 * sigwait thread started before smfi_main(); SIGUSR2 logs the counters.
 */
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "metrics_http.h"
#include "milter.h"
#include "router.h"
#include "sock.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *cfg_path;
static struct daemon_opts opts;
static struct router *router;
static char *metrics_addr; /* the one served, NULL: none */

static void reload(void)
{
	struct config *nc;
	char err[1024];

	daemon_notify_reloading();
	if (config_load(cfg_path, &nc, err, sizeof(err)) < 0) {
		log_err("reload failed, keeping the running config: %s", err);
		daemon_notify_ready();
		return;
	}
	if (nc->default_pool < 0) {
		log_err("reload failed, keeping the running config: %s has no "
			"routing section",
			cfg_path);
		config_unref(nc);
		daemon_notify_ready();
		return;
	}
	router_set_config(router, nc);
	if ((metrics_addr == NULL) != (nc->milter_metrics == NULL) ||
	    (metrics_addr != NULL && strcmp(metrics_addr, nc->milter_metrics) != 0))
		log_warn("reload: a new milter.metrics takes a restart");
	config_unref(nc);
	log_info("reloaded %s", cfg_path);
	daemon_notify_ready();
}

static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	struct router_stats st;
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			reload();
		} else {
			router_get_stats(router, &st);
			log_info("stats: routed=%llu local=%llu none=%llu "
				 "fallback=%llu calls=%llu unused=%llu left=%llu "
				 "pushes=%llu redis=%s",
				 st.routed, st.local, st.none, st.fallback,
				 st.calls, st.returned, milter_left(), st.pushes,
				 st.redis_up ? "up" : "down");
		}
	}
	return NULL;
}

/* Binds the milter socket: libmilter's own bind, no removal (sock.h). */
static int milter_bind(void *arg)
{
	(void)arg;
	if (smfi_opensocket(0) != MI_SUCCESS) {
		if (errno == 0)
			errno = EADDRINUSE;
		return -1;
	}
	return 0;
}

/* Opens the milter socket with the configured mode and owner. */
static void open_socket(const struct config *c, int uid, int gid)
{
	char err[512];

	if (smfi_setconn(c->milter_listen) != MI_SUCCESS)
		log_fatal("smfi_setconn(%s) failed", c->milter_listen);
	if (strncmp(c->milter_listen, "unix:", 5) != 0) {
		errno = 0;
		if (smfi_opensocket(0) != MI_SUCCESS)
			log_fatal("cannot open milter socket %s: %s",
				  c->milter_listen,
				  errno != 0 ? strerror(errno)
					     : "bad address, or the port is "
					       "in use");
		return;
	}
	errno = 0;
	if (sock_unix_create(c->milter_listen + 5, c->milter_socket_mode, uid,
			     gid, milter_bind, NULL, err, sizeof(err)) < 0)
		log_fatal("%s", err);
}

int main(int argc, char **argv)
{
	static sigset_t set;
	sigset_t all;
	struct config *cfg;
	pthread_t sig_tid;
	struct metrics_http *mh = NULL;
	int rc, uid, gid;
	char err[1024];

	/* Blocked before any thread starts, so every thread inherits the
	 * mask: only our sigwait thread takes USR1/USR2, and only libmilter's
	 * own signal thread takes HUP, TERM and INT (a stop, cleanly). */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	all = set;
	sigaddset(&all, SIGHUP);
	sigaddset(&all, SIGTERM);
	sigaddset(&all, SIGINT);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	daemon_parse(argc, argv, "postlb-milter", &opts);
	cfg_path = opts.config;
	log_set_verbose(opts.verbose);
	log_init("postlb-milter", opts.foreground || opts.check);
	if (config_load(cfg_path, &cfg, err, sizeof(err)) < 0)
		log_fatal("%s", err);
	if (cfg->default_pool < 0)
		log_fatal("%s: no routing section (members, pools, "
			  "routing.default_pool)",
			  cfg_path);
	/* -n refuses what a start would: an unknown user or group, root */
	daemon_ids(cfg->milter_user, cfg->milter_group, "milter.user", &uid,
		   &gid);
	if (opts.check) {
		printf("%s: OK (%zu members, %zu pools, %zu rules)\n", cfg_path,
		       cfg->nmembers, cfg->npools, cfg->nrules);
		config_unref(cfg);
		return 0;
	}
	daemon_detach(&opts); /* before any thread */
	router = router_new(cfg);
	if (router == NULL)
		log_fatal("cannot start the router");
	if (smfi_register(*milter_desc(router)) != MI_SUCCESS)
		log_fatal("smfi_register failed");
	smfi_setmaxdatasize(MILTER_PACKET_MAX);
	open_socket(cfg, uid, gid);
	if (cfg->milter_metrics != NULL &&
	    ((metrics_addr = strdup(cfg->milter_metrics)) == NULL ||
	     (mh = metrics_http_start(cfg->milter_metrics,
				      router_metrics_write, router)) == NULL))
		log_fatal("cannot serve metrics on %s", cfg->milter_metrics);
	daemon_drop(uid, gid, "milter.user");
	if (pthread_create(&sig_tid, NULL, signal_thread, &set) != 0)
		log_fatal("cannot start the signal thread");
	log_info("started with %s (%zu members, %zu pools, %zu rules) on %s",
		 cfg_path, cfg->nmembers, cfg->npools, cfg->nrules,
		 cfg->milter_listen);
	config_unref(cfg);
	daemon_notify_ready();
	rc = smfi_main();
	metrics_http_stop(mh);
	daemon_notify_stopping();
	daemon_pidfile_remove(&opts);
	log_info("stopped");
	return rc == MI_SUCCESS ? 0 : 1;
}
