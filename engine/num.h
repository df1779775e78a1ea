/*
 * num: strict number and duration parsing.  No leading/trailing junk, no
 * overflow, no locale.  Pure functions, no I/O.
 */
#ifndef POSTLB_NUM_H
#define POSTLB_NUM_H

#include <stddef.h>

enum { NUM_OK = 0, NUM_EINVAL = 1, NUM_ERANGE = 2 };

/*
 * Parses len bytes of s as a decimal integer in [min, max] (optional leading
 * '-').  On success stores it in *out and returns 0; otherwise returns
 * -NUM_EINVAL or -NUM_ERANGE and leaves *out untouched.
 */
int num_parse_ll(const char *s, size_t len, long long min, long long max,
		 long long *out);

/*
 * Parses a duration: a positive integer followed by an optional unit
 * "ms", "s", "m", "h", "d" (no unit: seconds), e.g. "30s", "1m", "500ms".
 * Stores milliseconds in *out_ms (at most 366 days).  Same error codes.
 */
int num_parse_duration_ms(const char *s, long long *out_ms);

/*
 * Writes v in decimal to out (room for 21 bytes), NUL-terminated, and
 * returns its length: the hot paths' replacement for snprintf("%lld").
 */
size_t num_format_ll(char *out, long long v);

/* Formats a duration in ms as the shortest exact "1d", "90s", "250ms". */
void num_format_duration(long long ms, char *out, size_t outsz);

#endif
