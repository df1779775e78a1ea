/*
 * metrics: counters, histograms and the Prometheus text format (see
 * metrics.h).  No I/O; the only lock is a table's, held for one lookup.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005,
					 0.01,	 0.025, 0.05,	0.1,
					 0.25,	 0.5,	1,	2.5,
					 5};
const size_t metrics_latency_nbounds =
    sizeof(metrics_latency_bounds) / sizeof(metrics_latency_bounds[0]);

int metrics_hist_init(struct metrics_hist *h, const double *bound, size_t nb)
{
	if (nb > METRICS_BUCKETS_MAX)
		return -METRICS_ETOOMANY;
	for (size_t i = 0; i < nb; i++)
		if (!(bound[i] > 0) || (i > 0 && !(bound[i] > bound[i - 1])))
			return -METRICS_ETOOMANY;
	memset(h, 0, sizeof(*h));
	h->nb = nb;
	for (size_t i = 0; i < nb; i++) {
		h->bound[i] = bound[i];
		h->bound_ns[i] = (unsigned long long)(bound[i] * 1e9 + 0.5);
	}
	return 0;
}

static size_t metrics_hist_bucket(const struct metrics_hist *h,
				  unsigned long long ns)
{
	size_t i = 0;

	while (i < h->nb && ns > h->bound_ns[i])
		i++;
	return i;
}

void metrics_hist_observe(struct metrics_hist *h, unsigned long long ns)
{
	metrics_add(&h->bucket[metrics_hist_bucket(h, ns)], 1);
	metrics_add(&h->sum_ns, ns);
}

void metrics_hist_observe_1w(struct metrics_hist *h, unsigned long long ns)
{
	metrics_add_1w(&h->bucket[metrics_hist_bucket(h, ns)], 1);
	metrics_add_1w(&h->sum_ns, ns);
}

void metrics_buf_free(struct metrics_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

void metrics_family(struct metrics_buf *b, const char *name,
		    const char *type, const char *help)
{
	metrics_printf(b, "# HELP %s ", name);
	for (const char *s = help; *s; s++) {
		if (*s == '\\')
			metrics_printf(b, "\\\\");
		else if (*s == '\n')
			metrics_printf(b, "\\n");
		else
			metrics_printf(b, "%c", *s);
	}
	metrics_printf(b, "\n# TYPE %s %s\n", name, type);
}

int metrics_labels(char *out, size_t outsz, size_t n,
		   const char *const *names, const char *const *values)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		size_t need = strlen(names[i]) + 4; /* , = " " */
		if (len + need >= outsz)
			goto full;
		len += (size_t)snprintf(out + len, outsz - len, "%s%s=\"",
					i ? "," : "", names[i]);
		for (const char *s = values[i]; *s; s++) {
			const char *esc = *s == '\\'  ? "\\\\"
					  : *s == '"' ? "\\\""
					  : *s == '\n' ? "\\n"
						      : NULL;
			size_t el = esc ? 2 : 1;
			if (len + el + 2 > outsz)
				goto full;
			if (esc)
				memcpy(out + len, esc, 2);
			else
				out[len] = *s;
			len += el;
		}
		out[len++] = '"';
		out[len] = '\0';
	}
	if (outsz > 0)
		out[len] = '\0';
	return (int)len;
full:
	if (outsz > 0)
		out[0] = '\0';
	return -METRICS_ETOOLONG;
}

void metrics_sample(struct metrics_buf *b, const char *name,
		    const char *labels, unsigned long long value)
{
	if (labels != NULL && *labels)
		metrics_printf(b, "%s{%s} %llu\n", name, labels, value);
	else
		metrics_printf(b, "%s %llu\n", name, value);
}

void metrics_sample_f(struct metrics_buf *b, const char *name,
		      const char *labels, double value)
{
	if (labels != NULL && *labels)
		metrics_printf(b, "%s{%s} %.9g\n", name, labels, value);
	else
		metrics_printf(b, "%s %.9g\n", name, value);
}

void metrics_hist_write(struct metrics_buf *b, const char *name,
			const char *labels, const struct metrics_hist *h)
{
	const char *sep = labels != NULL && *labels ? "," : "";
	unsigned long long cum = 0;

	if (labels == NULL)
		labels = "";
	for (size_t i = 0; i <= h->nb; i++) {
		cum += metrics_get(&h->bucket[i]);
		if (i < h->nb)
			metrics_printf(b, "%s_bucket{%s%sle=\"%.9g\"} %llu\n",
				       name, labels, sep, h->bound[i], cum);
	}
	metrics_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels,
		       sep, cum);
	metrics_printf(b, "%s_sum%s%s%s %.9f\n", name, *labels ? "{" : "",
		       labels, *labels ? "}" : "",
		       (double)metrics_get(&h->sum_ns) / 1e9);
	/* _count is the +Inf bucket: an observation under way may have
	 * reached one and not the other */
	metrics_printf(b, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "",
		       labels, *labels ? "}" : "", cum);
}

struct metrics_series {
	char value[METRICS_LABELS_MAX][METRICS_LABEL_MAX + 1];
	metrics_counter n;
};

struct metrics_table {
	pthread_mutex_t lock;
	size_t nlabels, max, used, nslots;
	const char *const *names;
	struct metrics_series *series; /* max, insertion order */
	uint32_t *slot;		       /* nslots: series index + 1; 0 free */
	metrics_counter dropped;
};

struct metrics_table *metrics_table_new(size_t nlabels,
					const char *const *names, size_t max)
{
	struct metrics_table *t;

	if (nlabels == 0 || nlabels > METRICS_LABELS_MAX || max == 0 ||
	    max > METRICS_SERIES_MAX)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->nlabels = nlabels;
	t->names = names;
	t->max = max;
	t->nslots = 2;
	while (t->nslots < 2 * max)
		t->nslots *= 2;
	t->series = calloc(max, sizeof(*t->series));
	t->slot = calloc(t->nslots, sizeof(*t->slot));
	if (t->series == NULL || t->slot == NULL) {
		metrics_table_free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void metrics_table_free(struct metrics_table *t)
{
	if (t == NULL)
		return;
	if (t->series != NULL && t->slot != NULL)
		pthread_mutex_destroy(&t->lock);
	free(t->series);
	free(t->slot);
	free(t);
}

/* FNV-1a over the values, each with its NUL. */
static uint32_t metrics_hash(size_t n, const char *const *values)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		const char *s = values[i];
		do {
			h ^= (unsigned char)*s;
			h *= 16777619u;
		} while (*s++);
	}
	return h;
}

/* The series of values, inserted if absent and insert is set (lock held);
 * NULL when absent, or the table is full. */
static struct metrics_series *metrics_find(struct metrics_table *t,
					   const char *const *values,
					   int insert)
{
	size_t i = metrics_hash(t->nlabels, values) & (t->nslots - 1);
	struct metrics_series *s;

	for (;; i = (i + 1) & (t->nslots - 1)) {
		size_t k;
		if (t->slot[i] == 0)
			break;
		s = &t->series[t->slot[i] - 1];
		for (k = 0; k < t->nlabels; k++)
			if (strcmp(s->value[k], values[k]) != 0)
				break;
		if (k == t->nlabels)
			return s;
	}
	if (!insert || t->used == t->max)
		return NULL;
	s = &t->series[t->used];
	for (size_t k = 0; k < t->nlabels; k++)
		memcpy(s->value[k], values[k], strlen(values[k]) + 1);
	t->slot[i] = (uint32_t)++t->used; /* filled before it counts */
	return s;
}

/* Adds n to the series of values, or sets it to n (set != 0). */
static int metrics_table_put(struct metrics_table *t,
			     const char *const *values, unsigned long long n,
			     int set)
{
	struct metrics_series *s;

	for (size_t k = 0; k < t->nlabels; k++)
		if (strlen(values[k]) > METRICS_LABEL_MAX) {
			metrics_add(&t->dropped, 1);
			return -METRICS_ETOOLONG;
		}
	pthread_mutex_lock(&t->lock);
	s = metrics_find(t, values, 1);
	if (s != NULL && set)
		atomic_store_explicit(&s->n, n, memory_order_relaxed);
	else if (s != NULL)
		metrics_add(&s->n, n);
	pthread_mutex_unlock(&t->lock);
	if (s == NULL) {
		metrics_add(&t->dropped, 1);
		return -METRICS_ETOOMANY;
	}
	return 0;
}

int metrics_table_add(struct metrics_table *t, const char *const *values,
		      unsigned long long n)
{
	return metrics_table_put(t, values, n, 0);
}

int metrics_table_set(struct metrics_table *t, const char *const *values,
		      unsigned long long n)
{
	return metrics_table_put(t, values, n, 1);
}

unsigned long long metrics_table_get(struct metrics_table *t,
				     const char *const *values)
{
	struct metrics_series *s;
	unsigned long long n = 0;

	for (size_t k = 0; k < t->nlabels; k++)
		if (strlen(values[k]) > METRICS_LABEL_MAX)
			return 0;
	pthread_mutex_lock(&t->lock);
	s = metrics_find(t, values, 0);
	if (s != NULL)
		n = metrics_get(&s->n);
	pthread_mutex_unlock(&t->lock);
	return n;
}

unsigned long long metrics_table_dropped(const struct metrics_table *t)
{
	return metrics_get(&t->dropped);
}

void metrics_table_write(struct metrics_buf *b, const char *name,
			 struct metrics_table *t, metrics_keep_fn keep,
			 void *arg)
{
	size_t used;
	char labels[METRICS_LABELS_MAX * (2 * METRICS_LABEL_MAX + 40)];

	pthread_mutex_lock(&t->lock);
	used = t->used; /* series never move nor go: read them unlocked */
	pthread_mutex_unlock(&t->lock);
	for (size_t i = 0; i < used; i++) {
		const struct metrics_series *s = &t->series[i];
		const char *v[METRICS_LABELS_MAX];
		for (size_t k = 0; k < t->nlabels; k++)
			v[k] = s->value[k];
		if (keep != NULL && !keep(arg, v))
			continue;
		if (metrics_labels(labels, sizeof(labels), t->nlabels,
				   t->names, v) < 0)
			continue;
		metrics_sample(b, name, labels, metrics_get(&s->n));
	}
}
