/*
 * test_cidr: table-driven tests of cidr.c: parsing networks (host bits
 * cleared, bad prefixes rejected), matching addresses across families and
 * grouping client addresses into networks.  No mocks, no I/O.
 */
#include "cidr.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct parse_case {
	const char *in;
	int rc;
	int family;
	const char *net; /* expected network address, as text */
	unsigned prefix;
};

static const struct parse_case parse_cases[] = {
    {"192.0.2.1", 0, AF_INET, "192.0.2.1", 32},
    {"192.0.2.1/32", 0, AF_INET, "192.0.2.1", 32},
    {"192.0.2.77/24", 0, AF_INET, "192.0.2.0", 24},
    {"192.0.2.255/28", 0, AF_INET, "192.0.2.240", 28},
    {"192.0.2.255/25", 0, AF_INET, "192.0.2.128", 25},
    {"10.255.255.255/9", 0, AF_INET, "10.128.0.0", 9},
    {"10.1.2.3/8", 0, AF_INET, "10.0.0.0", 8},
    {"255.255.255.255/1", 0, AF_INET, "128.0.0.0", 1},
    {"1.2.3.4/0", 0, AF_INET, "0.0.0.0", 0},
    {"1.2.3.4/024", 0, AF_INET, "1.2.3.0", 24},
    {"2001:db8::1", 0, AF_INET6, "2001:db8::1", 128},
    {"2001:db8::1/128", 0, AF_INET6, "2001:db8::1", 128},
    {"2001:db8:1:2:3:4:5:6/64", 0, AF_INET6, "2001:db8:1:2::", 64},
    {"2001:db8:1:2:3:4:5:6/48", 0, AF_INET6, "2001:db8:1::", 48},
    {"2001:db8::ffff/121", 0, AF_INET6, "2001:db8::ff80", 121},
    {"2001:db8::ffff/127", 0, AF_INET6, "2001:db8::fffe", 127},
    {"ffff::1/3", 0, AF_INET6, "e000::", 3},
    {"::/0", 0, AF_INET6, "::", 0},
    {"::1", 0, AF_INET6, "::1", 128},
    {"::ffff:192.0.2.1", 0, AF_INET6, "::ffff:192.0.2.1", 128},
    /* bad prefixes */
    {"1.2.3.4/33", -CIDR_EINVAL, 0, NULL, 0},
    {"1.2.3.4/-1", -CIDR_EINVAL, 0, NULL, 0},
    {"1.2.3.4/", -CIDR_EINVAL, 0, NULL, 0},
    {"1.2.3.4/x", -CIDR_EINVAL, 0, NULL, 0},
    {"1.2.3.4/24x", -CIDR_EINVAL, 0, NULL, 0},
    {"1.2.3.4/ 24", -CIDR_EINVAL, 0, NULL, 0},
    {"1.2.3.4/+24", -CIDR_EINVAL, 0, NULL, 0},
    {"1.2.3.4/24/8", -CIDR_EINVAL, 0, NULL, 0},
    {"1.2.3.4/4294967320", -CIDR_EINVAL, 0, NULL, 0},
    {"1.2.3.4/99999999999999999999", -CIDR_EINVAL, 0, NULL, 0},
    {"::1/129", -CIDR_EINVAL, 0, NULL, 0},
    {"::1/-1", -CIDR_EINVAL, 0, NULL, 0},
    {"::1/1000", -CIDR_EINVAL, 0, NULL, 0},
    /* bad addresses */
    {"", -CIDR_EINVAL, 0, NULL, 0},
    {"/24", -CIDR_EINVAL, 0, NULL, 0},
    {"1.2.3", -CIDR_EINVAL, 0, NULL, 0},
    {"1.2.3.4.5", -CIDR_EINVAL, 0, NULL, 0},
    {"256.1.1.1", -CIDR_EINVAL, 0, NULL, 0},
    {" 1.2.3.4", -CIDR_EINVAL, 0, NULL, 0},
    {"1.2.3.4 ", -CIDR_EINVAL, 0, NULL, 0},
    {"example.com", -CIDR_EINVAL, 0, NULL, 0},
    {"ipv6:::1", -CIDR_EINVAL, 0, NULL, 0},
    {"[::1]", -CIDR_EINVAL, 0, NULL, 0},
    {"2001:db8::1%eth0", -CIDR_EINVAL, 0, NULL, 0},
    {"2001:db8:::1", -CIDR_EINVAL, 0, NULL, 0},
    {"0000:0000:0000:0000:0000:0000:0000:0000:0000/64", -CIDR_EINVAL, 0, NULL,
     0},
    {"1111111111111111111111111111111111111111111111111111111111111111",
     -CIDR_EINVAL, 0, NULL, 0},
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(parse_cases); i++) {
		const struct parse_case *t = &parse_cases[i];
		struct cidr c, untouched;
		unsigned char want[16] = {0};
		int rc;

		memset(&c, 0x5a, sizeof(c));
		untouched = c;
		rc = cidr_parse(t->in, &c);
		if (rc != t->rc)
			fail_msg("case %zu \"%s\": rc %d, want %d", i, t->in,
				 rc, t->rc);
		if (rc != 0) {
			if (memcmp(&c, &untouched, sizeof(c)) != 0)
				fail_msg("case %zu \"%s\": output changed on "
					 "error",
					 i, t->in);
			continue;
		}
		assert_int_equal(inet_pton(t->family, t->net, want), 1);
		if (c.family != t->family || c.prefix != t->prefix ||
		    memcmp(c.addr, want, sizeof(want)) != 0)
			fail_msg("case %zu \"%s\": family %d prefix %u, want "
				 "%s/%u",
				 i, t->in, c.family, c.prefix, t->net,
				 t->prefix);
	}
}

struct match_case {
	const char *net;
	const char *addr;
	int want;
};

static const struct match_case match_cases[] = {
    {"192.0.2.0/24", "192.0.2.0", 1},
    {"192.0.2.0/24", "192.0.2.1", 1},
    {"192.0.2.0/24", "192.0.2.255", 1},
    {"192.0.2.0/24", "192.0.3.0", 0},
    {"192.0.2.0/24", "192.0.1.255", 0},
    {"192.0.2.77/24", "192.0.2.200", 1},
    {"192.0.2.1", "192.0.2.1", 1},
    {"192.0.2.1", "192.0.2.2", 0},
    {"10.0.0.0/9", "10.127.255.255", 1},
    {"10.0.0.0/9", "10.128.0.0", 0},
    {"0.0.0.0/0", "203.0.113.9", 1},
    {"0.0.0.0/0", "::1", 0},
    {"2001:db8::/32", "2001:db8:ffff::1", 1},
    {"2001:db8::/32", "2001:db9::1", 0},
    {"2001:db8::/32", "2001:DB8::1", 1},
    {"2001:db8:1:2::/64", "2001:db8:1:2:ffff:ffff:ffff:ffff", 1},
    {"2001:db8:1:2::/64", "2001:db8:1:3::", 0},
    {"::1", "::1", 1},
    {"::1", "0:0:0:0:0:0:0:1", 1},
    {"::/0", "2001:db8::1", 1},
    {"::/0", "192.0.2.1", 0},
    /* families never mix, even for mapped addresses */
    {"192.0.2.0/24", "::ffff:192.0.2.1", 0},
    {"::ffff:192.0.2.0/120", "192.0.2.1", 0},
    {"::ffff:192.0.2.0/120", "::ffff:192.0.2.1", 1},
    {"2001:db8::/32", "32.1.13.184", 0},
    /* not addresses */
    {"192.0.2.0/24", "", 0},
    {"192.0.2.0/24", "unknown", 0},
    {"192.0.2.0/24", "192.0.2.1/32", 0},
    {"192.0.2.0/24", "192.0.2.1 ", 0},
    {"::/0", "[::1]", 0},
};

static void test_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(match_cases); i++) {
		const struct match_case *t = &match_cases[i];
		struct cidr c;
		int got;

		if (cidr_parse(t->net, &c) != 0)
			fail_msg("case %zu: \"%s\" does not parse", i, t->net);
		got = cidr_match(&c, t->addr);
		if (got != t->want)
			fail_msg("case %zu: \"%s\" in %s: %d, want %d", i,
				 t->addr, t->net, got, t->want);
	}
}

struct group_case {
	const char *addr;
	unsigned v4, v6;
	int rc;
	const char *want;
};

static const struct group_case group_cases[] = {
    {"192.0.2.77", 24, 64, 0, "192.0.2.0/24"},
    {"192.0.2.77", 32, 64, 0, "192.0.2.77"},
    {"192.0.2.77", 40, 64, 0, "192.0.2.77"},
    {"192.0.2.77", 28, 64, 0, "192.0.2.64/28"},
    {"192.0.2.77", 16, 64, 0, "192.0.0.0/16"},
    {"192.0.2.77", 0, 64, 0, "0.0.0.0/0"},
    {"2001:db8:1:2:3:4:5:6", 24, 64, 0, "2001:db8:1:2::/64"},
    {"2001:DB8:1:2:3:4:5:6", 24, 64, 0, "2001:db8:1:2::/64"},
    {"2001:db8:1:2:3:4:5:6", 24, 48, 0, "2001:db8:1::/48"},
    {"2001:db8:1:2:3:4:5:6", 24, 128, 0, "2001:db8:1:2:3:4:5:6"},
    {"2001:db8:1:2:3:4:5:6", 24, 200, 0, "2001:db8:1:2:3:4:5:6"},
    {"2001:0db8:0000::0001", 24, 128, 0, "2001:db8::1"},
    {"::1", 24, 64, 0, "::/64"},
    {"::1", 24, 0, 0, "::/0"},
    {"", 24, 64, -CIDR_EINVAL, NULL},
    {"unknown", 24, 64, -CIDR_EINVAL, NULL},
    {"192.0.2.0/24", 24, 64, -CIDR_EINVAL, NULL},
    {"ipv6:2001:db8::1", 24, 64, -CIDR_EINVAL, NULL},
};

static void test_group(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(group_cases); i++) {
		const struct group_case *t = &group_cases[i];
		char out[64] = "";
		int rc = cidr_group(t->addr, t->v4, t->v6, out, sizeof(out));

		if (rc != t->rc)
			fail_msg("case %zu \"%s\": rc %d, want %d", i, t->addr,
				 rc, t->rc);
		if (rc == 0 && strcmp(out, t->want) != 0)
			fail_msg("case %zu \"%s\": \"%s\", want \"%s\"", i,
				 t->addr, out, t->want);
	}
}

/* The output must fit with its NUL: one byte short is an error. */
static void test_group_small(void **state)
{
	const char *want = "192.0.2.0/24";
	size_t n = strlen(want);
	char out[32];

	(void)state;
	assert_int_equal(cidr_group("192.0.2.77", 24, 64, out, n + 1), 0);
	assert_string_equal(out, want);
	assert_int_equal(cidr_group("192.0.2.77", 24, 64, out, n),
			 -CIDR_EINVAL);
	assert_int_equal(cidr_group("2001:db8::1", 24, 128, out, 12), 0);
	assert_string_equal(out, "2001:db8::1");
	assert_int_equal(cidr_group("2001:db8::1", 24, 128, out, 11),
			 -CIDR_EINVAL);
}

/* A grouped network parses back and holds the address it came from. */
static void test_group_roundtrip(void **state)
{
	static const char *const addrs[] = {"192.0.2.77", "203.0.113.255",
					    "2001:db8:1:2:3:4:5:6", "::1",
					    "fe80::1"};
	static const unsigned v4[] = {0, 8, 17, 24, 31, 32};
	static const unsigned v6[] = {0, 32, 48, 64, 127, 128};

	(void)state;
	for (size_t a = 0; a < NELEM(addrs); a++)
		for (size_t p = 0; p < NELEM(v4); p++) {
			char out[64];
			struct cidr c;
			assert_int_equal(cidr_group(addrs[a], v4[p], v6[p], out,
						    sizeof(out)),
					 0);
			if (cidr_parse(out, &c) != 0 ||
			    !cidr_match(&c, addrs[a]))
				fail_msg("%s grouped as %s, which does not "
					 "hold it",
					 addrs[a], out);
			if (c.prefix != (c.family == AF_INET ? v4[p] : v6[p]))
				fail_msg("%s grouped as %s: prefix %u",
					 addrs[a], out, c.prefix);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_group),
	    cmocka_unit_test(test_group_small),
	    cmocka_unit_test(test_group_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
