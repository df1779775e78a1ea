/*
 * metrics: Prometheus counters, gauges and histograms and their text
 * exposition (format 0.0.4), without I/O.  The daemons' HTTP adapters
 * (policyd/metrics_http.c, milter/metrics_http.c) write a scrape into a
 * struct metrics_buf with these functions and send it.
 *
 * Counting is cheap and thread safe: plain counters are the callers'
 * _Atomic fields (metrics_add, or metrics_add_1w for a counter that one
 * thread alone writes), a histogram is a fixed array of atomic
 * buckets, and a labelled counter (struct metrics_table) finds its series
 * by a hash of its label values under a mutex, inserting it the first
 * time.  A table holds at most the capacity it was made with (a named
 * limit, METRICS_SERIES_MAX at most): label values come from the config
 * (pool, member, rule and quota names) and fixed vocabularies, never from
 * mail, and a series that finds the table full is counted as dropped.
 *
 * Not here: what to count (the daemons), the HTTP server (libevent's
 * evhttp), names of series that a reload removed (the writers skip them
 * with a keep function that asks the current config).
 */
#ifndef POSTLB_METRICS_H
#define POSTLB_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#define METRICS_LABELS_MAX 4	  /* label values of a table series */
#define METRICS_LABEL_MAX 64	  /* bytes of one label value (config names) */
#define METRICS_SERIES_MAX 65536 /* series of one table at most */
#define METRICS_BUCKETS_MAX 16	  /* finite histogram buckets */

enum { METRICS_ETOOMANY = 1, METRICS_ETOOLONG, METRICS_ENOMEM };

typedef _Atomic unsigned long long metrics_counter;

static inline void metrics_add(metrics_counter *c, unsigned long long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/*
 * The same where one thread alone writes c (others may read it): no
 * locked instruction.  postlb-policyd's counters, all written by its one
 * event loop thread.
 */
static inline void metrics_add_1w(metrics_counter *c, unsigned long long n)
{
	atomic_store_explicit(
	    c, atomic_load_explicit(c, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

static inline unsigned long long metrics_get(const metrics_counter *c)
{
	return atomic_load_explicit((metrics_counter *)c, memory_order_relaxed);
}

/* A histogram of durations: bounds in seconds, observations in ns. */
struct metrics_hist {
	size_t nb;
	double bound[METRICS_BUCKETS_MAX];		 /* ascending, seconds */
	unsigned long long bound_ns[METRICS_BUCKETS_MAX];
	metrics_counter bucket[METRICS_BUCKETS_MAX + 1]; /* not cumulative */
	metrics_counter sum_ns;
};

/* The latency buckets the daemons use: 0.5 ms to 5 s. */
extern const double metrics_latency_bounds[];
extern const size_t metrics_latency_nbounds;

/*
 * Sets up h with nb ascending bounds (seconds).  Returns 0, or
 * -METRICS_ETOOMANY when nb is over METRICS_BUCKETS_MAX or the bounds do
 * not ascend (h untouched).
 */
int metrics_hist_init(struct metrics_hist *h, const double *bound, size_t nb);
void metrics_hist_observe(struct metrics_hist *h, unsigned long long ns);
/* The same for a histogram that one thread alone writes. */
void metrics_hist_observe_1w(struct metrics_hist *h, unsigned long long ns);

/* A growing output buffer; a failed allocation sets oom and stops it. */
struct metrics_buf {
	char *p;
	size_t len, cap;
	int oom;
};

void metrics_buf_free(struct metrics_buf *b);
/* Appends printf-style text. */
void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "# HELP name help" and "# TYPE name type" (help escaped). */
void metrics_family(struct metrics_buf *b, const char *name,
		    const char *type, const char *help);

/*
 * Formats label pairs names[i]="values[i]" (escaped: \\, \" and \n),
 * comma-separated, into out (outsz bytes).  Returns the length, or
 * -METRICS_ETOOLONG when out is too small (out then holds "").
 */
int metrics_labels(char *out, size_t outsz, size_t n,
		   const char *const *names, const char *const *values);

/* One sample line: name{labels} value (labels NULL or "": none). */
void metrics_sample(struct metrics_buf *b, const char *name,
		    const char *labels, unsigned long long value);
void metrics_sample_f(struct metrics_buf *b, const char *name,
		      const char *labels, double value);

/* A histogram's _bucket (cumulative, le in seconds), _sum and _count. */
void metrics_hist_write(struct metrics_buf *b, const char *name,
			const char *labels, const struct metrics_hist *h);

/* Counters by label values. */
struct metrics_table;

/* nlabels (1..METRICS_LABELS_MAX) label names (borrowed, static), room
 * for max series (1..METRICS_SERIES_MAX).  NULL on a bad argument or
 * out of memory. */
struct metrics_table *metrics_table_new(size_t nlabels,
					const char *const *names, size_t max);
void metrics_table_free(struct metrics_table *t);

/*
 * Adds n to the series of values (nlabels strings).  Returns 0, or
 * -METRICS_ETOOLONG (a value over METRICS_LABEL_MAX bytes) or
 * -METRICS_ETOOMANY (the table is full): counted in dropped.
 */
int metrics_table_add(struct metrics_table *t, const char *const *values,
		      unsigned long long n);
/* Sets the series of values to n (a gauge); the same returns. */
int metrics_table_set(struct metrics_table *t, const char *const *values,
		      unsigned long long n);
unsigned long long metrics_table_get(struct metrics_table *t,
				     const char *const *values);
unsigned long long metrics_table_dropped(const struct metrics_table *t);

/* keep(arg, values) says whether a series still belongs (1) or not (0). */
typedef int (*metrics_keep_fn)(void *arg, const char *const *values);

/* One sample per series kept (keep NULL: all), in insertion order. */
void metrics_table_write(struct metrics_buf *b, const char *name,
			 struct metrics_table *t, metrics_keep_fn keep,
			 void *arg);

#endif
