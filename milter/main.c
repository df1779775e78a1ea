/*
 * postlb-milter: per-message routing for Postfix (pools and members).
 *
 * Startup: options, config (-n: check and exit), the milter socket (a
 * stale unix socket is removed; mode and owner from the config), then
 * privileges are dropped for good and smfi_main() runs.  libmilter turns
 * SIGHUP into a shutdown, so the config is reloaded on SIGUSR1 by a
 * sigwait thread started before smfi_main(); SIGUSR2 logs the counters.
 */
#include "config.h"
#include "log.h"
#include "milter.h"
#include "router.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *cfg_path = CONFIG_DEFAULT_PATH;
static struct router *router;

static void usage(void)
{
	fprintf(stderr, "usage: postlb-milter [-f] [-n] [-v] [-c FILE]\n"
			"  -c FILE  config file (default " CONFIG_DEFAULT_PATH
			")\n"
			"  -f       log to stderr instead of syslog\n"
			"  -n       check the config and exit\n"
			"  -v       verbose (debug) logging\n");
	exit(2);
}

static void reload(void)
{
	struct config *nc;
	char err[1024];

	if (config_load(cfg_path, &nc, err, sizeof(err)) < 0) {
		log_err("reload failed, keeping the running config: %s", err);
		return;
	}
	if (nc->default_pool < 0) {
		log_err("reload failed, keeping the running config: %s has no "
			"routing section",
			cfg_path);
		config_unref(nc);
		return;
	}
	router_set_config(router, nc);
	config_unref(nc);
	log_info("reloaded %s", cfg_path);
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
				 "fallback=%llu redis=%s",
				 st.routed, st.local, st.none, st.fallback,
				 st.redis_up ? "up" : "down");
		}
	}
	return NULL;
}

static void drop_privileges(const struct config *c)
{
	struct passwd *pw;
	gid_t gid;

	if (getuid() != 0 && geteuid() != 0)
		return;
	if (c->milter_user == NULL)
		log_fatal("refusing to run as root: set milter.user");
	pw = getpwnam(c->milter_user);
	if (pw == NULL)
		log_fatal("unknown user '%s'", c->milter_user);
	gid = pw->pw_gid;
	if (c->milter_group != NULL) {
		struct group *gr = getgrnam(c->milter_group);
		if (gr == NULL)
			log_fatal("unknown group '%s'", c->milter_group);
		gid = gr->gr_gid;
	}
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		log_fatal("cannot drop privileges: %s", strerror(errno));
	if (setuid(0) == 0)
		log_fatal("privileges were not dropped");
}

/* Opens the milter socket and gives it the configured mode and owner. */
static void open_socket(const struct config *c)
{
	const char *path = c->milter_listen + 5;

	if (smfi_setconn(c->milter_listen) != MI_SUCCESS)
		log_fatal("smfi_setconn(%s) failed", c->milter_listen);
	if (smfi_opensocket(1) != MI_SUCCESS)
		log_fatal("cannot open milter socket %s", c->milter_listen);
	if (strncmp(c->milter_listen, "unix:", 5) != 0)
		return;
	if (chmod(path, c->milter_socket_mode) < 0)
		log_fatal("chmod %s: %s", path, strerror(errno));
	if (c->milter_user != NULL && (getuid() == 0 || geteuid() == 0)) {
		struct passwd *pw = getpwnam(c->milter_user);
		struct group *gr = c->milter_group ? getgrnam(c->milter_group)
						   : NULL;
		if (pw == NULL ||
		    chown(path, pw->pw_uid, gr ? gr->gr_gid : pw->pw_gid) < 0)
			log_fatal("chown %s: %s", path, strerror(errno));
	}
}

int main(int argc, char **argv)
{
	static sigset_t set;
	struct config *cfg;
	pthread_t sig_tid;
	int fg = 0, check = 0, opt, rc;
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
	log_init("postlb-milter", fg || check);
	if (config_load(cfg_path, &cfg, err, sizeof(err)) < 0)
		log_fatal("%s", err);
	if (cfg->default_pool < 0)
		log_fatal("%s: no routing section (members, pools, "
			  "routing.default_pool)",
			  cfg_path);
	if (check) {
		printf("%s: OK (%zu members, %zu pools, %zu rules)\n", cfg_path,
		       cfg->nmembers, cfg->npools, cfg->nrules);
		config_unref(cfg);
		return 0;
	}
	router = router_new(cfg);
	if (router == NULL)
		log_fatal("cannot start the router");
	if (smfi_register(*milter_desc(router)) != MI_SUCCESS)
		log_fatal("smfi_register failed");
	open_socket(cfg);
	drop_privileges(cfg);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&sig_tid, NULL, signal_thread, &set) != 0)
		log_fatal("cannot start the signal thread");
	log_info("started with %s (%zu members, %zu pools, %zu rules) on %s",
		 cfg_path, cfg->nmembers, cfg->npools, cfg->nrules,
		 cfg->milter_listen);
	config_unref(cfg);
	rc = smfi_main();
	log_info("stopped");
	return rc == MI_SUCCESS ? 0 : 1;
}
