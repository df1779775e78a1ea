/*
 * pp: the Postfix policy delegation protocol (SMTPD_POLICY_README) codec.
 *
 * A request is "name=value\n" lines ended by an empty line; a CR before
 * each newline is tolerated ("\r\n" is an empty line too).  pp_frame()
 * finds the end of one request in a stream buffer; pp_parse() turns one
 * request into a struct pp_request.  Both are bounded by struct pp_limits
 * and do no I/O.  Unknown attributes are ignored; a duplicated attribute
 * that postlb uses is an error (Postfix never sends one, so the request is
 * not trusted).
 *
 * Ownership: a parsed request owns one heap block (mem); every string field
 * points into it and is NUL-terminated.  pp_request_free() releases it.
 */
#ifndef POSTLB_PP_H
#define POSTLB_PP_H

#include <stddef.h>

enum {
	PP_ETOOLONG = 1, /* a line longer than line_max */
	PP_ETOOMANY,	 /* more than attrs_max attributes */
	PP_EBIG,	 /* request longer than request_max */
	PP_EINCOMPLETE,	 /* no terminating empty line */
	PP_EMALFORMED,	 /* a line without '=', an empty name, a NUL byte */
	PP_EDUP,	 /* a used attribute given twice */
	PP_ENUM,	 /* a bad number in size or recipient_count */
	PP_EREQUEST,	 /* request= missing or not smtpd_access_policy */
	PP_ENOMEM,
};

struct pp_limits {
	size_t line_max;    /* bytes in one line, without the newline */
	size_t attrs_max;   /* attribute lines in one request */
	size_t request_max; /* bytes in one request, with the final newline */
};

enum pp_state {
	PP_STATE_OTHER = 0,
	PP_STATE_CONNECT,
	PP_STATE_HELO,
	PP_STATE_MAIL,
	PP_STATE_RCPT,
	PP_STATE_DATA,
	PP_STATE_EOM,
	PP_STATE_VRFY,
	PP_STATE_ETRN,
};

struct pp_request {
	enum pp_state state;
	const char *protocol_state;
	const char *client_address;
	const char *client_name;
	const char *sasl_username;
	const char *sender;
	const char *recipient;
	const char *queue_id;
	const char *instance;
	long long size;		   /* 0 when absent */
	long long recipient_count; /* 0 when absent */
	size_t nattrs;
	char *mem;
};

/* Defaults: 2048-byte lines, 100 attributes, 32 KiB requests. */
extern const struct pp_limits pp_default_limits;

/*
 * Looks for the end of one request (an empty line) in buf[0..len).
 * Returns the request's length including the empty line (> 0), 0 if more
 * bytes are needed, or -PP_EBIG / -PP_ETOOLONG when the bytes seen already
 * break the limits.
 */
long pp_frame(const char *buf, size_t len, const struct pp_limits *lim);

/*
 * Parses exactly one request buf[0..len) (as framed by pp_frame, ending
 * with "\n\n" or "\n\r\n").  On success fills *out (caller frees with
 * pp_request_free) and returns 0; on failure returns a negative PP_ code
 * and leaves *out untouched.
 */
int pp_parse(const char *buf, size_t len, const struct pp_limits *lim,
	     struct pp_request *out);

void pp_request_free(struct pp_request *req);

/* A fixed description of a PP_ error code, for logs. */
const char *pp_strerror(int code);

/*
 * Formats a reply "action=<action>\n\n" into out.  Returns the length, or
 * -PP_ETOOLONG if it does not fit (out is then an empty string).  CR, LF
 * and NUL in action are replaced by spaces.
 */
int pp_format_reply(char *out, size_t outsz, const char *action);

#endif
