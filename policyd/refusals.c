/*
 * refusals: the per-minute quota refusal counters (see refusals.h).  One
 * HINCRBY per refusal; the key's EXPIRE goes out once per minute and
 * process, with the first count of the minute.  No reply is read.
 */
#include "refusals.h"

#include "store_redis.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define REFUSALS_KEEP_S "7200"

void refusals_count(struct store *st, const char *prefix, const char *quota)
{
	static long long expired_minute = -1;
	long long minute = (long long)time(NULL) / 60;
	char key[300];
	const char *incr[] = {"HINCRBY", key, quota, "1"};
	const char *exp[] = {"EXPIRE", key, REFUSALS_KEEP_S};
	size_t ilen[4], elen[3];

	snprintf(key, sizeof(key), "%sqd:%lld", prefix, minute);
	for (int i = 0; i < 4; i++)
		ilen[i] = strlen(incr[i]);
	for (int i = 0; i < 3; i++)
		elen[i] = strlen(exp[i]);
	if (store_command(st, 4, incr, ilen, NULL, NULL) < 0)
		return;
	if (minute != expired_minute &&
	    store_command(st, 3, exp, elen, NULL, NULL) == 0)
		expired_minute = minute;
}
