/*
 * cidr: IPv4/IPv6 addresses and networks, for exemptions, classes and
 * client-IP grouping.  Pure functions, no I/O, no allocation.
 */
#ifndef POSTLB_CIDR_H
#define POSTLB_CIDR_H

#include <stddef.h>

struct sockaddr;

enum { CIDR_EINVAL = 1 };

struct cidr {
	int family;		 /* AF_INET or AF_INET6 */
	unsigned char addr[16];	 /* network byte order; v4 in addr[0..3] */
	unsigned prefix;	 /* 0..32 or 0..128 */
};

/*
 * Parses "ADDR" (a host: full prefix) or "ADDR/PREFIX" into *out, with the
 * host bits cleared.  Postfix's "ipv6:" form is not accepted here.
 * Returns 0 or -CIDR_EINVAL (out untouched).
 */
int cidr_parse(const char *s, struct cidr *out);

/* 1 if address string addr lies in net, 0 if not or unparsable. */
int cidr_match(const struct cidr *net, const char *addr);

/*
 * 1 if the socket address sa lies in one of the n networks of nets, 0 if
 * not or if sa is neither AF_INET nor AF_INET6.  An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d, from a dual-stack listener) is matched as the
 * IPv4 address it holds.
 */
int cidr_list_match_sa(const struct cidr *nets, size_t n,
		       const struct sockaddr *sa);

/*
 * Writes the network of addr with prefix v4prefix (IPv4) or v6prefix (IPv6)
 * as "NET/PREFIX" (or the bare address when the prefix is full) to out.
 * Returns 0 or -CIDR_EINVAL if addr is not an address or out too small.
 */
int cidr_group(const char *addr, unsigned v4prefix, unsigned v6prefix,
	       char *out, size_t outsz);

#endif
