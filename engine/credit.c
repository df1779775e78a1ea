/*
 * credit: quota units reserved ahead by one postlb-policyd (see credit.h).
 * A chained hash table (xxHash64 of quota name and subject) of subjects
 * seen lately, each with the units it holds (and the time Redis added to
 * the subject's TAT for them, which is what a give-back returns) and the
 * units it used since its current period began, which sizes its next
 * reservation.
 */
#include "credit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct credit {
	struct credit *next; /* hash chain */
	uint64_t h;
	struct cfg_quota q;  /* copy; q.name points into text */
	const char *subject; /* points into text */
	long long left;	     /* units held */
	long long left_us;   /* the time Redis charged for them */
	long long back;	     /* units of a lapsed period, to give back */
	long long back_us;   /* and their time */
	long long born_ms;   /* start of the current period */
	long long used;	     /* units used in the current period */
	long long seen_ms;   /* last use */
	char text[];	     /* name, NUL, subject, NUL */
};

struct credits {
	struct credit **b;
	size_t nb, n, max;
};

struct credits *credits_new(size_t max)
{
	struct credits *cr = calloc(1, sizeof(*cr));

	if (cr == NULL)
		return NULL;
	cr->nb = 64;
	while (cr->nb < max)
		cr->nb *= 2;
	cr->max = max;
	cr->b = calloc(cr->nb, sizeof(cr->b[0]));
	if (cr->b == NULL) {
		free(cr);
		return NULL;
	}
	return cr;
}

void credits_free(struct credits *cr)
{
	if (cr == NULL)
		return;
	for (size_t i = 0; i < cr->nb; i++)
		while (cr->b[i] != NULL) {
			struct credit *e = cr->b[i];
			cr->b[i] = e->next;
			free(e);
		}
	free(cr->b);
	free(cr);
}

size_t credits_count(const struct credits *cr)
{
	return cr->n;
}

static uint64_t credit_hash(const char *name, const char *subject)
{
	return XXH64(subject, strlen(subject),
		     XXH64(name, strlen(name), 0x706f73746c62ULL));
}

static struct credit *credit_find(struct credits *cr,
				  const struct quota_check *k, uint64_t h)
{
	for (struct credit *e = cr->b[h & (cr->nb - 1)]; e; e = e->next)
		if (e->h == h && strcmp(e->q.name, k->q->name) == 0 &&
		    strcmp(e->subject, k->subject) == 0)
			return e;
	return NULL;
}

/* The entry of check k, created when missing and there is room. */
static struct credit *credit_get(struct credits *cr,
				 const struct quota_check *k, long long now_ms)
{
	uint64_t h = credit_hash(k->q->name, k->subject);
	struct credit *e = credit_find(cr, k, h);
	size_t ln, ls;

	if (e != NULL || cr->n >= cr->max)
		return e;
	ln = strlen(k->q->name) + 1;
	ls = strlen(k->subject) + 1;
	e = calloc(1, sizeof(*e) + ln + ls);
	if (e == NULL)
		return NULL;
	memcpy(e->text, k->q->name, ln);
	memcpy(e->text + ln, k->subject, ls);
	e->h = h;
	e->q = *k->q;
	e->q.name = e->text;
	e->q.class = NULL;
	e->subject = e->text + ln;
	e->born_ms = e->seen_ms = now_ms;
	e->next = cr->b[h & (cr->nb - 1)];
	cr->b[h & (cr->nb - 1)] = e;
	cr->n++;
	return e;
}

/*
 * Units to reserve for check k of subject e: what it used over its current
 * period, scaled to one lifetime (at most twice that); 0 when that would
 * not pay for this request again, and at most 1% of the limit.
 */
static long long credit_want(const struct credit *e,
			     const struct quota_check *k, long long now_ms,
			     long long life_ms)
{
	long long age, w;

	if (e == NULL || k->cost <= 0 || k->q->limit < 100)
		return 0;
	age = now_ms - e->born_ms;
	if (age < life_ms / 2)
		age = life_ms / 2;
	if (age < 1)
		age = 1;
	w = e->used * life_ms / age;
	if (w > k->q->limit / 100)
		w = k->q->limit / 100;
	return w < k->cost ? 0 : w;
}

/*
 * The time of units of the left ones e holds: their share of left_us, so
 * that the last unit takes what rounding left and the sum is exact.
 */
static long long credit_share(const struct credit *e, long long units)
{
	if (units >= e->left)
		return e->left_us;
	return (long long)((__int128)e->left_us * units / e->left);
}

int credits_pay(struct credits *cr, struct quota_plan *plan, long long now_ms,
		long long life_ms)
{
	struct credit *e[CONFIG_QUOTAS_MAX];
	int all = plan->n > 0;

	for (size_t i = 0; i < plan->n; i++) {
		const struct quota_check *k = &plan->checks[i];
		e[i] = credit_find(cr, k, credit_hash(k->q->name, k->subject));
		if (e[i] == NULL || now_ms - e[i]->born_ms > life_ms ||
		    e[i]->left < k->cost)
			all = 0;
	}
	for (size_t i = 0; i < plan->n; i++) {
		struct quota_check *k = &plan->checks[i];
		if (all) {
			e[i]->left_us -= credit_share(e[i], k->cost);
			e[i]->left -= k->cost;
			e[i]->used += k->cost;
			e[i]->seen_ms = now_ms;
		} else {
			k->reserve = credit_want(e[i], k, now_ms, life_ms);
		}
	}
	return all;
}

void credits_record(struct credits *cr, const struct quota_plan *plan,
		    const struct quota_verdict *v, long long now_ms,
		    long long life_ms)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct quota_check *k = &plan->checks[i];
		struct credit *e;

		if (k->cost <= 0 || (e = credit_get(cr, k, now_ms)) == NULL)
			continue; /* a full table: not tracked */
		if (now_ms - e->born_ms > life_ms) { /* a period lapsed */
			e->back += e->left;
			e->back_us += e->left_us;
			e->left = 0;
			e->left_us = 0;
			e->born_ms = now_ms;
			e->used = 0;
		}
		if (v->reserved[i] > 0) { /* a new period with these units */
			e->left += v->reserved[i];
			e->left_us += v->reserved_us[i];
			e->born_ms = now_ms;
			e->used = 0;
		}
		e->used += k->cost;
		e->seen_ms = now_ms;
	}
}

size_t credits_expire(struct credits *cr, long long now_ms, long long life_ms,
		      int all, credits_back_cb cb, void *arg)
{
	size_t calls = 0;

	for (size_t i = 0; i < cr->nb; i++) {
		struct credit **pe = &cr->b[i];
		while (*pe != NULL) {
			struct credit *e = *pe;
			long long units = e->back, us = e->back_us;
			e->back = 0;
			e->back_us = 0;
			if (all || now_ms - e->born_ms > life_ms) {
				units += e->left;
				us += e->left_us;
				e->left = 0;
				e->left_us = 0;
			}
			if (units > 0) {
				cb(arg, &e->q, e->subject, units, us);
				calls++;
			}
			if (all || now_ms - e->seen_ms > 4 * life_ms) {
				*pe = e->next;
				free(e);
				cr->n--;
			} else {
				pe = &e->next;
			}
		}
	}
	return calls;
}
