/*
 * postlb-policyd: the Postfix policy server of postlb (sending quotas).
 *
 * Startup: parse options, load and validate the config (-n: only that),
 * raise the descriptor limit, bind the listeners as root if need be, then
 * drop privileges for good.  SIGHUP reloads the config without dropping
 * connections (listen changes need a restart); SIGTERM/SIGINT stop
 * cleanly; SIGUSR1 logs the counters.  Signals are handled by libevent in
 * the loop, never in a handler.
 */
#include "config.h"
#include "log.h"
#include "server.h"

#include <errno.h>
#include <event2/event.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *cfg_path = CONFIG_DEFAULT_PATH;
static struct server *srv;
static struct config *cfg;

static void usage(void)
{
	fprintf(stderr, "usage: postlb-policyd [-f] [-n] [-v] [-c FILE]\n"
			"  -c FILE  config file (default " CONFIG_DEFAULT_PATH
			")\n"
			"  -f       stay in the foreground, log to stderr\n"
			"  -n       check the config and exit\n"
			"  -v       verbose (debug) logging\n");
	exit(2);
}

static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct config *nc;
	char err[1024];

	(void)sig;
	(void)what;
	(void)arg;
	if (config_load(cfg_path, &nc, err, sizeof(err)) < 0) {
		log_err("reload failed, keeping the running config: %s", err);
		return;
	}
	server_set_config(srv, nc);
	config_unref(cfg);
	cfg = nc;
	log_info("reloaded %s (%zu quotas)", cfg_path, cfg->nquotas);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("signal %d: shutting down", (int)sig);
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
		 "refused=%llu",
		 st.requests, st.allowed, st.denied, st.failmode, st.timeouts,
		 st.bad, st.conns_now, st.conns_total, st.conns_refused);
}

/* Looks up the run user and group; -1 where not configured. */
static void lookup_ids(const struct config *c, int *uid, int *gid)
{
	*uid = *gid = -1;
	if (c->user != NULL) {
		struct passwd *pw = getpwnam(c->user);
		if (pw == NULL)
			log_fatal("%s: unknown user '%s'", c->path, c->user);
		*uid = (int)pw->pw_uid;
		*gid = (int)pw->pw_gid;
	}
	if (c->group != NULL) {
		struct group *gr = getgrnam(c->group);
		if (gr == NULL)
			log_fatal("%s: unknown group '%s'", c->path, c->group);
		*gid = (int)gr->gr_gid;
	}
}

static void drop_privileges(int uid, int gid)
{
	if (getuid() != 0 && geteuid() != 0)
		return;
	if (uid == -1)
		log_fatal("refusing to run as root: set policyd.user");
	if (setgroups(0, NULL) < 0 || setgid((gid_t)gid) < 0 ||
	    setuid((uid_t)uid) < 0)
		log_fatal("cannot drop privileges: %s", strerror(errno));
	if (setuid(0) == 0)
		log_fatal("privileges were not dropped");
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
	int fg = 0, check = 0, opt, uid, gid;
	char err[1024];

	while ((opt = getopt(argc, argv, "c:fnv")) != -1) {
		switch (opt) {
		case 'c':
			cfg_path = optarg;
			break;
		case 'f':
			fg = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			log_set_verbose(1);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("postlb-policyd", fg || check);
	if (config_load(cfg_path, &cfg, err, sizeof(err)) < 0)
		log_fatal("%s", err);
	if (check) {
		printf("%s: OK (%zu quotas, %zu classes)\n", cfg_path,
		       cfg->nquotas, cfg->nclasses);
		config_unref(cfg);
		return 0;
	}
	lookup_ids(cfg, &uid, &gid);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	if (!fg && daemon(0, 0) < 0)
		log_fatal("daemon: %s", strerror(errno));
	base = event_base_new();
	if (base == NULL)
		log_fatal("cannot create the event loop");
	srv = server_new(base, cfg, uid, gid);
	if (srv == NULL)
		log_fatal("cannot start the policy server");
	drop_privileges(uid, gid);
	ev[0] = evsignal_new(base, SIGHUP, on_reload, NULL);
	ev[1] = evsignal_new(base, SIGTERM, on_stop, base);
	ev[2] = evsignal_new(base, SIGINT, on_stop, base);
	ev[3] = evsignal_new(base, SIGUSR1, on_stats, NULL);
	for (int i = 0; i < 4; i++)
		if (ev[i] == NULL || event_add(ev[i], NULL) < 0)
			log_fatal("cannot install signal handlers");
	log_info("started with %s (%zu quotas, budget %lld ms, fail mode %s)",
		 cfg_path, cfg->nquotas, cfg->budget_ms,
		 cfg->fail_mode == FAIL_OPEN ? "open" : "closed");
	event_base_dispatch(base);
	on_stats(0, 0, NULL);
	server_free(srv);
	for (int i = 0; i < 4; i++)
		event_free(ev[i]);
	event_base_free(base);
	config_unref(cfg);
	log_info("stopped");
	return 0;
}
