/*
 * test_takeover: which mail postlb may route (engine/takeover.c) and the
 * routing.takeover settings, table-driven over configs loaded from text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "takeover.h"

#include "config_cases.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NAME "t.conf"
#define BASE                                                           \
	"members = { m1 = { nexthop = \"[r1]:25\"; }; };\n"              \
	"pools = { p = { members = [\"m1\"]; }; };\n"

static const char defaults_conf[] = BASE "routing = { default_pool = \"p\"; };\n";

static const char site_conf[] =
    BASE "routing = { default_pool = \"p\";\n"
	 "  takeover = { transports = [\"smtp\", \"out\"];\n"
	 "    nexthops = [\"[relay.isp.example]:587\"]; };\n"
	 "};\n";

static const char route_unresolved_conf[] =
    BASE "routing = { default_pool = \"p\";\n"
	 "  takeover = { unresolved = \"route\"; }; };\n";

struct rcpt_case {
	const char *mailer, *host, *domain;
	enum take want;
};

static void check_rcpts(const char *text, const struct rcpt_case *t, size_t n)
{
	struct config *c = load_valid(NAME, text);

	for (size_t i = 0; i < n; i++)
		if (takeover_rcpt(c, t[i].mailer, t[i].host, t[i].domain) !=
		    t[i].want)
			fail_msg("case %zu (%s %s %s): want %d", i,
				 t[i].mailer ? t[i].mailer : "NULL",
				 t[i].host ? t[i].host : "NULL",
				 t[i].domain ? t[i].domain : "NULL",
				 (int)t[i].want);
	config_unref(c);
}

/* Defaults: transport smtp to the recipient's own domain only. */
static void test_defaults(void **state)
{
	static const struct rcpt_case t[] = {
	    {"smtp", "dest.example", "dest.example", TAKE_YES},
	    {"SMTP", "Dest.Example", "dest.example", TAKE_YES},
	    /* transport_maps: smtp to another nexthop */
	    {"smtp", "[partner-relay]:25", "partner.example", TAKE_NO},
	    /* a relayhost not listed */
	    {"smtp", "[relay.isp.example]:587", "dest.example", TAKE_NO},
	    {"local", "host.example", "host.example", TAKE_NO},
	    {"virtual", "virt.example", "virt.example", TAKE_NO},
	    {"lmtp", "unix:private/dovecot", "d.example", TAKE_NO},
	    {"relay", "relay.example", "relay.example", TAKE_NO},
	    {"error", "User unknown", "x.example", TAKE_NO},
	    {"scan", "[127.0.0.1]:10024", "dest.example", TAKE_NO},
	    /* no macros (sendmail mail): unknown */
	    {NULL, NULL, "dest.example", TAKE_UNKNOWN},
	    {"", "", "dest.example", TAKE_UNKNOWN},
	    {"smtp", NULL, "dest.example", TAKE_UNKNOWN},
	    /* no domain: only a listed nexthop would do */
	    {"smtp", "dest.example", NULL, TAKE_NO},
	};
	(void)state;
	check_rcpts(defaults_conf, t, NELEM(t));
}

static void test_site(void **state)
{
	static const struct rcpt_case t[] = {
	    {"smtp", "[relay.isp.example]:587", "dest.example", TAKE_YES},
	    {"out", "[RELAY.isp.example]:587", "dest.example", TAKE_YES},
	    {"out", "dest.example", "dest.example", TAKE_YES},
	    {"smtp", "[relay.isp.example]:25", "dest.example", TAKE_NO},
	    {"relay", "[relay.isp.example]:587", "dest.example", TAKE_NO},
	};
	(void)state;
	check_rcpts(site_conf, t, NELEM(t));
}

static void test_unresolved_route(void **state)
{
	static const struct rcpt_case t[] = {
	    {NULL, NULL, "dest.example", TAKE_YES},
	    {"local", "h.example", "h.example", TAKE_NO},
	};
	(void)state;
	check_rcpts(route_unresolved_conf, t, NELEM(t));
}

/* The verdict of whole messages from their recipients' verdicts. */
static void test_message(void **state)
{
	static const struct {
		enum take v[3];
		size_t n;
		int want;
		const char *reason;
	} t[] = {
	    {{TAKE_YES}, 1, 1, NULL},
	    {{TAKE_YES, TAKE_YES, TAKE_YES}, 3, 1, NULL},
	    {{TAKE_NO}, 1, 0, "not-outbound"},
	    {{TAKE_YES, TAKE_NO}, 2, 0, "mixed"},
	    {{TAKE_NO, TAKE_YES, TAKE_YES}, 3, 0, "mixed"},
	    {{TAKE_YES, TAKE_UNKNOWN}, 2, 0, "unknown"},
	    {{TAKE_UNKNOWN, TAKE_NO}, 2, 0, "unknown"},
	    {{TAKE_YES}, 0, 0, "no-recipient"},
	};
	(void)state;
	for (size_t i = 0; i < NELEM(t); i++) {
		struct take_tally tally;
		const char *reason = "unset";
		memset(&tally, 0, sizeof(tally));
		for (size_t j = 0; j < t[i].n; j++)
			takeover_count(&tally, t[i].v[j], "local", "h.example");
		assert_int_equal(takeover_message(&tally, &reason), t[i].want);
		if (t[i].reason == NULL)
			assert_null(reason);
		else
			assert_string_equal(reason, t[i].reason);
	}
}

/* The first recipient left to Postfix names the reason, bounded. */
static void test_why(void **state)
{
	struct take_tally t;
	char host[400];
	const char *reason;

	(void)state;
	memset(&t, 0, sizeof(t));
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	takeover_count(&t, TAKE_YES, "smtp", "d.example");
	assert_string_equal(t.why, "");
	takeover_count(&t, TAKE_NO, "local", host);
	takeover_count(&t, TAKE_NO, "relay", "r.example");
	assert_int_equal(strncmp(t.why, "local:hhh", 9), 0);
	assert_true(strlen(t.why) < sizeof(t.why));
	takeover_count(&t, TAKE_UNKNOWN, NULL, NULL);
	assert_int_equal(takeover_message(&t, &reason), 0);
	assert_string_equal(reason, "unknown");
}

static void test_invalid(void **state)
{
	static const struct bad_case bad[] = {
	    {"takeover not a group",
	     BASE "routing = { default_pool = \"p\";\n  takeover = 1; };\n", 4,
	     "must be a group"},
	    {"unknown takeover key",
	     BASE "routing = { default_pool = \"p\";\n"
		  "  takeover = { transport = [\"smtp\"]; }; };\n",
	     4, "transport"},
	    {"empty transports",
	     BASE "routing = { default_pool = \"p\";\n"
		  "  takeover = {\n    transports = [];\n  }; };\n",
	     5, "empty"},
	    {"transports not strings",
	     BASE "routing = { default_pool = \"p\";\n"
		  "  takeover = {\n    transports = [1];\n  }; };\n",
	     5, "strings"},
	    {"bad unresolved",
	     BASE "routing = { default_pool = \"p\";\n"
		  "  takeover = {\n    unresolved = \"maybe\";\n  }; };\n",
	     5, "\"leave\" or \"route\""},
	};
	(void)state;
	check_bad_cases(NAME, bad, NELEM(bad));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_site),
	    cmocka_unit_test(test_unresolved_route),
	    cmocka_unit_test(test_message),
	    cmocka_unit_test(test_why),
	    cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
