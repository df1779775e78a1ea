/*
 * respond: response rules of the delivery-log feedback.  A rule looks at
 * the reply a relay gave for a deferred or bounced delivery (its text, by
 * a case-insensitive POSIX extended regex, and/or its enhanced status
 * code) and, once it matched count times within period for one member
 * (and one mailbox provider, for scope provider), acts on that member
 * for duration, everywhere (scope member) or for the provider only: it
 * suspends it (action suspend) or throttles it to rate messages a minute
 * (action throttle).
 *
 * It also holds the table of well-known MX host name suffixes that maps a
 * relay host of a delivery line to its mailbox provider ("google", ...).
 *
 * Pure: no I/O, no Redis.  Counting and suspending are respond.lua's
 * (postlb-policyd runs it); the route script honours the suspensions.  A
 * struct respond_set owns its compiled regexes; it is read-only once
 * built and may be shared (regexec on one regex_t is thread safe).
 */
#ifndef POSTLB_RESPOND_H
#define POSTLB_RESPOND_H

#include <stddef.h>

enum {
	RESPOND_EINVAL = 1, /* a rule that cannot work (err says why) */
	RESPOND_ETOOMANY,   /* more than RESPOND_RULES_MAX rules */
	RESPOND_ENOMEM,
};

#define RESPOND_RULES_MAX 64
#define RESPOND_NAME_MAX 64
#define RESPOND_MATCH_MAX 256
#define RESPOND_DSN_MAX 16
#define RESPOND_PROVIDER_MAX 32

enum respond_scope {
	RESPOND_MEMBER = 1, /* suspend the member (field rs_until) */
	RESPOND_PROVIDER,   /* suspend it for one provider (p:PROVIDER) */
};

enum respond_action {
	RESPOND_SUSPEND = 0, /* the member takes no mail of the scope */
	RESPOND_THROTTLE,    /* it takes at most rate messages a minute */
};

#define RESPOND_RATE_MAX 1000000 /* messages a minute of a throttle */

struct respond_rule {
	char name[RESPOND_NAME_MAX];
	char match[RESPOND_MATCH_MAX]; /* regex on the reply text; "" none */
	char dsn[RESPOND_DSN_MAX];     /* enhanced status code; "" none */
	char provider[RESPOND_PROVIDER_MAX]; /* the provider such replies
						come from; "" unknown */
	long long count;		     /* matches ... */
	long long period_ms;		     /* ... within this time */
	enum respond_scope scope;
	long long duration_ms; /* how long the suspension lasts */
	enum respond_action action;
	long long rate; /* throttle: messages a minute; 0 for suspend */
	int enabled;
};

struct respond_set;

/* The shipped rules, in the order they are tried (see respond.c). */
extern const struct respond_rule respond_defaults[];
extern const size_t respond_ndefaults;

/*
 * Checks one rule: a name, a match and/or a dsn, a regex that compiles,
 * count >= 1, period and duration > 0, a throttle's rate in
 * 1..RESPOND_RATE_MAX (and none for a suspension).  Returns 0, or -RESPOND_EINVAL
 * with the reason in err (errsz bytes).
 */
int respond_rule_check(const struct respond_rule *r, char *err, size_t errsz);

/*
 * The rules in force: user[0..nuser) merged into the defaults.  A user
 * rule named as a default replaces it in place; others are tried first,
 * in their order; disabled rules are left out.  Writes at most outmax
 * rules to out and their number to *nout.  Returns 0 or
 * -RESPOND_ETOOMANY (out, *nout untouched).
 */
int respond_merge(const struct respond_rule *user, size_t nuser,
		  struct respond_rule *out, size_t outmax, size_t *nout);

/*
 * Compiles rules r[0..n) (checked before) into *out, which the caller
 * owns (respond_set_free).  Returns 0, -RESPOND_EINVAL or
 * -RESPOND_ENOMEM (*out untouched).
 */
int respond_set_new(const struct respond_rule *r, size_t n,
		    struct respond_set **out);
void respond_set_free(struct respond_set *s); /* NULL: no-op */
size_t respond_set_count(const struct respond_set *s);
const struct respond_rule *respond_set_rule(const struct respond_set *s,
					    size_t i);

/*
 * The first rule of s matching a reply: dsn (the enhanced status code,
 * "" none) and text (NUL-terminated).  A rule with both a match and a
 * dsn needs both.  Returns the rule (borrowed from s) or NULL.
 */
const struct respond_rule *respond_match(const struct respond_set *s,
					 const char *dsn, const char *text);

/*
 * The provider of an MX host name by the shipped suffix table
 * ("gmail-smtp-in.l.google.com" -> "google"), case-insensitive, a
 * trailing dot ignored; NULL when the table does not know it.
 */
const char *respond_provider_of_host(const char *host);

#endif
