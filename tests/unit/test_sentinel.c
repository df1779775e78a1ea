/*
 * test_sentinel: the pure part of Sentinel discovery (sentinel.c) and the
 * redis settings that use it (config_sentinel.c): tables of "host:port"
 * strings, of get-master-addr-by-name replies, of ROLE names and error
 * replies, the order sentinels are asked in, and config texts that are
 * valid or refused with file:line (CONFIG_SENTINELS_MAX and one past it).
 * No I/O.
 */
#include "config.h"
#include "sentinel.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_cases.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct addr_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	int rc;
	const char *host;
	int port;
};

static void test_parse_addr(void **state)
{
	static char longhost[SENTINEL_HOST_MAX + 8];
	static char maxhost[SENTINEL_HOST_MAX + 8];
	const struct addr_case cases[] = {
	    {"127.0.0.1:26379", 0, 0, "127.0.0.1", 26379},
	    {"sentinel-a.example:1", 0, 0, "sentinel-a.example", 1},
	    {"[::1]:26379", 0, 0, "::1", 26379},
	    {"h:65535", 0, 0, "h", 65535},
	    {maxhost, 0, 0, NULL, 7},
	    {longhost, 0, -SENTINEL_EADDR, NULL, 0},
	    {"", 0, -SENTINEL_EADDR, NULL, 0},
	    {"127.0.0.1", 0, -SENTINEL_EADDR, NULL, 0},
	    {":26379", 0, -SENTINEL_EADDR, NULL, 0},
	    {"h:", 0, -SENTINEL_EADDR, NULL, 0},
	    {"h:0", 0, -SENTINEL_EADDR, NULL, 0},
	    {"h:65536", 0, -SENTINEL_EADDR, NULL, 0},
	    {"h:12x", 0, -SENTINEL_EADDR, NULL, 0},
	    {"h:+12", 0, -SENTINEL_EADDR, NULL, 0},
	    {"::1:26379", 0, -SENTINEL_EADDR, NULL, 0},
	    {"[]:26379", 0, -SENTINEL_EADDR, NULL, 0},
	    {"[::1:26379", 0, -SENTINEL_EADDR, NULL, 0},
	    {"a b:1", 0, -SENTINEL_EADDR, NULL, 0},
	    {"a\tb:1", 0, -SENTINEL_EADDR, NULL, 0},
	    {"ab\0:1", 5, -SENTINEL_EADDR, NULL, 0},
	    {"unix:/run/redis.sock", 0, -SENTINEL_EADDR, NULL, 0},
	    {"h:1\n", 0, -SENTINEL_EADDR, NULL, 0},
	};

	(void)state;
	/* a host of SENTINEL_HOST_MAX - 1 bytes fits, one more does not */
	memset(maxhost, 'm', SENTINEL_HOST_MAX - 1);
	strcpy(maxhost + SENTINEL_HOST_MAX - 1, ":7");
	memset(longhost, 'l', SENTINEL_HOST_MAX);
	strcpy(longhost + SENTINEL_HOST_MAX, ":7");
	for (size_t i = 0; i < NELEM(cases); i++) {
		const struct addr_case *t = &cases[i];
		struct sentinel_addr a;
		size_t len = t->len ? t->len : strlen(t->in);
		int rc;

		memset(&a, 0x5a, sizeof(a));
		rc = sentinel_parse_addr(t->in, len, &a);
		if (rc != t->rc)
			fail_msg("case %zu '%.40s': rc %d, want %d", i, t->in,
				 rc, t->rc);
		if (rc < 0) {
			assert_int_equal((unsigned char)a.host[0], 0x5a);
			continue;
		}
		assert_int_equal(a.port, t->port);
		if (t->host != NULL)
			assert_string_equal(a.host, t->host);
		else
			assert_int_equal(strlen(a.host), SENTINEL_HOST_MAX - 1);
	}
}

struct master_case {
	size_t n;
	const char *el[2];
	size_t lens[2]; /* 0: strlen */
	int rc;
	const char *host;
	int port;
};

static void test_parse_master(void **state)
{
	static char big[SENTINEL_HOST_MAX + 1];
	const struct master_case cases[] = {
	    {2, {"127.0.0.1", "6380"}, {0, 0}, 1, "127.0.0.1", 6380},
	    {2, {"::1", "6379"}, {0, 0}, 1, "::1", 6379},
	    {0, {NULL, NULL}, {0, 0}, 0, NULL, 0}, /* nil: unknown name */
	    {1, {"127.0.0.1", NULL}, {0, 0}, -SENTINEL_EREPLY, NULL, 0},
	    {2, {"", "6379"}, {0, 0}, -SENTINEL_EREPLY, NULL, 0},
	    {2, {"h", ""}, {0, 0}, -SENTINEL_EREPLY, NULL, 0},
	    {2, {"h", "0"}, {0, 0}, -SENTINEL_EREPLY, NULL, 0},
	    {2, {"h", "70000"}, {0, 0}, -SENTINEL_EREPLY, NULL, 0},
	    {2, {"h", "63 79"}, {0, 0}, -SENTINEL_EREPLY, NULL, 0},
	    {2, {"h\0x", "6379"}, {3, 0}, -SENTINEL_EREPLY, NULL, 0},
	    {2, {"h x", "6379"}, {0, 0}, -SENTINEL_EREPLY, NULL, 0},
	    {2, {"h", "6379\0"}, {0, 5}, -SENTINEL_EREPLY, NULL, 0},
	    {3, {"h", "6379"}, {0, 0}, -SENTINEL_EREPLY, NULL, 0},
	    {2, {big, "6379"}, {0, 0}, -SENTINEL_EREPLY, NULL, 0},
	    {2, {big + 1, "6379"}, {0, 0}, 1, NULL, 6379},
	};

	(void)state;
	memset(big, 'b', SENTINEL_HOST_MAX);
	big[SENTINEL_HOST_MAX] = '\0';
	for (size_t i = 0; i < NELEM(cases); i++) {
		const struct master_case *t = &cases[i];
		struct sentinel_addr a;
		size_t lens[2];
		int rc;

		for (int k = 0; k < 2; k++)
			lens[k] = t->lens[k] ? t->lens[k]
				  : t->el[k]  ? strlen(t->el[k])
					      : 0;
		memset(&a, 0x5a, sizeof(a));
		rc = sentinel_parse_master(t->n, t->el, lens, &a);
		if (rc != t->rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, t->rc);
		if (rc != 1) {
			assert_int_equal((unsigned char)a.host[0], 0x5a);
			continue;
		}
		assert_int_equal(a.port, t->port);
		if (t->host != NULL)
			assert_string_equal(a.host, t->host);
		else
			assert_int_equal(strlen(a.host), SENTINEL_HOST_MAX - 1);
	}
}

static void test_role_and_readonly(void **state)
{
	static const char ro[] =
	    "READONLY You can't write against a read only replica.";
	static const char ro_script[] =
	    "READONLY You can't write against a read only replica. script: "
	    "67ed14c1cb086d8c2fcf91ebe13410ba087fd0f8, on @user_script:1.";

	(void)state;
	assert_int_equal(sentinel_parse_role("master", 6),
			 SENTINEL_ROLE_MASTER);
	assert_int_equal(sentinel_parse_role("slave", 5),
			 SENTINEL_ROLE_REPLICA);
	assert_int_equal(sentinel_parse_role("sentinel", 8),
			 SENTINEL_ROLE_OTHER);
	assert_int_equal(sentinel_parse_role("master", 5), SENTINEL_ROLE_OTHER);
	assert_int_equal(sentinel_parse_role("masterx", 7),
			 SENTINEL_ROLE_OTHER);
	assert_int_equal(sentinel_parse_role("", 0), SENTINEL_ROLE_OTHER);
	assert_int_equal(sentinel_is_failover(ro, strlen(ro)), 1);
	assert_int_equal(sentinel_is_failover(ro_script, strlen(ro_script)),
			 1);
	assert_int_equal(sentinel_is_failover("READONLY", 8), 1);
	assert_int_equal(sentinel_is_failover("READONLY", 7), 0);
	assert_int_equal(sentinel_is_failover(
			     "NOREPLICAS Not enough good replicas to write.",
			     46),
			 1);
	assert_int_equal(sentinel_is_failover("NOREPLICAS", 9), 0);
	assert_int_equal(sentinel_is_failover("ERR READONLY", 12), 0);
	assert_int_equal(sentinel_is_failover("ERR unknown command", 19), 0);
	assert_int_equal(sentinel_is_failover("NOSCRIPT No matching", 20), 0);
	assert_int_equal(sentinel_is_failover(NULL, 0), 0);
	assert_int_equal(sentinel_is_failover("", 0), 0);
}

static void test_order(void **state)
{
	/* the one that answered last first, then the others in order */
	static const size_t want[][3] = {{0, 1, 2}, {1, 2, 0}, {2, 0, 1}};

	(void)state;
	for (size_t first = 0; first < 3; first++)
		for (size_t i = 0; i < 3; i++)
			assert_int_equal(sentinel_order(3, first, i),
					 want[first][i]);
	assert_int_equal(sentinel_order(1, 0, 0), 0);
	assert_int_equal(sentinel_order(2, 5, 0), 1); /* stale index */
}

/* A redis group with n sentinels on ports 26001..; one line. */
static void sentinels_conf(char *buf, size_t sz, int n)
{
	size_t off = (size_t)snprintf(buf, sz, "redis = {\n  sentinels = [ ");

	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, sz - off, "%s\"127.0.0.1:%d\"",
					i ? ", " : "", 26001 + i);
	snprintf(buf + off, sz - off, " ];\n  master_name = \"m\";\n};\n");
}

static void test_config_valid(void **state)
{
	char text[1024];
	struct config *c;

	(void)state;
	c = load_valid("s.conf",
		       "redis = {\n"
		       "  sentinels = [ \"127.0.0.1:26379\", \"[::1]:26380\","
		       " \"sentinel.example:26381\" ];\n"
		       "  master_name = \"postlb\";\n"
		       "  username = \"postlb\";\n"
		       "  password = \"s3cret\";\n"
		       "  sentinel_password = \"sp\";\n"
		       "  sentinel_username = \"su\";\n"
		       "  db = 2;\n"
		       "};\n");
	assert_int_equal(c->nredis_sentinels, 3);
	assert_string_equal(c->redis_sentinels[0], "127.0.0.1:26379");
	assert_string_equal(c->redis_sentinels[1], "[::1]:26380");
	assert_string_equal(c->redis_sentinels[2], "sentinel.example:26381");
	assert_string_equal(c->redis_master_name, "postlb");
	assert_string_equal(c->redis_username, "postlb");
	assert_string_equal(c->redis_password, "s3cret");
	assert_string_equal(c->redis_sentinel_password, "sp");
	assert_string_equal(c->redis_sentinel_username, "su");
	assert_int_equal(c->redis_db, 2);
	config_unref(c);

	/* username with a plain address; no sentinels by default */
	c = load_valid("s.conf", "redis = { address = \"127.0.0.1:6380\"; "
				 "username = \"u\"; password = \"p\"; };\n");
	assert_int_equal(c->nredis_sentinels, 0);
	assert_null(c->redis_master_name);
	assert_string_equal(c->redis_username, "u");
	config_unref(c);
	c = load_valid("s.conf", "");
	assert_int_equal(c->nredis_sentinels, 0);
	assert_null(c->redis_username);
	assert_null(c->redis_sentinel_password);
	config_unref(c);

	/* exactly the limit */
	sentinels_conf(text, sizeof(text), CONFIG_SENTINELS_MAX);
	c = load_valid("s.conf", text);
	assert_int_equal(c->nredis_sentinels, CONFIG_SENTINELS_MAX);
	config_unref(c);
}

static void test_config_invalid(void **state)
{
	static char over[1024];
	static const struct bad_case cases[] = {
	    {"address and sentinels",
	     "redis = {\n address = \"127.0.0.1:6379\";\n"
	     " sentinels = [ \"127.0.0.1:26379\" ];\n master_name = \"m\";\n};\n",
	     3, "mutually exclusive"},
	    {"no master_name",
	     "redis = {\n sentinels = [ \"127.0.0.1:26379\" ];\n};\n", 2,
	     "needs 'master_name'"},
	    {"master_name alone",
	     "redis = {\n address = \"127.0.0.1:6379\";\n"
	     " master_name = \"m\";\n};\n",
	     3, "needs 'sentinels'"},
	    {"empty list", "redis = {\n sentinels = [ ];\n master_name = "
			   "\"m\";\n};\n",
	     2, "is empty"},
	    {"not a list",
	     "redis = {\n sentinels = \"127.0.0.1:26379\";\n"
	     " master_name = \"m\";\n};\n",
	     2, "must be a list"},
	    {"not a string",
	     "redis = {\n sentinels = ( \"127.0.0.1:1\",\n 5 );\n"
	     " master_name = \"m\";\n};\n",
	     3, "sentinel 2 is not a string"},
	    {"no port",
	     "redis = {\n sentinels = [ \"127.0.0.1\" ];\n"
	     " master_name = \"m\";\n};\n",
	     2, "is not \"host:port\""},
	    {"unix socket",
	     "redis = {\n sentinels = [ \"unix:/run/s.sock\" ];\n"
	     " master_name = \"m\";\n};\n",
	     2, "is not \"host:port\""},
	    {"bad port",
	     "redis = {\n sentinels = [ \"h:1\", \"h:99999\" ];\n"
	     " master_name = \"m\";\n};\n",
	     2, "is not \"host:port\""},
	    {"blank master_name",
	     "redis = {\n sentinels = [ \"h:1\" ];\n"
	     " master_name = \"my master\";\n};\n",
	     3, "master_name must be"},
	    {"empty master_name",
	     "redis = {\n sentinels = [ \"h:1\" ];\n master_name = \"\";\n};\n",
	     3, "master_name must be"},
	    {"master_name not a string",
	     "redis = {\n sentinels = [ \"h:1\" ];\n master_name = 1;\n};\n", 3,
	     "must be a string"},
	    {"username without password",
	     "redis = {\n address = \"127.0.0.1:6379\";\n"
	     " username = \"u\";\n};\n",
	     3, "needs a password"},
	    {"empty username",
	     "redis = {\n password = \"p\";\n username = \"\";\n};\n", 3,
	     "username must be"},
	    {"username with a blank",
	     "redis = {\n password = \"p\";\n username = \"a b\";\n};\n", 3,
	     "username must be"},
	    {"sentinel_password without sentinels",
	     "redis = {\n address = \"127.0.0.1:6379\";\n"
	     " sentinel_password = \"p\";\n};\n",
	     3, "'sentinel_password' needs 'sentinels'"},
	    {"sentinel_username without sentinel_password",
	     "redis = {\n sentinels = [ \"h:1\" ];\n master_name = \"m\";\n"
	     " sentinel_username = \"u\";\n};\n",
	     4, "sentinel_username needs a sentinel_password"},
	    {"empty sentinel_password",
	     "redis = {\n sentinels = [ \"h:1\" ];\n master_name = \"m\";\n"
	     " sentinel_password = \"\";\n};\n",
	     4, "sentinel_password is empty"},
	    {"sentinel_username with a blank",
	     "redis = {\n sentinels = [ \"h:1\" ];\n master_name = \"m\";\n"
	     " sentinel_password = \"p\";\n sentinel_username = \"a b\";\n};\n",
	     5, "sentinel_username must be"},
	    {"one past the limit", over, 2, "at most"},
	};
	struct bad_case copy[NELEM(cases)];

	(void)state;
	sentinels_conf(over, sizeof(over), CONFIG_SENTINELS_MAX + 1);
	memcpy(copy, cases, sizeof(cases));
	check_bad_cases("s.conf", copy, NELEM(copy));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_addr),
	    cmocka_unit_test(test_parse_master),
	    cmocka_unit_test(test_role_and_readonly),
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_config_valid),
	    cmocka_unit_test(test_config_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
