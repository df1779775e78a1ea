/*
 * test_server: policyd/server.c over a fake store (-Wl,--wrap=store_*):
 * the store's calls are recorded and answered by the test, late or not at
 * all, while a real client socket talks to the server's real listener in
 * this process's event loop.  Checks that a connection is not read while
 * its request waits for the store (a flood stays in the client's socket
 * buffer), that the next request goes on once the answer is written, that
 * a verdict after the budget is given back under fail_mode closed (in
 * time: cost and reserved microseconds) and kept under open, and that a
 * TCP listener closes clients outside policyd.allow, and that each answer
 * is counted for /metrics under its protocol state and kind, with one
 * latency observation, and a denial under its quota's name.
 */
#include "config.h"
#include "server.h"
#include "store_redis.h"

#include <errno.h>
#include <signal.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_cases.h"

/* ---- the fake store ---- */

#define CALLS_MAX 64

static struct fake_call {
	store_quota_cb cb;
	void *arg;
	size_t n;
	long long cost[4];
} calls[CALLS_MAX];
static size_t ncalls;
static int fake_store;

struct store *__wrap_store_new(struct event_base *base,
			       const struct config *c);
void __wrap_store_free(struct store *s);
int __wrap_store_reconfigure(struct store *s, const struct config *c);
void __wrap_store_get_stats(const struct store *s, struct store_stats *out);
int __wrap_store_quota_check(struct store *s, const struct quota_plan *plan,
			     store_quota_cb cb, void *arg);

struct store *__wrap_store_new(struct event_base *base,
			       const struct config *c)
{
	(void)base;
	(void)c;
	return (struct store *)&fake_store;
}

void __wrap_store_free(struct store *s)
{
	(void)s;
}

int __wrap_store_reconfigure(struct store *s, const struct config *c)
{
	(void)s;
	(void)c;
	return 0;
}

void __wrap_store_get_stats(const struct store *s, struct store_stats *out)
{
	(void)s;
	memset(out, 0, sizeof(*out));
}

static size_t nrefusals;
void __wrap_refusals_count(struct store *st, const char *prefix,
			   const char *quota);

/* Counts the quota refusals the server reports for postlbctl stats. */
void __wrap_refusals_count(struct store *st, const char *prefix,
			   const char *quota)
{
	(void)st;
	(void)prefix;
	(void)quota;
	nrefusals++;
}

/* Records the call; the test answers it (or never does). */
int __wrap_store_quota_check(struct store *s, const struct quota_plan *plan,
			     store_quota_cb cb, void *arg)
{
	struct fake_call *f = &calls[ncalls];

	(void)s;
	assert_true(ncalls < CALLS_MAX);
	f->cb = cb;
	f->arg = arg;
	f->n = plan->n;
	for (size_t i = 0; i < plan->n && i < 4; i++)
		f->cost[i] = plan->checks[i].cost;
	ncalls++;
	return 0;
}

/* ---- a server and a client in this process ---- */

static struct event_base *base;
static struct server *srv;
static struct config *cfg;
static char dir[] = "/tmp/test_server.XXXXXX", sock[100];

static const char REQ[] = "request=smtpd_access_policy\n"
			  "protocol_state=END-OF-MESSAGE\n"
			  "sender=s@example.com\nrecipient_count=1\n"
			  "size=10\nclient_address=127.0.0.1\n\n";
static const char FAIL_TEXT[] =
    "action=DEFER_IF_PERMIT 4.3.0 Sending quota service temporarily "
    "unavailable; try again later\n\n";

/* Starts a server with config text. */
static void start_conf(const char *text)
{
	ncalls = 0;
	cfg = load_valid("t.conf", text);
	base = event_base_new();
	assert_non_null(base);
	srv = server_new(base, cfg, -1, -1);
	assert_non_null(srv);
}

/* Starts a server on a unix socket under fail_mode and budget. */
static void start(const char *fail_mode, const char *budget)
{
	char text[1024];

	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/policy", dir);
	snprintf(text, sizeof(text),
		 "policyd = { listen = [ \"unix:%s\" ]; budget = \"%s\"; "
		 "fail_mode = \"%s\"; reserve = false; };\n"
		 "quotas = ( { name = \"q\"; subject = \"sender\"; unit = "
		 "\"messages\"; limit = 1000; window = \"1h\"; } );\n",
		 sock, budget, fail_mode);
	start_conf(text);
}

static void stop(void)
{
	server_free(srv);
	srv = NULL;
	event_base_free(base);
	config_unref(cfg);
	if (strchr(dir, 'X') == NULL) /* a unix socket's directory */
		rmdir(dir);
	strcpy(dir, "/tmp/test_server.XXXXXX");
}

/* Runs the loop for about ms milliseconds. */
static void pump(int ms)
{
	struct timespec ts = {0, 1000000};

	for (int i = 0; i < ms; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		nanosleep(&ts, NULL);
	}
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static int client(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd != -1);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

/* Reads what the server sent so far into buf (NUL-terminated). */
static size_t answers(int fd, char *buf, size_t sz)
{
	ssize_t n = read(fd, buf, sz - 1);

	n = n < 0 ? 0 : n;
	buf[n] = '\0';
	return (size_t)n;
}

static void allowed(struct quota_verdict *v, long long charged_us,
		    long long reserved, long long reserved_us)
{
	memset(v, 0, sizeof(*v));
	v->allowed = 1;
	v->charged_us[0] = charged_us;
	v->reserved[0] = reserved;
	v->reserved_us[0] = reserved_us;
}

/* ---- tests ---- */

/*
 * While a request waits for the store, the connection is not read: a
 * client pushing megabytes of requests meanwhile fills its socket buffer
 * and then cannot write; the next request goes on after the answer.
 */
static void test_no_read_while_waiting(void **state)
{
	static char flood[4 << 20];
	struct quota_verdict v;
	char buf[4096];
	size_t pushed = 0;
	int fd;

	(void)state;
	start("closed", "5s"); /* no budget expiry here */
	fd = client();
	for (size_t o = 0; o + sizeof(REQ) - 1 <= sizeof(flood);
	     o += sizeof(REQ) - 1)
		memcpy(flood + o, REQ, sizeof(REQ) - 1);
	assert_int_equal(write(fd, REQ, sizeof(REQ) - 1), sizeof(REQ) - 1);
	pump(5);
	assert_int_equal(ncalls, 1);
	for (int i = 0; i < 20; i++) { /* a flood, the loop running */
		ssize_t w = write(fd, flood, sizeof(flood) - pushed % 4096);
		if (w > 0)
			pushed += (size_t)w;
		pump(1);
	}
	print_message("  pushed %zu bytes while a request waited\n", pushed);
	assert_true(pushed < (size_t)2 << 20); /* socket buffers, no more */
	assert_int_equal(ncalls, 1);
	/* the answer: written, and the next request goes to the store */
	allowed(&v, 3600000, 0, 0);
	calls[0].cb(calls[0].arg, 0, &v);
	pump(5);
	assert_int_equal(ncalls, 2);
	assert_true(answers(fd, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "action=DUNNO\n\n");
	close(fd);
	pump(2);
	for (size_t i = 1; i < ncalls; i++) /* let the tickets go */
		calls[i].cb(calls[i].arg, -STORE_EDOWN, NULL);
	stop();
}

/* A verdict after the budget: closed gives its charge back, in time. */
static void test_late_verdict(void **state)
{
	static const char *const modes[] = {"closed", "open"};
	struct quota_verdict v;
	char buf[4096];

	(void)state;
	for (int m = 0; m < 2; m++) {
		int fd;
		start(modes[m], "50ms");
		fd = client();
		assert_int_equal(write(fd, REQ, sizeof(REQ) - 1),
				 sizeof(REQ) - 1);
		pump(80); /* past the 50 ms budget */
		assert_int_equal(ncalls, 1);
		answers(fd, buf, sizeof(buf));
		assert_string_equal(buf, m == 0 ? FAIL_TEXT
						: "action=DUNNO\n\n");
		/* the late verdict: 1 unit (3.6 s) and 2 reserved (7.2 s) */
		allowed(&v, 3600000, 2, 7200000);
		calls[0].cb(calls[0].arg, 0, &v);
		if (m == 0) {
			assert_int_equal(ncalls, 2); /* one give-back */
			assert_int_equal(calls[1].n, 1);
			assert_int_equal(calls[1].cost[0], -(3600000 + 7200000));
			calls[1].cb(calls[1].arg, 0, &v);
		} else {
			assert_int_equal(ncalls, 1); /* the charge stays */
		}
		close(fd);
		pump(2);
		stop();
	}
}

/*
 * A quota refusal is counted for postlbctl stats (refusals_count), once;
 * an allowed request, a store failure and a verdict after the budget are
 * not.
 */
static void test_refusal_counted(void **state)
{
	struct quota_verdict v;
	char buf[4096];
	int fd;

	(void)state;
	start("open", "1s");
	nrefusals = 0;
	fd = client();
	assert_int_equal(write(fd, REQ, sizeof(REQ) - 1), sizeof(REQ) - 1);
	pump(5);
	assert_int_equal(ncalls, 1);
	allowed(&v, 3600000, 0, 0);
	calls[0].cb(calls[0].arg, 0, &v);
	pump(5);
	assert_int_equal(nrefusals, 0);
	assert_int_equal(write(fd, REQ, sizeof(REQ) - 1), sizeof(REQ) - 1);
	pump(5);
	assert_int_equal(ncalls, 2);
	memset(&v, 0, sizeof(v));
	v.idx = 0;
	v.limit = 1000;
	v.window_ms = 3600000;
	v.retry_us = 3600000;
	calls[1].cb(calls[1].arg, 0, &v);
	pump(5);
	assert_int_equal(nrefusals, 1);
	assert_int_equal(write(fd, REQ, sizeof(REQ) - 1), sizeof(REQ) - 1);
	pump(5);
	assert_int_equal(ncalls, 3);
	calls[2].cb(calls[2].arg, -STORE_EDOWN, NULL);
	pump(5);
	assert_int_equal(nrefusals, 1);
	assert_true(answers(fd, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "action=DUNNO\n\n"
				 "action=DEFER_IF_PERMIT 4.7.1 Sending quota "
				 "exceeded: sender s@example.com may send 1000 "
				 "messages per 1h (quota q); try again in 4 s\n\n"
				 "action=DUNNO\n\n");
	close(fd);
	pump(2);
	stop();
}

/* A TCP listener serves policyd.allow only (default: loopback). */
static void test_allow(void **state)
{
	static const char *const allow[] = {NULL, "allow = [ \"10.0.0.0/8\" ];",
					    "allow = [ \"127.0.0.2/32\", "
					    "\"127.0.0.1\" ];"};
	static const int served[] = {1, 0, 1};

	(void)state;
	for (int k = 0; k < 3; k++) {
		struct sockaddr_in in = {.sin_family = AF_INET};
		socklen_t len = sizeof(in);
		struct server_stats st;
		char text[1024], buf[4096];
		ssize_t n;
		int fd = socket(AF_INET, SOCK_STREAM, 0), port;

		/* a free port: bind to 0, read it, close */
		in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)),
				 0);
		assert_int_equal(getsockname(fd, (struct sockaddr *)&in, &len),
				 0);
		port = ntohs(in.sin_port);
		close(fd);
		snprintf(text, sizeof(text),
			 "policyd = { listen = [ \"tcp:127.0.0.1:%d\" ]; "
			 "budget = \"50ms\"; fail_mode = \"closed\"; %s };\n"
			 "quotas = ( { name = \"q\"; subject = \"sender\"; "
			 "unit = \"messages\"; limit = 1000; window = \"1h\"; "
			 "} );\n",
			 port, allow[k] ? allow[k] : "");
		start_conf(text);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(fd, (struct sockaddr *)&in, sizeof(in)),
				 0);
		assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
		(void)!write(fd, REQ, sizeof(REQ) - 1);
		pump(80);
		server_get_stats(srv, &st);
		if (served[k]) {
			assert_int_equal(st.conns_denied, 0);
			assert_int_equal(ncalls, 1);
			answers(fd, buf, sizeof(buf));
			assert_string_equal(buf, FAIL_TEXT); /* budget */
			calls[0].cb(calls[0].arg, -STORE_EDOWN, NULL);
		} else {
			assert_int_equal(st.conns_denied, 1);
			assert_int_equal(ncalls, 0);
			/* closed at accept: EOF, or a reset (data unread) */
			n = read(fd, buf, sizeof(buf));
			assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
		}
		close(fd);
		pump(2);
		stop();
	}
}

/* Observations in a histogram (its buckets are not cumulative). */
static unsigned long long hist_count(const struct metrics_hist *h)
{
	unsigned long long n = 0;

	for (size_t i = 0; i <= h->nb; i++)
		n += metrics_get(&h->bucket[i]);
	return n;
}

/* Each answer counted by state and kind; a denial by quota name. */
static void test_metrics_counts(void **state)
{
	static const char DUP[] = "request=smtpd_access_policy\n"
				  "protocol_state=RCPT\nsender=a@b\n"
				  "sender=c@d\n\n";
	const char *const qdefer[] = {"q", "defer"};
	struct server_metrics *m;
	struct quota_verdict v;
	char buf[4096];
	int fd;

	(void)state;
	start("closed", "5s");
	m = server_metrics(srv);
	fd = client();
	for (int i = 0; i < 3; i++) {
		assert_int_equal(write(fd, REQ, sizeof(REQ) - 1),
				 sizeof(REQ) - 1);
		pump(5);
		assert_int_equal(ncalls, (size_t)i + 1);
		if (i == 0) { /* allowed */
			allowed(&v, 3600000, 0, 0);
			calls[i].cb(calls[i].arg, 0, &v);
		} else if (i == 1) { /* denied by quota q */
			memset(&v, 0, sizeof(v));
			v.idx = 0;
			v.limit = 1000;
			v.window_ms = 3600000;
			v.retry_us = 1000000;
			calls[i].cb(calls[i].arg, 0, &v);
		} else { /* the store failed: the closed fail mode */
			calls[i].cb(calls[i].arg, -STORE_EDOWN, NULL);
		}
		pump(2);
	}
	assert_int_equal(write(fd, DUP, sizeof(DUP) - 1), sizeof(DUP) - 1);
	pump(5);
	answers(fd, buf, sizeof(buf));
	assert_int_equal(metrics_get(&m->requests[PP_STATE_EOM][SA_DUNNO]), 1);
	assert_int_equal(metrics_get(&m->requests[PP_STATE_EOM][SA_DEFER]), 1);
	assert_int_equal(
	    metrics_get(&m->requests[PP_STATE_EOM][SA_FAIL_CLOSED]), 1);
	assert_int_equal(
	    metrics_get(&m->requests[SERVER_INVALID][SA_FAIL_CLOSED]), 1);
	assert_int_equal(metrics_get(&m->requests[PP_STATE_RCPT][SA_DUNNO]), 0);
	assert_int_equal(hist_count(&m->latency), 4);
	assert_int_equal(metrics_table_get(m->denied, qdefer), 1);
	close(fd);
	pump(2);
	stop();

	/* the budget passes: the open fail mode, counted as such */
	start("open", "50ms");
	m = server_metrics(srv);
	fd = client();
	assert_int_equal(write(fd, REQ, sizeof(REQ) - 1), sizeof(REQ) - 1);
	pump(80);
	assert_int_equal(metrics_get(&m->requests[PP_STATE_EOM][SA_FAIL_OPEN]),
			 1);
	assert_int_equal(hist_count(&m->latency), 1);
	allowed(&v, 3600000, 0, 0);
	calls[0].cb(calls[0].arg, 0, &v); /* late: not counted again */
	assert_int_equal(hist_count(&m->latency), 1);
	assert_int_equal(metrics_get(&m->requests[PP_STATE_EOM][SA_DUNNO]), 0);
	close(fd);
	pump(2);
	stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_read_while_waiting),
	    cmocka_unit_test(test_late_verdict),
	    cmocka_unit_test(test_allow),
	    cmocka_unit_test(test_metrics_counts),
	    cmocka_unit_test(test_refusal_counted),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
