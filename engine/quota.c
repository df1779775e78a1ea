/*
 * quota: which quota checks a request triggers, GCRA arithmetic, replies
 * (see quota.h).  No I/O: the store evaluates QUOTA_LUA atomically; its
 * source is engine/quota.lua (KEYS, ARGV and replies described there),
 * embedded at build time, and quota_gcra()/quota_give_back() mirror its
 * arithmetic.
 */
#include "quota.h"

#include "cidr.h"
#include "log.h"
#include "num.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void quota_gcra(long long tat_us, long long now_us, long long limit,
		long long window_us, long long cost, struct gcra *out)
{
	double step, nt;
	long long tat = tat_us < now_us ? now_us : tat_us;

	memset(out, 0, sizeof(*out));
	if (limit == 0) {
		out->retry_us = window_us;
		return;
	}
	step = (double)cost * ((double)window_us / (double)limit);
	nt = (double)tat + step;
	if (nt - (double)now_us > (double)window_us && tat > now_us) {
		double retry = nt - (double)window_us - (double)now_us;
		if (step > (double)window_us)
			retry = (double)(tat - now_us);
		out->retry_us = (long long)ceil(retry);
		return;
	}
	out->allowed = 1;
	out->tat_us = (long long)floor(nt);
}

long long quota_give_back(long long tat_us, long long now_us, long long back_us)
{
	if (tat_us <= now_us)
		return 0;
	return tat_us - back_us > now_us ? tat_us - back_us : 0;
}

long long quota_used(long long tat_us, long long now_us, long long limit,
		     long long window_us)
{
	if (tat_us <= now_us || limit <= 0)
		return 0;
	return (long long)ceil((double)(tat_us - now_us) * (double)limit /
			       (double)window_us);
}

int quota_override_parse(const char *s, long long *limit, long long *window_ms)
{
	const char *sp = strchr(s, ' ');
	long long l, w;

	if (strcmp(s, "unlimited") == 0) {
		*limit = -1;
		*window_ms = 0;
		return 0;
	}
	if (sp == NULL ||
	    num_parse_ll(s, (size_t)(sp - s), 0, (long long)1 << 50, &l) < 0 ||
	    num_parse_ll(sp + 1, strlen(sp + 1), 1000, 366LL * 86400000, &w) <
		0)
		return -1;
	*limit = l;
	*window_ms = w;
	return 0;
}

/* Writes a + b + c + ":" + d into out (QUOTA_KEY_MAX); -1 if too long. */
static int quota_key(char *out, const char *a, const char *b, const char *c,
		     const char *d)
{
	const char *parts[] = {a, b, c, ":", d};
	size_t o = 0;

	for (size_t i = 0; i < 5; i++) {
		size_t n = strlen(parts[i]);
		if (o + n >= QUOTA_KEY_MAX)
			return -1;
		memcpy(out + o, parts[i], n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

int quota_keys(const char *prefix, const char *quota, const char *subject,
	       char state[QUOTA_KEY_MAX], char ovr[QUOTA_KEY_MAX],
	       char ovr_all[QUOTA_KEY_MAX])
{
	if (quota_key(state, prefix, "q:", quota, subject) < 0 ||
	    quota_key(ovr, prefix, "o:", quota, subject) < 0 ||
	    quota_key(ovr_all, prefix, "o:", quota, "*") < 0)
		return -1;
	return 0;
}

/* Copies s lower-cased and truncated into out. */
static void quota_lower(char *out, const char *s)
{
	size_t i = 0;

	for (; s[i] != '\0' && i + 1 < QUOTA_SUBJECT_MAX; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = '\0';
}

int quota_normalize(const struct cfg_quota *q, const char *value, char *out)
{
	switch (q->subject) {
	case SUBJ_GLOBAL:
		strcpy(out, "*");
		return 1;
	case SUBJ_SASL_USER:
		if (value == NULL || *value == '\0')
			return 0;
		snprintf(out, QUOTA_SUBJECT_MAX, "%s", value);
		return 1;
	case SUBJ_CLIENT_IP:
		return value != NULL && cidr_group(value, q->cidr4, q->cidr6,
						   out, QUOTA_SUBJECT_MAX) == 0;
	default:
		if (value == NULL || *value == '\0')
			return 0;
		quota_lower(out, value);
		return 1;
	}
}

/* The raw request value an exemption or class of subject s compares. */
static const char *quota_raw(const struct pp_request *req, enum subj s)
{
	const char *at;

	switch (s) {
	case SUBJ_SASL_USER:
		return req->sasl_username;
	case SUBJ_SENDER:
		return req->sender;
	case SUBJ_CLIENT_IP:
		return req->client_address;
	case SUBJ_SENDER_DOMAIN:
		at = req->sender ? strrchr(req->sender, '@') : NULL;
		return at ? at + 1 : NULL;
	case SUBJ_RCPT_DOMAIN:
		at = req->recipient ? strrchr(req->recipient, '@') : NULL;
		return at ? at + 1 : NULL;
	default:
		return NULL;
	}
}

/* Computes the subject value of q for req into out; 0 if none applies. */
static int quota_subject(const struct cfg_quota *q,
			 const struct pp_request *req, char *out)
{
	if (q->subject == SUBJ_RCPT_DOMAIN && req->state != PP_STATE_RCPT)
		return 0;
	return quota_normalize(q, quota_raw(req, q->subject), out);
}

static int quota_exempt(const struct config *c, const struct pp_request *req)
{
	for (int s = 0; s < SUBJ_N; s++) {
		const char *v = quota_raw(req, (enum subj)s);
		if (v != NULL && *v != '\0' &&
		    config_set_has(&c->exempt[s], (enum subj)s, v))
			return 1;
	}
	return 0;
}

/* 1 if q applies to the request given its class (see quota.h). */
static int quota_class_applies(const struct config *c,
			       const struct cfg_quota *q,
			       const struct pp_request *req)
{
	const char *v = quota_raw(req, q->subject);

	if (q->class != NULL)
		return v != NULL && config_set_has(&q->class->members,
						   q->subject, v);
	if (v == NULL)
		return 1;
	for (size_t i = 0; i < c->nquotas; i++) {
		const struct cfg_quota *o = &c->quotas[i];
		if (o->class != NULL && o->subject == q->subject &&
		    o->unit == q->unit &&
		    config_set_has(&o->class->members, o->subject, v))
			return 0; /* a class quota replaces this default */
	}
	return 1;
}

int quota_counted(const struct config *c, const struct pp_request *req)
{
	if (!c->count_only)
		return 1;
	if (c->count_sasl && req->sasl_username != NULL &&
	    *req->sasl_username != '\0')
		return 1;
	return req->client_address != NULL &&
	       config_set_has(&c->count_nets, SUBJ_CLIENT_IP,
			      req->client_address);
}

int quota_plan(const struct config *c, const struct pp_request *req,
	       struct quota_plan *out)
{
	out->n = 0;
	out->exempt = 0;
	if (req->state != PP_STATE_RCPT && req->state != PP_STATE_EOM)
		return 0;
	if (!quota_counted(c, req))
		return 0;
	if (quota_exempt(c, req)) {
		out->exempt = 1;
		return 0;
	}
	for (size_t i = 0; i < c->nquotas; i++) {
		const struct cfg_quota *q = &c->quotas[i];
		struct quota_check *chk = &out->checks[out->n];
		long long cost;

		if (req->state == PP_STATE_RCPT)
			cost = q->unit == UNIT_RECIPIENTS ? 1 : 0;
		else
			cost = q->unit == UNIT_MESSAGES ? 1
			       : q->unit == UNIT_BYTES	? req->size
							: 0;
		if (cost <= 0 || !quota_class_applies(c, q, req) ||
		    !quota_subject(q, req, chk->subject))
			continue;
		chk->q = q;
		chk->cost = cost;
		chk->reserve = 0;
		out->n++;
	}
	return 0;
}

void quota_reply(const struct quota_plan *plan, const struct quota_verdict *v,
		 char *out, size_t outsz)
{
	const struct quota_check *chk;
	char subj[120], win[32];
	long long secs;

	if (v->allowed || v->idx >= plan->n) {
		snprintf(out, outsz, "DUNNO");
		return;
	}
	chk = &plan->checks[v->idx];
	log_escape(subj, sizeof(subj), chk->subject, strlen(chk->subject));
	num_format_duration(v->window_ms, win, sizeof(win));
	secs = (v->retry_us + 999999) / 1000000;
	if (secs < 1)
		secs = 1;
	snprintf(out, outsz,
		 "%s Sending quota exceeded: %s %s may send %lld %s per %s "
		 "(quota %s); try again in %lld s",
		 chk->q->reject ? "REJECT 5.7.1" : "DEFER_IF_PERMIT 4.7.1",
		 config_subj_name(chk->q->subject), subj, v->limit,
		 config_unit_name(chk->q->unit), win, chk->q->name, secs);
}

const char *quota_fail_action(enum fail_mode mode)
{
	return mode == FAIL_CLOSED
		   ? "DEFER_IF_PERMIT 4.3.0 Sending quota service temporarily "
		     "unavailable; try again later"
		   : "DUNNO";
}
