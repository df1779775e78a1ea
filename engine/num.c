/*
 * num: strict integer and duration parsing (see num.h).
 */
#include "num.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

int num_parse_ll(const char *s, size_t len, long long min, long long max,
		 long long *out)
{
	const unsigned long long cap = (unsigned long long)LLONG_MAX + 1;
	unsigned long long v = 0;
	size_t i = 0;
	int neg = 0;
	long long r;

	if (len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len)
		return -NUM_EINVAL;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -NUM_EINVAL;
		if (v > cap / 10)
			return -NUM_ERANGE;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > cap)
			return -NUM_ERANGE;
	}
	if (!neg && v == cap)
		return -NUM_ERANGE;
	r = neg ? (v == cap ? LLONG_MIN : -(long long)v) : (long long)v;
	if (r < min || r > max)
		return -NUM_ERANGE;
	*out = r;
	return 0;
}

int num_parse_duration_ms(const char *s, long long *out_ms)
{
	static const struct {
		const char *suffix;
		long long mult;
	} units[] = {{"ms", 1},	      {"s", 1000},	{"m", 60000},
		     {"h", 3600000}, {"d", 86400000}, {"", 1000}};
	const long long max_ms = 366LL * 86400000;
	size_t n = 0, len = strlen(s);
	long long v;
	int rc;

	while (n < len && s[n] >= '0' && s[n] <= '9')
		n++;
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		if (strcmp(s + n, units[u].suffix) != 0)
			continue;
		rc = num_parse_ll(s, n, 1, max_ms, &v);
		if (rc < 0)
			return rc;
		if (v > max_ms / units[u].mult)
			return -NUM_ERANGE;
		*out_ms = v * units[u].mult;
		return 0;
	}
	return -NUM_EINVAL;
}

size_t num_format_ll(char *out, long long v)
{
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
				     : (unsigned long long)v;
	char tmp[20];
	size_t n = 0, o = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		out[o++] = '-';
	while (n > 0)
		out[o++] = tmp[--n];
	out[o] = '\0';
	return o;
}

void num_format_duration(long long ms, char *out, size_t outsz)
{
	if (ms % 86400000 == 0)
		snprintf(out, outsz, "%lldd", ms / 86400000);
	else if (ms % 3600000 == 0)
		snprintf(out, outsz, "%lldh", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(out, outsz, "%lldm", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(out, outsz, "%llds", ms / 1000);
	else
		snprintf(out, outsz, "%lldms", ms);
}
