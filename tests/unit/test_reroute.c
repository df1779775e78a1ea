/*
 * test_reroute: the pure parts of the drain, table-driven: socketmap
 * netstrings (engine/netstr.c: empty, max, max + 1, NUL, missing
 * terminator, bad lengths, split reads), header lines of the requeue
 * socketmap and the route header to FILTER mapping (engine/reroute.c),
 * the postcat scanner, and postlb-requeue's line protocol
 * (engine/rqproto.c: max and max + 1 ids, bad names and ids, NUL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "config_cases.h"
#include "netstr.h"
#include "reroute.h"
#include "rqproto.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct ns_case {
	const char *in;
	size_t len; /* 0: strlen */
	size_t max;
	int rc;
	const char *payload;
	size_t used;
};

static void test_netstr(void **state)
{
	static const struct ns_case t[] = {
	    {"0:,", 0, 100, 0, "", 3},
	    {"5:hello,", 0, 100, 0, "hello", 8},
	    {"5:hello,3:abc,", 0, 100, 0, "hello", 8},
	    {"5:hello,", 0, 5, 0, "hello", 8},		     /* max */
	    {"6:hello!,", 0, 5, -NETSTR_ETOOLONG, NULL, 0}, /* max + 1 */
	    {"", 0, 100, -NETSTR_EAGAIN, NULL, 0},
	    {"5", 0, 100, -NETSTR_EAGAIN, NULL, 0},
	    {"5:hel", 0, 100, -NETSTR_EAGAIN, NULL, 0},
	    {"5:hello", 0, 100, -NETSTR_EAGAIN, NULL, 0},
	    {"5:hello;", 0, 100, -NETSTR_ETERM, NULL, 0},
	    {"5:hello world,", 0, 100, -NETSTR_ETERM, NULL, 0},
	    {":hello,", 0, 100, -NETSTR_EBADLEN, NULL, 0},
	    {"x:hello,", 0, 100, -NETSTR_EBADLEN, NULL, 0},
	    {"-1:,", 0, 100, -NETSTR_EBADLEN, NULL, 0},
	    {"5 :hello,", 0, 100, -NETSTR_EBADLEN, NULL, 0},
	    {"1234567:", 0, NETSTR_MAX, -NETSTR_ETOOLONG, NULL, 0},
	    {"100001:", 0, NETSTR_MAX, -NETSTR_ETOOLONG, NULL, 0},
	    {"100000", 0, NETSTR_MAX, -NETSTR_EAGAIN, NULL, 0},
	    {"3:a\0b,", 6, 100, -NETSTR_ENUL, NULL, 0},
	};
	(void)state;
	for (size_t i = 0; i < NELEM(t); i++) {
		const char *p = "untouched";
		size_t plen = 99, used = 99;
		size_t len = t[i].len ? t[i].len : strlen(t[i].in);
		int rc = netstr_parse(t[i].in, len, t[i].max, &p, &plen, &used);
		if (rc != t[i].rc)
			fail_msg("case %zu (%s): rc %d, want %d", i, t[i].in, rc,
				 t[i].rc);
		if (rc == 0) {
			assert_int_equal(plen, strlen(t[i].payload));
			assert_memory_equal(p, t[i].payload, plen);
			assert_int_equal(used, t[i].used);
		} else {
			assert_string_equal(p, "untouched");
			assert_int_equal(used, 99);
		}
	}
}

static void test_netstr_request_format(void **state)
{
	char name[16], key[32], out[32];

	(void)state;
	assert_int_equal(netstr_request("reroute X-A: b", 14, name, 16, key,
					32), 0);
	assert_string_equal(name, "reroute");
	assert_string_equal(key, "X-A: b");
	assert_int_equal(netstr_request("reroute", 7, name, 16, key, 32),
			 -NETSTR_EFORM);
	assert_int_equal(netstr_request(" key", 4, name, 16, key, 32),
			 -NETSTR_EFORM);
	/* name: 15 bytes fit 16, 16 do not */
	assert_int_equal(netstr_request("aaaaaaaaaaaaaaa k", 17, name, 16,
					key, 32), 0);
	assert_int_equal(netstr_request("aaaaaaaaaaaaaaaa k", 18, name, 16,
					key, 32), -NETSTR_EFORM);
	assert_int_equal(netstr_format("OK x", out, sizeof(out)), 7);
	assert_memory_equal(out, "4:OK x,", 7);
	assert_int_equal(netstr_format("NOTFOUND ", out, sizeof(out)), 12);
	/* 13 bytes of text need 16 with "13:" and ","; 17 do not fit */
	assert_int_equal(netstr_format("0123456789abc", out, 17), 17);
	assert_int_equal(netstr_format("0123456789abcd", out, 17),
			 -NETSTR_ETOOLONG);
}

static struct config *cfg;

static int setup(void **state)
{
	char err[512];
	static const char text[] =
	    "members = { m1 = { nexthop = \"[127.0.0.1]:2501\"; };"
	    " m2 = { nexthop = \"[127.0.0.1]:2502\"; }; relay_3 = {}; };\n"
	    "pools = { p = { members = [\"m1\", \"m2\", \"relay_3\"]; }; };\n"
	    "routing = { default_pool = \"p\"; };\n";

	(void)state;
	if (config_load_string(text, "test.conf", &cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	config_unref(cfg);
	return 0;
}

struct line_case {
	const char *line;
	enum reroute_kind kind;
	int member;
	const char *msgid;
};

static void test_lines(void **state)
{
	static const struct line_case t[] = {
	    {"X-Postlb-Route: m1 [127.0.0.1]:2501", RR_ROUTE, 0, ""},
	    {"x-postlb-route: M2 [127.0.0.1]:2502,[127.0.0.1]:2501", RR_ROUTE,
	     1, ""},
	    {"X-Postlb-Route: relay_3", RR_ROUTE, 2, ""},
	    {"X-Postlb-Route: m3 [127.0.0.1]:2501", RR_OTHER, -1, ""},
	    {"X-Postlb-Route: m1x", RR_OTHER, -1, ""},
	    {"X-Postlb-Route: m1 a b", RR_OTHER, -1, ""},
	    {"X-Postlb-Route: m1 ", RR_OTHER, -1, ""},
	    {"X-Postlb-Route:m1", RR_OTHER, -1, ""},
	    {"X-Postlb-Route: ", RR_OTHER, -1, ""},
	    {"X-Postlb-Routes: m1", RR_OTHER, -1, ""},
	    {"Subject: X-Postlb-Route: m1", RR_OTHER, -1, ""},
	    {"", RR_OTHER, -1, ""},
	    {"Message-Id: <a.b@c>", RR_MSGID, -1, "<a.b@c>"},
	    {"Message-ID:\n\t<folded@c> ", RR_MSGID, -1, "<folded@c>"},
	    {"Message-ID: <a> <b>", RR_OTHER, -1, ""},
	    {"Message-ID: ", RR_OTHER, -1, ""},
	};
	struct reroute_hit h;
	char big[400];

	(void)state;
	for (size_t i = 0; i < NELEM(t); i++) {
		enum reroute_kind k = reroute_line(cfg, t[i].line, &h);
		if (k != t[i].kind || h.member != t[i].member ||
		    strcmp(h.msgid, t[i].msgid) != 0)
			fail_msg("case %zu (%s): kind %d member %d msgid %s", i,
				 t[i].line, k, h.member, h.msgid);
	}
	/* a Message-ID of REROUTE_MSGID_MAX bytes is kept, one more is not */
	snprintf(big, sizeof(big), "Message-ID: <%0*d>", REROUTE_MSGID_MAX - 2,
		 0);
	assert_int_equal(reroute_line(cfg, big, &h), RR_MSGID);
	assert_int_equal(strlen(h.msgid), REROUTE_MSGID_MAX);
	snprintf(big, sizeof(big), "Message-ID: <%0*d>", REROUTE_MSGID_MAX - 1,
		 0);
	assert_int_equal(reroute_line(cfg, big, &h), RR_OTHER);
}

static void test_filter(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(reroute_filter("m1 [r]:25", out, sizeof(out)), 0);
	assert_string_equal(out, "FILTER m1:[r]:25");
	assert_int_equal(reroute_filter("m1 [r]:25,[s]:25", out, sizeof(out)),
			 0);
	assert_string_equal(out, "FILTER m1:[r]:25,[s]:25");
	assert_int_equal(reroute_filter("m1", out, sizeof(out)), 0);
	assert_string_equal(out, "FILTER m1:");
	assert_int_equal(reroute_filter("m1 a b", out, sizeof(out)), -1);
	/* "FILTER m1:" is 10 bytes: fits 11, not 10 */
	assert_int_equal(reroute_filter("m1", out, 11), 0);
	assert_int_equal(reroute_filter("m1", out, 10), -1);
}

static const char postcat_out[] =
    "*** ENVELOPE RECORDS deferred/7/77D6FA724AD ***\n"
    "message_size:             600             182               1       "
    "        0             600               0\n"
    "sender: a@x.example\n"
    "original_recipient: v@Gmail.com\n"
    "recipient: v@Gmail.com\n"
    "recipient: w@gmail.com\n"
    "recipient: u@dest.example\n"
    "recipient: local-without-domain\n"
    "*** MESSAGE CONTENTS deferred/7/77D6FA724AD ***\n"
    "Received: from vm (unknown [127.0.0.1])\n"
    "\tby e2e-pf.postlb.example (Postfix) with SMTP id 77D6FA724AD\n"
    "Message-Id: <3a0f.0003.0002@vm>\n"
    "Subject: hello\n"
    "\n"
    "*** HEADER EXTRACTED deferred/7/77D6FA724AD ***\n"
    "content_filter: m1:[127.0.0.1]:16122\n"
    "*** MESSAGE FILE END deferred/7/77D6FA724AD ***\n"
    "*** ENVELOPE RECORDS active/B/BCDEF ***\n"
    "recipient: x@y.example\n"
    "*** MESSAGE CONTENTS active/B/BCDEF ***\n"
    "Message-ID:\n"
    "\t<folded@vm>\n"
    "\n"
    "*** MESSAGE FILE END active/B/BCDEF ***\n";

static void test_qscan(void **state)
{
	struct qscan q;
	struct qscan_msg m[2];
	const char *p = postcat_out;
	size_t n = 0;

	(void)state;
	qscan_init(&q);
	while (*p != '\0') {
		const char *e = strchr(p, '\n');
		if (qscan_line(&q, p, (size_t)(e - p), &m[n]) == 1)
			n++;
		p = e + 1;
		assert_true(n <= 2);
	}
	assert_int_equal(n, 2);
	assert_string_equal(m[0].qid, "77D6FA724AD");
	assert_string_equal(m[0].queue, "deferred");
	assert_string_equal(m[0].transport, "m1");
	assert_string_equal(m[0].msgid, "<3a0f.0003.0002@vm>");
	assert_int_equal(m[0].ndomains, 2);
	assert_string_equal(m[0].domains[0], "gmail.com");
	assert_string_equal(m[0].domains[1], "dest.example");
	assert_string_equal(m[1].qid, "BCDEF");
	assert_string_equal(m[1].queue, "active");
	assert_string_equal(m[1].transport, "");
	assert_string_equal(m[1].msgid, "<folded@vm>");
}

static void test_qscan_bounds(void **state)
{
	struct qscan q;
	struct qscan_msg m;
	char line[64];
	char *big = malloc(REROUTE_LINE_MAX + 100);

	(void)state;
	qscan_init(&q);
	qscan_line(&q, "*** ENVELOPE RECORDS deferred/A/ABC ***", 39, &m);
	/* REROUTE_DOMAINS_MAX distinct domains are kept, one more: many */
	for (int i = 0; i < REROUTE_DOMAINS_MAX; i++) {
		int n = snprintf(line, sizeof(line), "recipient: u@d%d.example", i);
		qscan_line(&q, line, (size_t)n, &m);
	}
	assert_int_equal(q.cur.ndomains, REROUTE_DOMAINS_MAX);
	assert_int_equal(q.cur.many, 0);
	qscan_line(&q, "recipient: u@d0.example", 23, &m);
	assert_int_equal(q.cur.many, 0);
	qscan_line(&q, "recipient: u@new.example", 24, &m);
	assert_int_equal(q.cur.many, 1);
	/* a line past REROUTE_LINE_MAX and one with a NUL do no harm */
	memset(big, 'a', REROUTE_LINE_MAX + 100);
	memcpy(big, "recipient: u@", 13);
	qscan_line(&q, big, REROUTE_LINE_MAX + 100, &m);
	qscan_line(&q, "recipient: u@x\0y", 16, &m);
	/* "*" and "-" mean "too many" and "none" in postlb-requeue's item
	 * lines, so they and other non-domain characters are no domain; an
	 * address literal is one */
	qscan_init(&q);
	qscan_line(&q, "*** ENVELOPE RECORDS deferred/A/ABC ***", 39, &m);
	qscan_line(&q, "recipient: v@*", 14, &m);
	qscan_line(&q, "recipient: v@-", 14, &m);
	qscan_line(&q, "recipient: v@a b", 16, &m);
	qscan_line(&q, "recipient: v@x\ty", 16, &m);
	assert_int_equal(q.cur.ndomains, 0);
	qscan_line(&q, "recipient: v@[192.0.2.1]", 24, &m);
	assert_int_equal(q.cur.ndomains, 1);
	assert_string_equal(q.cur.domains[0], "[192.0.2.1]");
	/* a long id is not an id */
	qscan_line(&q, "*** MESSAGE FILE END deferred/A/ABC ***", 39, &m);
	assert_int_equal(qscan_line(&q, "*** MESSAGE FILE END x ***", 26, &m), 0);
	free(big);
}

struct rq_case {
	const char *line;
	int rc;
	int verb;
	const char *member;
	size_t nqids;
};

static void test_rqproto(void **state)
{
	static const struct rq_case t[] = {
	    {"list m1", 0, RQ_LIST, "m1", 0},
	    {"list  m1 ", 0, RQ_LIST, "m1", 0},
	    {"requeue m1 ABC 4XyZ1", 0, RQ_REQUEUE, "m1", 2},
	    {"", -RQ_EEMPTY, 0, NULL, 0},
	    {"list", -RQ_ENAME, 0, NULL, 0},
	    {"list m1 ABC", -RQ_EFORM, 0, NULL, 0},
	    {"requeue m1", -RQ_EFORM, 0, NULL, 0},
	    {"LIST m1", -RQ_EVERB, 0, NULL, 0},
	    {"flush m1", -RQ_EVERB, 0, NULL, 0},
	    {"list -m", -RQ_ENAME, 0, NULL, 0},
	    {"list m/1", -RQ_ENAME, 0, NULL, 0},
	    {"list 012345678901234567890123456789012", -RQ_ENAME, 0, NULL, 0},
	    {"requeue m1 ../x", -RQ_EQID, 0, NULL, 0},
	    {"requeue m1 A-B", -RQ_EQID, 0, NULL, 0},
	};
	struct rq_cmd *c = malloc(sizeof(*c));
	char *line = malloc(RQ_LINE_MAX + 64);
	size_t n;

	(void)state;
	for (size_t i = 0; i < NELEM(t); i++) {
		int rc = rqproto_parse(t[i].line, strlen(t[i].line), c);
		if (rc != t[i].rc)
			fail_msg("case %zu (%s): rc %d want %d", i, t[i].line, rc,
				 t[i].rc);
		if (rc == 0) {
			assert_int_equal(c->verb, t[i].verb);
			assert_string_equal(c->member, t[i].member);
			assert_int_equal(c->nqids, t[i].nqids);
		}
	}
	assert_int_equal(rqproto_parse("list m\0", 7, c), -RQ_ENUL);
	/* RQ_IDS_MAX ids: fine; one more: refused */
	n = (size_t)sprintf(line, "requeue m1");
	for (int i = 0; i < RQ_IDS_MAX; i++)
		n += (size_t)sprintf(line + n, " Q%d", i);
	assert_int_equal(rqproto_parse(line, n, c), 0);
	assert_int_equal(c->nqids, RQ_IDS_MAX);
	assert_string_equal(c->qids[RQ_IDS_MAX - 1], "Q199");
	n += (size_t)sprintf(line + n, " Q%d", RQ_IDS_MAX);
	assert_int_equal(rqproto_parse(line, n, c), -RQ_ETOOMANY);
	/* a queue id of ROUTE_QUEUE_ID_MAX letters: fine; one more: no */
	n = (size_t)sprintf(line, "requeue m1 %0*d", ROUTE_QUEUE_ID_MAX, 0);
	assert_int_equal(rqproto_parse(line, n, c), 0);
	n = (size_t)sprintf(line, "requeue m1 %0*d", ROUTE_QUEUE_ID_MAX + 1, 0);
	assert_int_equal(rqproto_parse(line, n, c), -RQ_EQID);
	/* a line of RQ_LINE_MAX bytes or more is refused before parsing */
	memset(line, 'a', RQ_LINE_MAX);
	assert_int_equal(rqproto_parse(line, RQ_LINE_MAX, c), -RQ_ETOOLONG);
	free(line);
	free(c);
}

static void test_items(void **state)
{
	struct qscan_msg m = {0}, back;
	char out[RQ_REPLY_MAX + 2];
	size_t n;

	(void)state;
	strcpy(m.qid, "ABC");
	strcpy(m.msgid, "<a@b>");
	strcpy(m.domains[0], "gmail.com");
	strcpy(m.domains[1], "x.example");
	m.ndomains = 2;
	n = rqproto_item_format(&m, out, sizeof(out));
	assert_int_equal(n, strlen("m ABC <a@b> gmail.com,x.example\n"));
	assert_memory_equal(out, "m ABC <a@b> gmail.com,x.example\n", n);
	assert_int_equal(rqproto_item_parse(out, n - 1, &back), 0);
	assert_string_equal(back.qid, "ABC");
	assert_string_equal(back.msgid, "<a@b>");
	assert_int_equal(back.ndomains, 2);
	assert_string_equal(back.domains[1], "x.example");
	m.msgid[0] = '\0';
	m.many = 1;
	n = rqproto_item_format(&m, out, sizeof(out));
	assert_memory_equal(out, "m ABC - *\n", n);
	assert_int_equal(rqproto_item_parse(out, n - 1, &back), 0);
	assert_int_equal(back.many, 1);
	assert_string_equal(back.msgid, "");
	assert_int_equal(rqproto_item_format(&m, out, 5), 0);
	assert_int_equal(rqproto_item_parse("m ABC - -", 9, &back), 0);
	assert_int_equal(back.ndomains, 0);
	assert_int_equal(rqproto_item_parse("m ABC -", 7, &back), -RQ_EFORM);
	assert_int_equal(rqproto_item_parse("m ABC - a,,b", 12, &back),
			 -RQ_EFORM);
	assert_int_equal(rqproto_item_parse("m ABC - a b", 11, &back),
			 -RQ_EFORM);
	assert_int_equal(rqproto_item_parse("x ABC - a", 9, &back), -RQ_EVERB);
	assert_int_equal(rqproto_item_parse("m A/C - a", 9, &back), -RQ_EQID);
	assert_int_equal(rqproto_item_parse("", 0, &back), -RQ_EEMPTY);
	assert_int_equal(rqproto_item_parse("m A\0C - a", 9, &back), -RQ_ENUL);
}

/* drain and policyd.socketmap settings: defaults, max and max + 1 */
static void test_config_drain(void **state)
{
	static const struct bad_case bad[] = {
	    {"rate 0", "drain = { rate = 0; };", 1, "rate"},
	    {"rate max + 1", "drain = { rate = 100001; };", 1, "rate"},
	    {"interval < 100ms", "drain = { interval = \"50ms\"; };", 1,
	     "interval"},
	    {"interval > 1h", "drain = {\n interval = \"2h\"; };", 1,
	     "at most 1h"},
	    {"unknown key", "drain = { speed = 1; };", 1, "speed"},
	    {"relative requeue", "drain = {\n requeue = \"x/rq\"; };", 2,
	     "absolute"},
	    {"requeue without socketmap",
	     "drain = {\n requeue = \"/run/rq\"; };", 2, "policyd.socketmap"},
	    {"socketmap not unix", "policyd = { socketmap = \"tcp:1\"; };", 1,
	     "unix:/path"},
	    {"socketmap path too long",
	     "policyd = { socketmap = \"unix:/"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"; };", 1, "at most 107"},
	};
	struct config *c;

	(void)state;
	check_bad_cases("d.conf", bad, NELEM(bad));
	c = load_valid("d.conf", "");
	assert_int_equal(c->drain_rate, 100);
	assert_int_equal(c->drain_interval_ms, 1000);
	assert_int_equal(c->drain_auto, 1);
	assert_null(c->drain_requeue);
	assert_null(c->drain_socketmap);
	config_unref(c);
	c = load_valid("d.conf",
		       "policyd = { socketmap = \"unix:/run/postlb/rq\"; };\n"
		       "drain = { rate = 100000; interval = \"100ms\"; auto = "
		       "false; requeue = \"/run/postlb-requeue/requeue\"; };");
	assert_int_equal(c->drain_rate, 100000);
	assert_int_equal(c->drain_interval_ms, 100);
	assert_int_equal(c->drain_auto, 0);
	assert_string_equal(c->drain_requeue, "/run/postlb-requeue/requeue");
	assert_string_equal(c->drain_socketmap, "unix:/run/postlb/rq");
	config_unref(c);
}

/* what a drain moves, from a member's hash */
static void test_need(void **state)
{
	struct reroute_need n;
	struct qscan_msg m = {0};
	const char *prov[2] = {"google", NULL};

	(void)state;
	reroute_need_init(&n);
	reroute_need_field(&n, "state", "ready", 1000, 1);
	reroute_need_field(&n, "hc", "up", 1000, 1);
	reroute_need_field(&n, "cb_until", "1000", 1000, 1); /* not ahead */
	reroute_need_field(&n, "rs_until", "999", 1000, 1);
	reroute_need_field(&n, "p:google", "1000", 1000, 1);
	reroute_need_field(&n, "s:x.example", "5", 1000, 1);
	assert_int_equal(reroute_need_any(&n), 0);
	/* whole drains */
	reroute_need_init(&n);
	reroute_need_field(&n, "state", "drain", 1000, 0);
	assert_int_equal(n.whole, 1);
	assert_string_equal(n.why, "state drain");
	reroute_need_init(&n);
	reroute_need_field(&n, "hc", "down", 1000, 0); /* health drains off */
	assert_int_equal(reroute_need_any(&n), 0);
	reroute_need_field(&n, "hc", "down", 1000, 1);
	assert_string_equal(n.why, "hc down");
	reroute_need_init(&n);
	reroute_need_field(&n, "cb_until", "1001", 1000, 1);
	assert_string_equal(n.why, "cb_until open");
	assert_int_equal(reroute_need_moves(&n, &m, NULL), 1);
	/* scoped: provider and domain */
	reroute_need_init(&n);
	reroute_need_field(&n, "p:google", "2000", 1000, 1);
	reroute_need_field(&n, "s:x.example", "2000", 1000, 1);
	assert_int_equal(n.whole, 0);
	assert_int_equal(n.nprov, 1);
	assert_int_equal(n.ndom, 1);
	assert_string_equal(n.why, "p:google");
	strcpy(m.msgid, "<a@b>");
	strcpy(m.domains[0], "gmail.com");
	strcpy(m.domains[1], "other.example");
	m.ndomains = 2;
	assert_int_equal(reroute_need_moves(&n, &m, prov), 1);
	prov[0] = "yahoo";
	assert_int_equal(reroute_need_moves(&n, &m, prov), 0);
	strcpy(m.domains[1], "X.example");
	assert_int_equal(reroute_need_moves(&n, &m, prov), 1);
	/* no Message-ID to record the domains under, or too many: stays */
	m.msgid[0] = '\0';
	assert_int_equal(reroute_need_moves(&n, &m, prov), 0);
	strcpy(m.msgid, "<a@b>");
	m.many = 1;
	assert_int_equal(reroute_need_moves(&n, &m, prov), 0);
	/* REROUTE_SCOPES_MAX scopes are kept, one more is not */
	reroute_need_init(&n);
	for (int i = 0; i <= REROUTE_SCOPES_MAX; i++) {
		char f[32];
		snprintf(f, sizeof(f), "p:prov%d", i);
		reroute_need_field(&n, f, "2000", 1000, 1);
	}
	assert_int_equal(n.nprov, REROUTE_SCOPES_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_netstr),
	    cmocka_unit_test(test_netstr_request_format),
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_filter),
	    cmocka_unit_test(test_qscan),
	    cmocka_unit_test(test_qscan_bounds),
	    cmocka_unit_test(test_rqproto),
	    cmocka_unit_test(test_items),
	    cmocka_unit_test(test_config_drain),
	    cmocka_unit_test(test_need),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
