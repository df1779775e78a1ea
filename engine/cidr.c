/*
 * cidr: address and network parsing and matching (see cidr.h).
 */
#include "cidr.h"

#include "num.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Clears the bits of a beyond prefix. */
static void cidr_mask(unsigned char *a, unsigned prefix, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++) {
		unsigned bits = prefix >= 8 * (i + 1) ? 8
				: prefix > 8 * i      ? prefix - 8 * (unsigned)i
						      : 0;
		a[i] &= (unsigned char)(0xff00u >> bits);
	}
}

/* Parses a bare address; returns the family or 0. */
static int cidr_addr(const char *s, unsigned char *out)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, out) == 1)
		return AF_INET6;
	return 0;
}

int cidr_parse(const char *s, struct cidr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	struct cidr c;
	long long prefix;

	if (hlen == 0 || hlen >= sizeof(host))
		return -CIDR_EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	c.family = cidr_addr(host, c.addr);
	if (c.family == 0)
		return -CIDR_EINVAL;
	prefix = c.family == AF_INET ? 32 : 128;
	if (slash != NULL &&
	    num_parse_ll(slash + 1, strlen(slash + 1), 0, prefix, &prefix) < 0)
		return -CIDR_EINVAL;
	c.prefix = (unsigned)prefix;
	cidr_mask(c.addr, c.prefix, 16);
	*out = c;
	return 0;
}

int cidr_match(const struct cidr *net, const char *addr)
{
	unsigned char a[16];
	int fam = cidr_addr(addr, a);

	if (fam != net->family)
		return 0;
	cidr_mask(a, net->prefix, 16);
	return memcmp(a, net->addr, 16) == 0;
}

int cidr_list_match_sa(const struct cidr *nets, size_t n,
		       const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,	   0,
						 0, 0, 0, 0, 0xff, 0xff};
	unsigned char a[16] = {0}, m[16];
	int fam;

	if (sa->sa_family == AF_INET) {
		fam = AF_INET;
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const unsigned char *b =
		    ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		fam = AF_INET6;
		memcpy(a, b, 16);
		if (memcmp(b, mapped, 12) == 0) {
			fam = AF_INET;
			memset(a, 0, 16);
			memcpy(a, b + 12, 4);
		}
	} else {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (nets[i].family != fam)
			continue;
		memcpy(m, a, 16);
		cidr_mask(m, nets[i].prefix, 16);
		if (memcmp(m, nets[i].addr, 16) == 0)
			return 1;
	}
	return 0;
}

int cidr_group(const char *addr, unsigned v4prefix, unsigned v6prefix,
	       char *out, size_t outsz)
{
	unsigned char a[16];
	char buf[INET6_ADDRSTRLEN];
	int fam = cidr_addr(addr, a);
	unsigned prefix = fam == AF_INET ? v4prefix : v6prefix;
	unsigned full = fam == AF_INET ? 32 : 128;
	int n;

	if (fam == 0)
		return -CIDR_EINVAL;
	if (prefix > full)
		prefix = full;
	cidr_mask(a, prefix, 16);
	if (inet_ntop(fam, a, buf, sizeof(buf)) == NULL)
		return -CIDR_EINVAL;
	n = prefix == full ? snprintf(out, outsz, "%s", buf)
			   : snprintf(out, outsz, "%s/%u", buf, prefix);
	if (n < 0 || (size_t)n >= outsz)
		return -CIDR_EINVAL;
	return 0;
}
