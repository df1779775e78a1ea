/*
 * smtpr: the SMTP reply reader of the active health checks.
 *
 * smtpr_parse() finds one complete reply at the start of a stream buffer
 * ("250-first\r\n250-...\r\n250 last\r\n"; a bare "\n" ends a line too)
 * and says its code, how many lines it had, the text of its first line
 * (bounded copy, for logs) and whether an EHLO reply offered STARTTLS.
 * Bounded by struct smtpr_limits; no I/O, no allocation.  It reads
 * replies only: what a check sends is the caller's business.
 */
#ifndef POSTLB_SMTPR_H
#define POSTLB_SMTPR_H

#include <stddef.h>

enum {
	SMTPR_ETOOLONG = 1, /* a line longer than line_max */
	SMTPR_ETOOMANY,	    /* more than lines_max lines */
	SMTPR_EMALFORMED,   /* no 3-digit code, a code that changes, a NUL */
};

struct smtpr_limits {
	size_t line_max;  /* bytes in one line, without CRLF (RFC 5321: 510) */
	size_t lines_max; /* lines in one reply */
};

struct smtpr_reply {
	int code;	/* 200..599 */
	size_t lines;
	int starttls;	/* a line (but the first) says STARTTLS */
	char text[128]; /* the first line after the code, cut, printable */
};

/*
 * Parses one reply from buf (len bytes).  Returns the bytes it took (> 0)
 * and fills *out; 0 when the reply is not complete yet (out untouched);
 * -SMTPR_E* when the bytes cannot be a reply (out untouched).
 */
long smtpr_parse(const char *buf, size_t len, const struct smtpr_limits *lim,
		 struct smtpr_reply *out);

const char *smtpr_strerror(int rc);

#endif
