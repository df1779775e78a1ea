/*
 * test_json: table-driven tests of ctl/ctl_json.c, postlbctl's JSON
 * writer: string escaping (quote, backslash, every control character,
 * DEL, an embedded NUL, valid and invalid UTF-8), values, nesting and
 * commas, and the nesting errors json_end reports.  Writes to memory
 * streams; no other I/O.
 */
#include "ctl_json.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct esc_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *want;
};

static const struct esc_case esc_cases[] = {
    {"", 0, ""},
    {"plain text", 0, "plain text"},
    {"a\"b", 0, "a\\\"b"},
    {"back\\slash", 0, "back\\\\slash"},
    {"/", 0, "/"},
    {"\n\r\t\b\f", 0, "\\n\\r\\t\\b\\f"},
    {"\x01\x02\x1f", 0, "\\u0001\\u0002\\u001f"},
    {"\x7f", 0, "\\u007f"},
    {" ~", 0, " ~"},
    /* an embedded NUL is a character like any other */
    {"a\0b", 3, "a\\u0000b"},
    /* valid UTF-8 passes: 2, 3 and 4 bytes */
    {"caf\xc3\xa9", 0, "caf\xc3\xa9"},
    {"\xe2\x82\xac", 0, "\xe2\x82\xac"},
    {"\xf0\x9f\x93\xa7", 0, "\xf0\x9f\x93\xa7"},
    {"\xef\xbf\xbf", 0, "\xef\xbf\xbf"},
    {"\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf"},
    /* not UTF-8: each byte as its Latin-1 code point */
    {"\xe9t\xe9", 0, "\\u00e9t\\u00e9"},
    {"\xff\xfe", 0, "\\u00ff\\u00fe"},
    {"\x80", 0, "\\u0080"},
    {"\xc0\xaf", 0, "\\u00c0\\u00af"},         /* overlong '/' */
    {"\xe0\x80\xaf", 0, "\\u00e0\\u0080\\u00af"}, /* overlong */
    {"\xed\xa0\x80", 0, "\\u00ed\\u00a0\\u0080"}, /* surrogate */
    {"\xf4\x90\x80\x80", 0, "\\u00f4\\u0090\\u0080\\u0080"}, /* > U+10FFFF */
    {"\xc3", 0, "\\u00c3"},                    /* cut short at the end */
    {"\xe2\x82", 0, "\\u00e2\\u0082"},
    {"\xc3(", 0, "\\u00c3("},                  /* bad continuation */
    {"\xf0\x9f\x93", 0, "\\u00f0\\u009f\\u0093"},
};

static void test_escape(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(esc_cases); i++) {
		const struct esc_case *c = &esc_cases[i];
		char *buf = NULL;
		size_t sz = 0;
		FILE *f = open_memstream(&buf, &sz);
		assert_non_null(f);
		json_escape(f, c->in, c->len ? c->len : strlen(c->in));
		fclose(f);
		if (strcmp(buf, c->want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, buf, c->want);
		free(buf);
	}
}

/* Runs build on a fresh writer; checks the text and json_end's code. */
static void check_doc(void (*build)(struct json *), const char *want,
		      int want_rc)
{
	struct json j;
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	int rc;

	assert_non_null(f);
	json_init(&j, f);
	build(&j);
	rc = json_end(&j);
	fclose(f);
	assert_string_equal(buf, want);
	assert_int_equal(rc, want_rc);
	free(buf);
}

static void build_values(struct json *j)
{
	json_obj_open(j, NULL);
	json_str(j, "s", "x\"y");
	json_str(j, "none", NULL);
	json_strn(j, "n", "abc", 2);
	json_int(j, "i", -9223372036854775807LL - 1);
	json_num(j, "r", 2.5);
	json_num(j, "inf", HUGE_VAL);
	json_bool(j, "t", 1);
	json_bool(j, "f", 0);
	json_null(j, "z");
	json_str(j, "k\n\xff", "v");
	json_obj_close(j);
}

static void build_nested(struct json *j)
{
	json_obj_open(j, NULL);
	json_arr_open(j, "a");
	json_int(j, NULL, 1);
	json_obj_open(j, NULL);
	json_obj_close(j);
	json_arr_open(j, NULL);
	json_arr_close(j);
	json_str(j, NULL, "x");
	json_arr_close(j);
	json_obj_open(j, "o");
	json_arr_open(j, "e");
	json_arr_close(j);
	json_obj_close(j);
	json_obj_close(j);
}

static void build_unclosed(struct json *j)
{
	json_obj_open(j, NULL);
	json_arr_open(j, "a");
	json_arr_close(j);
}

static void build_overclosed(struct json *j)
{
	json_arr_open(j, NULL);
	json_arr_close(j);
	json_arr_close(j);
}

/* JSON_DEPTH_MAX levels nest; one more is an error. */
static void build_depth_max(struct json *j)
{
	for (int i = 0; i < JSON_DEPTH_MAX; i++)
		json_arr_open(j, NULL);
	for (int i = 0; i < JSON_DEPTH_MAX; i++)
		json_arr_close(j);
}

static void build_depth_over(struct json *j)
{
	for (int i = 0; i < JSON_DEPTH_MAX + 1; i++)
		json_arr_open(j, NULL);
	for (int i = 0; i < JSON_DEPTH_MAX + 1; i++)
		json_arr_close(j);
}

static void test_documents(void **state)
{
	char max[2 * JSON_DEPTH_MAX + 2], over[2 * JSON_DEPTH_MAX + 4];

	(void)state;
	check_doc(build_values,
		  "{\"s\":\"x\\\"y\",\"none\":null,\"n\":\"ab\","
		  "\"i\":-9223372036854775808,\"r\":2.500,\"inf\":null,"
		  "\"t\":true,\"f\":false,\"z\":null,\"k\\n\\u00ff\":\"v\"}\n",
		  0);
	check_doc(build_nested,
		  "{\"a\":[1,{},[],\"x\"],\"o\":{\"e\":[]}}\n", 0);
	check_doc(build_unclosed, "{\"a\":[]\n", -1);
	check_doc(build_overclosed, "[]]\n", -1);
	memset(max, '[', JSON_DEPTH_MAX);
	memset(max + JSON_DEPTH_MAX, ']', JSON_DEPTH_MAX);
	strcpy(max + 2 * JSON_DEPTH_MAX, "\n");
	check_doc(build_depth_max, max, 0);
	memset(over, '[', JSON_DEPTH_MAX + 1);
	memset(over + JSON_DEPTH_MAX + 1, ']', JSON_DEPTH_MAX + 1);
	strcpy(over + 2 * JSON_DEPTH_MAX + 2, "\n");
	check_doc(build_depth_over, over, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_documents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
