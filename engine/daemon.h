/*
 * daemon: what postlb-policyd and postlb-milter share at startup — the
 * command line (-c FILE, -f, -n, -v), user and group lookup, and dropping
 * root for good.  Startup only: failures are fatal (log_fatal).
 */
#ifndef POSTLB_DAEMON_H
#define POSTLB_DAEMON_H

struct daemon_opts {
	const char *config; /* -c FILE, default CONFIG_DEFAULT_PATH */
	int foreground;	    /* -f */
	int check;	    /* -n */
	int verbose;	    /* -v */
};

/* Parses the options; prints usage for prog and exits 2 on an error. */
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
 * supplementary groups, so group membership can grant it a log to read;
 * none of root's), or refuses to go on
 * when uid is -1 (setting names the config setting to set).  Otherwise a
 * no-op.
 */
void daemon_drop(int uid, int gid, const char *setting);

#endif
