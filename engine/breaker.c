/*
 * breaker: a member's circuit breaker over a sliding window (see
 * breaker.h).  Pure: no I/O, no allocation, time from the caller.
 */
#include "breaker.h"

#include <stdio.h>
#include <string.h>

void breaker_init(struct breaker *b)
{
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < BREAKER_BUCKETS; i++)
		b->bucket_id[i] = -1;
}

static long long bucket_ms(const struct breaker_conf *c)
{
	long long ms = c->window_ms / BREAKER_BUCKETS;
	return ms > 0 ? ms : 1;
}

long long breaker_backoff(const struct breaker_conf *c, int n)
{
	long long t = c->backoff_ms;

	for (int i = 1; i < n && t < c->backoff_max_ms; i++)
		t *= 2;
	return t < c->backoff_max_ms ? t : c->backoff_max_ms;
}

void breaker_counts(const struct breaker *b, const struct breaker_conf *c,
		    long long now_ms, long long *attempts, long long *errors)
{
	long long id = now_ms / bucket_ms(c);

	*attempts = 0;
	*errors = 0;
	for (int i = 0; i < BREAKER_BUCKETS; i++) {
		if (b->bucket_id[i] < 0 || b->bucket_id[i] > id ||
		    b->bucket_id[i] <= id - BREAKER_BUCKETS)
			continue;
		*attempts += b->attempts[i];
		*errors += b->errors[i];
	}
}

static void clear_counts(struct breaker *b)
{
	for (int i = 0; i < BREAKER_BUCKETS; i++) {
		b->bucket_id[i] = -1;
		b->attempts[i] = 0;
		b->errors[i] = 0;
	}
}

static void add(struct breaker *b, const struct breaker_conf *c,
		long long now_ms, int error)
{
	long long id = now_ms / bucket_ms(c);
	int slot = (int)(id % BREAKER_BUCKETS);

	if (b->bucket_id[slot] != id) {
		b->bucket_id[slot] = id;
		b->attempts[slot] = 0;
		b->errors[slot] = 0;
	}
	b->attempts[slot]++;
	if (error)
		b->errors[slot]++;
}

static void open_for(struct breaker *b, const struct breaker_conf *c,
		     long long now_ms)
{
	b->trips++;
	b->open = 1;
	b->open_until = now_ms + breaker_backoff(c, b->trips);
	clear_counts(b);
}

enum breaker_state breaker_state(const struct breaker *b, long long now_ms)
{
	if (!b->open)
		return BREAKER_CLOSED;
	return now_ms < b->open_until ? BREAKER_OPEN : BREAKER_HALF_OPEN;
}

enum breaker_event breaker_record(struct breaker *b,
				  const struct breaker_conf *c,
				  long long now_ms, int error)
{
	long long att, err;

	switch (breaker_state(b, now_ms)) {
	case BREAKER_OPEN:
		return BREAKER_NONE;
	case BREAKER_HALF_OPEN:
		if (error) {
			open_for(b, c, now_ms);
			snprintf(b->why, sizeof(b->why),
				 "half-open trial failed, trip %d, open %llds",
				 b->trips, breaker_backoff(c, b->trips) / 1000);
			return BREAKER_REOPEN;
		}
		b->open = 0;
		b->trips = 0;
		b->open_until = 0;
		clear_counts(b);
		snprintf(b->why, sizeof(b->why), "half-open trial delivered");
		return BREAKER_CLOSE;
	case BREAKER_CLOSED:
		break;
	}
	add(b, c, now_ms, error);
	breaker_counts(b, c, now_ms, &att, &err);
	if (att < c->min_attempts || err * 100 < (long long)c->error_rate * att)
		return BREAKER_NONE;
	open_for(b, c, now_ms);
	snprintf(b->why, sizeof(b->why),
		 "failed %lld of %lld in %llds, open %llds", err, att,
		 c->window_ms / 1000, breaker_backoff(c, b->trips) / 1000);
	return BREAKER_TRIP;
}
