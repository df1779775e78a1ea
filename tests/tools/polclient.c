/*
 * polclient: a Postfix policy protocol client for tests and benchmarks.
 *
 *   polclient -s ADDR [-n N] [-k K] ATTR=VALUE...
 *       sends the request N times (default 1) on one connection and prints
 *       each answer's action, one per line.
 *   polclient -s ADDR -L -c CONNS -n TOTAL [-k K] ATTR=VALUE...
 *       load: CONNS connections, one request in flight each, TOTAL requests;
 *       prints "requests=.. seconds=.. rate=.. p50_us=.. p99_us=.. ..."
 *   polclient -s ADDR -I -c CONNS -t SECONDS
 *       opens CONNS idle connections and holds them for SECONDS.
 *
 * ADDR is "unix:/path" or "host:port".  In ATTR values "%d" is replaced by
 * the request number modulo K (default 1), to spread requests over keys.
 * request=smtpd_access_policy is added when absent.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *addr;
static char **attrs;
static int nattrs;
static long kmod = 1;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Builds request number i into out; returns its length. */
static size_t build(char *out, size_t outsz, long i)
{
	size_t o = 0;
	int has_request = 0;

	for (int a = 0; a < nattrs; a++) {
		const char *pct = strstr(attrs[a], "%d");
		if (strncmp(attrs[a], "request=", 8) == 0)
			has_request = 1;
		if (pct)
			o += (size_t)snprintf(out + o, outsz - o, "%.*s%ld%s\n",
					      (int)(pct - attrs[a]), attrs[a],
					      i % kmod, pct + 2);
		else
			o += (size_t)snprintf(out + o, outsz - o, "%s\n",
					      attrs[a]);
	}
	if (!has_request)
		o += (size_t)snprintf(out + o, outsz - o,
				      "request=smtpd_access_policy\n");
	o += (size_t)snprintf(out + o, outsz - o, "\n");
	return o;
}

static int connect_addr(void)
{
	int fd;

	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			perror(addr);
			exit(1);
		}
	} else {
		struct sockaddr_storage ss;
		int len = sizeof(ss);
		if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss,
					       &len) < 0) {
			fprintf(stderr, "bad address %s\n", addr);
			exit(2);
		}
		fd = socket(ss.ss_family, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&ss,
				      (socklen_t)len) < 0) {
			perror(addr);
			exit(1);
		}
	}
	return fd;
}

/* Reads one answer (up to the empty line) from fd into out. */
static int read_answer(int fd, char *out, size_t outsz)
{
	size_t o = 0;

	while (o + 1 < outsz) {
		ssize_t n = read(fd, out + o, 1);
		if (n <= 0)
			return -1;
		o++;
		if (o >= 2 && out[o - 1] == '\n' && out[o - 2] == '\n')
			break;
	}
	out[o] = '\0';
	return 0;
}

static int run_simple(long n)
{
	int fd = connect_addr();
	char req[65536], ans[4096];

	for (long i = 0; i < n; i++) {
		size_t len = build(req, sizeof(req), i);
		char *nl;
		if (write(fd, req, len) != (ssize_t)len ||
		    read_answer(fd, ans, sizeof(ans)) < 0) {
			fprintf(stderr, "connection closed\n");
			return 1;
		}
		nl = strchr(ans, '\n');
		if (nl)
			*nl = '\0';
		printf("%s\n", strncmp(ans, "action=", 7) == 0 ? ans + 7 : ans);
		fflush(stdout);
	}
	close(fd);
	return 0;
}

struct lconn {
	struct bufferevent *bev;
	double sent;
};

static long total, sent_n, done_n;
static double *lat;
static struct event_base *base;
static long answers_dunno, answers_other;

static void lsend(struct lconn *c)
{
	char req[65536];
	size_t len;

	if (sent_n >= total)
		return;
	len = build(req, sizeof(req), sent_n++);
	c->sent = now_us();
	bufferevent_write(c->bev, req, len);
}

static void lread(struct bufferevent *bev, void *arg)
{
	struct lconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		struct evbuffer_ptr p = evbuffer_search(in, "\n\n", 2, NULL);
		char head[16] = {0};
		if (p.pos < 0)
			return;
		evbuffer_copyout(in, head, sizeof(head) - 1);
		if (strncmp(head, "action=DUNNO", 12) == 0)
			answers_dunno++;
		else
			answers_other++;
		evbuffer_drain(in, (size_t)p.pos + 2);
		lat[done_n++] = now_us() - c->sent;
		if (done_n == total) {
			event_base_loopbreak(base);
			return;
		}
		lsend(c);
	}
}

static void levent(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		fprintf(stderr, "load: connection lost\n");
		exit(1);
	}
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int run_load(int conns, long n)
{
	struct lconn *cs = calloc((size_t)conns, sizeof(*cs));
	double t0, t1;

	raise_nofile();
	total = n;
	lat = calloc((size_t)n, sizeof(double));
	base = event_base_new();
	if (cs == NULL || lat == NULL || base == NULL)
		return 1;
	for (int i = 0; i < conns; i++) {
		cs[i].bev = bufferevent_socket_new(base, connect_addr(),
						   BEV_OPT_CLOSE_ON_FREE);
		bufferevent_setcb(cs[i].bev, lread, NULL, levent, &cs[i]);
		bufferevent_enable(cs[i].bev, EV_READ | EV_WRITE);
	}
	t0 = now_us();
	for (int i = 0; i < conns; i++)
		lsend(&cs[i]);
	event_base_dispatch(base);
	t1 = now_us();
	qsort(lat, (size_t)done_n, sizeof(double), cmpd);
	printf("requests=%ld seconds=%.3f rate=%.0f p50_us=%.0f p99_us=%.0f "
	       "p999_us=%.0f max_us=%.0f dunno=%ld other=%ld\n",
	       done_n, (t1 - t0) / 1e6, (double)done_n / ((t1 - t0) / 1e6),
	       lat[done_n / 2], lat[(long)((double)done_n * 0.99)],
	       lat[(long)((double)done_n * 0.999)], lat[done_n - 1],
	       answers_dunno, answers_other);
	return 0;
}

static int run_idle(int conns, int seconds)
{
	raise_nofile();
	for (int i = 0; i < conns; i++)
		(void)connect_addr();
	printf("opened %d connections\n", conns);
	fflush(stdout);
	sleep((unsigned)seconds);
	return 0;
}

int main(int argc, char **argv)
{
	long n = 1;
	int conns = 1, load = 0, idle = 0, seconds = 10, opt;

	while ((opt = getopt(argc, argv, "s:n:k:c:LIt:")) != -1) {
		switch (opt) {
		case 's':
			addr = optarg;
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'k':
			kmod = atol(optarg);
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 'L':
			load = 1;
			break;
		case 'I':
			idle = 1;
			break;
		case 't':
			seconds = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: see the comment in "
					"tests/tools/polclient.c\n");
			return 2;
		}
	}
	if (addr == NULL || n < 1 || kmod < 1 || conns < 1) {
		fprintf(stderr, "polclient: -s ADDR required; -n, -k, -c > 0\n");
		return 2;
	}
	attrs = argv + optind;
	nattrs = argc - optind;
	if (idle)
		return run_idle(conns, seconds);
	if (load)
		return run_load(conns, n);
	return run_simple(n);
}
