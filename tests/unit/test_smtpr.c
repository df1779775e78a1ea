/*
 * test_smtpr: the SMTP reply reader of the active checks
 * (engine/smtpr.c), table-driven: complete and partial replies,
 * multi-line replies, STARTTLS in EHLO replies, and the bounds (line
 * length max and max + 1, line count, NUL bytes, bad codes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smtpr.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct smtpr_limits lim = {.line_max = 64, .lines_max = 4};

struct r_case {
	const char *in;
	size_t len; /* 0: strlen */
	long want;  /* bytes taken, 0 incomplete, or -error */
	int code;
	size_t lines;
	int starttls;
	const char *text;
};

static void test_table(void **state)
{
	static const struct r_case t[] = {
	    {"220 mx.example ESMTP\r\n", 0, 22, 220, 1, 0, "mx.example ESMTP"},
	    {"220 mx.example ESMTP\n", 0, 21, 220, 1, 0, "mx.example ESMTP"},
	    {"250\r\n", 0, 5, 250, 1, 0, ""},
	    {"221 bye\r\n250 next\r\n", 0, 9, 221, 1, 0, "bye"},
	    {"250-mx.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
	     0, 60, 250, 4, 1, "mx.example"},
	    {"250-mx.example\r\n250-starttls\r\n250 SIZE 10\r\n", 0, 43, 250, 3,
	     1, "mx.example"},
	    {"250-mx.example\r\n250 STARTTLSX\r\n", 0, 31, 250, 2, 0,
	     "mx.example"},
	    /* STARTTLS on the first line is the greeting, not a keyword */
	    {"250 STARTTLS\r\n", 0, 14, 250, 1, 0, "STARTTLS"},
	    {"421 4.7.0 try later\r\n", 0, 21, 421, 1, 0, "4.7.0 try later"},
	    /* incomplete */
	    {"", 0, 0, 0, 0, 0, NULL},
	    {"220 mx", 0, 0, 0, 0, 0, NULL},
	    {"250-a\r\n250-b\r\n", 0, 0, 0, 0, 0, NULL},
	    {"250-a\r\n250 b", 0, 0, 0, 0, 0, NULL},
	    /* malformed */
	    {"hello\r\n", 0, -SMTPR_EMALFORMED, 0, 0, 0, NULL},
	    {"22\r\n", 0, -SMTPR_EMALFORMED, 0, 0, 0, NULL},
	    {"120 x\r\n", 0, -SMTPR_EMALFORMED, 0, 0, 0, NULL},
	    {"2a0 x\r\n", 0, -SMTPR_EMALFORMED, 0, 0, 0, NULL},
	    {"220x\r\n", 0, -SMTPR_EMALFORMED, 0, 0, 0, NULL},
	    {"250-a\r\n251 b\r\n", 0, -SMTPR_EMALFORMED, 0, 0, 0, NULL},
	    {"220 a\0b\r\n", 9, -SMTPR_EMALFORMED, 0, 0, 0, NULL},
	    /* too many lines: 5 > 4 */
	    {"250-a\r\n250-b\r\n250-c\r\n250-d\r\n250 e\r\n", 0,
	     -SMTPR_ETOOMANY, 0, 0, 0, NULL},
	    {"250-a\r\n250-b\r\n250-c\r\n250 d\r\n", 0, 28, 250, 4, 0, "a"},
	};
	(void)state;
	for (size_t i = 0; i < NELEM(t); i++) {
		struct smtpr_reply r, sentinel;
		size_t len = t[i].len ? t[i].len : strlen(t[i].in);
		long n;
		memset(&r, 0x5a, sizeof(r));
		sentinel = r;
		n = smtpr_parse(t[i].in, len, &lim, &r);
		if (n != t[i].want)
			fail_msg("case %zu: %ld, want %ld", i, n, t[i].want);
		if (n <= 0) {
			assert_memory_equal(&r, &sentinel, sizeof(r));
			continue;
		}
		assert_int_equal(r.code, t[i].code);
		assert_int_equal(r.lines, t[i].lines);
		assert_int_equal(r.starttls, t[i].starttls);
		assert_string_equal(r.text, t[i].text);
	}
}

/* A line of exactly line_max bytes is read; one byte more is refused,
 * also before its end has come. */
static void test_line_max(void **state)
{
	char buf[128];
	struct smtpr_reply r;

	(void)state;
	memcpy(buf, "250 ", 4);
	memset(buf + 4, 'x', lim.line_max - 4);
	memcpy(buf + lim.line_max, "\r\n", 2);
	assert_int_equal(smtpr_parse(buf, lim.line_max + 2, &lim, &r),
			 (long)lim.line_max + 2);
	memset(buf + 4, 'x', lim.line_max - 3);
	memcpy(buf + lim.line_max + 1, "\r\n", 2);
	assert_int_equal(smtpr_parse(buf, lim.line_max + 3, &lim, &r),
			 -SMTPR_ETOOLONG);
	assert_int_equal(smtpr_parse(buf, lim.line_max + 1, &lim, &r),
			 -SMTPR_ETOOLONG);
	assert_int_equal(smtpr_parse(buf, lim.line_max, &lim, &r), 0);
}

/* The text kept is cut and printable. */
static void test_text(void **state)
{
	static const struct smtpr_limits big = {.line_max = 1000,
						.lines_max = 10};
	char buf[400];
	struct smtpr_reply r;

	(void)state;
	memcpy(buf, "554 ", 4);
	memset(buf + 4, 'y', 300);
	buf[10] = '\t';
	buf[11] = (char)0xff;
	memcpy(buf + 304, "\r\n", 2);
	assert_int_equal(smtpr_parse(buf, 306, &big, &r), 306);
	assert_int_equal(strlen(r.text), sizeof(r.text) - 1);
	assert_int_equal(r.text[6], '?');
	assert_int_equal(r.text[7], '?');
	assert_string_equal(smtpr_strerror(-SMTPR_ETOOLONG),
			    "reply line too long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_line_max),
	    cmocka_unit_test(test_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
