/*
 * logline: the parser of Postfix delivery log lines written by postlb's
 * member transports (master.cf services with syslog_name=postfix-MEMBER,
 * as printed by `postlbctl postfix-config master`).
 *
 * It accepts a whole log line, in the maillog_file / rsyslog form
 * ("Dec  1 04:49:50 host postfix-m1/smtp[123]: ..." or with an RFC 3339
 * time stamp) or without time stamp and host ("postfix-m1/smtp[123]: ..."),
 * and, for the journal, a message with its SYSLOG_IDENTIFIER given apart
 * (logline_parse_message).  The time stamp, when there is one, is
 * returned as written.  Lines of ours are:
 *   - delivery status lines "QID: to=<...>, relay=..., dsn=X.Y.Z,
 *     status=sent|deferred|bounced (text)": kind SENT, DEFERRED, BOUNCED,
 *     or CONN_ERROR when a deferral's cause is the connection itself
 *     (connect to ..., lost connection with ..., conversation with ...
 *     timed out);
 *   - a failed try at one host, whose status line follows ("connect to
 *     HOST[IP]:PORT: Connection refused" without queue id, "QID: lost
 *     connection with ...", "QID: conversation with ... timed out ...",
 *     "QID: host ... said: ..."): kind TRY.  Counting them would count a
 *     delivery twice; they are told apart so a caller can log them.
 * Everything else is "not ours" (-LOGLINE_ENOTOURS): other programs,
 * postfix/smtp and other non-member transports, Postfix's own internal
 * deferrals (delivery temporarily suspended, mail transport unavailable),
 * address verification probes (status=deliverable/undeliverable) and
 * informational lines (TLS, PIX workarounds).
 *
 * It does no I/O and no allocation: results are copied, bounded, into the
 * fixed buffers of struct logline.  A reply text longer than its buffer,
 * or cut by a truncated line, is kept in part and flagged.
 */
#ifndef POSTLB_LOGLINE_H
#define POSTLB_LOGLINE_H

#include <stddef.h>

enum {
	LOGLINE_ENOTOURS = 1, /* a valid line that is not a member's delivery */
	LOGLINE_ETOOLONG,     /* longer than line_max */
	LOGLINE_EMALFORMED,   /* a member's line that cannot be understood */
};

enum logline_kind {
	LOGLINE_SENT = 1,
	LOGLINE_DEFERRED, /* the relay answered 4xx (or another deferral) */
	LOGLINE_BOUNCED,
	LOGLINE_CONN_ERROR, /* deferred: connection refused, lost, timed out */
	LOGLINE_TRY, /* a failed try at one host; a status line follows */
};

struct logline_limits {
	size_t line_max; /* bytes in one line, without the newline */
};

#define LOGLINE_MEMBER_MAX 64
#define LOGLINE_QID_MAX 32
#define LOGLINE_DOMAIN_MAX 256
#define LOGLINE_RELAY_MAX 256
#define LOGLINE_DSN_MAX 16
#define LOGLINE_REPLY_MAX 512

/*
 * The line's time stamp as written, not converted (no time zone or clock
 * here): mon 0 when the line has none (journal messages, bare lines).
 */
struct logline_time {
	int year; /* 0 in the classic syslog form ("Dec  1 04:49:50") */
	int mon;  /* 1..12; 0: no time stamp */
	int mday, hour, min, sec;
	int utc_off_min; /* RFC 3339 form: offset from UTC in minutes */
};

struct logline {
	enum logline_kind kind;
	struct logline_time time;
	char member[LOGLINE_MEMBER_MAX]; /* from syslog_name postfix-MEMBER */
	char queue_id[LOGLINE_QID_MAX];	 /* empty for a TRY without one */
	char domain[LOGLINE_DOMAIN_MAX]; /* recipient domain, lower case */
	char relay[LOGLINE_RELAY_MAX];	 /* host name before [IP]; "none" */
	char dsn[LOGLINE_DSN_MAX];	 /* "4.7.28"; empty on a TRY */
	char reply[LOGLINE_REPLY_MAX];	 /* text in parentheses (or reason) */
	int remote;    /* the reply came from the host ("host H said:") */
	int reply_cut; /* reply text truncated (line or buffer) */
};

/* Defaults: 4096-byte lines. */
extern const struct logline_limits logline_default_limits;

/*
 * Parses one log line buf[0..len) (a trailing "\n" or "\r\n" is
 * ignored).  Returns 0 and fills *out for a line of ours;
 * -LOGLINE_ENOTOURS, -LOGLINE_ETOOLONG or -LOGLINE_EMALFORMED otherwise,
 * leaving *out untouched.  A NUL byte makes the line malformed.
 */
int logline_parse(const char *buf, size_t len, const struct logline_limits *lim,
		  struct logline *out);

/*
 * The same for a journal entry: ident[0..ilen) is its SYSLOG_IDENTIFIER
 * ("postfix-m1/smtp"), msg[0..mlen) its MESSAGE.
 */
int logline_parse_message(const char *ident, size_t ilen, const char *msg,
			  size_t mlen, const struct logline_limits *lim,
			  struct logline *out);

/* The name of a kind ("sent", "deferred", ...), for logs and Redis. */
const char *logline_kind_name(enum logline_kind kind);

/* A fixed description of a LOGLINE_ error code, for logs. */
const char *logline_strerror(int code);

#endif
