/*
 * daemon: shared startup of the postlb daemons (see daemon.h).
 */
#include "daemon.h"

#include "config.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

static void daemon_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-d] [-f] [-n] [-v] [-c FILE] [-p PIDFILE]\n"
		"       %s --version\n"
		"  -c FILE     config file (default " CONFIG_DEFAULT_PATH ")\n"
		"  -d          stay in the foreground, log to syslog (systemd)\n"
		"  -f          stay in the foreground, log to stderr\n"
		"  -n          check the config and exit\n"
		"  -p PIDFILE  write the process id to PIDFILE\n"
		"  -v          verbose (debug) logging\n",
		prog, prog);
	exit(2);
}

void daemon_version(int argc, char **argv, const char *prog)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return;
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", prog, PACKAGE_VERSION);
			exit(0);
		}
	}
}

void daemon_parse(int argc, char **argv, const char *prog,
		  struct daemon_opts *o)
{
	int opt;

	daemon_version(argc, argv, prog);
	o->config = CONFIG_DEFAULT_PATH;
	o->pidfile = NULL;
	o->foreground = o->nodetach = o->check = o->verbose = 0;
	while ((opt = getopt(argc, argv, "c:dfnp:v")) != -1) {
		switch (opt) {
		case 'c':
			o->config = optarg;
			break;
		case 'd':
			o->nodetach = 1;
			break;
		case 'f':
			o->foreground = o->nodetach = 1;
			break;
		case 'p':
			o->pidfile = optarg;
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
	/* the user's own groups stay (adm, systemd-journal: its log; its
	 * primary group, which may own the config, even when gid is another
	 * group); root's supplementary groups go */
	pw = getpwuid((uid_t)uid);
	if ((pw != NULL ? initgroups(pw->pw_name, pw->pw_gid)
			: setgroups(0, NULL)) < 0 ||
	    setgid((gid_t)gid) < 0 ||
	    setuid((uid_t)uid) < 0)
		log_fatal("cannot drop privileges: %s", strerror(errno));
	if (setuid(0) == 0)
		log_fatal("privileges were not dropped");
}

static void daemon_pidfile_write(const char *path)
{
	char buf[32];
	int fd, n;

	/* O_NOFOLLOW: a link planted at the path is refused, not followed */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd == -1)
		log_fatal("cannot write pidfile %s: %s", path, strerror(errno));
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		int e = errno;
		close(fd);
		log_fatal("cannot write pidfile %s: %s", path, strerror(e));
	}
	if (close(fd) < 0)
		log_fatal("cannot write pidfile %s: %s", path, strerror(errno));
}

void daemon_detach(const struct daemon_opts *o)
{
	if (!o->nodetach && daemon(0, 0) < 0)
		log_fatal("cannot go to the background: %s", strerror(errno));
	if (o->pidfile != NULL)
		daemon_pidfile_write(o->pidfile);
}

void daemon_pidfile_remove(const struct daemon_opts *o)
{
	/* after the drop this needs a directory the user may write */
	if (o->pidfile != NULL && unlink(o->pidfile) < 0 && errno != ENOENT)
		log_warn("cannot remove pidfile %s: %s", o->pidfile,
			 strerror(errno));
}

void daemon_notify_ready(void)
{
	sd_notifyf(0, "READY=1\nMAINPID=%ld", (long)getpid());
}

void daemon_notify_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

void daemon_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
