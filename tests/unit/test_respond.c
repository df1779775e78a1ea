/*
 * test_respond: the response rules of respond.c — which shipped rule
 * matches which real reply (Gmail, Yahoo, Microsoft, the generic one)
 * and which replies match none; dsn and regex both required when both
 * are set; case-insensitive matching; rule checks (bad regex, no match
 * nor dsn, bad numbers); merging user rules (override in place, disable,
 * add first, too many); and the MX suffix table applied to the relay of
 * parsed delivery lines, the path by which postlb learns domain ->
 * provider.  No I/O.
 */
#include "logline.h"
#include "respond.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct respond_set *defaults(void)
{
	struct respond_set *s = NULL;
	assert_int_equal(
	    respond_set_new(respond_defaults, respond_ndefaults, &s), 0);
	return s;
}

static void test_defaults_valid(void **state)
{
	char err[256];
	(void)state;
	assert_true(respond_ndefaults >= 6);
	for (size_t i = 0; i < respond_ndefaults; i++)
		assert_int_equal(
		    respond_rule_check(&respond_defaults[i], err, sizeof(err)),
		    0);
}

static const struct {
	const char *dsn, *text, *rule; /* rule NULL: none matches */
} replies[] = {
    {"4.7.28",
     "host gmail-smtp-in.l.google.com[142.250.1.26] said: 421-4.7.28 "
     "Gmail has detected an unusual rate of unsolicited mail originating "
     "from your IP address. To protect our users from spam, mail sent "
     "from your IP address has been temporarily rate limited.",
     "gmail-4.7.28"},
    {"4.7.0",
     "host mta5.am0.yahoodns.net[67.195.204.72] said: 421 4.7.0 [TSS04] "
     "Messages from 192.0.2.1 temporarily deferred due to unexpected "
     "volume or user complaints - 4.16.55.1",
     "yahoo-tss04"},
    {"4.7.0",
     "host mta6.am0.yahoodns.net[1.2.3.4] said: 421 4.7.0 [IPTS04] "
     "Messages from 192.0.2.1 temporarily deferred",
     "yahoo-tss04"},
    {"4.7.0",
     "host mta6.am0.yahoodns.net[1.2.3.4] said: 421 4.7.0 [TSS05] "
     "Messages from 192.0.2.1 temporarily deferred",
     "yahoo-tss05"},
    {"4.7.650",
     "host x.mail.protection.outlook.com[52.101.1.1] said: 451 4.7.650 "
     "The mail server [192.0.2.1] has been temporarily rate limited due "
     "to IP reputation.",
     "microsoft-4.7.650"},
    {"4.7.651",
     "host x.olc.protection.outlook.com[1.1.1.1] said: 451 4.7.651 The "
     "mail server [192.0.2.1] has been temporarily rate limited",
     "microsoft-4.7.650"},
    {"5.7.1",
     "host eur.olc.protection.outlook.com[1.1.1.1] said: 550 5.7.1 "
     "Unfortunately, messages from [192.0.2.1] weren't sent. Please "
     "contact your Internet service provider since part of their network "
     "is on our block list (S3150).",
     "microsoft-s3150"},
    {"4.7.1",
     "host mx.example.net[198.51.100.7] said: 421 4.7.1 MESSAGES FROM "
     "198.51.100.9 TEMPORARILY DEFERRED due to user complaints",
     "deferred-from-ip"},
    {"4.2.2", "host mx.example.net[1.2.3.4] said: 452 4.2.2 Mailbox full",
     NULL},
    {"4.7.280", "host a[1.1.1.1] said: 421 4.7.280 not the gmail code", NULL},
    {"4.7.6500", "host a[1.1.1.1] said: 451 4.7.6500 other", NULL},
    {"4.4.1", "connect to a[1.1.1.1]:25: Connection refused", NULL},
    {"", "", NULL},
};

static void test_match_replies(void **state)
{
	struct respond_set *s = defaults();
	(void)state;
	for (size_t i = 0; i < NELEM(replies); i++) {
		const struct respond_rule *r =
		    respond_match(s, replies[i].dsn, replies[i].text);
		if (replies[i].rule == NULL) {
			if (r != NULL)
				fail_msg("reply %zu matched %s", i, r->name);
		} else {
			assert_non_null(r);
			assert_string_equal(r->name, replies[i].rule);
		}
	}
	respond_set_free(s);
}

static void test_match_needs_both(void **state)
{
	struct respond_rule r = {.name = "both",
				 .match = "rate limit",
				 .dsn = "4.7.1",
				 .count = 1,
				 .period_ms = 1000,
				 .scope = RESPOND_MEMBER,
				 .duration_ms = 1000,
				 .enabled = 1};
	struct respond_set *s = NULL;
	(void)state;
	assert_int_equal(respond_set_new(&r, 1, &s), 0);
	assert_non_null(respond_match(s, "4.7.1", "You are RATE LIMITED"));
	assert_null(respond_match(s, "4.7.2", "You are rate limited"));
	assert_null(respond_match(s, "4.7.1", "try later"));
	assert_int_equal(respond_set_count(s), 1);
	assert_string_equal(respond_set_rule(s, 0)->name, "both");
	assert_null(respond_set_rule(s, 1));
	respond_set_free(s);
	respond_set_free(NULL);
	assert_null(respond_match(NULL, "4.7.1", "x"));
}

static void test_rule_check(void **state)
{
	const struct respond_rule good = {.name = "g",
					  .match = "x",
					  .count = 1,
					  .period_ms = 1,
					  .scope = RESPOND_PROVIDER,
					  .duration_ms = 1,
					  .enabled = 1};
	struct respond_rule r;
	char err[256];
	(void)state;
	assert_int_equal(respond_rule_check(&good, err, sizeof(err)), 0);
	r = good;
	r.name[0] = '\0';
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)),
			 -RESPOND_EINVAL);
	r = good;
	r.match[0] = '\0';
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)),
			 -RESPOND_EINVAL);
	assert_non_null(strstr(err, "'match' and/or 'dsn'"));
	snprintf(r.dsn, sizeof(r.dsn), "4.7.1");
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)), 0);
	r = good;
	snprintf(r.match, sizeof(r.match), "([unclosed");
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)),
			 -RESPOND_EINVAL);
	assert_non_null(strstr(err, "bad 'match' regex"));
	assert_int_equal(respond_set_new(&r, 1, &(struct respond_set *){0}),
			 -RESPOND_EINVAL);
	r = good;
	r.count = 0;
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)),
			 -RESPOND_EINVAL);
	r = good;
	r.duration_ms = 0;
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)),
			 -RESPOND_EINVAL);
	r = good;
	r.scope = 0;
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)),
			 -RESPOND_EINVAL);
	/* a throttle needs a rate in 1..RESPOND_RATE_MAX; a suspension none */
	r = good;
	r.action = RESPOND_THROTTLE;
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)),
			 -RESPOND_EINVAL);
	assert_non_null(strstr(err, "action throttle needs a rate"));
	r.rate = 1;
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)), 0);
	r.rate = RESPOND_RATE_MAX;
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)), 0);
	r.rate = RESPOND_RATE_MAX + 1;
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)),
			 -RESPOND_EINVAL);
	r = good;
	r.rate = 5;
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)),
			 -RESPOND_EINVAL);
	r = good;
	r.action = 7;
	assert_int_equal(respond_rule_check(&r, err, sizeof(err)),
			 -RESPOND_EINVAL);
}

static void test_merge(void **state)
{
	struct respond_rule user[3], out[RESPOND_RULES_MAX];
	size_t n = 0;
	(void)state;
	memset(user, 0, sizeof(user));
	user[0] = respond_defaults[0];
	user[0].duration_ms = 3600000; /* override gmail in place */
	user[1] = respond_defaults[5];
	user[1].enabled = 0; /* disable the generic rule */
	snprintf(user[2].name, sizeof(user[2].name), "mine");
	snprintf(user[2].dsn, sizeof(user[2].dsn), "4.7.1");
	user[2].count = 1;
	user[2].period_ms = user[2].duration_ms = 1000;
	user[2].scope = RESPOND_MEMBER;
	user[2].enabled = 1;
	assert_int_equal(respond_merge(user, 3, out, NELEM(out), &n), 0);
	assert_int_equal(n, respond_ndefaults); /* +1 mine, -1 generic */
	assert_string_equal(out[0].name, "mine");
	assert_string_equal(out[1].name, "gmail-4.7.28");
	assert_int_equal(out[1].duration_ms, 3600000);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(out[i].name, "deferred-from-ip");
	/* no user rules: the defaults as shipped */
	assert_int_equal(respond_merge(NULL, 0, out, NELEM(out), &n), 0);
	assert_int_equal(n, respond_ndefaults);
	assert_int_equal(out[0].duration_ms, respond_defaults[0].duration_ms);
	/* not enough room */
	n = 99;
	assert_int_equal(respond_merge(user, 3, out, 2, &n), -RESPOND_ETOOMANY);
	assert_int_equal(n, 99);
}

static void test_provider_of_host(void **state)
{
	static const struct {
		const char *host, *provider;
	} t[] = {
	    {"gmail-smtp-in.l.google.com", "google"},
	    {"ASPMX.L.GOOGLE.COM.", "google"},
	    {"alt1.gmr-smtp-in.l.googlemail.com", "google"},
	    {"mta7.am0.yahoodns.net", "yahoo"},
	    {"mx-eu.mail.am0.yahoo.com", "yahoo"},
	    {"example-com.mail.protection.outlook.com", "microsoft"},
	    {"hotmail-com.olc.protection.outlook.com", "microsoft"},
	    {"mx1.hotmail.com", "microsoft"},
	    {"google.com", NULL},
	    {"notgoogle.com", NULL},
	    {"mx.google.com.evil.example", NULL},
	    {"127.0.0.1", NULL},
	    {"none", NULL},
	    {"", NULL},
	};
	(void)state;
	for (size_t i = 0; i < NELEM(t); i++) {
		const char *p = respond_provider_of_host(t[i].host);
		if (t[i].provider == NULL)
			assert_null(p);
		else
			assert_string_equal(p, t[i].provider);
	}
}

/*
 * Learning: a delivery line's relay host names the provider of its
 * recipient domain, whatever the status (a Workspace domain on Google).
 */
static void test_learn_from_lines(void **state)
{
	static const struct {
		const char *line, *domain, *provider;
	} t[] = {
	    {"Dec  1 04:49:50 h postfix-m1/smtp[9]: 4XgQ1Z2b3cz1: "
	     "to=<a@corp.example>, relay=aspmx.l.google.com[142.250.1.27]:25, "
	     "delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 "
	     "2.0.0 OK 1701406190 x1si)",
	     "corp.example", "google"},
	    {"Dec  1 04:49:51 h postfix-m2/smtp[9]: 4XgQ1Z2b3cz2: "
	     "to=<b@ymail.com>, relay=mta5.am0.yahoodns.net[67.195.204.72]:25, "
	     "delay=1, delays=0/0/0.5/0.5, dsn=4.7.0, status=deferred (host "
	     "mta5.am0.yahoodns.net[67.195.204.72] said: 421 4.7.0 [TSS04] "
	     "Messages from 192.0.2.1 temporarily deferred)",
	     "ymail.com", "yahoo"},
	    {"Dec  1 04:49:52 h postfix-m1/smtp[9]: 4XgQ1Z2b3cz3: "
	     "to=<c@example.net>, relay=127.0.0.1[127.0.0.1]:2525, delay=0.1, "
	     "delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 ok)",
	     "example.net", NULL},
	};
	(void)state;
	for (size_t i = 0; i < NELEM(t); i++) {
		struct logline l;
		const char *p;
		assert_int_equal(logline_parse(t[i].line, strlen(t[i].line),
					       &logline_default_limits, &l),
				 0);
		assert_string_equal(l.domain, t[i].domain);
		p = respond_provider_of_host(l.relay);
		if (t[i].provider == NULL)
			assert_null(p);
		else
			assert_string_equal(p, t[i].provider);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_valid),
	    cmocka_unit_test(test_match_replies),
	    cmocka_unit_test(test_match_needs_both),
	    cmocka_unit_test(test_rule_check),
	    cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_provider_of_host),
	    cmocka_unit_test(test_learn_from_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
