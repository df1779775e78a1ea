/*
 * postlb-requeue: the only part of the drain that runs as root, because
 * `postsuper -r` must.  It lists a member's deferred mail and requeues
 * given queue ids of it (policyd/requeue.c), for postlb-policyd's drain
 * and `postlbctl member drain --dry-run`, over the narrow line protocol
 * of engine/rqproto.h.
 *
 * No network listener: one unix socket in a directory only root may
 * write (checked), mode 0660, group -g (the group postlb-policyd runs
 * in); created with engine/sock.c (lstat + S_ISSOCK, umask around bind,
 * no chmod by path).  No config file, no Redis: -c names the Postfix
 * configuration directory, and each host's instance touches only that
 * host's queue.  One client at a time, each read and write bounded by a
 * timeout; a request line longer than RQ_LINE_MAX closes the connection.
 *
 * Usage: postlb-requeue [-f] [-v] [-c POSTFIX_DIR] [-s SOCKET] [-g GROUP]
 */
#include "log.h"
#include "requeue.h"
#include "sock.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define RQM_IO_TIMEOUT_S 30

static volatile sig_atomic_t rqm_stop;

static void rqm_on_signal(int sig)
{
	(void)sig;
	rqm_stop = 1;
}

static int rqm_write(void *arg, const char *line, size_t len)
{
	int fd = *(int *)arg;

	while (len > 0) {
		ssize_t w = write(fd, line, len);
		if (w < 0 && errno == EINTR && !rqm_stop)
			continue;
		if (w <= 0)
			return -1;
		line += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Serves one client until it closes, errs or times out. */
static void rqm_client(int fd)
{
	static char buf[RQ_LINE_MAX];
	static struct rq_cmd cmd;
	struct timeval tv = {RQM_IO_TIMEOUT_S, 0};
	size_t have = 0;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (!rqm_stop) {
		char *nl = memchr(buf, '\n', have);
		ssize_t r;
		int rc;
		if (nl == NULL) {
			if (have == sizeof(buf)) {
				log_warn("requeue: request line too long");
				return;
			}
			r = read(fd, buf + have, sizeof(buf) - have);
			if (r <= 0)
				return;
			have += (size_t)r;
			continue;
		}
		rc = rqproto_parse(buf, (size_t)(nl - buf), &cmd);
		if (rc < 0) {
			char err[128];
			int n = snprintf(err, sizeof(err), "err %s\n",
					 rqproto_strerror(rc));
			if (rqm_write(&fd, err, (size_t)n) < 0)
				return;
		} else {
			log_info("requeue: %s %s (%zu ids)",
				 cmd.verb == RQ_LIST ? "list" : "requeue",
				 cmd.member, cmd.nqids);
			if (requeue_serve(&cmd, rqm_write, &fd) < 0)
				return;
		}
		have -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, have);
	}
}

static void rqm_usage(void)
{
	fprintf(stderr, "usage: postlb-requeue [-f] [-v] [-c POSTFIX_DIR] "
			"[-s SOCKET] [-g GROUP]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *pfdir = "/etc/postfix";
	const char *path = "/run/postlb-requeue/requeue";
	const char *group = "postlb";
	struct sock_listen b = {NULL, 0, 16, -1};
	struct sigaction sa;
	struct group *gr;
	int fg = 0, opt;
	char err[512];

	while ((opt = getopt(argc, argv, "fvc:s:g:")) != -1) {
		switch (opt) {
		case 'f':
			fg = 1;
			break;
		case 'v':
			log_set_verbose(1);
			break;
		case 'c':
			pfdir = optarg;
			break;
		case 's':
			path = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		default:
			rqm_usage();
		}
	}
	if (optind != argc)
		rqm_usage();
	log_init("postlb-requeue", fg);
	if (geteuid() != 0)
		log_fatal("postlb-requeue must run as root (postsuper does)");
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	umask(022);
	if ((gr = getgrnam(group)) == NULL)
		log_fatal("unknown group %s (-g)", group);
	if (requeue_init(pfdir, err, sizeof(err)) < 0)
		log_fatal("%s", err);
	b.path = path;
	if (sock_unix_create(path, 0660, 0, (int)gr->gr_gid, sock_listen_unix, &b, err,
			     sizeof(err)) < 0)
		log_fatal("%s", err);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = rqm_on_signal; /* no SA_RESTART: accept returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!fg && daemon(0, 0) < 0)
		log_fatal("daemon: %s", strerror(errno));
	log_info("started: %s for %s (group %s)", path, pfdir, group);
	while (!rqm_stop) {
		int fd = accept4(b.fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1)
			continue;
		rqm_client(fd);
		close(fd);
	}
	close(b.fd);
	sock_unix_remove(path);
	log_info("stopped");
	return 0;
}
