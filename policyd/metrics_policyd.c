/*
 * metrics_policyd: postlb-policyd's /metrics (see metrics_policyd.h).
 * Label values: protocol states and answers from fixed lists, quota and
 * member names from the running config; series of quotas a reload
 * removed are left out.
 */
#include "metrics_policyd.h"

#include "health_metrics.h"
#include "server.h"

#include <string.h>

static const char *const mp_state_names[SERVER_STATES] = {
    "other", "CONNECT", "HELO", "MAIL", "RCPT", "DATA", "END-OF-MESSAGE",
    "VRFY", "ETRN", "invalid"};
static const char *const mp_answer_names[SA_N] = {
    "dunno", "defer", "reject", "fail_open", "fail_closed"};

static void mp_counter(struct metrics_buf *b, const char *name,
		       const char *help, unsigned long long v)
{
	metrics_family(b, name, "counter", help);
	metrics_sample(b, name, NULL, v);
}

static void mp_gauge(struct metrics_buf *b, const char *name,
		     const char *help, unsigned long long v)
{
	metrics_family(b, name, "gauge", help);
	metrics_sample(b, name, NULL, v);
}

/* Requests by state and answer: every pair, so rates exist from zero. */
static void mp_requests(struct metrics_buf *b, struct server_metrics *m)
{
	static const char *const names[] = {"state", "answer"};
	char labels[128];

	metrics_family(b, "postlb_policyd_requests_total", "counter",
		       "Policy requests answered, by protocol state and answer "
		       "(dunno, defer, reject, fail_open, fail_closed).");
	for (int s = 0; s < SERVER_STATES; s++)
		for (int a = 0; a < SA_N; a++) {
			const char *v[] = {mp_state_names[s],
					   mp_answer_names[a]};
			unsigned long long n = metrics_get(&m->requests[s][a]);
			/* the states Postfix asks at, and any seen */
			if (n == 0 && s != PP_STATE_RCPT && s != PP_STATE_EOM)
				continue;
			metrics_labels(labels, sizeof(labels), 2, names, v);
			metrics_sample(b, "postlb_policyd_requests_total",
				       labels, n);
		}
}

static int mp_keep_quota(void *arg, const char *const *v)
{
	return config_quota(arg, v[0]) != NULL;
}

void metrics_policyd_write(void *arg, struct metrics_buf *b)
{
	struct server *srv = arg;
	struct server_metrics *m = server_metrics(srv);
	const struct config *c = server_config(srv);
	struct server_stats st;

	server_get_stats(srv, &st);
	mp_requests(b, m);
	metrics_family(b, "postlb_policyd_decision_seconds", "histogram",
		       "Time from reading a policy request to writing its "
		       "answer.");
	metrics_hist_write(b, "postlb_policyd_decision_seconds", NULL,
			   &m->latency);
	metrics_family(b, "postlb_policyd_quota_denied_total", "counter",
		       "Requests a quota deferred or rejected, by quota name "
		       "and answer.");
	metrics_table_write(b, "postlb_policyd_quota_denied_total", m->denied,
			    mp_keep_quota, (void *)c);
	mp_counter(b, "postlb_policyd_reserved_units_granted_total",
		   "Quota units Redis granted ahead of use (reserved).",
		   metrics_get(&m->units_granted));
	mp_counter(b, "postlb_policyd_reserved_units_used_total",
		   "Quota units paid from reserved units, without Redis.",
		   metrics_get(&m->units_used));
	mp_counter(b, "postlb_policyd_reserved_units_given_back_total",
		   "Reserved quota units given back unused.", st.given_back);
	mp_counter(b, "postlb_policyd_budget_timeouts_total",
		   "Requests answered from the fail mode because Redis did "
		   "not answer within the budget.",
		   st.timeouts);
	mp_counter(b, "postlb_policyd_bad_requests_total",
		   "Requests that did not parse.", st.bad);
	mp_gauge(b, "postlb_policyd_connections",
		 "Policy connections open now.", st.conns_now);
	mp_counter(b, "postlb_policyd_connections_total",
		   "Policy connections accepted.", st.conns_total);
	mp_counter(b, "postlb_policyd_connections_refused_total",
		   "Policy connections refused (max_connections, "
		   "policyd.allow).",
		   st.conns_refused + st.conns_denied);
	mp_gauge(b, "postlb_policyd_redis_up",
		 "1 while postlb-policyd's Redis connection is up.",
		 (unsigned long long)(st.redis_up != 0));
	mp_counter(b, "postlb_policyd_redis_calls_total",
		   "Quota script calls to Redis.", st.redis_calls);
	mp_counter(b, "postlb_policyd_redis_errors_total",
		   "Quota script calls that failed (Redis down or a bad "
		   "reply).",
		   st.redis_errors);
	mp_counter(b, "postlb_policyd_redis_connects_total",
		   "Connection attempts to Redis.", st.redis_connects);
	health_metrics_write(b, c);
}
