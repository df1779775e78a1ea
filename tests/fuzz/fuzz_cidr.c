/*
 * fuzz_cidr: libFuzzer target for address and network handling.
 *
 * The input is "NETWORK\nADDRESS" (without a newline, both are the whole
 * input).  NETWORK goes to cidr_parse(), ADDRESS to cidr_match() and to
 * cidr_group() with prefixes and an output size taken from the first
 * bytes.  A parsed network must have its host bits clear; a grouped
 * address must parse back into a network that holds the address.
 */
#include "cidr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 if a has no bit set beyond prefix. */
static int host_bits_clear(const struct cidr *c)
{
	for (unsigned b = c->prefix; b < 128; b++)
		if (c->addr[b / 8] & (0x80u >> (b % 8)))
			return 0;
	return 1;
}

static void group(const char *addr, const uint8_t *data, size_t size)
{
	unsigned v4 = size > 0 ? data[0] % 40 : 24;
	unsigned v6 = size > 1 ? data[1] % 140 : 64;
	size_t outsz = size > 2 ? data[2] % 64 : 64;
	char *out = malloc(outsz ? outsz : 1);
	struct cidr c;

	if (out == NULL)
		return;
	if (cidr_group(addr, v4, v6, out, outsz) == 0) {
		if (strlen(out) >= outsz || cidr_parse(out, &c) != 0 ||
		    !cidr_match(&c, addr))
			abort();
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *nl;
	const char *net, *addr;
	struct cidr c;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	net = addr = s;
	nl = strchr(s, '\n');
	if (nl != NULL) {
		*nl = '\0';
		addr = nl + 1;
	}
	if (cidr_parse(net, &c) == 0) {
		if ((c.family == AF_INET && c.prefix > 32) ||
		    (c.family == AF_INET6 && c.prefix > 128) ||
		    (c.family != AF_INET && c.family != AF_INET6) ||
		    !host_bits_clear(&c))
			abort();
		(void)cidr_match(&c, addr);
		/* a network's own address always lies in it */
		if (strchr(net, '/') == NULL && !cidr_match(&c, net))
			abort();
	}
	group(addr, data, size);
	free(s);
	return 0;
}
