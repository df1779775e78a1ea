/*
 * requeue: listing and requeueing a member's deferred mail with Postfix's
 * tools (see requeue.h).
 *
 * Listing: the deferred queue's directory tree gives the queue ids
 * (readdir, no daemon involved: `postqueue -j` asks showq, which reads
 * every file and serialises the whole queue as JSON), then `postcat -e
 * -h -q ID...` in batches of REQUEUE_BATCH prints each file's envelope,
 * headers and stored content filter, which engine/reroute.c's qscan reads.
 * 10,000 deferred messages are listed in about a second.
 *
 * Requeueing: the ids are checked again (still deferred, still filtered
 * to the member: another drain or qmgr may have moved them since the
 * list), then `postsuper -c DIR -r - deferred` reads them on stdin.
 * postsuper renames each file into maildrop (a message is in deferred or
 * in maildrop, never nowhere, whatever is killed when) and touches
 * nothing outside the deferred queue, so a message in active delivery is
 * never moved.  `postkick -c DIR public pickup W` wakes pickup.
 */
#include "requeue.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char rq_pfdir[4096];
static char rq_qdir[4096];

typedef void (*rq_line_fn)(void *arg, const char *line, size_t len);

/* Reads lines of f (cut at REROUTE_LINE_MAX) into cb. */
static void rq_read_lines(FILE *f, rq_line_fn cb, void *arg)
{
	static char buf[REROUTE_LINE_MAX + 2];

	while (fgets(buf, sizeof(buf), f) != NULL) {
		size_t n = strcspn(buf, "\n");
		int whole = buf[n] == '\n';
		cb(arg, buf, n);
		while (!whole && fgets(buf, sizeof(buf), f) != NULL)
			whole = buf[strcspn(buf, "\n")] == '\n';
	}
}

/*
 * Runs argv (no shell), feeding in (inlen bytes, may be NULL) on stdin and
 * its stdout and stderr lines to cb.  Returns the exit status, or -1.
 */
static int rq_run(const char *const *argv, const char *in, size_t inlen,
		  rq_line_fn cb, void *arg)
{
	int ofd[2], ifd[2] = {-1, -1}, status;
	pid_t pid;
	FILE *f;

	if (pipe2(ofd, O_CLOEXEC) < 0)
		return -1;
	if (in != NULL && pipe2(ifd, O_CLOEXEC) < 0) {
		close(ofd[0]);
		close(ofd[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(in != NULL ? ifd[0] : null, 0);
		dup2(ofd[1], 1);
		dup2(ofd[1], 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(ofd[1]);
	if (in != NULL) {
		close(ifd[0]);
		/* at most RQ_IDS_MAX ids: far below a pipe's buffer */
		if (pid > 0 && write(ifd[1], in, inlen) != (ssize_t)inlen)
			log_warn("requeue: short write to %s", argv[0]);
		close(ifd[1]);
	}
	if (pid < 0 || (f = fdopen(ofd[0], "r")) == NULL) {
		close(ofd[0]);
		if (pid > 0)
			waitpid(pid, &status, 0);
		return -1;
	}
	rq_read_lines(f, cb, arg);
	fclose(f);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void rq_first_line(void *arg, const char *line, size_t len)
{
	char *out = arg;

	if (out[0] == '\0' && len < sizeof(rq_qdir))
		memcpy(out, line, len), out[len] = '\0';
}

int requeue_init(const char *pfdir, char *err, size_t errsz)
{
	const char *argv[] = {"postconf", "-c", pfdir, "-h", "queue_directory",
			      NULL};

	if (strlen(pfdir) >= sizeof(rq_pfdir)) {
		snprintf(err, errsz, "%s: path too long", pfdir);
		return -1;
	}
	snprintf(rq_pfdir, sizeof(rq_pfdir), "%s", pfdir);
	rq_qdir[0] = '\0';
	if (rq_run(argv, NULL, 0, rq_first_line, rq_qdir) != 0 ||
	    rq_qdir[0] != '/') {
		snprintf(err, errsz,
			 "postconf -c %s -h queue_directory failed (%s)", pfdir,
			 rq_qdir);
		return -1;
	}
	return 0;
}

/* The ids found under dir (hashed subdirectories, depth <= 3). */
struct rq_ids {
	char (*id)[ROUTE_QUEUE_ID_MAX + 1];
	size_t n, cap;
};

static void rq_scan_dir(const char *dir, int depth, struct rq_ids *ids)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char sub[4200];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL && ids->n < REQUEUE_LIST_MAX) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		if (e->d_type == DT_DIR && depth < 3) {
			snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
			rq_scan_dir(sub, depth + 1, ids);
		} else if (e->d_type == DT_REG && reroute_qid_ok(e->d_name, n)) {
			if (ids->n == ids->cap) {
				size_t cap = ids->cap ? ids->cap * 2 : 1024;
				void *p = realloc(ids->id, cap * sizeof(*ids->id));
				if (p == NULL)
					break;
				ids->id = p;
				ids->cap = cap;
			}
			memcpy(ids->id[ids->n++], e->d_name, n + 1);
		}
	}
	closedir(d);
}

/* One postcat batch: each deferred message filtered to member goes to cb. */
struct rq_scan {
	struct qscan q;
	struct qscan_msg m;
	const char *member;
	void (*cb)(void *arg, const struct qscan_msg *m);
	void *arg;
};

static void rq_scan_line(void *arg, const char *line, size_t len)
{
	struct rq_scan *s = arg;

	if (qscan_line(&s->q, line, len, &s->m) == 1 &&
	    strcmp(s->m.queue, "deferred") == 0 &&
	    strcmp(s->m.transport, s->member) == 0)
		s->cb(s->arg, &s->m);
}

static void rq_postcat(char (*ids)[ROUTE_QUEUE_ID_MAX + 1], size_t n,
		       struct rq_scan *s)
{
	const char *argv[8 + REQUEUE_BATCH];
	size_t a = 0;

	argv[a++] = "postcat";
	argv[a++] = "-c";
	argv[a++] = rq_pfdir;
	argv[a++] = "-e";
	argv[a++] = "-h";
	argv[a++] = "-q";
	for (size_t i = 0; i < n; i++)
		argv[a++] = ids[i];
	argv[a] = NULL;
	qscan_init(&s->q);
	/* postcat exits 1 when an id has gone meanwhile: not an error */
	rq_run(argv, NULL, 0, rq_scan_line, s);
}

/* list: each message becomes a reply line */
struct rq_list {
	requeue_out_fn out;
	void *arg;
	size_t n;
	int gone;
};

static void rq_list_msg(void *arg, const struct qscan_msg *m)
{
	struct rq_list *l = arg;
	static char line[RQ_REPLY_MAX + 2];
	size_t n = rqproto_item_format(m, line, sizeof(line));

	if (l->gone || n == 0)
		return;
	if (l->out(l->arg, line, n) < 0)
		l->gone = 1;
	l->n++;
}

static int rq_list(const struct rq_cmd *cmd, requeue_out_fn out, void *arg)
{
	struct rq_ids ids = {0};
	struct rq_list l = {out, arg, 0, 0};
	struct rq_scan *s = calloc(1, sizeof(*s));
	char dir[4200], line[64];
	int n;

	if (s == NULL)
		return out(arg, "err out of memory\n", 18);
	snprintf(dir, sizeof(dir), "%s/deferred", rq_qdir);
	rq_scan_dir(dir, 1, &ids);
	s->member = cmd->member;
	s->cb = rq_list_msg;
	s->arg = &l;
	for (size_t i = 0; i < ids.n && !l.gone; i += REQUEUE_BATCH)
		rq_postcat(ids.id + i,
			   ids.n - i < REQUEUE_BATCH ? ids.n - i : REQUEUE_BATCH,
			   s);
	free(ids.id);
	free(s);
	if (l.gone)
		return -1;
	n = snprintf(line, sizeof(line), "ok %zu\n", l.n);
	return out(arg, line, (size_t)n);
}

/* requeue: the ids still deferred and filtered to the member, on stdin */
struct rq_keep {
	char *buf;
	size_t len, n;
};

static void rq_keep_msg(void *arg, const struct qscan_msg *m)
{
	struct rq_keep *k = arg;
	size_t n = strlen(m->qid);

	memcpy(k->buf + k->len, m->qid, n);
	k->buf[k->len + n] = '\n';
	k->len += n + 1;
	k->n++;
}

static void rq_count_line(void *arg, const char *line, size_t len)
{
	long *moved = arg;
	const char *p;
	char buf[256];

	snprintf(buf, sizeof(buf), "%.*s", (int)(len < 255 ? len : 255), line);
	if ((p = strstr(buf, "Requeued: ")) != NULL)
		*moved = strtol(p + 10, NULL, 10);
}

static void rq_ignore_line(void *arg, const char *line, size_t len)
{
	(void)arg;
	(void)line;
	(void)len;
}

static int rq_requeue(const struct rq_cmd *cmd, requeue_out_fn out, void *arg)
{
	static char (*ids)[ROUTE_QUEUE_ID_MAX + 1];
	static char buf[RQ_IDS_MAX * (ROUTE_QUEUE_ID_MAX + 1)];
	const char *ps[] = {"postsuper", "-c", rq_pfdir, "-r", "-", "deferred",
			    NULL};
	const char *pk[] = {"postkick", "-c", rq_pfdir, "public", "pickup",
			    "W", NULL};
	struct rq_keep k = {buf, 0, 0};
	struct rq_scan *s = calloc(1, sizeof(*s));
	long moved = 0;
	char line[64];
	int n, rc;

	if (s == NULL)
		return out(arg, "err out of memory\n", 18);
	ids = (char (*)[ROUTE_QUEUE_ID_MAX + 1])cmd->qids;
	s->member = cmd->member;
	s->cb = rq_keep_msg;
	s->arg = &k;
	rq_postcat(ids, cmd->nqids, s);
	free(s);
	if (k.n > 0) {
		rc = rq_run(ps, k.buf, k.len, rq_count_line, &moved);
		if (rc != 0)
			log_warn("requeue: postsuper exited with %d", rc);
		if (moved > 0 && rq_run(pk, NULL, 0, rq_ignore_line, NULL) != 0)
			log_warn("requeue: postkick pickup failed");
	}
	n = snprintf(line, sizeof(line), "ok %ld %ld\n", moved,
		     (long)cmd->nqids - moved);
	return out(arg, line, (size_t)n);
}

int requeue_serve(const struct rq_cmd *cmd, requeue_out_fn out, void *arg)
{
	return cmd->verb == RQ_LIST ? rq_list(cmd, out, arg)
				    : rq_requeue(cmd, out, arg);
}
