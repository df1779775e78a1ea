/*
 * netstr: the netstrings of Postfix's socketmap protocol, without I/O.
 *
 * A request is the netstring "LEN:NAME KEY," (NAME the map name, KEY the
 * lookup key, here a whole header line); a reply is "LEN:STATUS DATA,"
 * with STATUS one of OK, NOTFOUND, TEMP, TIMEOUT, PERM.  netstr_parse()
 * takes one netstring from the front of a buffer that may hold less than
 * one (then it asks for more) or more than one (the rest stays).  It never
 * reads past len and never allocates: the payload it returns points into
 * the caller's buffer.  Payloads may not hold a NUL (a header line never
 * does, and the key goes to C strings afterwards).
 */
#ifndef POSTLB_NETSTR_H
#define POSTLB_NETSTR_H

#include <stddef.h>

/* Postfix's socketmap client refuses replies longer than 100000 bytes. */
#define NETSTR_MAX 100000
/* Digits of a length: 100000 has 6; more is refused before reading on. */
#define NETSTR_DIGITS_MAX 6

enum {
	NETSTR_EAGAIN = 1, /* incomplete: read more, call again */
	NETSTR_ETOOLONG,   /* the length exceeds the limit */
	NETSTR_EBADLEN,	   /* no digits, junk before ':' */
	NETSTR_ETERM,	   /* the byte after the payload is not ',' */
	NETSTR_ENUL,	   /* a NUL inside the payload */
	NETSTR_EFORM	   /* a request without "NAME KEY" */
};

/*
 * Parses one netstring at buf[0..len) whose payload may be at most max
 * bytes (max <= NETSTR_MAX).  Returns 0 with *payload, *plen (borrowed
 * from buf) and *used (bytes taken, terminator included) set, or
 * -NETSTR_EAGAIN when buf holds only a valid beginning, or another
 * -NETSTR_E... (the stream cannot be resynchronised: close it).  The out
 * parameters are untouched on failure.
 */
int netstr_parse(const char *buf, size_t len, size_t max,
		 const char **payload, size_t *plen, size_t *used);

/*
 * Splits a socketmap request payload into the map name and the key, both
 * copied NUL-terminated into name (namesz) and key (keysz).  Returns 0, or
 * -NETSTR_EFORM when there is no space, the name is empty, or either part
 * does not fit.
 */
int netstr_request(const char *p, size_t plen, char *name, size_t namesz,
		   char *key, size_t keysz);

/*
 * Formats text (NUL-terminated, at most NETSTR_MAX bytes) as a netstring
 * into out.  Returns its length, or -NETSTR_ETOOLONG when out (outsz
 * bytes) is too small; out is then untouched.
 */
int netstr_format(const char *text, char *out, size_t outsz);

const char *netstr_strerror(int rc);

#endif
