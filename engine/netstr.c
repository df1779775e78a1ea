/*
 * netstr: socketmap netstrings (see netstr.h).  No I/O, no allocation.
 */
#include "netstr.h"

#include <stdio.h>
#include <string.h>

int netstr_parse(const char *buf, size_t len, size_t max,
		 const char **payload, size_t *plen, size_t *used)
{
	size_t n = 0, i = 0;

	if (max > NETSTR_MAX)
		max = NETSTR_MAX;
	while (i < len && buf[i] >= '0' && buf[i] <= '9') {
		if (i == NETSTR_DIGITS_MAX)
			return -NETSTR_ETOOLONG;
		n = n * 10 + (size_t)(buf[i] - '0');
		i++;
	}
	if (n > max)
		return -NETSTR_ETOOLONG;
	if (i == len)
		return -NETSTR_EAGAIN;
	if (i == 0 || buf[i] != ':')
		return -NETSTR_EBADLEN;
	i++; /* ':' */
	if (len - i < n + 1)
		return -NETSTR_EAGAIN;
	if (buf[i + n] != ',')
		return -NETSTR_ETERM;
	if (memchr(buf + i, '\0', n) != NULL)
		return -NETSTR_ENUL;
	*payload = buf + i;
	*plen = n;
	*used = i + n + 1;
	return 0;
}

int netstr_request(const char *p, size_t plen, char *name, size_t namesz,
		   char *key, size_t keysz)
{
	const char *sp = memchr(p, ' ', plen);
	size_t nl, kl;

	if (sp == NULL || sp == p)
		return -NETSTR_EFORM;
	nl = (size_t)(sp - p);
	kl = plen - nl - 1;
	if (nl >= namesz || kl >= keysz)
		return -NETSTR_EFORM;
	memcpy(name, p, nl);
	name[nl] = '\0';
	memcpy(key, sp + 1, kl);
	key[kl] = '\0';
	return 0;
}

int netstr_format(const char *text, char *out, size_t outsz)
{
	size_t n = strlen(text);
	char head[16];
	int hl;

	if (n > NETSTR_MAX)
		return -NETSTR_ETOOLONG;
	hl = snprintf(head, sizeof(head), "%zu:", n);
	if ((size_t)hl + n + 1 > outsz)
		return -NETSTR_ETOOLONG;
	memcpy(out, head, (size_t)hl);
	memcpy(out + hl, text, n);
	out[(size_t)hl + n] = ',';
	return hl + (int)n + 1;
}

const char *netstr_strerror(int rc)
{
	switch (-rc) {
	case NETSTR_EAGAIN:
		return "incomplete netstring";
	case NETSTR_ETOOLONG:
		return "netstring too long";
	case NETSTR_EBADLEN:
		return "bad netstring length";
	case NETSTR_ETERM:
		return "netstring without its ',' terminator";
	case NETSTR_ENUL:
		return "NUL inside a netstring";
	case NETSTR_EFORM:
		return "socketmap request without \"NAME KEY\"";
	default:
		return "netstring error";
	}
}
