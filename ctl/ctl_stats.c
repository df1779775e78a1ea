/*
 * ctl_stats: `postlbctl stats [-w SECONDS] [-n COUNT]`, live rates from
 * the counters every postlb daemon keeps in Redis, summed over all hosts:
 *  - messages routed per member: today's count of the route script
 *    (PREFIX w:NAME:YYYYMMDD, by Redis's clock; every pick, reserved or
 *    not, counts when it is taken);
 *  - quota refusals per quota: policyd's per-minute counters (hash PREFIX
 *    qd:MINUTE, field QUOTA, minute by the policyd host's clock; see
 *    policyd/refusals.c).
 * A rate is the growth of a counter between two readings, divided by the
 * time between them (Redis's clock): the first report comes after one
 * interval (-w SECONDS, 1 s without -w).  Reads only.
 */
#include "ctl_check.h"

#include "ctl_json.h"
#include "ctl_route.h"
#include "num.h"
#include "route.h"
#include "store_redis.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STATS_MINUTES_MAX 120 /* refusal counters are kept two hours */
#define STATS_DAYS_MAX 2      /* day counters are kept two days */

/* One reading: per member today's count, per quota this minute's. */
struct reading {
	long long ms, day, minute;
	long long routed[CONFIG_MEMBERS_MAX];
	long long refused[CONFIG_QUOTAS_MAX];
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int day_count(struct store_sync *s, const struct config *c, size_t mi,
		     long long day, long long *out)
{
	char key[200], v[32], ds[16];
	int rc;

	route_day_string(day, ds);
	snprintf(key, sizeof(key), "%sw:%s:%s", c->redis_prefix,
		 c->members[mi].name, ds);
	rc = store_sync_get(s, key, v, sizeof(v));
	*out = rc == 1 ? atoll(v) : 0;
	return rc < 0 ? -1 : 0;
}

struct qsum {
	const struct config *c;
	long long *n; /* per quota */
};

static void on_refusal(void *arg, const char *field, const char *value)
{
	struct qsum *q = arg;

	for (size_t i = 0; i < q->c->nquotas; i++)
		if (strcmp(q->c->quotas[i].name, field) == 0)
			q->n[i] += atoll(value);
}

/* Adds minute's refusal counts per quota to n. */
static int minute_counts(struct store_sync *s, const struct config *c,
			 long long minute, long long *n)
{
	struct qsum q = {c, n};
	char key[200];

	snprintf(key, sizeof(key), "%sqd:%lld", c->redis_prefix, minute);
	return store_sync_hgetall(s, key, on_refusal, &q);
}

static int take_reading(struct store_sync *s, const struct config *c,
			struct reading *r)
{
	memset(r, 0, sizeof(*r));
	r->ms = ctl_redis_ms(s);
	r->day = r->ms / 86400000;
	r->minute = r->ms / 60000;
	for (size_t i = 0; i < c->nmembers; i++)
		if (day_count(s, c, i, r->day, &r->routed[i]) < 0)
			return -1;
	return minute_counts(s, c, r->minute, r->refused);
}

/*
 * What each counter grew by from prev to now: the rest of prev's day
 * (minute), the days (minutes) between, and now's.
 */
static int growth(struct store_sync *s, const struct config *c,
		  const struct reading *prev, const struct reading *now,
		  long long *routed, long long *refused)
{
	long long v;

	for (size_t i = 0; i < c->nmembers; i++) {
		routed[i] = now->routed[i] - prev->routed[i];
		for (long long d = prev->day;
		     d < now->day && d >= now->day - STATS_DAYS_MAX; d++) {
			if (day_count(s, c, i, d, &v) < 0)
				return -1;
			routed[i] += v;
		}
	}
	for (size_t i = 0; i < c->nquotas; i++)
		refused[i] = now->refused[i] - prev->refused[i];
	for (long long m = prev->minute;
	     m < now->minute && m >= now->minute - STATS_MINUTES_MAX; m++)
		if (minute_counts(s, c, m, refused) < 0)
			return -1;
	return 0;
}

static void report_text(const struct config *c, const struct reading *now,
			double secs, const long long *routed,
			const long long *refused)
{
	time_t t = (time_t)(now->ms / 1000);
	struct tm tm;
	char when[32];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s UTC, over %.1f s\n", when, secs);
	printf("%-20s %10s %10s\n", "member", "routed/s", "today");
	for (size_t i = 0; i < c->nmembers; i++)
		printf("%-20s %10.2f %10lld\n", c->members[i].name,
		       (double)routed[i] / secs, now->routed[i]);
	printf("%-20s %10s %10s\n", "quota", "refused/s", "this min");
	for (size_t i = 0; i < c->nquotas; i++)
		printf("%-20s %10.2f %10lld\n", c->quotas[i].name,
		       (double)refused[i] / secs, now->refused[i]);
	fflush(stdout);
}

static void report_json(const struct config *c, const struct reading *now,
			double secs, const long long *routed,
			const long long *refused)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_open(&j, NULL);
	json_int(&j, "time_ms", now->ms);
	json_num(&j, "interval_s", secs);
	json_arr_open(&j, "members");
	for (size_t i = 0; i < c->nmembers; i++) {
		json_obj_open(&j, NULL);
		json_str(&j, "name", c->members[i].name);
		json_int(&j, "routed", routed[i]);
		json_num(&j, "routed_per_s", (double)routed[i] / secs);
		json_int(&j, "today", now->routed[i]);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_arr_open(&j, "quotas");
	for (size_t i = 0; i < c->nquotas; i++) {
		json_obj_open(&j, NULL);
		json_str(&j, "name", c->quotas[i].name);
		json_int(&j, "refused", refused[i]);
		json_num(&j, "refused_per_s", (double)refused[i] / secs);
		json_int(&j, "refused_this_minute", now->refused[i]);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_obj_close(&j);
	json_end(&j);
}

/* Sleeps ms unless a signal asks to stop. */
static void nap(long long ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	while (!stop && nanosleep(&ts, &ts) != 0)
		;
}

int ctl_stats(const struct config *c, int argc, char **argv)
{
	static struct reading a, b;
	struct reading *prev = &a, *now = &b, *tmp;
	long long interval_ms = 1000, count = 0, routed[CONFIG_MEMBERS_MAX];
	long long refused[CONFIG_QUOTAS_MAX];
	struct store_sync *s;
	int opt, watch = 0, rc = 0;

	optind = 1;
	while ((opt = getopt(argc, argv, "w:n:")) != -1) {
		long long v;
		if ((opt != 'w' && opt != 'n') ||
		    num_parse_ll(optarg, strlen(optarg), 1,
				 opt == 'w' ? 86400 : 1LL << 40, &v) < 0) {
			fprintf(stderr, "usage: postlbctl stats [-w SECONDS] "
					"[-n COUNT]\n");
			return 2;
		}
		if (opt == 'w') {
			interval_ms = v * 1000;
			watch = 1;
		} else {
			count = v;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: postlbctl stats [-w SECONDS] [-n COUNT]\n");
		return 2;
	}
	if (count == 0)
		count = watch ? -1 : 1; /* -w without -n: until interrupted */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	s = ctl_open(c);
	if (take_reading(s, c, prev) < 0)
		goto fail;
	while (!stop && count != 0) {
		nap(interval_ms);
		if (stop)
			break;
		if (take_reading(s, c, now) < 0 ||
		    growth(s, c, prev, now, routed, refused) < 0)
			goto fail;
		if (ctl_json)
			report_json(c, now, (double)(now->ms - prev->ms) / 1000,
				    routed, refused);
		else
			report_text(c, now, (double)(now->ms - prev->ms) / 1000,
				    routed, refused);
		tmp = prev;
		prev = now;
		now = tmp;
		if (count > 0)
			count--;
	}
	store_sync_close(s);
	return rc;
fail:
	fprintf(stderr, "postlbctl: %s\n", store_sync_error(s));
	store_sync_close(s);
	return 1;
}
