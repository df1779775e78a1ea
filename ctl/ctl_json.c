/*
 * ctl_json: the JSON writer of postlbctl --json (see ctl_json.h).  Writes
 * to a stdio stream as it goes; keeps only the nesting state.  Escapes
 * strings itself; reads no input.
 */
#include "ctl_json.h"

#include <math.h>
#include <string.h>

int ctl_json;

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/*
 * The length of the valid UTF-8 sequence at s (at most n bytes), 0 when
 * s[0] does not start one (RFC 3629: no overlong forms, no surrogates,
 * nothing past U+10FFFF).
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

void json_escape(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, u;

	while (i < len) {
		unsigned char b = s[i];
		if (b == '"' || b == '\\') {
			fprintf(f, "\\%c", b);
		} else if (b == '\n') {
			fputs("\\n", f);
		} else if (b == '\r') {
			fputs("\\r", f);
		} else if (b == '\t') {
			fputs("\\t", f);
		} else if (b == '\b') {
			fputs("\\b", f);
		} else if (b == '\f') {
			fputs("\\f", f);
		} else if (b < 0x20 || b == 0x7f) {
			fprintf(f, "\\u%04x", b);
		} else if (b < 0x80) {
			fputc(b, f);
		} else if ((u = utf8_len(s + i, len - i)) > 0) {
			fwrite(s + i, 1, u, f);
			i += u;
			continue;
		} else {
			fprintf(f, "\\u%04x", b); /* not UTF-8: as Latin-1 */
		}
		i++;
	}
}

/* The comma and the member name before a value. */
static void json_pre(struct json *j, const char *key)
{
	if (j->nitems[j->depth])
		fputc(',', j->f);
	j->nitems[j->depth] = 1;
	if (key != NULL) {
		fputc('"', j->f);
		json_escape(j->f, key, strlen(key));
		fputs("\":", j->f);
	}
}

static void json_open(struct json *j, const char *key, char c)
{
	json_pre(j, key);
	fputc(c, j->f);
	if (j->depth == JSON_DEPTH_MAX) {
		j->err = 1;
		return;
	}
	j->nitems[++j->depth] = 0;
}

static void json_close(struct json *j, char c)
{
	if (j->depth == 0)
		j->err = 1;
	else
		j->depth--;
	fputc(c, j->f);
}

void json_obj_open(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

void json_obj_close(struct json *j)
{
	json_close(j, '}');
}

void json_arr_open(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

void json_arr_close(struct json *j)
{
	json_close(j, ']');
}

void json_strn(struct json *j, const char *key, const char *s, size_t len)
{
	json_pre(j, key);
	fputc('"', j->f);
	json_escape(j->f, s, len);
	fputc('"', j->f);
}

void json_str(struct json *j, const char *key, const char *s)
{
	if (s == NULL)
		json_null(j, key);
	else
		json_strn(j, key, s, strlen(s));
}

void json_int(struct json *j, const char *key, long long v)
{
	json_pre(j, key);
	fprintf(j->f, "%lld", v);
}

void json_num(struct json *j, const char *key, double v)
{
	if (!isfinite(v)) {
		json_null(j, key); /* JSON has no NaN or infinity */
		return;
	}
	json_pre(j, key);
	fprintf(j->f, "%.3f", v);
}

void json_bool(struct json *j, const char *key, int v)
{
	json_pre(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	json_pre(j, key);
	fputs("null", j->f);
}

int json_end(struct json *j)
{
	fputc('\n', j->f);
	if (fflush(j->f) != 0 || ferror(j->f))
		return -1;
	return j->err || j->depth != 0 ? -1 : 0;
}
