/*
 * test_config: tests of config.c through config_load_string(): one full
 * valid config with every value asserted, the defaults, and a table of
 * invalid configs, each checked for the exact "name:LINE: " prefix and a
 * key phrase of the message.  Also set lookups, names and references.
 * The only I/O is one temporary file for config_load().
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_cases.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NAME "t.conf"

/* Loads text that must be valid; fails the test with the message if not. */
static struct config *load_ok(const char *text)
{
	return load_valid(NAME, text);
}

/*
 * Line numbers matter: classes start on lines 21 and 23, quotas on 27, 29,
 * 31, 33, 36 and 38.
 */
static const char full_conf[] =
    "redis = {\n"
    "  address = \"unix:/run/redis/redis.sock\";\n"
    "  prefix = \"plb:\";\n"
    "  password = \"s3cret\";\n"
    "  db = 3;\n"
    "};\n"
    "policyd = {\n"
    "  listen = [ \"unix:/run/postlb/policy\", \"tcp:127.0.0.1:10040\" ];\n"
    "  socket_mode = \"0600\";\n"
    "  user = \"postlb\";\n"
    "  group = \"postfix\";\n"
    "  budget = \"200ms\";\n"
    "  fail_mode = \"closed\";\n"
    "  max_connections = 100;\n"
    "  idle_timeout = \"5m\"; reserve = false; reserve_time = \"1s\";\n"
    "  line_max = 1024;\n"
    "  attributes_max = 50;\n"
    "  request_max = 16384;\n"
    "};\n"
    "classes = {\n"
    "  vip = { subject = \"sender\";\n"
    "          members = [ \"boss@example.com\", \"ceo@example.com\" ]; };\n"
    "  lan = { subject = \"client_ip\";\n"
    "          members = [ \"192.0.2.0/24\", \"2001:db8::/32\" ]; };\n"
    "};\n"
    "quotas = (\n"
    "  { name = \"sender_msgs\"; subject = \"sender\"; unit = \"messages\";\n"
    "    limit = 100; window = \"1h\"; },\n"
    "  { name = \"vip_msgs\"; subject = \"sender\"; unit = \"messages\";\n"
    "    limit = 1000; window = 3600; class = \"vip\"; action = \"reject\"; "
    "},\n"
    "  { name = \"ip_rcpts\"; subject = \"client_ip\"; unit = "
    "\"recipients\";\n"
    "    limit = 500; window = \"1d\"; cidr = 24; cidr6 = 64; },\n"
    "  { name = \"dom_rcpts\"; subject = \"recipient_domain\";\n"
    "    unit = \"recipients\"; limit = 50; window = \"10m\";\n"
    "    action = \"defer\"; },\n"
    "  { name = \"all_bytes\"; subject = \"global\"; unit = \"bytes\";\n"
    "    limit = 1000000000000L; window = \"1d\"; },\n"
    "  { name = \"lan_msgs\"; subject = \"client_ip\"; unit = "
    "\"messages\";\n"
    "    limit = 0; window = 60; class = \"lan\"; }\n"
    ");\n"
    "exempt = {\n"
    "  client_ip = [ \"127.0.0.0/8\", \"::1\" ];\n"
    "  sasl_user = [ \"monitor\" ];\n"
    "  sender_domain = [ \".trusted.example\", \"partner.example\" ];\n"
    "  sender = ( \"Bounce@Example.org\" );\n"
    "  recipient_domain = [ \"postmaster.example\" ];\n"
    "};\n";

static void test_full(void **state)
{
	struct config *c = load_ok(full_conf);
	const struct cfg_quota *q;

	(void)state;
	assert_int_equal(c->refs, 1);
	assert_string_equal(c->path, NAME);
	assert_string_equal(c->redis_address, "unix:/run/redis/redis.sock");
	assert_string_equal(c->redis_prefix, "plb:");
	assert_string_equal(c->redis_password, "s3cret");
	assert_int_equal(c->redis_db, 3);

	assert_int_equal(c->nlisten, 2);
	assert_string_equal(c->listen[0], "unix:/run/postlb/policy");
	assert_string_equal(c->listen[1], "tcp:127.0.0.1:10040");
	assert_int_equal(c->socket_mode, 0600);
	assert_string_equal(c->user, "postlb");
	assert_string_equal(c->group, "postfix");
	assert_int_equal(c->budget_ms, 200);
	assert_int_equal(c->fail_mode, FAIL_CLOSED);
	assert_int_equal(c->max_connections, 100);
	assert_int_equal(c->idle_timeout_ms, 300000);
	assert_int_equal(c->quota_reserve, 0);
	assert_int_equal(c->quota_reserve_ms, 1000);
	assert_int_equal(c->limits.line_max, 1024);
	assert_int_equal(c->limits.attrs_max, 50);
	assert_int_equal(c->limits.request_max, 16384);

	assert_int_equal(c->nclasses, 2);
	assert_string_equal(c->classes[0].name, "vip");
	assert_int_equal(c->classes[0].subject, SUBJ_SENDER);
	assert_int_equal(c->classes[0].line, 21);
	assert_int_equal(c->classes[0].members.nvalues, 2);
	assert_string_equal(c->classes[0].members.values[0],
			    "boss@example.com");
	assert_string_equal(c->classes[0].members.values[1], "ceo@example.com");
	assert_int_equal(c->classes[0].members.nnets, 0);
	assert_string_equal(c->classes[1].name, "lan");
	assert_int_equal(c->classes[1].subject, SUBJ_CLIENT_IP);
	assert_int_equal(c->classes[1].line, 23);
	assert_int_equal(c->classes[1].members.nvalues, 0);
	assert_int_equal(c->classes[1].members.nnets, 2);
	assert_int_equal(c->classes[1].members.nets[0].family, AF_INET);
	assert_int_equal(c->classes[1].members.nets[0].prefix, 24);
	assert_int_equal(c->classes[1].members.nets[1].family, AF_INET6);
	assert_int_equal(c->classes[1].members.nets[1].prefix, 32);

	assert_int_equal(c->nquotas, 6);
	q = &c->quotas[0];
	assert_string_equal(q->name, "sender_msgs");
	assert_int_equal(q->subject, SUBJ_SENDER);
	assert_int_equal(q->unit, UNIT_MESSAGES);
	assert_int_equal(q->limit, 100);
	assert_int_equal(q->window_ms, 3600000);
	assert_int_equal(q->reject, 0);
	assert_null(q->class);
	assert_int_equal(q->cidr4, 32);
	assert_int_equal(q->cidr6, 128);
	assert_int_equal(q->line, 27);
	q = &c->quotas[1];
	assert_string_equal(q->name, "vip_msgs");
	assert_int_equal(q->limit, 1000);
	assert_int_equal(q->window_ms, 3600000);
	assert_int_equal(q->reject, 1);
	assert_ptr_equal(q->class, &c->classes[0]);
	assert_int_equal(q->line, 29);
	q = &c->quotas[2];
	assert_string_equal(q->name, "ip_rcpts");
	assert_int_equal(q->subject, SUBJ_CLIENT_IP);
	assert_int_equal(q->unit, UNIT_RECIPIENTS);
	assert_int_equal(q->window_ms, 86400000);
	assert_int_equal(q->cidr4, 24);
	assert_int_equal(q->cidr6, 64);
	q = &c->quotas[3];
	assert_string_equal(q->name, "dom_rcpts");
	assert_int_equal(q->subject, SUBJ_RCPT_DOMAIN);
	assert_int_equal(q->unit, UNIT_RECIPIENTS);
	assert_int_equal(q->limit, 50);
	assert_int_equal(q->window_ms, 600000);
	assert_int_equal(q->reject, 0);
	assert_int_equal(q->line, 33);
	q = &c->quotas[4];
	assert_string_equal(q->name, "all_bytes");
	assert_int_equal(q->subject, SUBJ_GLOBAL);
	assert_int_equal(q->unit, UNIT_BYTES);
	assert_int_equal(q->limit, 1000000000000LL);
	q = &c->quotas[5];
	assert_string_equal(q->name, "lan_msgs");
	assert_int_equal(q->limit, 0);
	assert_int_equal(q->window_ms, 60000);
	assert_ptr_equal(q->class, &c->classes[1]);

	assert_ptr_equal(config_quota(c, "ip_rcpts"), &c->quotas[2]);
	assert_null(config_quota(c, "IP_RCPTS"));
	assert_null(config_quota(c, "nope"));

	assert_int_equal(c->exempt[SUBJ_CLIENT_IP].nnets, 2);
	assert_int_equal(c->exempt[SUBJ_SASL_USER].nvalues, 1);
	assert_int_equal(c->exempt[SUBJ_SENDER_DOMAIN].nvalues, 2);
	assert_int_equal(c->exempt[SUBJ_SENDER].nvalues, 1);
	assert_string_equal(c->exempt[SUBJ_SENDER].values[0],
			    "Bounce@Example.org");
	assert_int_equal(c->exempt[SUBJ_RCPT_DOMAIN].nvalues, 1);
	assert_int_equal(c->exempt[SUBJ_GLOBAL].nvalues, 0);
	config_unref(c);
}

static void test_defaults(void **state)
{
	static const char *const texts[] = {
	    "",
	    "# nothing but a comment\n",
	    "redis = {};\npolicyd = {};\nclasses = {};\nquotas = ();\n"
	    "exempt = {};\n",
	};

	(void)state;
	for (size_t i = 0; i < NELEM(texts); i++) {
		struct config *c = load_ok(texts[i]);
		assert_string_equal(c->redis_address, "127.0.0.1:6379");
		assert_string_equal(c->redis_prefix, "postlb:");
		assert_null(c->redis_password);
		assert_int_equal(c->redis_db, 0);
		assert_int_equal(c->nlisten, 1);
		assert_string_equal(c->listen[0],
				    "unix:/var/spool/postfix/postlb/policy");
		assert_int_equal(c->socket_mode, 0660);
		assert_null(c->user);
		assert_null(c->group);
		assert_int_equal(c->budget_ms, 50);
		assert_int_equal(c->fail_mode, FAIL_OPEN);
		assert_int_equal(c->max_connections, 4096);
		assert_int_equal(c->idle_timeout_ms, 600000);
		assert_int_equal(c->quota_reserve, 1);
		assert_int_equal(c->quota_reserve_ms, 200);
		assert_int_equal(c->limits.line_max,
				 pp_default_limits.line_max);
		assert_int_equal(c->limits.attrs_max,
				 pp_default_limits.attrs_max);
		assert_int_equal(c->limits.request_max,
				 pp_default_limits.request_max);
		assert_int_equal(c->nclasses, 0);
		assert_int_equal(c->nquotas, 0);
		for (int s = 0; s < SUBJ_N; s++) {
			assert_int_equal(c->exempt[s].nvalues, 0);
			assert_int_equal(c->exempt[s].nnets, 0);
		}
		config_unref(c);
	}
}

/* A quota with only the required settings gets the documented defaults. */
static void test_quota_defaults(void **state)
{
	struct config *c = load_ok(
	    "quotas = ( { name = \"q\"; subject = \"client_ip\";\n"
	    "  unit = \"messages\"; limit = 5; window = \"1m\"; } );\n");
	const struct cfg_quota *q = &c->quotas[0];

	(void)state;
	assert_int_equal(c->nquotas, 1);
	assert_int_equal(q->reject, 0);
	assert_null(q->class);
	assert_int_equal(q->cidr4, 32);
	assert_int_equal(q->cidr6, 128);
	assert_int_equal(q->line, 1);
	config_unref(c);
}


/* One quota group on line 2, with the given settings. */
#define Q(body) "quotas = (\n  { " body " }\n);\n"
/* The settings every quota needs, to be completed by one more. */
#define QBASE "name = \"q\"; subject = \"sender\"; "
#define QFULL QBASE "unit = \"messages\"; limit = 1; window = \"1h\"; "

static const struct bad_case bad_cases[] = {
    /* two strings side by side: libconfig would join them */
    {"adjacent strings", "policyd = {\n  listen = [ \"unix:/a\"\n    \"unix:/b\" ];\n};\n",
     3, "two strings side by side would be joined"},
    {"adjacent strings, one line", "exempt = {\n  sender = [ \"a@x\" \"b@x\" ];\n};\n",
     2, "a missing comma?"},
    {"adjacent strings around a comment",
     "exempt = {\n  sender = [ \"a@x\" # first\n /* c */ \"b@x\" ];\n};\n", 3,
     "two strings"},
    {"adjacent strings after an escaped quote",
     "redis = {\n  prefix = \"a\\\"\" \"b\";\n};\n", 2, "two strings"},
    /* syntax */
    {"syntax error", "redis = {\n  address = ;\n};\n", 2, "syntax error"},
    {"bad token", "redis = {\n  db = 1;\n  prefix = 'x';\n};\n", 3,
     "syntax error"},
    {"duplicate setting", "redis = {\n  db = 1;\n  db = 2;\n};\n", 3,
     "duplicate setting"},
    /* unknown names */
    {"unknown top-level", "redis = {};\nfoo = 1;\n", 2,
     "unknown setting 'foo'"},
    {"unknown in redis", "redis = {\n  adress = \"x:1\";\n};\n", 2,
     "unknown setting 'adress'"},
    {"unknown in policyd",
     "policyd = {\n  listen = \"unix:/x\";\n  bugdet = \"10ms\";\n};\n", 3,
     "unknown setting 'bugdet'"},
    {"unknown in quota", Q(QFULL "limt = 5;"), 2, "unknown setting 'limt'"},
    {"unknown in class",
     "classes = {\n  vip = {\n    subject = \"sender\";\n"
     "    member = [ \"a@b\" ];\n  };\n};\n",
     4, "unknown setting 'member'"},
    /* redis */
    {"redis not a group", "redis = 5;\n", 1, "'redis' must be a group"},
    {"redis db range", "redis = {\n  db = 16;\n};\n", 2,
     "'db' = 16 is out of range 0..15"},
    {"redis db type", "redis = {\n  db = \"1\";\n};\n", 2,
     "'db' must be an integer"},
    {"redis address", "redis = {\n  address = \"localhost\";\n};\n", 2,
     "redis address must be"},
    {"redis address type", "redis = {\n  address = 6379;\n};\n", 2,
     "'address' must be a string"},
    {"redis prefix",
     "redis = {\n  prefix = "
     "\"0123456789012345678901234567890123456789012345678901234567890123"
     "4\";\n};\n",
     1, "redis prefix longer than 64 bytes"},
    /* policyd */
    {"policyd not a group", "policyd = ( );\n", 1, "'policyd' must be a group"},
    {"listen udp", "policyd = {\n  listen = \"udp:127.0.0.1:25\";\n};\n", 2,
     "listen address 'udp:127.0.0.1:25' must be"},
    {"listen no port", "policyd = {\n  listen = \"tcp:127.0.0.1\";\n};\n", 2,
     "listen address 'tcp:127.0.0.1' must be"},
    {"listen port 0", "policyd = {\n  listen = \"tcp:127.0.0.1:0\";\n};\n", 2,
     "listen address"},
    {"listen port 65536",
     "policyd = {\n  listen = \"tcp:127.0.0.1:65536\";\n};\n", 2,
     "listen address"},
    {"listen port junk", "policyd = {\n  listen = \"tcp:127.0.0.1:25x\";\n};\n",
     2, "listen address"},
    {"listen empty unix", "policyd = {\n  listen = \"unix:\";\n};\n", 2,
     "listen address 'unix:' must be"},
    {"listen long unix",
     "policyd = {\n  listen = \"unix:/"
     "0123456789012345678901234567890123456789012345678901234567890123456789"
     "0123456789012345678901234567\";\n};\n",
     2, "under 100 bytes"},
    {"listen second bad",
     "policyd = {\n  listen = [ \"unix:/a\", \"tcp:x\" ];\n};\n", 2,
     "listen address 'tcp:x' must be"},
    {"listen empty list", "policyd = {\n  listen = [ ];\n};\n", 2,
     "'listen' is empty"},
    {"listen type", "policyd = {\n  listen = 25;\n};\n", 2,
     "must be a list of strings"},
    {"fail_mode", "policyd = {\n  fail_mode = \"half\";\n};\n", 2,
     "'fail_mode' must be \"open\" or \"closed\""},
    {"fail_mode case", "policyd = {\n  fail_mode = \"Open\";\n};\n", 2,
     "'fail_mode' must be"},
    {"socket_mode word", "policyd = {\n  socket_mode = \"rw\";\n};\n", 2,
     "'socket_mode' must be octal"},
    {"socket_mode 9", "policyd = {\n  socket_mode = \"0699\";\n};\n", 2,
     "'socket_mode' must be octal"},
    {"socket_mode big", "policyd = {\n  socket_mode = \"01000\";\n};\n", 2,
     "'socket_mode' must be octal"},
    {"socket_mode empty", "policyd = {\n  socket_mode = \"\";\n};\n", 2,
     "'socket_mode' must be octal"},
    {"socket_mode space", "policyd = {\n  socket_mode = \" 0660\";\n};\n", 2,
     "'socket_mode' must be octal"},
    {"socket_mode plus", "policyd = {\n  socket_mode = \"+660\";\n};\n", 2,
     "'socket_mode' must be octal"},
    {"socket_mode minus", "policyd = {\n  socket_mode = \"-0\";\n};\n", 2,
     "'socket_mode' must be octal"},
    {"socket_mode huge",
     "policyd = {\n  socket_mode = \"7777777777777777777777777\";\n};\n", 2,
     "'socket_mode' must be octal"},
    {"socket_mode int", "policyd = {\n  socket_mode = 432;\n};\n", 2,
     "'socket_mode' must be a string"},
    {"budget over 10s", "policyd = {\n  budget = \"10001ms\";\n};\n", 2,
     "'budget' must be at most 10s"},
    {"budget 11s", "policyd = {\n  budget = \"11s\";\n};\n", 2,
     "'budget' must be at most 10s"},
    {"budget int", "policyd = {\n  budget = 11;\n};\n", 2,
     "'budget' must be at most 10s"},
    {"budget zero", "policyd = {\n  budget = \"0ms\";\n};\n", 2,
     "'budget' must be a duration"},
    {"reserve not a boolean", "policyd = {\n  reserve = 1;\n};\n", 2,
     "'reserve' must be true or false"},
    {"reserve_time over 10s", "policyd = {\n  reserve_time = \"11s\";\n};\n",
     2, "'reserve_time' must be at most 10s"},
    {"reserve_time zero", "policyd = {\n  reserve_time = \"0ms\";\n};\n", 2,
     "'reserve_time' must be a duration"},
    {"idle_timeout short", "policyd = {\n  idle_timeout = \"999ms\";\n};\n", 2,
     "'idle_timeout' must be at least 1000 ms"},
    {"max_connections 0", "policyd = {\n  max_connections = 0;\n};\n", 2,
     "'max_connections' = 0 is out of range"},
    {"line_max small", "policyd = {\n  line_max = 63;\n};\n", 2,
     "'line_max' = 63 is out of range"},
    {"attributes_max small", "policyd = {\n  attributes_max = 7;\n};\n", 2,
     "'attributes_max' = 7 is out of range"},
    {"request_max small", "policyd = {\n  request_max = 255;\n};\n", 2,
     "'request_max' = 255 is out of range"},
    /* classes */
    {"classes not a group", "classes = ( );\n", 1, "'classes' must be a group"},
    {"class not a group", "classes = {\n  vip = 5;\n};\n", 2,
     "class 'vip' must be a group"},
    {"class subject global",
     "classes = {\n  all = { subject = \"global\"; members = [ \"x\" ]; };\n"
     "};\n",
     2, "makes no sense"},
    {"class no members",
     "classes = {\n  vip = { subject = \"sender\"; };\n};\n", 2,
     "class 'vip' has no 'members'"},
    {"class no subject",
     "classes = {\n  vip = { members = [ \"a@b\" ]; };\n};\n", 2,
     "missing 'subject'"},
    {"class bad cidr",
     "classes = {\n  lan = { subject = \"client_ip\";\n"
     "    members = [ \"192.0.2.0/24\", \"192.0.2.0/33\" ]; };\n};\n",
     3, "'192.0.2.0/33' is not an address or network"},
    {"class empty member",
     "classes = {\n  vip = { subject = \"sender\"; members = [ \"\" ]; };\n"
     "};\n",
     2, "empty or over-long value"},
    /* quotas */
    {"quotas not a list", "quotas = {\n  a = 1;\n};\n", 1,
     "'quotas' must be a list"},
    {"quota not a group", "quotas = ( \"x\" );\n", 1,
     "a quota must be a group"},
    {"bad subject",
     "quotas = (\n  {\n    name = \"q\";\n    subject = \"user\";\n"
     "    unit = \"messages\"; limit = 1; window = \"1h\";\n  }\n);\n",
     4, "'subject' must be one of"},
    {"missing subject",
     Q("name = \"q\"; unit = \"messages\"; limit = 1; window = \"1h\";"), 2,
     "missing 'subject'"},
    {"bad unit", Q(QBASE "unit = \"mails\"; limit = 1; window = \"1h\";"), 2,
     "quota 'q': 'unit' must be messages, recipients or bytes"},
    {"missing unit", Q(QBASE "limit = 1; window = \"1h\";"), 2,
     "'unit' must be messages, recipients or bytes"},
    {"rcpt domain messages",
     Q("name = \"q\"; subject = \"recipient_domain\"; unit = \"messages\"; "
       "limit = 1; window = \"1h\";"),
     2, "recipient_domain quotas count recipients"},
    {"rcpt domain bytes",
     Q("name = \"q\"; subject = \"recipient_domain\"; unit = \"bytes\"; "
       "limit = 1; window = \"1h\";"),
     2, "recipient_domain quotas count recipients"},
    {"missing limit", Q(QBASE "unit = \"messages\"; window = \"1h\";"), 2,
     "quota 'q' needs 'limit' and 'window'"},
    {"missing window", Q(QBASE "unit = \"messages\"; limit = 1;"), 2,
     "quota 'q' needs 'limit' and 'window'"},
    {"negative limit",
     Q(QBASE "unit = \"messages\"; limit = -1; window = \"1h\";"), 2,
     "'limit' = -1 is out of range"},
    {"limit string",
     Q(QBASE "unit = \"messages\"; limit = \"5\"; window = \"1h\";"), 2,
     "'limit' must be an integer"},
    {"bad duration",
     "quotas = (\n  { " QBASE "unit = \"messages\"; limit = 1;\n"
     "    window = \"1 hour\"; }\n);\n",
     3, "'window' must be a duration"},
    {"duration unit",
     Q(QBASE "unit = \"messages\"; limit = 1; window = \"1w\";"), 2,
     "'window' must be a duration"},
    {"duration float", Q(QBASE "unit = \"messages\"; limit = 1; window = 1.5;"),
     2, "'window' must be a duration"},
    {"duration too long",
     Q(QBASE "unit = \"messages\"; limit = 1; window = \"367d\";"), 2,
     "'window' must be a duration"},
    {"duration zero int",
     Q(QBASE "unit = \"messages\"; limit = 1; window = 0;"), 2,
     "'window' = 0 s is out of range"},
    {"window short",
     Q(QBASE "unit = \"messages\"; limit = 1; window = \"999ms\";"), 2,
     "'window' must be at least 1000 ms"},
    {"duplicate quota name",
     "quotas = (\n  { " QFULL "},\n  { name = \"r\"; subject = \"sender\"; "
     "unit = \"bytes\"; limit = 1; window = 60; },\n\n  { " QFULL "}\n);\n",
     5, "quota name 'q' is already used at line 2"},
    {"missing name",
     Q("subject = \"sender\"; unit = \"messages\"; limit = 1; window = 60;"), 2,
     "a quota needs a 'name'"},
    {"name with colon", Q("name = \"a:b\"; subject = \"sender\";"), 2,
     "a quota needs a 'name'"},
    {"name with space", Q("name = \"a b\"; subject = \"sender\";"), 2,
     "a quota needs a 'name'"},
    {"name empty", Q("name = \"\"; subject = \"sender\";"), 2,
     "a quota needs a 'name'"},
    {"name too long",
     Q("name = "
       "\"0123456789012345678901234567890123456789012345678901234567890123"
       "4\"; subject = \"sender\";"),
     2, "a quota needs a 'name'"},
    {"bad action", Q(QFULL "action = \"drop\";"), 2,
     "quota 'q': 'action' must be defer or reject"},
    {"cidr 33", Q(QFULL "cidr = 33;"), 2, "'cidr' = 33 is out of range 0..32"},
    {"cidr6 129", Q(QFULL "cidr6 = 129;"), 2,
     "'cidr6' = 129 is out of range 0..128"},
    {"unknown class", Q(QFULL "class = \"gold\";"), 2,
     "quota 'q': unknown class 'gold'"},
    {"class subject mismatch",
     "classes = {\n  vip = { subject = \"sasl_user\"; members = [ \"a\" ]; };"
     "\n};\nquotas = (\n  { " QFULL "class = \"vip\"; }\n);\n",
     5, "class 'vip' holds sasl_user values, not sender"},
    /* exempt */
    {"exempt not a group", "exempt = [ \"x\" ];\n", 1,
     "'exempt' must be a group"},
    {"exempt bad cidr",
     "exempt = {\n  client_ip = [ \"127.0.0.0/8\", \"10.0.0.0/33\" ];\n};\n", 2,
     "'10.0.0.0/33' is not an address or network"},
    {"exempt bad cidr middle",
     "exempt = {\n  client_ip = [\n    \"127.0.0.1\",\n    \"10.0.0.300\",\n"
     "    \"::1\"\n  ];\n};\n",
     4, "'10.0.0.300' is not an address or network"},
    {"exempt hostname", "exempt = {\n  client_ip = [ \"localhost\" ];\n};\n", 2,
     "'localhost' is not an address"},
    {"exempt global", "exempt = {\n  global = [ \"x\" ];\n};\n", 2,
     "unknown exemption 'global'"},
    {"exempt unknown", "exempt = {\n  helo = [ \"x\" ];\n};\n", 2,
     "unknown exemption 'helo'"},
    {"exempt not a list", "exempt = {\n  client_ip = \"127.0.0.1\";\n};\n", 2,
     "'client_ip' must be a list of strings"},
    {"exempt group", "exempt = {\n  sender = { a = 1; };\n};\n", 2,
     "'sender' must be a list of strings"},
    {"exempt not strings", "exempt = {\n  sender = [ 1, 2 ];\n};\n", 2,
     "'sender' must hold strings only"},
    /* metrics endpoints */
    {"metrics no port", "policyd = {\n  metrics = \"127.0.0.1\";\n};\n", 2,
     "metrics address '127.0.0.1' must be"},
    {"metrics port 0", "policyd = {\n  metrics = \"127.0.0.1:0\";\n};\n", 2,
     "metrics address"},
    {"metrics port 65536",
     "policyd = {\n  metrics = \"127.0.0.1:65536\";\n};\n", 2,
     "metrics address"},
    {"metrics port junk", "milter = {\n  metrics = \"127.0.0.1:94x1\";\n};\n",
     2, "metrics address"},
    {"metrics no host", "milter = {\n  metrics = \":9461\";\n};\n", 2,
     "metrics address"},
    {"metrics v6 bare", "milter = {\n  metrics = \"::1:9461\";\n};\n", 2,
     "metrics address"},
    {"metrics v6 empty", "milter = {\n  metrics = \"[]:9461\";\n};\n", 2,
     "metrics address"},
    {"metrics type", "policyd = {\n  metrics = 9461;\n};\n", 2,
     "'metrics' must be a string"},
};

/* Checks that err starts with "NAME:LINE: " and holds phrase. */
static void check_err(const char *what, const char *err, int line,
		      const char *phrase)
{
	check_err_named(NAME, what, err, line, phrase);
}

static void test_invalid(void **state)
{
	(void)state;
	check_bad_cases(NAME, bad_cases, NELEM(bad_cases));
}

/* Builds a config of n minimal quotas named q0, q1, ... */
static char *quotas_text(int n)
{
	size_t cap = 64 + (size_t)n * 128, o = 0;
	char *t = malloc(cap);

	assert_non_null(t);
	o += (size_t)snprintf(t + o, cap - o, "quotas = (\n");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(
		    t + o, cap - o,
		    "  { name = \"q%d\"; subject = \"sender\"; "
		    "unit = \"messages\"; limit = %d; "
		    "window = 60; }%s\n",
		    i, i, i + 1 < n ? "," : "");
	snprintf(t + o, cap - o, ");\n");
	return t;
}

static void test_quotas_max(void **state)
{
	char *t = quotas_text(CONFIG_QUOTAS_MAX);
	struct config *c = load_ok(t), *bad = NULL;
	char err[600] = "";

	(void)state;
	assert_int_equal(c->nquotas, CONFIG_QUOTAS_MAX);
	assert_string_equal(c->quotas[CONFIG_QUOTAS_MAX - 1].name, "q63");
	assert_int_equal(c->quotas[CONFIG_QUOTAS_MAX - 1].line,
			 CONFIG_QUOTAS_MAX + 1);
	config_unref(c);
	free(t);
	t = quotas_text(CONFIG_QUOTAS_MAX + 1);
	assert_int_equal(config_load_string(t, NAME, &bad, err, sizeof(err)),
			 -1);
	assert_null(bad);
	check_err("65 quotas", err, 1, "more than 64 quotas");
	free(t);
}

/*
 * Builds a routing config: nmembers members m0.. (line 2 on, one a line),
 * then "pools = {" on line nmembers + 3 and npools pools p0.. (one a line),
 * each of pool_members members (m0, m1, ... cycling), the default p0.
 * warm_days > 0 gives m0 a warm-up of that many caps.
 */
static char *routing_text(int nmembers, int npools, int pool_members,
			  int warm_days)
{
	size_t cap = 256 + (size_t)nmembers * 64 +
		     (size_t)npools * (64 + (size_t)pool_members * 8) +
		     (size_t)warm_days * 8,
	       o = 0;
	char *t = malloc(cap);

	assert_non_null(t);
	o += (size_t)snprintf(t + o, cap - o, "members = {\n");
	for (int i = 0; i < nmembers; i++) {
		o += (size_t)snprintf(t + o, cap - o, "  m%d = { ", i);
		if (i == 0 && warm_days > 0) {
			o += (size_t)snprintf(t + o, cap - o,
					      "warmup = { start = \"2024-01-01\";"
					      " caps = [ ");
			for (int d = 0; d < warm_days; d++)
				o += (size_t)snprintf(t + o, cap - o, "%s%d",
						      d ? ", " : "", d);
			o += (size_t)snprintf(t + o, cap - o, " ]; }; ");
		}
		o += (size_t)snprintf(t + o, cap - o, "};\n");
	}
	o += (size_t)snprintf(t + o, cap - o, "};\npools = {\n");
	for (int i = 0; i < npools; i++) {
		o += (size_t)snprintf(t + o, cap - o, "  p%d = { members = [", i);
		for (int j = 0; j < pool_members; j++)
			o += (size_t)snprintf(t + o, cap - o, "%s\"m%d\"",
					      j ? ", " : " ", j % nmembers);
		o += (size_t)snprintf(t + o, cap - o, " ]; };\n");
	}
	o += (size_t)snprintf(t + o, cap - o,
			      "};\nrouting = { default_pool = \"p0\"; };\n");
	assert_true(o < cap);
	return t;
}

/* Loads text, which must be refused at line with phrase. */
static void check_refused(const char *what, char *text, int line,
			  const char *phrase)
{
	struct config *bad = NULL;
	char err[600] = "";

	assert_int_equal(
	    config_load_string(text, NAME, &bad, err, sizeof(err)), -1);
	assert_null(bad);
	check_err(what, err, line, phrase);
	free(text);
}

/* Pools, members per pool, members and warm-up days: max accepted, max + 1
 * not. */
static void test_routing_max(void **state)
{
	char *t = routing_text(1, CONFIG_POOLS_MAX, 1, 0), phrase[64];
	struct config *c = load_ok(t);

	(void)state;
	assert_int_equal(c->npools, CONFIG_POOLS_MAX);
	assert_int_equal(c->pools[CONFIG_POOLS_MAX - 1].line,
			 CONFIG_POOLS_MAX + 4);
	config_unref(c);
	free(t);
	snprintf(phrase, sizeof(phrase), "more than %d pools", CONFIG_POOLS_MAX);
	check_refused("65 pools", routing_text(1, CONFIG_POOLS_MAX + 1, 1, 0),
		      4, phrase);
	check_refused("200 pools", routing_text(1, 200, 1, 0), 4, phrase);

	t = routing_text(CONFIG_POOL_MEMBERS_MAX, 2, CONFIG_POOL_MEMBERS_MAX, 0);
	c = load_ok(t);
	assert_int_equal(c->pools[1].nmembers, CONFIG_POOL_MEMBERS_MAX);
	config_unref(c);
	free(t);
	snprintf(phrase, sizeof(phrase), "pool 'p0': more than %d members",
		 CONFIG_POOL_MEMBERS_MAX);
	check_refused("1025 members in a pool",
		      routing_text(CONFIG_POOL_MEMBERS_MAX + 1, 1,
				   CONFIG_POOL_MEMBERS_MAX + 1, 0),
		      CONFIG_POOL_MEMBERS_MAX + 5, phrase);
	t = routing_text(CONFIG_MEMBERS_MAX, 1, 1, 0);
	c = load_ok(t);
	assert_int_equal(c->nmembers, CONFIG_MEMBERS_MAX);
	config_unref(c);
	free(t);
	snprintf(phrase, sizeof(phrase), "more than %d members",
		 CONFIG_MEMBERS_MAX);
	check_refused("4097 members",
		      routing_text(CONFIG_MEMBERS_MAX + 1, 1, 1, 0), 1,
		      phrase);

	t = routing_text(1, 1, 1, CONFIG_WARM_DAYS_MAX);
	c = load_ok(t);
	assert_int_equal(c->members[0].nwarm, CONFIG_WARM_DAYS_MAX);
	config_unref(c);
	free(t);
	snprintf(phrase, sizeof(phrase), "(1..%d integers)",
		 CONFIG_WARM_DAYS_MAX);
	check_refused("367 warm-up days",
		      routing_text(1, 1, 1, CONFIG_WARM_DAYS_MAX + 1), 2,
		      phrase);
}

static const struct bad_case bad_hosts[] = {
    {"host not a string", "host = 5;\n", 1, "'host' must be a host name"},
    {"host bad name", "host = \"mx 1\";\n", 1, "'host' must be a host name"},
    {"hosts not a list", "host = \"a\";\nhosts = { a = 1; };\n", 2,
     "'hosts' must be a list"},
    {"host not a group", "host = \"a\";\nhosts = ( \"a\" );\n", 2,
     "each host is a group"},
    {"host without name", "host = \"a\";\nhosts = (\n  { site = \"x\"; } );\n",
     3, "a host needs a name"},
    {"host twice",
     "host = \"a\";\nhosts = ( { name = \"a\"; },\n  { name = \"a\"; } );\n",
     3, "host 'a' is listed twice"},
    {"this host not declared",
     "host = \"mx9\";\nhosts = ( { name = \"mx1\"; } );\n", 1,
     "this host 'mx9' is not among 'hosts'"},
    {"host unknown key",
     "host = \"a\";\nhosts = (\n  { name = \"a\"; rack = 1; } );\n", 3,
     "unknown setting 'rack'"},
    {"member host undeclared",
     "host = \"a\";\nhosts = ( { name = \"a\"; } );\nmembers = {\n"
     "  m = { host = \"b\"; };\n};\n",
     4, "member 'm': host 'b' is not among 'hosts'"},
    {"member host and hosts",
     "host = \"a\";\nmembers = {\n  m = { host = \"a\";\n"
     "    hosts = [ \"a\" ]; };\n};\n",
     4, "member 'm': 'host' or 'hosts', not both"},
    {"member hosts empty",
     "host = \"a\";\nmembers = {\n  m = { hosts = [ ]; };\n};\n", 3,
     "'hosts' must be a list of host names"},
    {"pool without a member for a host",
     "host = \"a\";\nhosts = ( { name = \"a\"; }, { name = \"b\"; } );\nmembers = {\n"
     "  m = { host = \"a\"; };\n};\npools = {\n  p = { members = [ \"m\" ]; "
     "};\n};\n",
     7, "pool 'p': no member for host 'b' and no fallback pool"},
    {"pool without a member for this host",
     "host = \"c\";\nmembers = {\n  m = { host = \"a\"; };\n};\n"
     "pools = {\n  p = { members = [ \"m\" ]; };\n};\n",
     6, "pool 'p': no member for host 'c' and no fallback pool"},
};

/* Builds a hosts group of nhosts hosts h0.. and a member naming
 * nmember_hosts of them. */
static char *hosts_text(int nhosts, int nmember_hosts)
{
	size_t cap = 256 + (size_t)(nhosts + nmember_hosts) * 32, o = 0;
	char *t = malloc(cap);

	assert_non_null(t);
	o += (size_t)snprintf(t + o, cap - o, "host = \"h0\";\nhosts = (");
	for (int i = 0; i < nhosts; i++)
		o += (size_t)snprintf(t + o, cap - o, "%s{ name = \"h%d\"; }",
				      i ? ", " : " ", i);
	o += (size_t)snprintf(t + o, cap - o, " );\nmembers = {\n  m = { hosts = [");
	for (int i = 0; i < nmember_hosts; i++)
		o += (size_t)snprintf(t + o, cap - o, "%s\"h%d\"", i ? ", " : " ",
				      i % nhosts);
	o += (size_t)snprintf(t + o, cap - o, " ]; };\n};\n");
	assert_true(o < cap);
	return t;
}

/* host, hosts and the members' hosts: read, limits, errors. */
static void test_hosts(void **state)
{
	struct config *c;
	char *t, phrase[64];

	(void)state;
	c = load_ok("");
	assert_non_null(c->host_name); /* the hostname by default */
	assert_true(strlen(c->host_name) > 0);
	assert_int_equal(c->nhosts, 0);
	assert_null(c->host_site);
	config_unref(c);
	c = load_ok("host = \"mx1.example\";\nhosts = ( { name = \"mx1.example\"; "
		    "site = \"fra\"; }, { name = \"mx2\"; } );\nmembers = {\n  a = { host = "
		    "\"mx2\"; };\n  b = { hosts = [ \"mx1.example\", \"mx2\" ]; "
		    "};\n  c = { };\n};\n");
	assert_string_equal(c->host_name, "mx1.example");
	assert_string_equal(c->host_site, "fra");
	assert_int_equal(c->nhosts, 2);
	assert_int_equal(c->members[0].here, 0);
	assert_int_equal(c->members[1].here, 1);
	assert_int_equal(c->members[2].here, 1); /* shared */
	assert_int_equal(c->members[1].nhosts, 2);
	assert_int_equal(config_member_on(&c->members[0], "mx2"), 1);
	assert_int_equal(config_member_on(&c->members[0], "mx1.example"), 0);
	assert_int_equal(config_member_on(&c->members[2], "any"), 1);
	config_unref(c);
	/* limits: hosts, hosts of one member */
	t = hosts_text(CONFIG_HOSTS_MAX, CONFIG_MEMBER_HOSTS_MAX);
	c = load_ok(t);
	assert_int_equal(c->nhosts, CONFIG_HOSTS_MAX);
	assert_int_equal(c->members[0].nhosts, CONFIG_MEMBER_HOSTS_MAX);
	config_unref(c);
	free(t);
	snprintf(phrase, sizeof(phrase), "more than %d hosts", CONFIG_HOSTS_MAX);
	check_refused("65 hosts", hosts_text(CONFIG_HOSTS_MAX + 1, 1), 2,
		      phrase);
	snprintf(phrase, sizeof(phrase), "member 'm': more than %d hosts",
		 CONFIG_MEMBER_HOSTS_MAX);
	check_refused("17 hosts of a member",
		      hosts_text(CONFIG_HOSTS_MAX, CONFIG_MEMBER_HOSTS_MAX + 1),
		      4, phrase);
	check_bad_cases(NAME, bad_hosts, NELEM(bad_hosts));
}

/* Boundaries that are accepted. */
static void test_valid_edges(void **state)
{
	static const char *const texts[] = {
	    "policyd = { budget = \"10s\"; };\n",
	    "policyd = { budget = 10; };\n",
	    "policyd = { budget = \"1ms\"; idle_timeout = \"1s\"; };\n",
	    "policyd = { socket_mode = \"0\"; };\n",
	    "policyd = { socket_mode = \"777\"; };\n",
	    "policyd = { listen = \"tcp:[::1]:65535\"; };\n",
	    "policyd = { line_max = 64; attributes_max = 8; request_max = 256; "
	    "};\n",
	    "redis = { db = 15; address = \"redis.example:6380\"; };\n",
	    /* quotes inside strings and comments are not strings */
	    "redis = { prefix = \"p\\\"x\"; password = \"a#b//c\"; };\n"
	    "# \"a\" \"b\"\n// \"a\" \"b\"\n/* \"a\"\n \"b\" */\n",
	    "exempt = { sender = [ \"a@x\", \"b@x\" ]; };\n",
	    "members = { x = { nexthop = \"[2001:db8::1]:65535\"; };\n"
	    "  y = { nexthop = \"relay.example:submission\"; };\n"
	    "  z = { nexthop = \"r1:1\"; }; w = { nexthop = \"[r1]\"; }; };\n",
	    "quotas = ( { name = \"q\"; subject = \"sender\"; unit = \"bytes\";"
	    " limit = 0; window = \"366d\"; cidr = 0; cidr6 = 0; } );\n",
	    "quotas = ( { name = \"q\"; subject = \"sender\"; unit = \"bytes\";"
	    " limit = 1125899906842624L; window = \"1000ms\"; } );\n",
	};

	(void)state;
	for (size_t i = 0; i < NELEM(texts); i++)
		config_unref(load_ok(texts[i]));
}

static void test_metrics_addr(void **state)
{
	char text[CONFIG_METRICS_ADDR_MAX + 64], host[CONFIG_METRICS_ADDR_MAX];
	struct config *c = load_ok("redis = {};\n");
	char err[512];

	(void)state;
	assert_null(c->policyd_metrics); /* off when unset */
	assert_null(c->milter_metrics);
	config_unref(c);
	c = load_ok("policyd = { metrics = \"127.0.0.1:9461\"; };\n"
		    "milter = { metrics = \"[::1]:65535\"; };\n");
	assert_string_equal(c->policyd_metrics, "127.0.0.1:9461");
	assert_string_equal(c->milter_metrics, "[::1]:65535");
	config_unref(c);
	/* the longest address, and one byte more */
	memset(host, 'h', sizeof(host));
	host[CONFIG_METRICS_ADDR_MAX - 5] = '\0'; /* + ":9461" */
	snprintf(text, sizeof(text), "policyd = { metrics = \"%s:9461\"; };\n",
		 host);
	c = load_ok(text);
	assert_int_equal(strlen(c->policyd_metrics), CONFIG_METRICS_ADDR_MAX);
	config_unref(c);
	snprintf(text, sizeof(text), "policyd = { metrics = \"h%s:9461\"; };\n",
		 host);
	c = NULL;
	assert_int_equal(config_load_string(text, NAME, &c, err, sizeof(err)),
			 -1);
	assert_null(c);
	assert_non_null(strstr(err, "at most 255 bytes"));
}

static void test_budget_value(void **state)
{
	struct config *c = load_ok("policyd = { budget = \"10s\"; "
				   "socket_mode = \"0\"; };\n");

	(void)state;
	assert_int_equal(c->budget_ms, 10000);
	assert_int_equal(c->socket_mode, 0);
	config_unref(c);
}

static void test_set_has(void **state)
{
	struct config *c = load_ok(full_conf);
	const struct cfg_set *e = c->exempt;
	const struct cfg_set *lan = &c->classes[1].members;

	(void)state;
	/* networks */
	assert_true(
	    config_set_has(&e[SUBJ_CLIENT_IP], SUBJ_CLIENT_IP, "127.0.0.1"));
	assert_true(
	    config_set_has(&e[SUBJ_CLIENT_IP], SUBJ_CLIENT_IP, "127.255.0.9"));
	assert_true(config_set_has(&e[SUBJ_CLIENT_IP], SUBJ_CLIENT_IP, "::1"));
	assert_false(
	    config_set_has(&e[SUBJ_CLIENT_IP], SUBJ_CLIENT_IP, "128.0.0.1"));
	assert_false(config_set_has(&e[SUBJ_CLIENT_IP], SUBJ_CLIENT_IP, "::2"));
	assert_false(
	    config_set_has(&e[SUBJ_CLIENT_IP], SUBJ_CLIENT_IP, "unknown"));
	assert_true(config_set_has(lan, SUBJ_CLIENT_IP, "2001:db8:ff::1"));
	assert_false(config_set_has(lan, SUBJ_CLIENT_IP, "192.0.3.1"));
	/* sasl user names are case-sensitive */
	assert_true(
	    config_set_has(&e[SUBJ_SASL_USER], SUBJ_SASL_USER, "monitor"));
	assert_false(
	    config_set_has(&e[SUBJ_SASL_USER], SUBJ_SASL_USER, "Monitor"));
	assert_false(
	    config_set_has(&e[SUBJ_SASL_USER], SUBJ_SASL_USER, "monitor2"));
	/* addresses are not */
	assert_true(
	    config_set_has(&e[SUBJ_SENDER], SUBJ_SENDER, "bounce@example.org"));
	assert_false(config_set_has(&e[SUBJ_SENDER], SUBJ_SENDER,
				    "x.bounce@example.org"));
	/* ".domain" matches subdomains only, "domain" itself only */
	assert_true(config_set_has(&e[SUBJ_SENDER_DOMAIN], SUBJ_SENDER_DOMAIN,
				   "mail.trusted.example"));
	assert_true(config_set_has(&e[SUBJ_SENDER_DOMAIN], SUBJ_SENDER_DOMAIN,
				   "A.B.TRUSTED.Example"));
	assert_false(config_set_has(&e[SUBJ_SENDER_DOMAIN], SUBJ_SENDER_DOMAIN,
				    "trusted.example"));
	assert_false(config_set_has(&e[SUBJ_SENDER_DOMAIN], SUBJ_SENDER_DOMAIN,
				    "untrusted.example"));
	assert_true(config_set_has(&e[SUBJ_SENDER_DOMAIN], SUBJ_SENDER_DOMAIN,
				   "Partner.Example"));
	assert_false(config_set_has(&e[SUBJ_SENDER_DOMAIN], SUBJ_SENDER_DOMAIN,
				    "mx.partner.example"));
	assert_true(config_set_has(&e[SUBJ_RCPT_DOMAIN], SUBJ_RCPT_DOMAIN,
				   "postmaster.example"));
	config_unref(c);
}

/* The leading-dot rule is for domains; a sender ".x" is a plain value. */
static void test_set_has_dot_sender(void **state)
{
	struct config *c =
	    load_ok("exempt = { sender = [ \".example.com\" ]; "
		    "sender_domain = [ \".example.com\" ]; };\n");

	(void)state;
	assert_false(config_set_has(&c->exempt[SUBJ_SENDER], SUBJ_SENDER,
				    "a@b.example.com"));
	assert_true(config_set_has(&c->exempt[SUBJ_SENDER_DOMAIN],
				   SUBJ_SENDER_DOMAIN, "b.example.com"));
	config_unref(c);
}

static void test_names(void **state)
{
	(void)state;
	for (int s = 0; s < SUBJ_N; s++)
		assert_int_equal(config_subj_parse(config_subj_name(s)), s);
	assert_string_equal(config_subj_name(SUBJ_RCPT_DOMAIN),
			    "recipient_domain");
	assert_string_equal(config_subj_name(SUBJ_N), "?");
	assert_int_equal(config_subj_parse("Sender"), -1);
	assert_int_equal(config_subj_parse(""), -1);
	assert_string_equal(config_unit_name(UNIT_MESSAGES), "messages");
	assert_string_equal(config_unit_name(UNIT_RECIPIENTS), "recipients");
	assert_string_equal(config_unit_name(UNIT_BYTES), "bytes");
	assert_string_equal(config_unit_name((enum unit)3), "?");
}

static void test_refs(void **state)
{
	struct config *c = load_ok(full_conf);

	(void)state;
	assert_ptr_equal(config_ref(c), c);
	assert_int_equal(c->refs, 2);
	config_unref(c);
	assert_int_equal(c->refs, 1);
	assert_string_equal(c->quotas[0].name, "sender_msgs");
	config_unref(c); /* frees; the sanitizers check nothing leaks */
	config_unref(NULL);
}

/* A short error buffer truncates the message and keeps it terminated. */
static void test_err_small(void **state)
{
	struct config *c = NULL;
	char err[16];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(config_load_string("foo = 1;\n", NAME, &c, err, 8),
			 -1);
	assert_string_equal(err, NAME ":");
	assert_int_equal(err[8], 'x');
	memset(err, 'x', sizeof(err));
	assert_int_equal(config_load_string("foo = ;\n", NAME, &c, err, 8), -1);
	assert_string_equal(err, NAME ":");
	assert_null(c);
}

/* config_load reads a file and names it in errors. */
static void test_load_file(void **state)
{
	char path[] = "/tmp/test_config.XXXXXX";
	const char bad[] = "redis = {\n  db = 99;\n};\n";
	struct config *c = NULL;
	char err[600], want[128];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd != -1);
	assert_int_equal(write(fd, full_conf, sizeof(full_conf) - 1),
			 (ssize_t)sizeof(full_conf) - 1);
	assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
	assert_string_equal(c->path, path);
	assert_int_equal(c->nquotas, 6);
	config_unref(c);
	c = NULL;

	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, bad, sizeof(bad) - 1, 0),
			 (ssize_t)sizeof(bad) - 1);
	assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
	assert_null(c);
	snprintf(want, sizeof(want), "%s:2: ", path);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);
	assert_non_null(strstr(err, "'db' = 99"));
	close(fd);
	unlink(path);

	assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
	assert_null(c);
	/* the reason comes from errno */
	snprintf(want, sizeof(want), "%s: cannot read file: %s", path,
		 strerror(ENOENT));
	assert_string_equal(err, want);
	assert_int_equal(config_load("/", &c, err, sizeof(err)), -1);
	assert_null(c);
	snprintf(want, sizeof(want), "/: cannot read file: %s",
		 strerror(EISDIR));
	assert_string_equal(err, want);
}

/* A file one byte over CONFIG_FILE_MAX is refused; one at it is read. */
static void test_load_file_max(void **state)
{
	char path[] = "/tmp/test_config.XXXXXX";
	struct config *c = NULL;
	char err[600];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd != -1);
	/* a comment line filling the file: valid, nothing configured */
	assert_int_equal(ftruncate(fd, CONFIG_FILE_MAX), 0);
	assert_int_equal(pwrite(fd, "#", 1, 0), 1);
	assert_int_equal(pwrite(fd, "\n", 1, CONFIG_FILE_MAX - 1), 1);
	for (off_t o = 1; o < CONFIG_FILE_MAX - 1; o += 4096) {
		char blank[4096];
		size_t n = CONFIG_FILE_MAX - 1 - o < (off_t)sizeof(blank)
			       ? (size_t)(CONFIG_FILE_MAX - 1 - o)
			       : sizeof(blank);
		memset(blank, ' ', n);
		assert_int_equal(pwrite(fd, blank, n, o), (ssize_t)n);
	}
	if (config_load(path, &c, err, sizeof(err)) != 0)
		fail_msg("a file of CONFIG_FILE_MAX bytes refused: %s", err);
	config_unref(c);
	c = NULL;
	assert_int_equal(pwrite(fd, "\n", 1, CONFIG_FILE_MAX), 1);
	assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
	assert_null(c);
	assert_non_null(strstr(err, "larger than"));
	close(fd);
	unlink(path);
}

/* ---- policyd.allow: the client networks TCP listeners serve ---- */

/* 1 if the IPv4 or IPv6 address text is in c's allow-list. */
static int allowed(const struct config *c, const char *addr)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};

	if (inet_pton(AF_INET, addr, &in.sin_addr) == 1)
		return cidr_list_match_sa(c->allow.nets, c->allow.nnets,
					  (struct sockaddr *)&in);
	assert_int_equal(inet_pton(AF_INET6, addr, &in6.sin6_addr), 1);
	return cidr_list_match_sa(c->allow.nets, c->allow.nnets,
				  (struct sockaddr *)&in6);
}

static const struct bad_case bad_allow[] = {
    {"allow empty", "policyd = {\n  allow = [];\n};\n", 2,
     "'allow' is empty"},
    {"allow not a list", "policyd = {\n  allow = \"127.0.0.1\";\n};\n", 2,
     "'allow' must be a list of strings"},
    {"allow bad network",
     "policyd = {\n  allow = [\n    \"127.0.0.1\",\n    \"10.0.0.0/33\",\n"
     "    \"::1\"\n  ];\n};\n",
     4, "'10.0.0.0/33' is not an address or network"},
    {"allow hostname", "policyd = {\n  allow = [ \"localhost\" ];\n};\n", 2,
     "'localhost' is not an address"},
};

static const struct bad_case bad_count[] = {
    {"count_only not a group", "policyd = {\n  count_only = true;\n};\n", 2,
     "'count_only' must be a group"},
    {"count_only empty", "policyd = {\n  count_only = { };\n};\n", 2,
     "'count_only' counts nothing"},
    {"count_only sasl false",
     "policyd = {\n  count_only = { sasl = false; networks = [ ]; };\n};\n", 2,
     "'count_only' counts nothing"},
    {"count_only sasl not bool",
     "policyd = {\n  count_only = {\n    sasl = \"yes\"; };\n};\n", 3,
     "'sasl' must be true or false"},
    {"count_only unknown",
     "policyd = {\n  count_only = {\n    sasl = true;\n    mynetworks = true; "
     "};\n};\n",
     4, "unknown setting 'mynetworks'"},
    {"count_only bad network",
     "policyd = {\n  count_only = {\n    networks = [ \"192.0.2.0/24\",\n"
     "      \"192.0.2.0/40\", \"::1\" ]; };\n};\n",
     4, "'192.0.2.0/40' is not an address or network"},
    {"count_only networks not a list",
     "policyd = {\n  count_only = {\n    networks = \"192.0.2.0/24\"; };\n};\n",
     3, "'networks' must be a list of strings"},
};

/* policyd.count_only: off by default; what each form sets. */
static void test_count_only(void **state)
{
	struct config *c = load_ok("");

	(void)state;
	assert_int_equal(c->count_only, 0);
	config_unref(c);
	c = load_ok("policyd = { count_only = { sasl = true; }; };\n");
	assert_int_equal(c->count_only, 1);
	assert_int_equal(c->count_sasl, 1);
	assert_int_equal(c->count_nets.nnets, 0);
	config_unref(c);
	c = load_ok("policyd = { count_only = { networks = [ \"192.0.2.0/24\", "
		    "\"2001:db8::/32\" ]; }; };\n");
	assert_int_equal(c->count_only, 1);
	assert_int_equal(c->count_sasl, 0);
	assert_int_equal(c->count_nets.nnets, 2);
	assert_true(config_set_has(&c->count_nets, SUBJ_CLIENT_IP, "192.0.2.9"));
	assert_false(config_set_has(&c->count_nets, SUBJ_CLIENT_IP, "192.0.3.9"));
	config_unref(c);
	check_bad_cases(NAME, bad_count, NELEM(bad_count));
}

static void test_allow(void **state)
{
	struct config *c = load_ok("");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	(void)state;
	/* default: loopback only */
	assert_int_equal(c->allow.nnets, 2);
	assert_true(allowed(c, "127.0.0.1"));
	assert_true(allowed(c, "127.255.255.254"));
	assert_true(allowed(c, "::1"));
	assert_true(allowed(c, "::ffff:127.0.0.1")); /* dual-stack listener */
	assert_false(allowed(c, "128.0.0.1"));
	assert_false(allowed(c, "10.0.0.1"));
	assert_false(allowed(c, "::2"));
	assert_false(allowed(c, "::ffff:10.0.0.1"));
	assert_false(cidr_list_match_sa(c->allow.nets, c->allow.nnets,
					(struct sockaddr *)&sun));
	config_unref(c);

	c = load_ok("policyd = { allow = [ \"127.0.0.2/32\", "
		    "\"2001:db8::/32\", \"192.0.2.0/24\" ]; };\n");
	assert_int_equal(c->allow.nnets, 3);
	assert_true(allowed(c, "127.0.0.2"));
	assert_false(allowed(c, "127.0.0.1"));
	assert_false(allowed(c, "::1"));
	assert_true(allowed(c, "2001:db8:1::5"));
	assert_true(allowed(c, "192.0.2.200"));
	assert_true(allowed(c, "::ffff:192.0.2.7"));
	assert_false(allowed(c, "192.0.3.1"));
	config_unref(c);
	check_bad_cases(NAME, bad_allow, NELEM(bad_allow));
}

static const struct bad_case bad_feedback[] = {
    {"feedback not a group", "feedback = \"/var/log/mail.log\";\n", 1,
     "'feedback' must be a group"},
    {"feedback without log", "feedback = {\n  state_file = \"/x\";\n};\n", 1,
     "'log' must be the absolute path"},
    {"feedback relative log", "feedback = {\n  log = \"mail.log\";\n};\n", 2,
     "'log' must be the absolute path"},
    {"feedback relative journal directory",
     "feedback = {\n  log = \"journal:j\";\n};\n", 2,
     "\"journal\" or \"journal:/DIRECTORY\""},
    {"feedback relative state",
     "feedback = {\n  log = \"/var/log/mail.log\";\n  state_file = \"s\";\n};\n",
     3, "'state_file' must be an absolute path"},
    {"feedback unknown", "feedback = {\n  log = \"/l\";\n  follow = true;\n};\n",
     3, "unknown setting 'follow'"},
    {"breaker rate 0",
     "feedback = {\n  log = \"/l\";\n  breaker = {\n    error_rate = 0; };\n};\n",
     4, "'error_rate' = 0 is out of range 1..100"},
    {"breaker rate 101",
     "feedback = {\n  log = \"/l\";\n  breaker = { error_rate = 101; };\n};\n",
     3, "out of range 1..100"},
    {"breaker min_attempts 0",
     "feedback = {\n  log = \"/l\";\n  breaker = { min_attempts = 0; };\n};\n",
     3, "'min_attempts' = 0 is out of range"},
    {"breaker backoff_max under backoff",
     "feedback = {\n  log = \"/l\";\n  breaker = {\n    backoff = \"5m\";\n"
     "    backoff_max = \"1m\"; };\n};\n",
     3, "backoff_max must be at least backoff"},
    {"breaker window too short",
     "feedback = {\n  log = \"/l\";\n  breaker = {\n    window = \"500ms\"; "
     "};\n};\n",
     4, "'window' must be at least 1000 ms"},
    {"breaker not a group",
     "feedback = {\n  log = \"/l\";\n  breaker = 5;\n};\n", 3,
     "'breaker' must be false or a group"},
    {"keep under the window",
     "feedback = {\n  log = \"/l\";\n  keep = \"1m\";\n  breaker = { window = "
     "\"5m\"; };\n};\n",
     1, "'keep' must be at least the breaker window"},
    {"warmup_hold not a group",
     "feedback = {\n  log = \"/l\";\n  warmup_hold = 5;\n};\n", 3,
     "'warmup_hold' must be false or a group"},
    {"warmup_hold window over keep",
     "feedback = {\n  log = \"/l\";\n  warmup_hold = {\n    window = "
     "\"2h\"; };\n};\n",
     3, "'window' must be at most 1d and at most feedback.keep"},
    {"warmup_hold rate 101",
     "feedback = {\n  log = \"/l\";\n  warmup_hold = {\n"
     "    deferral_rate = 101; };\n};\n",
     4, "'deferral_rate' = 101 is out of range"},
    {"warmup_hold unknown key",
     "feedback = {\n  log = \"/l\";\n  warmup_hold = {\n"
     "    rate = 10; };\n};\n",
     4, "unknown setting 'rate'"},
};

/* feedback: absent by default; every setting read; bad values refused. */
static void test_feedback(void **state)
{
	struct config *c = load_ok("");

	(void)state;
	assert_null(c->feedback_log);
	assert_null(c->feedback_state);
	assert_int_equal(c->feedback_breaker_on, 1);
	assert_int_equal(c->feedback_breaker.window_ms, 60000);
	assert_int_equal(c->feedback_breaker.min_attempts, 20);
	assert_int_equal(c->feedback_breaker.error_rate, 50);
	assert_int_equal(c->feedback_breaker.backoff_ms, 30000);
	assert_int_equal(c->feedback_breaker.backoff_max_ms, 600000);
	assert_int_equal(c->feedback_keep_ms, 3600000);
	config_unref(c);
	c = load_ok("feedback = { log = \"/var/log/mail.log\"; state_file = "
		    "\"/var/lib/postlb/feedback.state\"; keep = \"2h\";\n"
		    "  breaker = { window = \"2m\"; min_attempts = 5; "
		    "error_rate = 80; backoff = \"10s\"; backoff_max = \"1h\"; "
		    "}; };\n");
	assert_string_equal(c->feedback_log, "/var/log/mail.log");
	assert_string_equal(c->feedback_state, "/var/lib/postlb/feedback.state");
	assert_int_equal(c->feedback_keep_ms, 7200000);
	assert_int_equal(c->feedback_breaker.window_ms, 120000);
	assert_int_equal(c->feedback_breaker.min_attempts, 5);
	assert_int_equal(c->feedback_breaker.error_rate, 80);
	assert_int_equal(c->feedback_breaker.backoff_ms, 10000);
	assert_int_equal(c->feedback_breaker.backoff_max_ms, 3600000);
	config_unref(c);
	c = load_ok("feedback = { log = \"journal\"; };\n");
	assert_string_equal(c->feedback_log, "journal");
	config_unref(c);
	c = load_ok("feedback = { log = \"journal:/var/log/journal\"; };\n");
	assert_string_equal(c->feedback_log, "journal:/var/log/journal");
	config_unref(c);
	c = load_ok("feedback = { log = \"/l\"; breaker = false; };\n");
	assert_int_equal(c->feedback_breaker_on, 0);
	assert_int_equal(c->feedback_hold_on, 1); /* the hold: on, defaults */
	assert_int_equal(c->feedback_hold.window_ms, 3600000);
	assert_int_equal(c->feedback_hold.min_attempts, 50);
	assert_int_equal(c->feedback_hold.deferral_rate, 20);
	config_unref(c);
	c = load_ok("feedback = { log = \"/l\"; keep = \"30m\"; };\n");
	assert_int_equal(c->feedback_hold.window_ms, 1800000); /* <= keep */
	config_unref(c);
	c = load_ok("feedback = { log = \"/l\"; keep = \"1d\"; warmup_hold = "
		    "{ window = \"6h\"; min_attempts = 10; deferral_rate = 5; "
		    "}; };\n");
	assert_int_equal(c->feedback_hold_on, 1);
	assert_int_equal(c->feedback_hold.window_ms, 21600000);
	assert_int_equal(c->feedback_hold.min_attempts, 10);
	assert_int_equal(c->feedback_hold.deferral_rate, 5);
	config_unref(c);
	c = load_ok("feedback = { log = \"/l\"; warmup_hold = false; };\n");
	assert_int_equal(c->feedback_hold_on, 0);
	config_unref(c);
	check_bad_cases(NAME, bad_feedback, NELEM(bad_feedback));
}

static const struct bad_case bad_rules[] = {
    {"rules not a list", "feedback = {\n  log = \"/l\";\n  rules = 5;\n};\n", 3,
     "'rules' must be a list"},
    {"rule not a group",
     "feedback = {\n  log = \"/l\";\n  rules = ( 5 );\n};\n", 3,
     "each rule is a group"},
    {"rule bad regex",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { name = \"x\";\n"
     "      match = \"([a\"; } );\n};\n",
     4, "rule x: bad 'match' regex"},
    {"rule without match nor dsn",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { name = \"x\"; } "
     ");\n};\n",
     4, "rule x: needs 'match' and/or 'dsn'"},
    {"rule without name",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { dsn = \"4.7.1\"; } "
     ");\n};\n",
     4, "needs a name"},
    {"rule bad scope",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { name = \"x\";\n"
     "      dsn = \"4.7.1\";\n      scope = \"domain\"; } );\n};\n",
     6, "'scope' must be \"member\" or \"provider\""},
    {"rule count 0",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { name = \"x\";\n"
     "      dsn = \"4.7.1\"; count = 0; } );\n};\n",
     5, "'count' = 0 is out of range"},
    {"rule unknown key",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { name = \"x\";\n"
     "      dsn = \"4.7.1\"; slow = \"yes\"; } );\n};\n",
     5, "unknown setting 'slow'"},
    {"rule bad action",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { name = \"x\";\n"
     "      dsn = \"4.7.1\";\n      action = \"slow\"; } );\n};\n",
     6, "'action' must be \"suspend\" or \"throttle\""},
    {"rule throttle without rate",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { name = \"x\";\n"
     "      dsn = \"4.7.1\"; action = \"throttle\"; } );\n};\n",
     4, "rule x: action throttle needs a rate"},
    {"rule suspend with rate",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { name = \"x\";\n"
     "      dsn = \"4.7.1\"; rate = 5; } );\n};\n",
     4, "suspend takes none"},
    {"rule rate 0",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { name = \"x\";\n"
     "      dsn = \"4.7.1\"; action = \"throttle\"; rate = 0; } );\n};\n",
     5, "'rate' = 0 is out of range"},
    {"rule rate one past the maximum",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { name = \"x\";\n"
     "      dsn = \"4.7.1\"; action = \"throttle\"; rate = 1000001; } "
     ");\n};\n",
     5, "'rate' = 1000001 is out of range"},
    {"rule named twice",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { name = \"x\"; dsn = "
     "\"4.7.1\"; },\n    { name = \"x\"; dsn = \"4.7.2\"; } );\n};\n",
     5, "rule x: named twice"},
    {"rule dsn too long",
     "feedback = {\n  log = \"/l\";\n  rules = (\n    { name = \"x\";\n"
     "      dsn = \"4.7.1111111111111111\"; } );\n};\n",
     5, "'dsn' is longer than 15 bytes"},
};

static const struct respond_rule *rule_named(const struct config *c,
					     const char *name)
{
	for (size_t i = 0; i < respond_set_count(c->feedback_rules); i++)
		if (strcmp(respond_set_rule(c->feedback_rules, i)->name,
			   name) == 0)
			return respond_set_rule(c->feedback_rules, i);
	return NULL;
}

/* feedback.rules: the defaults alone; override, disable, add; errors. */
static void test_feedback_rules(void **state)
{
	struct config *c = load_ok("");
	const struct respond_rule *r;
	char text[8192];
	size_t n;

	(void)state;
	assert_int_equal(respond_set_count(c->feedback_rules),
			 respond_ndefaults);
	config_unref(c);
	c = load_ok(
	    "feedback = { log = \"/l\"; rules = (\n"
	    "  { name = \"gmail-4.7.28\"; duration = \"1h\"; },\n"
	    "  { name = \"deferred-from-ip\"; enabled = false; },\n"
	    "  { name = \"mine\"; match = \"too many\"; dsn = \"4.7.1\";"
	    " provider = \"acme\"; count = 2; period = \"30s\";"
	    " scope = \"provider\"; duration = \"5m\"; } ); };\n");
	assert_int_equal(respond_set_count(c->feedback_rules),
			 respond_ndefaults);
	assert_int_equal(rule_named(c, "mine")->action, RESPOND_SUSPEND);
	assert_int_equal(rule_named(c, "mine")->rate, 0);
	assert_string_equal(respond_set_rule(c->feedback_rules, 0)->name,
			    "mine");
	r = rule_named(c, "gmail-4.7.28");
	assert_non_null(r);
	assert_int_equal(r->duration_ms, 3600000);
	assert_string_equal(r->dsn, "4.7.28"); /* kept from the default */
	assert_int_equal(r->scope, RESPOND_PROVIDER);
	assert_null(rule_named(c, "deferred-from-ip"));
	r = rule_named(c, "mine");
	assert_int_equal(r->count, 2);
	assert_int_equal(r->period_ms, 30000);
	assert_int_equal(r->duration_ms, 300000);
	assert_string_equal(r->provider, "acme");
	assert_non_null(respond_match(c->feedback_rules, "4.7.1",
				      "452 Too Many connections"));
	config_unref(c);
	/* a throttle: a new rule, and a default turned into one */
	c = load_ok("feedback = { log = \"/l\"; rules = (\n"
		    "  { name = \"gmail-4.7.28\"; action = \"throttle\";"
		    " rate = 30; },\n"
		    "  { name = \"t\"; dsn = \"4.7.0\"; action = \"throttle\";"
		    " rate = 1000000; } ); };\n");
	r = rule_named(c, "gmail-4.7.28");
	assert_int_equal(r->action, RESPOND_THROTTLE);
	assert_int_equal(r->rate, 30);
	assert_int_equal(r->scope, RESPOND_PROVIDER); /* kept */
	assert_int_equal(rule_named(c, "t")->rate, RESPOND_RATE_MAX);
	config_unref(c);
	/* at most RESPOND_RULES_MAX with the defaults */
	n = (size_t)snprintf(text, sizeof(text),
			     "feedback = { log = \"/l\"; rules = (\n");
	for (int i = 0; i < RESPOND_RULES_MAX - (int)respond_ndefaults + 1; i++)
		n +=
		    (size_t)snprintf(text + n, sizeof(text) - n,
				     "%s{ name = \"r%d\"; dsn = \"4.7.1\"; }\n",
				     i ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, "); };\n");
	{
		struct config *bad = NULL;
		char err[600];
		assert_int_equal(
		    config_load_string(text, NAME, &bad, err, sizeof(err)), -1);
		assert_null(bad);
		assert_non_null(
		    strstr(err, "at most 64 rules with the defaults"));
	}
	check_bad_cases(NAME, bad_rules, NELEM(bad_rules));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_quota_defaults),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_quotas_max),
	    cmocka_unit_test(test_routing_max),
	    cmocka_unit_test(test_hosts),
	    cmocka_unit_test(test_valid_edges),
	    cmocka_unit_test(test_load_file_max),
	    cmocka_unit_test(test_budget_value),
	    cmocka_unit_test(test_metrics_addr),
	    cmocka_unit_test(test_set_has),
	    cmocka_unit_test(test_set_has_dot_sender),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_refs),
	    cmocka_unit_test(test_err_small),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_allow),
	    cmocka_unit_test(test_count_only),
	    cmocka_unit_test(test_feedback),
	    cmocka_unit_test(test_feedback_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
