/*
 * respond: response rules and the MX suffix -> provider table (see
 * respond.h).  No I/O; the only allocation is the compiled rule set.
 */
#include "respond.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL

/*
 * The shipped rules, tried in this order (the first match counts, so the
 * provider-specific ones come before the generic one).  Sources:
 * - gmail-4.7.28: Google Workspace "SMTP errors and codes"
 *   (https://support.google.com/a/answer/3726730): "421 4.7.28 ... rate
 *   limited" for the sending IP or netblock; Google's sender guidelines
 *   advise backing off per MX, so the member rests for google only.
 * - yahoo-tss04 / yahoo-tss05: Yahoo Sender Hub "SMTP error codes"
 *   (https://senders.yahooinc.com/smtp-error-codes/): [TSS04] and
 *   [IPTS04] "temporarily deferred due to unexpected volume or user
 *   complaints" (retry after hours), [TSS05] the same, longer.
 * - microsoft-4.7.650 / microsoft-s3150: Outlook.com postmaster,
 *   "Troubleshooting" (https://sendersupport.olc.protection.outlook.com/
 *   pm/troubleshooting.aspx): 451 4.7.650 / 4.7.651 "temporarily rate
 *   limited due to IP reputation", 550 5.7.1 "(S3150)" network on
 *   Microsoft's block list.
 * - deferred-from-ip: the generic "421 ... Messages from a.b.c.d
 *   temporarily deferred" that several receivers answer for one source
 *   IP whatever the domain: the whole member rests.
 */
const struct respond_rule respond_defaults[] = {
    {.name = "gmail-4.7.28",
     .dsn = "4.7.28",
     .provider = "google",
     .count = 3,
     .period_ms = 10 * MIN_MS,
     .scope = RESPOND_PROVIDER,
     .duration_ms = 15 * MIN_MS,
     .enabled = 1},
    {.name = "yahoo-tss04",
     .match = "\\[(TSS04|IPTS04)\\]",
     .provider = "yahoo",
     .count = 3,
     .period_ms = 10 * MIN_MS,
     .scope = RESPOND_PROVIDER,
     .duration_ms = 2 * HOUR_MS,
     .enabled = 1},
    {.name = "yahoo-tss05",
     .match = "\\[TSS05\\]",
     .provider = "yahoo",
     .count = 3,
     .period_ms = 10 * MIN_MS,
     .scope = RESPOND_PROVIDER,
     .duration_ms = 4 * HOUR_MS,
     .enabled = 1},
    {.name = "microsoft-4.7.650",
     .match = "(^|[^0-9.])4\\.7\\.65[01]([^0-9]|$)",
     .provider = "microsoft",
     .count = 3,
     .period_ms = 10 * MIN_MS,
     .scope = RESPOND_PROVIDER,
     .duration_ms = 2 * HOUR_MS,
     .enabled = 1},
    {.name = "microsoft-s3150",
     .match = "\\(S3150\\)",
     .provider = "microsoft",
     .count = 3,
     .period_ms = 10 * MIN_MS,
     .scope = RESPOND_PROVIDER,
     .duration_ms = 2 * HOUR_MS,
     .enabled = 1},
    {.name = "deferred-from-ip",
     .match = "messages from \\[?[0-9]{1,3}(\\.[0-9]{1,3}){3}\\]? "
	      "(are )?temporarily deferred",
     .count = 3,
     .period_ms = 10 * MIN_MS,
     .scope = RESPOND_MEMBER,
     .duration_ms = 30 * MIN_MS,
     .enabled = 1},
};
const size_t respond_ndefaults =
    sizeof(respond_defaults) / sizeof(respond_defaults[0]);

/* MX host name suffixes of the well-known mailbox providers. */
static const struct {
	const char *suffix, *provider;
} respond_mx[] = {
    {".google.com", "google"},	   {".googlemail.com", "google"},
    {".yahoodns.net", "yahoo"},	   {".yahoo.com", "yahoo"},
    {".outlook.com", "microsoft"}, {".protection.outlook.com", "microsoft"},
    {".hotmail.com", "microsoft"},
};

struct respond_set {
	struct respond_rule r[RESPOND_RULES_MAX];
	regex_t re[RESPOND_RULES_MAX];
	int has_re[RESPOND_RULES_MAX];
	size_t n;
};

int respond_rule_check(const struct respond_rule *r, char *err, size_t errsz)
{
	regex_t re;
	int rc;

	if (r->name[0] == '\0') {
		snprintf(err, errsz, "a response rule needs a name");
		return -RESPOND_EINVAL;
	}
	if (r->match[0] == '\0' && r->dsn[0] == '\0') {
		snprintf(err, errsz, "rule %s: needs 'match' and/or 'dsn'",
			 r->name);
		return -RESPOND_EINVAL;
	}
	if (r->count < 1 || r->period_ms < 1 || r->duration_ms < 1 ||
	    (r->scope != RESPOND_MEMBER && r->scope != RESPOND_PROVIDER)) {
		snprintf(err, errsz,
			 "rule %s: needs count >= 1, a period, a duration "
			 "and a scope (member or provider)",
			 r->name);
		return -RESPOND_EINVAL;
	}
	if (r->action == RESPOND_THROTTLE
		? r->rate < 1 || r->rate > RESPOND_RATE_MAX
		: r->action != RESPOND_SUSPEND || r->rate != 0) {
		snprintf(err, errsz,
			 "rule %s: action throttle needs a rate of 1 to %d "
			 "messages a minute; suspend takes none",
			 r->name, RESPOND_RATE_MAX);
		return -RESPOND_EINVAL;
	}
	if (r->match[0] == '\0')
		return 0;
	rc = regcomp(&re, r->match, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc != 0) {
		char why[128];
		regerror(rc, &re, why, sizeof(why));
		snprintf(err, errsz, "rule %s: bad 'match' regex: %s", r->name,
			 why);
		return -RESPOND_EINVAL;
	}
	regfree(&re);
	return 0;
}

static const struct respond_rule *respond_find(const struct respond_rule *r,
					       size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0)
			return &r[i];
	return NULL;
}

int respond_merge(const struct respond_rule *user, size_t nuser,
		  struct respond_rule *out, size_t outmax, size_t *nout)
{
	struct respond_rule tmp[RESPOND_RULES_MAX];
	size_t n = 0;

	for (size_t pass = 0; pass < 2; pass++) {
		size_t m = pass ? respond_ndefaults : nuser;
		for (size_t i = 0; i < m; i++) {
			const struct respond_rule *r =
			    pass ? &respond_defaults[i] : &user[i];
			if (pass == 0 &&
			    respond_find(respond_defaults, respond_ndefaults,
					 r->name) != NULL)
				continue; /* replaces a default in place */
			if (pass == 1) {
				const struct respond_rule *u =
				    respond_find(user, nuser, r->name);
				if (u != NULL)
					r = u;
			}
			if (!r->enabled)
				continue;
			if (n >= outmax || n >= RESPOND_RULES_MAX)
				return -RESPOND_ETOOMANY;
			tmp[n++] = *r;
		}
	}
	memcpy(out, tmp, n * sizeof(*out));
	*nout = n;
	return 0;
}

int respond_set_new(const struct respond_rule *r, size_t n,
		    struct respond_set **out)
{
	struct respond_set *s;

	if (n > RESPOND_RULES_MAX)
		return -RESPOND_EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -RESPOND_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		s->r[i] = r[i];
		if (r[i].match[0] != '\0') {
			if (regcomp(&s->re[i], r[i].match,
				    REG_EXTENDED | REG_ICASE | REG_NOSUB) !=
			    0) {
				respond_set_free(s);
				return -RESPOND_EINVAL;
			}
			s->has_re[i] = 1;
		}
		s->n = i + 1;
	}
	*out = s;
	return 0;
}

void respond_set_free(struct respond_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->has_re[i])
			regfree(&s->re[i]);
	free(s);
}

size_t respond_set_count(const struct respond_set *s)
{
	return s ? s->n : 0;
}

const struct respond_rule *respond_set_rule(const struct respond_set *s,
					    size_t i)
{
	return s && i < s->n ? &s->r[i] : NULL;
}

const struct respond_rule *respond_match(const struct respond_set *s,
					 const char *dsn, const char *text)
{
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		const struct respond_rule *r = &s->r[i];
		if (r->dsn[0] != '\0' && strcmp(r->dsn, dsn) != 0)
			continue;
		if (s->has_re[i] && regexec(&s->re[i], text, 0, NULL, 0) != 0)
			continue;
		return r;
	}
	return NULL;
}

const char *respond_provider_of_host(const char *host)
{
	size_t hl = strlen(host);

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	for (size_t i = 0; i < sizeof(respond_mx) / sizeof(respond_mx[0]);
	     i++) {
		size_t sl = strlen(respond_mx[i].suffix);
		if (hl > sl &&
		    strncasecmp(host + hl - sl, respond_mx[i].suffix, sl) == 0)
			return respond_mx[i].provider;
	}
	return NULL;
}
