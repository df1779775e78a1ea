/*
 * sentinel: parsing and deciding for Redis Sentinel discovery (see
 * sentinel.h).  No I/O; every input is (bytes, length) and bounded.
 */
#include "sentinel.h"

#include "num.h"

#include <string.h>

int sentinel_parse_addr(const char *s, size_t len, struct sentinel_addr *out)
{
	const char *colon = NULL;
	long long port;
	size_t hl;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= ' ' || ch == 0x7f)
			return -SENTINEL_EADDR;
		if (ch == ':')
			colon = s + i;
	}
	if (colon == NULL ||
	    num_parse_ll(colon + 1, len - (size_t)(colon + 1 - s), 1, 65535,
			 &port) < 0)
		return -SENTINEL_EADDR;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	} else if (memchr(s, ':', hl) != NULL) {
		return -SENTINEL_EADDR; /* a v6 address needs its brackets */
	}
	if (hl == 0 || hl >= SENTINEL_HOST_MAX ||
	    memchr(s, '[', hl) != NULL || memchr(s, ']', hl) != NULL)
		return -SENTINEL_EADDR;
	memcpy(out->host, s, hl);
	out->host[hl] = '\0';
	out->port = (int)port;
	return 0;
}

int sentinel_parse_master(size_t n, const char *const *el,
			  const size_t *lens, struct sentinel_addr *out)
{
	struct sentinel_addr a;
	long long port;

	if (n == 0)
		return 0;
	if (n != 2 || el[0] == NULL || el[1] == NULL || lens[0] == 0 ||
	    lens[0] >= SENTINEL_HOST_MAX ||
	    memchr(el[0], '\0', lens[0]) != NULL ||
	    num_parse_ll(el[1], lens[1], 1, 65535, &port) < 0)
		return -SENTINEL_EREPLY;
	for (size_t i = 0; i < lens[0]; i++)
		if ((unsigned char)el[0][i] <= ' ')
			return -SENTINEL_EREPLY;
	memcpy(a.host, el[0], lens[0]);
	a.host[lens[0]] = '\0';
	a.port = (int)port;
	*out = a;
	return 1;
}

enum sentinel_role sentinel_parse_role(const char *s, size_t len)
{
	if (len == 6 && memcmp(s, "master", 6) == 0)
		return SENTINEL_ROLE_MASTER;
	if (len == 5 && memcmp(s, "slave", 5) == 0)
		return SENTINEL_ROLE_REPLICA;
	return SENTINEL_ROLE_OTHER;
}

int sentinel_is_failover(const char *s, size_t len)
{
	if (s == NULL)
		return 0;
	return (len >= 8 && memcmp(s, "READONLY", 8) == 0) ||
	       (len >= 10 && memcmp(s, "NOREPLICAS", 10) == 0);
}

size_t sentinel_order(size_t n, size_t first, size_t i)
{
	return (first % n + i) % n;
}
