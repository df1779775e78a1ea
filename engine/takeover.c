/*
 * takeover: which mail postlb may route (see takeover.h).
 */
#include "takeover.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* 1 if v is one of the set's plain values (case-insensitive). */
static int takeover_listed(const struct cfg_set *set, const char *v)
{
	for (size_t i = 0; i < set->nvalues; i++)
		if (strcasecmp(set->values[i], v) == 0)
			return 1;
	return 0;
}

enum take takeover_rcpt(const struct config *c, const char *mailer,
			const char *host, const char *domain)
{
	if (mailer == NULL || *mailer == '\0')
		return c->take_unresolved ? TAKE_YES : TAKE_UNKNOWN;
	if (!takeover_listed(&c->take_transports, mailer))
		return TAKE_NO;
	if (host == NULL || *host == '\0')
		return TAKE_UNKNOWN;
	if (domain != NULL && strcasecmp(host, domain) == 0)
		return TAKE_YES;
	return takeover_listed(&c->take_nexthops, host) ? TAKE_YES : TAKE_NO;
}

void takeover_count(struct take_tally *t, enum take v, const char *mailer,
		    const char *host)
{
	if (v == TAKE_YES) {
		t->yes++;
		return;
	}
	if (v == TAKE_NO)
		t->no++;
	else
		t->unknown++;
	if (t->why[0] == '\0')
		snprintf(t->why, sizeof(t->why), "%.60s:%.90s",
			 mailer && *mailer ? mailer : "?",
			 host && *host ? host : "?");
}

int takeover_message(const struct take_tally *t, const char **reason)
{
	if (t->unknown > 0) {
		*reason = "unknown";
		return 0;
	}
	if (t->yes == 0) {
		*reason = t->no > 0 ? "not-outbound" : "no-recipient";
		return 0;
	}
	if (t->no > 0) {
		*reason = "mixed";
		return 0;
	}
	*reason = NULL;
	return 1;
}
