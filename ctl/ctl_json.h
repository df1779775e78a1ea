/*
 * ctl_json: the small JSON writer of postlbctl's --json output.  One
 * document is written as it is built, compact, to a stdio stream; the
 * writer tracks nesting and commas, so a caller only says what comes
 * next.  Strings are escaped (quote, backslash, every control character,
 * DEL); valid UTF-8 passes through, and a byte that is not part of valid
 * UTF-8 comes out as the code point of the same value (\u00XX, as
 * Latin-1 would read it), so the output is always valid UTF-8 JSON.  It
 * parses nothing.  Not thread-safe: one writer per document.
 */
#ifndef POSTLB_CTL_JSON_H
#define POSTLB_CTL_JSON_H

#include <stddef.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 16 /* nesting of objects and arrays */

struct json {
	FILE *f;
	int depth;
	int err; /* nesting broken (too deep, close without open) */
	unsigned char nitems[JSON_DEPTH_MAX + 1]; /* 0: none yet, 1: some */
};

/* 1 when postlbctl was asked for --json (set once by main). */
extern int ctl_json;

void json_init(struct json *j, FILE *f);
/*
 * Each value call takes the member name key inside an object and NULL
 * inside an array or at the top.
 */
void json_obj_open(struct json *j, const char *key);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j, const char *key);
void json_arr_close(struct json *j);
/* s NULL writes null. */
void json_str(struct json *j, const char *key, const char *s);
void json_strn(struct json *j, const char *key, const char *s, size_t len);
void json_int(struct json *j, const char *key, long long v);
/* A number with up to 3 decimals (rates). */
void json_num(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
/*
 * Ends the document with a newline and flushes.  Returns 0, or -1 when the
 * nesting was broken or the stream failed.
 */
int json_end(struct json *j);
/* Writes s[0..len) escaped, without quotes. */
void json_escape(FILE *f, const char *s, size_t len);

#endif
