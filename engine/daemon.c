/*
 * daemon: shared startup of the postlb daemons (see daemon.h).
 */
#include "daemon.h"

#include "config.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void daemon_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-f] [-n] [-v] [-c FILE]\n"
		"  -c FILE  config file (default " CONFIG_DEFAULT_PATH ")\n"
		"  -f       log to stderr (postlb-policyd: also stay in the foreground)\n"
		"  -n       check the config and exit\n"
		"  -v       verbose (debug) logging\n",
		prog);
	exit(2);
}

void daemon_parse(int argc, char **argv, const char *prog,
		  struct daemon_opts *o)
{
	int opt;

	o->config = CONFIG_DEFAULT_PATH;
	o->foreground = o->check = o->verbose = 0;
	while ((opt = getopt(argc, argv, "c:fnv")) != -1) {
		switch (opt) {
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'n':
			o->check = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		default:
			daemon_usage(prog);
		}
	}
	if (optind != argc)
		daemon_usage(prog);
}

void daemon_ids(const char *user, const char *group, const char *setting,
		int *uid, int *gid)
{
	*uid = *gid = -1;
	if (user != NULL) {
		struct passwd *pw = getpwnam(user);
		if (pw == NULL)
			log_fatal("unknown user '%s'", user);
		*uid = (int)pw->pw_uid;
		*gid = (int)pw->pw_gid;
	}
	if (group != NULL) {
		struct group *gr = getgrnam(group);
		if (gr == NULL)
			log_fatal("unknown group '%s'", group);
		*gid = (int)gr->gr_gid;
	}
	/* before any file is created as root, not at the drop */
	if (*uid == -1 && (getuid() == 0 || geteuid() == 0))
		log_fatal("refusing to run as root: set %s", setting);
}

void daemon_drop(int uid, int gid, const char *setting)
{
	struct passwd *pw;

	if (getuid() != 0 && geteuid() != 0)
		return;
	if (uid == -1)
		log_fatal("refusing to run as root: set %s", setting);
	/* the user's own groups stay (adm, systemd-journal: its log);
	 * root's supplementary groups go */
	pw = getpwuid((uid_t)uid);
	if ((pw != NULL ? initgroups(pw->pw_name, (gid_t)gid)
			: setgroups(0, NULL)) < 0 ||
	    setgid((gid_t)gid) < 0 ||
	    setuid((uid_t)uid) < 0)
		log_fatal("cannot drop privileges: %s", strerror(errno));
	if (setuid(0) == 0)
		log_fatal("privileges were not dropped");
}
