/*
 * breaker: the circuit breaker of one member, fed with the results of
 * its deliveries (from the delivery log).
 *
 * Closed, it counts attempts and errors over a sliding window made of
 * BREAKER_BUCKETS buckets; when attempts >= min_attempts and errors are at
 * least error_rate percent of them, it trips: open for a backoff that
 * doubles with every consecutive trip (backoff, 2 x backoff, ... bounded
 * by backoff_max).  Once that time has passed it is half-open: the next
 * result decides, a success closes it (and forgets the trips), an error
 * opens it again with the next backoff.  Results that arrive while it is
 * open (mail queued before the trip) are not counted.
 *
 * Pure: time is given by the caller (ms), no I/O, no allocation; the
 * caller owns struct breaker and keeps one per member.
 */
#ifndef POSTLB_BREAKER_H
#define POSTLB_BREAKER_H

#define BREAKER_BUCKETS 12
#define BREAKER_WHY_MAX 128

struct breaker_conf {
	long long window_ms;	  /* the sliding window (> 0) */
	long long min_attempts;	  /* fewer attempts never trip (>= 1) */
	int error_rate;		  /* percent, 1..100 */
	long long backoff_ms;	  /* the first open time (> 0) */
	long long backoff_max_ms; /* the bound of the doubling (>= backoff) */
};

enum breaker_state {
	BREAKER_CLOSED = 0,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN,
};

/* What a result changed. */
enum breaker_event {
	BREAKER_NONE = 0,
	BREAKER_TRIP,	/* closed -> open */
	BREAKER_REOPEN, /* half-open trial failed -> open again */
	BREAKER_CLOSE,	/* half-open trial succeeded -> closed */
};

struct breaker {
	long long bucket_id[BREAKER_BUCKETS]; /* now / bucket_ms of the slot */
	long long attempts[BREAKER_BUCKETS];
	long long errors[BREAKER_BUCKETS];
	long long open_until;	   /* ms; 0: never opened or closed */
	int open;		   /* tripped and not yet closed by a trial */
	int trips;		   /* consecutive trips */
	char why[BREAKER_WHY_MAX]; /* why it last tripped or closed */
};

/* A closed breaker with empty counts. */
void breaker_init(struct breaker *b);

/*
 * Records one delivery result at now_ms (error: 1 for a failure) and
 * returns what changed.  On TRIP and REOPEN, open_until, trips and why
 * are set; on CLOSE, trips is 0 and why says so.
 */
enum breaker_event breaker_record(struct breaker *b,
				  const struct breaker_conf *c,
				  long long now_ms, int error);

enum breaker_state breaker_state(const struct breaker *b, long long now_ms);

/* The open time after n consecutive trips (n >= 1). */
long long breaker_backoff(const struct breaker_conf *c, int n);

/* Attempts and errors in the window ending at now_ms. */
void breaker_counts(const struct breaker *b, const struct breaker_conf *c,
		    long long now_ms, long long *attempts, long long *errors);

#endif
