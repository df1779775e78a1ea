/*
 * test_pp: table-driven tests of pp.c, the policy delegation protocol codec:
 * pp_frame() on stream buffers, pp_parse() on framed requests (limits at
 * max and max + 1, NUL bytes, terminators, duplicates, numbers, request
 * type, protocol states, CRLF) and pp_format_reply().  No mocks, no I/O.
 */
#include "pp.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define REQ "request=smtpd_access_policy\n"

/* Small limits so that boundaries are cheap to reach. */
static const struct pp_limits small = {40, 5, 200};
/* Small lines and requests, many attributes: only request_max binds. */
static const struct pp_limits wide = {40, 1000, 200};

/*
 * Builds in buf a valid request of exactly total bytes (with the final
 * empty line), padded with unknown attributes of at most line_max bytes.
 * Returns total.
 */
static size_t build_request(char *buf, size_t total, size_t line_max)
{
	size_t o = strlen(REQ), rem;

	assert_true(total >= o + 1);
	memcpy(buf, REQ, o);
	rem = total - o - 1;
	while (rem > 0) {
		size_t take = rem < line_max + 1 ? rem : line_max + 1;
		if (rem - take > 0 && rem - take < 3)
			take = rem - 3;
		assert_true(take >= 3);
		buf[o++] = 'p';
		buf[o++] = '=';
		memset(buf + o, 'a', take - 3);
		o += take - 3;
		buf[o++] = '\n';
		rem -= take;
	}
	buf[o++] = '\n';
	assert_int_equal(o, total);
	return o;
}

/* Builds a request whose one padding line has exactly line_len bytes. */
static size_t build_line(char *buf, size_t line_len)
{
	size_t o = strlen(REQ);

	memcpy(buf, REQ, o);
	buf[o++] = 'x';
	buf[o++] = '=';
	memset(buf + o, 'b', line_len - 2);
	o += line_len - 2;
	buf[o++] = '\n';
	buf[o++] = '\n';
	return o;
}

/* Builds a request with exactly n attribute lines. */
static size_t build_attrs(char *buf, size_t n)
{
	size_t o = strlen(REQ);

	memcpy(buf, REQ, o);
	for (size_t i = 1; i < n; i++) {
		memcpy(buf + o, "u=1\n", 4);
		o += 4;
	}
	buf[o++] = '\n';
	return o;
}

/* ---- pp_frame ---- */

struct frame_case {
	const char *in;
	long want;
};

static const struct frame_case frame_cases[] = {
    {"", 0},
    {"request", 0},
    {REQ, 0},
    {REQ "sender=a@b", 0},
    {REQ "sender=a@b\n", 0},
    {REQ "\n", sizeof(REQ)},
    {"\n", 1},
    {"a=b\n\n", 5},
    {"a=b\n\nc=d\n\n", 5},
    {"a=b\n\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 5},
    {"a=b\r\n\r\n", 7},
    {"a=b\r\n\n", 6},
    {"\r\n", 2},
    {"a=b\r\n", 0},
    {"a=b\r\n\r", 0},
    {"a=b\n\r\r\n", 0},
};

static void test_frame_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(frame_cases); i++) {
		const struct frame_case *t = &frame_cases[i];
		long n = pp_frame(t->in, strlen(t->in), &small);
		if (n != t->want)
			fail_msg("case %zu: pp_frame %ld, want %ld", i, n,
				 t->want);
	}
}

/* Every strict prefix of a request needs more bytes. */
static void test_frame_partial(void **state)
{
	const char *req = REQ "protocol_state=RCPT\nsender=a@example.com\n"
			      "recipient=b@example.net\n\n";
	size_t len = strlen(req);

	(void)state;
	for (size_t i = 0; i < len; i++)
		if (pp_frame(req, i, &pp_default_limits) != 0)
			fail_msg("prefix of %zu bytes framed", i);
	assert_int_equal(pp_frame(req, len, &pp_default_limits), (long)len);
}

static void test_frame_back_to_back(void **state)
{
	const char *one = REQ "protocol_state=RCPT\nrecipient=a@x\n\n";
	const char *two = REQ "protocol_state=END-OF-MESSAGE\nsize=12\n\n";
	char buf[256];
	size_t l1 = strlen(one), l2 = strlen(two);
	struct pp_request r;
	long n;

	(void)state;
	memcpy(buf, one, l1);
	memcpy(buf + l1, two, l2);
	n = pp_frame(buf, l1 + l2, &pp_default_limits);
	assert_int_equal(n, (long)l1);
	assert_int_equal(pp_parse(buf, (size_t)n, &pp_default_limits, &r), 0);
	assert_int_equal(r.state, PP_STATE_RCPT);
	assert_string_equal(r.recipient, "a@x");
	pp_request_free(&r);
	n = pp_frame(buf + l1, l2, &pp_default_limits);
	assert_int_equal(n, (long)l2);
	assert_int_equal(pp_parse(buf + l1, (size_t)n, &pp_default_limits, &r),
			 0);
	assert_int_equal(r.state, PP_STATE_EOM);
	assert_int_equal(r.size, 12);
	pp_request_free(&r);
}

static void test_frame_line_max(void **state)
{
	char buf[256];
	size_t n;

	(void)state;
	n = build_line(buf, small.line_max);
	assert_int_equal(pp_frame(buf, n, &small), (long)n);
	n = build_line(buf, small.line_max + 1);
	assert_int_equal(pp_frame(buf, n, &small), -PP_ETOOLONG);
	/* without its newline yet: max waits, max + 1 fails at once */
	memset(buf, 'z', small.line_max + 1);
	assert_int_equal(pp_frame(buf, small.line_max, &small), 0);
	assert_int_equal(pp_frame(buf, small.line_max + 1, &small),
			 -PP_ETOOLONG);
	/* the limit is per line, not cumulative */
	n = build_request(buf, 190, small.line_max);
	assert_int_equal(pp_frame(buf, n, &wide), (long)n);
}

static void test_frame_request_max(void **state)
{
	char buf[512];
	size_t n;

	(void)state;
	n = build_request(buf, wide.request_max, wide.line_max);
	assert_int_equal(pp_frame(buf, n, &wide), (long)wide.request_max);
	n = build_request(buf, wide.request_max + 1, wide.line_max);
	assert_int_equal(pp_frame(buf, n, &wide), -PP_EBIG);
	/* no end within request_max bytes: no request can fit */
	n = build_request(buf, 400, wide.line_max);
	assert_int_equal(pp_frame(buf, wide.request_max - 1, &wide), 0);
	assert_int_equal(pp_frame(buf, wide.request_max, &wide), -PP_EBIG);
	assert_int_equal(pp_frame(buf, n, &wide), -PP_EBIG);
}

/* ---- pp_parse ---- */

static void test_parse_full(void **state)
{
	const char *req = REQ "protocol_state=END-OF-MESSAGE\n"
			      "protocol_name=ESMTP\n"
			      "client_address=192.0.2.7\n"
			      "client_name=mx.example.com\n"
			      "reverse_client_name=mx.example.com\n"
			      "helo_name=mx.example.com\n"
			      "sender=Alice@Example.com\n"
			      "recipient=bob@example.net\n"
			      "recipient_count=3\n"
			      "queue_id=4Xyz123\n"
			      "instance=123.456.7\n"
			      "size=12345\n"
			      "sasl_method=PLAIN\n"
			      "sasl_username=alice\n"
			      "ccert_subject=\n"
			      "stress=\n"
			      "\n";
	struct pp_request r;

	(void)state;
	assert_int_equal(pp_parse(req, strlen(req), &pp_default_limits, &r), 0);
	assert_int_equal(r.state, PP_STATE_EOM);
	assert_string_equal(r.protocol_state, "END-OF-MESSAGE");
	assert_string_equal(r.client_address, "192.0.2.7");
	assert_string_equal(r.client_name, "mx.example.com");
	assert_string_equal(r.sasl_username, "alice");
	assert_string_equal(r.sender, "Alice@Example.com");
	assert_string_equal(r.recipient, "bob@example.net");
	assert_string_equal(r.queue_id, "4Xyz123");
	assert_string_equal(r.instance, "123.456.7");
	assert_int_equal(r.size, 12345);
	assert_int_equal(r.recipient_count, 3);
	assert_int_equal(r.nattrs, 17);
	assert_non_null(r.mem);
	pp_request_free(&r);
	assert_null(r.mem);
	pp_request_free(&r); /* a second free is harmless */
	pp_request_free(NULL);
}

/* Absent attributes are NULL or 0; empty values are empty strings. */
static void test_parse_minimal(void **state)
{
	const char *req = REQ "sender=\n\n";
	struct pp_request r;

	(void)state;
	assert_int_equal(pp_parse(req, strlen(req), &pp_default_limits, &r), 0);
	assert_int_equal(r.state, PP_STATE_OTHER);
	assert_null(r.protocol_state);
	assert_null(r.client_address);
	assert_null(r.recipient);
	assert_null(r.sasl_username);
	assert_string_equal(r.sender, "");
	assert_int_equal(r.size, 0);
	assert_int_equal(r.recipient_count, 0);
	assert_int_equal(r.nattrs, 2);
	pp_request_free(&r);
}

struct parse_case {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen(in) */
	int rc;
};

static const struct parse_case parse_cases[] = {
    {"empty input", "", 0, -PP_EINCOMPLETE},
    {"empty request", "\n", 0, -PP_EREQUEST},
    {"empty CRLF request", "\r\n", 0, -PP_EREQUEST},
    {"no empty line", REQ, 0, -PP_EINCOMPLETE},
    {"no newline at all", "request=smtpd_access_policy", 0, -PP_EINCOMPLETE},
    {"cut final newline", REQ "sender=a\n", 0, -PP_EINCOMPLETE},
    {"lone CR at end", REQ "\r", 0, -PP_EINCOMPLETE},
    {"CR inside final line", REQ "x\r\n", 0, -PP_EINCOMPLETE},
    {"NUL in value", REQ "sender=a\0b\n\n", sizeof(REQ "sender=a\0b\n\n") - 1,
     -PP_EMALFORMED},
    {"NUL as name", REQ "\0=x\n\n", sizeof(REQ "\0=x\n\n") - 1, -PP_EMALFORMED},
    {"NUL before end", REQ "\0\n\n", sizeof(REQ "\0\n\n") - 1, -PP_EMALFORMED},
    {"line without =", REQ "sender\n\n", 0, -PP_EMALFORMED},
    {"empty name", REQ "=x\n\n", 0, -PP_EMALFORMED},
    {"only CR", REQ "\r\nsender=a\n\n", 0, -PP_EMALFORMED},
    {"empty line inside", REQ "\nsender=a\n\n", 0, -PP_EMALFORMED},
    {"two requests", REQ "\n" REQ "\n", 0, -PP_EMALFORMED},
    {"request missing", "sender=a\n\n", 0, -PP_EREQUEST},
    {"request empty", "request=\n\n", 0, -PP_EREQUEST},
    {"request wrong", "request=junk\n\n", 0, -PP_EREQUEST},
    {"request case", "request=SMTPD_ACCESS_POLICY\n\n", 0, -PP_EREQUEST},
    {"request prefix", "request=smtpd_access_policy2\n\n", 0, -PP_EREQUEST},
    {"request space", "request= smtpd_access_policy\n\n", 0, -PP_EREQUEST},
    {"request last", "sender=a\nrequest=smtpd_access_policy\n\n", 0, 0},
    /* duplicates: used attributes are errors, others are fine */
    {"dup request", REQ REQ "\n", 0, -PP_EDUP},
    {"dup sender", REQ "sender=a\nsender=b\n\n", 0, -PP_EDUP},
    {"dup same value", REQ "sender=a\nsender=a\n\n", 0, -PP_EDUP},
    {"dup empty sender", REQ "sender=\nsender=\n\n", 0, -PP_EDUP},
    {"dup recipient", REQ "recipient=a\nrecipient=b\n\n", 0, -PP_EDUP},
    {"dup sasl_username", REQ "sasl_username=a\nsasl_username=a\n\n", 0,
     -PP_EDUP},
    {"dup client_address",
     REQ "client_address=192.0.2.1\nclient_address=192.0.2.2\n\n", 0, -PP_EDUP},
    {"dup client_name", REQ "client_name=a\nclient_name=b\n\n", 0, -PP_EDUP},
    {"dup protocol_state", REQ "protocol_state=RCPT\nprotocol_state=DATA\n\n",
     0, -PP_EDUP},
    {"dup queue_id", REQ "queue_id=A\nqueue_id=B\n\n", 0, -PP_EDUP},
    {"dup instance", REQ "instance=A\ninstance=B\n\n", 0, -PP_EDUP},
    {"dup size", REQ "size=1\nsize=1\n\n", 0, -PP_EDUP},
    {"dup recipient_count", REQ "recipient_count=1\nrecipient_count=2\n\n", 0,
     -PP_EDUP},
    {"dup unknown", REQ "helo_name=a\nhelo_name=b\n\n", 0, 0},
    {"dup unknown x3", REQ "x=1\nx=2\nx=3\n\n", 0, 0},
    {"unknown ignored", REQ "x-custom=anything at all = here\n\n", 0, 0},
    /* numbers */
    {"size ok", REQ "size=0\n\n", 0, 0},
    {"size 2^53", REQ "size=9007199254740992\n\n", 0, 0},
    {"size 2^53+1", REQ "size=9007199254740993\n\n", 0, -PP_ENUM},
    {"size junk", REQ "size=abc\n\n", 0, -PP_ENUM},
    {"size trailing junk", REQ "size=12k\n\n", 0, -PP_ENUM},
    {"size leading space", REQ "size= 12\n\n", 0, -PP_ENUM},
    {"size plus", REQ "size=+12\n\n", 0, -PP_ENUM},
    {"size negative", REQ "size=-1\n\n", 0, -PP_ENUM},
    {"size empty", REQ "size=\n\n", 0, -PP_ENUM},
    {"size hex", REQ "size=0x10\n\n", 0, -PP_ENUM},
    {"size overflow", REQ "size=99999999999999999999\n\n", 0, -PP_ENUM},
    {"size LLONG_MAX", REQ "size=9223372036854775807\n\n", 0, -PP_ENUM},
    {"rcount junk", REQ "recipient_count=x\n\n", 0, -PP_ENUM},
    {"rcount negative", REQ "recipient_count=-3\n\n", 0, -PP_ENUM},
    {"rcount overflow", REQ "recipient_count=18446744073709551617\n\n", 0,
     -PP_ENUM},
    {"rcount fraction", REQ "recipient_count=1.0\n\n", 0, -PP_ENUM},
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(parse_cases); i++) {
		const struct parse_case *t = &parse_cases[i];
		size_t len = t->len ? t->len : strlen(t->in);
		struct pp_request r;
		int rc;

		memset(&r, 0x5a, sizeof(r));
		rc = pp_parse(t->in, len, &pp_default_limits, &r);
		if (rc != t->rc)
			fail_msg("%s: rc %d (%s), want %d", t->name, rc,
				 pp_strerror(rc), t->rc);
		if (rc == 0) {
			pp_request_free(&r);
			continue;
		}
		for (size_t b = 0; b < sizeof(r); b++)
			if (((unsigned char *)&r)[b] != 0x5a)
				fail_msg("%s: output changed on error",
					 t->name);
	}
}

static void test_parse_line_max(void **state)
{
	char buf[256];
	struct pp_request r;
	size_t n;

	(void)state;
	n = build_line(buf, small.line_max);
	assert_int_equal(pp_parse(buf, n, &small, &r), 0);
	pp_request_free(&r);
	n = build_line(buf, small.line_max + 1);
	assert_int_equal(pp_parse(buf, n, &small, &r), -PP_ETOOLONG);
}

static void test_parse_attrs_max(void **state)
{
	char buf[256];
	struct pp_request r;
	size_t n;

	(void)state;
	n = build_attrs(buf, small.attrs_max);
	assert_int_equal(pp_parse(buf, n, &small, &r), 0);
	assert_int_equal(r.nattrs, small.attrs_max);
	pp_request_free(&r);
	n = build_attrs(buf, small.attrs_max + 1);
	assert_int_equal(pp_parse(buf, n, &small, &r), -PP_ETOOMANY);
	/* the default limit too */
	{
		char *big = malloc(8192);
		assert_non_null(big);
		n = build_attrs(big, pp_default_limits.attrs_max);
		assert_int_equal(pp_parse(big, n, &pp_default_limits, &r), 0);
		pp_request_free(&r);
		n = build_attrs(big, pp_default_limits.attrs_max + 1);
		assert_int_equal(pp_parse(big, n, &pp_default_limits, &r),
				 -PP_ETOOMANY);
		free(big);
	}
}

static void test_parse_request_max(void **state)
{
	char buf[512];
	struct pp_request r;
	size_t n;

	(void)state;
	n = build_request(buf, wide.request_max, wide.line_max);
	assert_int_equal(pp_parse(buf, n, &wide, &r), 0);
	pp_request_free(&r);
	n = build_request(buf, wide.request_max + 1, wide.line_max);
	assert_int_equal(pp_parse(buf, n, &wide, &r), -PP_EBIG);
}

/* Default limits: a request of exactly 32 KiB passes, one byte more not. */
static void test_parse_default_request_max(void **state)
{
	size_t max = pp_default_limits.request_max;
	char *buf = malloc(max + 1);
	struct pp_request r;
	size_t n;

	(void)state;
	assert_non_null(buf);
	n = build_request(buf, max, 1000);
	assert_int_equal(pp_frame(buf, n, &pp_default_limits), (long)max);
	assert_int_equal(pp_parse(buf, n, &pp_default_limits, &r), 0);
	pp_request_free(&r);
	n = build_request(buf, max + 1, 1000);
	assert_int_equal(pp_frame(buf, n, &pp_default_limits), -PP_EBIG);
	assert_int_equal(pp_parse(buf, n, &pp_default_limits, &r), -PP_EBIG);
	free(buf);
}

struct state_case {
	const char *value; /* NULL: no protocol_state line */
	enum pp_state want;
};

static const struct state_case state_cases[] = {
    {"CONNECT", PP_STATE_CONNECT},    {"EHLO", PP_STATE_HELO},
    {"HELO", PP_STATE_HELO},	      {"MAIL", PP_STATE_MAIL},
    {"RCPT", PP_STATE_RCPT},	      {"DATA", PP_STATE_DATA},
    {"END-OF-MESSAGE", PP_STATE_EOM}, {"VRFY", PP_STATE_VRFY},
    {"ETRN", PP_STATE_ETRN},	      {"rcpt", PP_STATE_OTHER},
    {"RCPT ", PP_STATE_OTHER},	      {"RCPTX", PP_STATE_OTHER},
    {"BDAT", PP_STATE_OTHER},	      {"", PP_STATE_OTHER},
    {NULL, PP_STATE_OTHER},
};

static void test_parse_states(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(state_cases); i++) {
		const struct state_case *t = &state_cases[i];
		char buf[128];
		struct pp_request r;
		int n = t->value
			    ? snprintf(buf, sizeof(buf),
				       REQ "protocol_state=%s\n\n", t->value)
			    : snprintf(buf, sizeof(buf), REQ "\n");

		if (pp_parse(buf, (size_t)n, &pp_default_limits, &r) != 0)
			fail_msg("case %zu: parse failed", i);
		if (r.state != t->want)
			fail_msg("case %zu \"%s\": state %d, want %d", i,
				 t->value ? t->value : "(none)", r.state,
				 t->want);
		pp_request_free(&r);
	}
}

/* A CR before each newline is dropped, the final line included. */
static void test_parse_crlf(void **state)
{
	const char *reqs[] = {
	    "request=smtpd_access_policy\r\nprotocol_state=RCPT\r\n"
	    "sender=a@example.com\r\nsize=10\r\n\r\n",
	    "request=smtpd_access_policy\r\nprotocol_state=RCPT\r\n"
	    "sender=a@example.com\r\nsize=10\r\n\n",
	    "request=smtpd_access_policy\nprotocol_state=RCPT\r\n"
	    "sender=a@example.com\nsize=10\n\r\n",
	};

	(void)state;
	for (size_t i = 0; i < NELEM(reqs); i++) {
		size_t len = strlen(reqs[i]);
		struct pp_request r;
		assert_int_equal(pp_frame(reqs[i], len, &pp_default_limits),
				 (long)len);
		if (pp_parse(reqs[i], len, &pp_default_limits, &r) != 0)
			fail_msg("case %zu: parse failed", i);
		assert_int_equal(r.state, PP_STATE_RCPT);
		assert_string_equal(r.protocol_state, "RCPT");
		assert_string_equal(r.sender, "a@example.com");
		assert_int_equal(r.size, 10);
		assert_int_equal(r.nattrs, 4);
		pp_request_free(&r);
	}
}

/* Only the last CR of a line goes: "a\r\r" keeps one. */
static void test_parse_crlf_one_only(void **state)
{
	const char *req = REQ "sender=a\r\r\n\n";
	struct pp_request r;

	(void)state;
	assert_int_equal(pp_parse(req, strlen(req), &pp_default_limits, &r), 0);
	assert_string_equal(r.sender, "a\r");
	pp_request_free(&r);
}

/* ---- pp_format_reply, pp_strerror ---- */

static void test_format_reply(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(pp_format_reply(out, sizeof(out), "DUNNO"), 14);
	assert_string_equal(out, "action=DUNNO\n\n");
	assert_int_equal(pp_format_reply(out, sizeof(out), ""), 9);
	assert_string_equal(out, "action=\n\n");
	assert_int_equal(
	    pp_format_reply(out, sizeof(out), "DEFER a\r\nb\rc\nd"), 23);
	assert_string_equal(out, "action=DEFER a  b c d\n\n");
}

static void test_format_reply_size(void **state)
{
	const char *action = "REJECT 5.7.1 no";
	size_t need = strlen("action=") + strlen(action) + 2 + 1;
	char out[64];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(pp_format_reply(out, need, action), (int)need - 1);
	assert_string_equal(out, "action=REJECT 5.7.1 no\n\n");
	assert_int_equal(out[need], 'x');
	memset(out, 'x', sizeof(out));
	assert_int_equal(pp_format_reply(out, need - 1, action), -PP_ETOOLONG);
	assert_string_equal(out, "");
	assert_int_equal(out[1], 'x');
	memset(out, 'x', sizeof(out));
	assert_int_equal(pp_format_reply(out, 0, action), -PP_ETOOLONG);
	assert_int_equal(out[0], 'x');
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(pp_strerror(0), "ok");
	for (int c = PP_ETOOLONG; c <= PP_ENOMEM; c++) {
		const char *m = pp_strerror(-c);
		assert_string_not_equal(m, "unknown error");
		assert_string_equal(m, pp_strerror(c));
		for (int d = PP_ETOOLONG; d < c; d++)
			assert_string_not_equal(m, pp_strerror(-d));
	}
	assert_string_equal(pp_strerror(-(PP_ENOMEM + 1)), "unknown error");
	assert_string_equal(pp_strerror(INT_MAX), "unknown error");
	assert_string_equal(pp_strerror(INT_MIN), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_table),
	    cmocka_unit_test(test_frame_partial),
	    cmocka_unit_test(test_frame_back_to_back),
	    cmocka_unit_test(test_frame_line_max),
	    cmocka_unit_test(test_frame_request_max),
	    cmocka_unit_test(test_parse_full),
	    cmocka_unit_test(test_parse_minimal),
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_parse_line_max),
	    cmocka_unit_test(test_parse_attrs_max),
	    cmocka_unit_test(test_parse_request_max),
	    cmocka_unit_test(test_parse_default_request_max),
	    cmocka_unit_test(test_parse_states),
	    cmocka_unit_test(test_parse_crlf),
	    cmocka_unit_test(test_parse_crlf_one_only),
	    cmocka_unit_test(test_format_reply),
	    cmocka_unit_test(test_format_reply_size),
	    cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
