/*
 * health_metrics: the health sources' figures for /metrics (see
 * health_metrics.h).
 */
#include "health_metrics.h"

#include <string.h>

/* member x result, member x event: bounded by the config's members */
#define HM_SERIES_MAX (4 * CONFIG_MEMBERS_MAX)

static const char *const hm_checks_labels[] = {"member", "result"};
static const char *const hm_member_label[] = {"member"};
static const char *const hm_breaker_labels[] = {"member", "event"};

static struct {
	struct metrics_table *checks;	/* member, result: counter */
	struct metrics_table *up;	/* member: gauge 0/1 */
	struct metrics_table *last_ms;	/* member: gauge, ms */
	struct metrics_table *breaker;	/* member, event: counter */
	struct metrics_hist latency;
	int on;
} hm;

int health_metrics_init(void)
{
	hm.checks = metrics_table_new(2, hm_checks_labels, HM_SERIES_MAX);
	hm.up = metrics_table_new(1, hm_member_label, HM_SERIES_MAX);
	hm.last_ms = metrics_table_new(1, hm_member_label, HM_SERIES_MAX);
	hm.breaker = metrics_table_new(2, hm_breaker_labels, HM_SERIES_MAX);
	metrics_hist_init(&hm.latency, metrics_latency_bounds,
			  metrics_latency_nbounds);
	if (hm.checks == NULL || hm.up == NULL || hm.last_ms == NULL ||
	    hm.breaker == NULL) {
		health_metrics_free();
		return -1;
	}
	hm.on = 1;
	return 0;
}

void health_metrics_free(void)
{
	hm.on = 0;
	metrics_table_free(hm.checks);
	metrics_table_free(hm.up);
	metrics_table_free(hm.last_ms);
	metrics_table_free(hm.breaker);
	memset(&hm, 0, sizeof(hm));
}

void health_metrics_check(const char *member, int ok, int up, long long ms)
{
	const char *v[2] = {member, ok ? "ok" : "fail"};

	if (!hm.on)
		return;
	metrics_table_add(hm.checks, v, 1);
	metrics_table_set(hm.up, v, (unsigned long long)(up != 0));
	metrics_table_set(hm.last_ms, v, ms > 0 ? (unsigned long long)ms : 0);
	metrics_hist_observe(&hm.latency,
			     ms > 0 ? (unsigned long long)ms * 1000000ULL : 0);
}

void health_metrics_breaker(const char *member, enum breaker_event ev)
{
	const char *v[2] = {member, ev == BREAKER_TRIP	   ? "trip"
				    : ev == BREAKER_REOPEN ? "reopen"
							   : "close"};

	if (!hm.on || ev == BREAKER_NONE)
		return;
	metrics_table_add(hm.breaker, v, 1);
}

/* Keeps the series of members of the running config. */
static int hm_keep(void *arg, const char *const *v)
{
	const struct config *c = arg;

	for (size_t i = 0; i < c->nmembers; i++)
		if (strcmp(c->members[i].name, v[0]) == 0)
			return 1;
	return 0;
}

/* The last check's latency, in seconds, from the ms gauges. */
static void hm_write_last(struct metrics_buf *b, const struct config *c)
{
	char labels[128];

	for (size_t i = 0; i < c->nmembers; i++) {
		const char *v[1] = {c->members[i].name};
		if (!c->members[i].check ||
		    metrics_labels(labels, sizeof(labels), 1, hm_member_label,
				   v) < 0)
			continue;
		metrics_sample_f(b, "postlb_health_check_last_seconds", labels,
				 (double)metrics_table_get(hm.last_ms, v) / 1e3);
	}
}

void health_metrics_write(struct metrics_buf *b, const struct config *c)
{
	if (!hm.on)
		return;
	metrics_family(b, "postlb_health_checks_total", "counter",
		       "Active SMTP checks of a member by result (ok, fail).");
	metrics_table_write(b, "postlb_health_checks_total", hm.checks,
			    hm_keep, (void *)c);
	metrics_family(b, "postlb_health_check_up", "gauge",
		       "1 while the active checks find a member up (rise/fall), "
		       "0 while down.");
	metrics_table_write(b, "postlb_health_check_up", hm.up, hm_keep,
			    (void *)c);
	metrics_family(b, "postlb_health_check_last_seconds", "gauge",
		       "How long a member's last active check took.");
	hm_write_last(b, c);
	metrics_family(b, "postlb_health_check_seconds", "histogram",
		       "How long active checks take, all members.");
	metrics_hist_write(b, "postlb_health_check_seconds", NULL,
			   &hm.latency);
	metrics_family(b, "postlb_health_breaker_events_total", "counter",
		       "Delivery-log circuit breaker changes of a member "
		       "(trip, reopen, close).");
	metrics_table_write(b, "postlb_health_breaker_events_total",
			    hm.breaker, hm_keep, (void *)c);
}
