/*
 * fuzz_sentinel: libFuzzer target for the Sentinel parsers (sentinel.c).
 *
 * The whole input goes to sentinel_parse_addr() (its length passed, no
 * NUL needed); split at its first NUL byte, it is a two-element
 * get-master-addr-by-name reply for sentinel_parse_master().  An accepted
 * address must be NUL-terminated within SENTINEL_HOST_MAX with a port in
 * 1..65535, and a rejected one must leave the output untouched.
 */
#include "sentinel.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, int ok, const struct sentinel_addr *a)
{
	if (rc != ok) {
		if (a->host[0] != 'Z')
			abort();
		return;
	}
	if (memchr(a->host, '\0', SENTINEL_HOST_MAX) == NULL ||
	    a->host[0] == '\0' || a->port < 1 || a->port > 65535)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *el[2];
	const char *nul = memchr(s, '\0', size);
	struct sentinel_addr a;
	size_t lens[2];

	memset(&a, 'Z', sizeof(a));
	check(sentinel_parse_addr(s, size, &a), 0, &a);
	if (nul == NULL)
		return 0;
	el[0] = s;
	lens[0] = (size_t)(nul - s);
	el[1] = nul + 1;
	lens[1] = size - lens[0] - 1;
	memset(&a, 'Z', sizeof(a));
	check(sentinel_parse_master(2, el, lens, &a), 1, &a);
	(void)sentinel_is_failover(s, size);
	(void)sentinel_parse_role(s, size);
	return 0;
}
