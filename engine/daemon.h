/*
 * daemon: what postlb-policyd and postlb-milter share — the command line
 * (-c FILE, -d, -f, -n, -p PIDFILE, -v, --version), user and group lookup,
 * going to the background, the pidfile, dropping root for good, and
 * telling systemd (sd_notify) when the daemon is ready, reloading or
 * stopping.  Startup failures are fatal (log_fatal); the notifications
 * are no-ops outside systemd.
 */
#ifndef POSTLB_DAEMON_H
#define POSTLB_DAEMON_H

struct daemon_opts {
	const char *config; /* -c FILE, default CONFIG_DEFAULT_PATH */
	int foreground;	    /* -f: foreground, log to stderr */
	int nodetach;	    /* -d (or -f): stay in the foreground */
	int check;	    /* -n */
	int verbose;	    /* -v */
	const char *pidfile; /* -p FILE, NULL: none */
};

/*
 * Parses the options; prints usage for prog and exits 2 on an error;
 * --version prints "prog VERSION" and exits 0.
 */
void daemon_parse(int argc, char **argv, const char *prog,
		  struct daemon_opts *o);

/*
 * Looks up user and group (NULL: -1; a user gives its group by default).
 * Running as root without a user is refused here, before the daemon
 * creates any file (setting names the config setting to set).
 */
void daemon_ids(const char *user, const char *group, const char *setting,
		int *uid, int *gid);

/*
 * When running as root: switches to uid/gid for good (with the user's
 * primary and supplementary groups, so group membership can grant it a
 * log or the config to read; none of root's), or refuses to go on
 * when uid is -1 (setting names the config setting to set).  Otherwise a
 * no-op.
 */
void daemon_drop(int uid, int gid, const char *setting);

/*
 * Prints "prog VERSION" and exits 0 when --version is among the
 * arguments (for programs with their own option parsing).
 */
void daemon_version(int argc, char **argv, const char *prog);

/*
 * Unless o->nodetach: goes to the background (fork, setsid, stdio to
 * /dev/null).  Then writes o->pidfile if set (as root, before the drop).
 * Call before any thread starts.
 */
void daemon_detach(const struct daemon_opts *o);

/* Removes o->pidfile if set (at a clean stop; a failure is logged). */
void daemon_pidfile_remove(const struct daemon_opts *o);

/*
 * sd_notify: READY=1 once the sockets are bound and root dropped,
 * RELOADING=1 when a reload starts (READY=1 again when it ends),
 * STOPPING=1 at a stop.  No-ops when not started by systemd.
 */
void daemon_notify_ready(void);
void daemon_notify_reloading(void);
void daemon_notify_stopping(void);

#endif
