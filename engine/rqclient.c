/*
 * rqclient: talking to postlb-requeue (see rqclient.h).  Reply lines are
 * read into a fixed buffer of RQ_REPLY_MAX + 2 bytes; a longer line ends
 * the conversation.
 */
#include "rqclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct rqclient {
	int fd;
	size_t have;
	char buf[RQ_REPLY_MAX + 2];
};

struct rqclient *rqclient_open(const char *path, long long timeout_ms,
			       char *err, size_t errsz)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {(time_t)(timeout_ms / 1000),
			     (suseconds_t)(timeout_ms % 1000) * 1000};
	struct rqclient *c;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errsz, "%s: path too long", path);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd == -1 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errsz, "postlb-requeue (%s): %s", path,
			 strerror(errno));
		rqclient_close(c);
		return NULL;
	}
	return c;
}

void rqclient_close(struct rqclient *c)
{
	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	free(c);
}

static int rqc_send(struct rqclient *c, const char *s, size_t n, char *err,
		    size_t errsz)
{
	while (n > 0) {
		ssize_t w = write(c->fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errsz, "postlb-requeue: write: %s",
				 w < 0 ? strerror(errno) : "closed");
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The next reply line (NUL-terminated, newline removed) in *line, valid
 * until the next call.  Returns its length or -1. */
static long rqc_line(struct rqclient *c, char **line, char *err, size_t errsz)
{
	static char out[RQ_REPLY_MAX + 2];

	for (;;) {
		char *nl = memchr(c->buf, '\n', c->have);
		ssize_t r;
		if (nl != NULL) {
			size_t n = (size_t)(nl - c->buf);
			memcpy(out, c->buf, n);
			out[n] = '\0';
			c->have -= n + 1;
			memmove(c->buf, nl + 1, c->have);
			*line = out;
			return (long)n;
		}
		if (c->have == sizeof(c->buf)) {
			snprintf(err, errsz, "postlb-requeue: reply too long");
			return -1;
		}
		r = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errsz, "postlb-requeue: read: %s",
				 r < 0 ? strerror(errno) : "closed");
			return -1;
		}
		c->have += (size_t)r;
	}
}

long rqclient_list(struct rqclient *c, const char *member,
		   void (*cb)(void *arg, const struct qscan_msg *m), void *arg,
		   char *err, size_t errsz)
{
	static struct qscan_msg m;
	char req[CONFIG_NAME_MAX + 16], *line;
	long n, count = 0;

	n = snprintf(req, sizeof(req), "list %s\n", member);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    rqc_send(c, req, (size_t)n, err, errsz) < 0)
		return -1;
	while ((n = rqc_line(c, &line, err, errsz)) >= 0) {
		if (strncmp(line, "ok ", 3) == 0)
			return count;
		if (strncmp(line, "err ", 4) == 0) {
			snprintf(err, errsz, "postlb-requeue: %.200s", line + 4);
			return -1;
		}
		if (rqproto_item_parse(line, (size_t)n, &m) < 0) {
			snprintf(err, errsz, "postlb-requeue: bad line");
			return -1;
		}
		cb(arg, &m);
		count++;
	}
	return -1;
}

int rqclient_requeue(struct rqclient *c, const char *member,
		     char (*ids)[ROUTE_QUEUE_ID_MAX + 1], size_t n,
		     long *moved, long *skipped, char *err, size_t errsz)
{
	static char req[RQ_LINE_MAX];
	char *line;
	size_t len;
	long mv, sk;

	len = (size_t)snprintf(req, sizeof(req), "requeue %s", member);
	for (size_t i = 0; i < n && i < RQ_IDS_MAX; i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len, " %s",
					ids[i]);
	req[len++] = '\n';
	if (rqc_send(c, req, len, err, errsz) < 0 ||
	    rqc_line(c, &line, err, errsz) < 0)
		return -1;
	if (sscanf(line, "ok %ld %ld", &mv, &sk) != 2) {
		snprintf(err, errsz, "postlb-requeue: %.200s", line);
		return -1;
	}
	*moved = mv;
	*skipped = sk;
	return 0;
}
