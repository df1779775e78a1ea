/*
 * pp: policy delegation protocol framing, parsing and replies (see pp.h).
 * Bytes in, struct out; no I/O, no allocation beyond the request's block.
 */
#include "pp.h"

#include "num.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

const struct pp_limits pp_default_limits = {2048, 100, 32768};

long pp_frame(const char *buf, size_t len, const struct pp_limits *lim)
{
	size_t line_start = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n') {
			if (i - line_start >= lim->line_max)
				return -PP_ETOOLONG;
			continue;
		}
		if (i + 1 > lim->request_max)
			return -PP_EBIG;
		if (i == line_start ||
		    (i == line_start + 1 && buf[line_start] == '\r'))
			return (long)(i + 1);
		line_start = i + 1;
	}
	if (len >= lim->request_max)
		return -PP_EBIG;
	return 0;
}

static const struct {
	const char *name;
	enum pp_state state;
} pp_states[] = {
    {"CONNECT", PP_STATE_CONNECT}, {"EHLO", PP_STATE_HELO},
    {"HELO", PP_STATE_HELO},	   {"MAIL", PP_STATE_MAIL},
    {"RCPT", PP_STATE_RCPT},	   {"DATA", PP_STATE_DATA},
    {"END-OF-MESSAGE", PP_STATE_EOM}, {"VRFY", PP_STATE_VRFY},
    {"ETRN", PP_STATE_ETRN},
};

/* Stores a string attribute; returns -PP_EDUP if it was already set. */
static int pp_set(const char **slot, const char *val)
{
	if (*slot != NULL)
		return -PP_EDUP;
	*slot = val;
	return 0;
}

/* Parses a numeric attribute; a duplicate or a bad number is an error. */
static int pp_setnum(long long *slot, int *seen, const char *val)
{
	if (*seen)
		return -PP_EDUP;
	*seen = 1;
	if (num_parse_ll(val, strlen(val), 0, (long long)1 << 53, slot) < 0)
		return -PP_ENUM;
	return 0;
}

/* Assigns one name=value pair to the request. */
static int pp_attr(struct pp_request *r, const char *name, const char *val,
		   const char **request, int *seen_size, int *seen_rcount)
{
	static const struct {
		const char *name;
		size_t off;
	} strs[] = {
	    {"protocol_state", offsetof(struct pp_request, protocol_state)},
	    {"client_address", offsetof(struct pp_request, client_address)},
	    {"client_name", offsetof(struct pp_request, client_name)},
	    {"sasl_username", offsetof(struct pp_request, sasl_username)},
	    {"sender", offsetof(struct pp_request, sender)},
	    {"recipient", offsetof(struct pp_request, recipient)},
	    {"queue_id", offsetof(struct pp_request, queue_id)},
	    {"instance", offsetof(struct pp_request, instance)},
	};

	if (strcmp(name, "request") == 0)
		return pp_set(request, val);
	if (strcmp(name, "size") == 0)
		return pp_setnum(&r->size, seen_size, val);
	if (strcmp(name, "recipient_count") == 0)
		return pp_setnum(&r->recipient_count, seen_rcount, val);
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strcmp(name, strs[i].name) == 0)
			return pp_set((const char **)((char *)r + strs[i].off),
				      val);
	return 0; /* unknown attributes are ignored */
}

static void pp_fill_state(struct pp_request *r)
{
	r->state = PP_STATE_OTHER;
	if (r->protocol_state == NULL)
		return;
	for (size_t i = 0; i < sizeof(pp_states) / sizeof(pp_states[0]); i++)
		if (strcmp(r->protocol_state, pp_states[i].name) == 0)
			r->state = pp_states[i].state;
}

/* Length of the empty line ending buf: 1 ("\n"), 2 ("\r\n") or 0 (none). */
static size_t pp_final_line(const char *buf, size_t len)
{
	if (len < 1 || buf[len - 1] != '\n')
		return 0;
	if (len == 1 || buf[len - 2] == '\n')
		return 1;
	if (buf[len - 2] == '\r' && (len == 2 || buf[len - 3] == '\n'))
		return 2;
	return 0;
}

int pp_parse(const char *buf, size_t len, const struct pp_limits *lim,
	     struct pp_request *out)
{
	struct pp_request r;
	const char *request = NULL;
	int seen_size = 0, seen_rcount = 0, rc = 0;
	size_t tl = pp_final_line(buf, len);
	char *p, *end;

	if (len > lim->request_max)
		return -PP_EBIG;
	if (tl == 0)
		return -PP_EINCOMPLETE;
	if (tl == len)
		return -PP_EREQUEST;
	if (memchr(buf, '\0', len) != NULL)
		return -PP_EMALFORMED;
	memset(&r, 0, sizeof(r));
	r.mem = malloc(len + 1);
	if (r.mem == NULL)
		return -PP_ENOMEM;
	memcpy(r.mem, buf, len);
	r.mem[len] = '\0';
	p = r.mem;
	end = r.mem + len - tl; /* the final empty line */
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p + 1));
		char *eq;
		size_t ll = (size_t)(nl - p);
		if (ll > lim->line_max) {
			rc = -PP_ETOOLONG;
			goto out;
		}
		if (ll == 0) { /* an empty line before the end */
			rc = -PP_EMALFORMED;
			goto out;
		}
		if (++r.nattrs > lim->attrs_max) {
			rc = -PP_ETOOMANY;
			goto out;
		}
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		eq = strchr(p, '=');
		if (eq == NULL || eq == p) {
			rc = -PP_EMALFORMED;
			goto out;
		}
		*eq = '\0';
		rc = pp_attr(&r, p, eq + 1, &request, &seen_size, &seen_rcount);
		if (rc < 0)
			goto out;
		p = nl + 1;
	}
	if (request == NULL || strcmp(request, "smtpd_access_policy") != 0) {
		rc = -PP_EREQUEST;
		goto out;
	}
	pp_fill_state(&r);
	*out = r;
	return 0;
out:
	free(r.mem);
	return rc;
}

void pp_request_free(struct pp_request *req)
{
	if (req == NULL)
		return;
	free(req->mem);
	req->mem = NULL;
}

const char *pp_strerror(int code)
{
	static const char *const msg[] = {
	    "ok",
	    "line too long",
	    "too many attributes",
	    "request too large",
	    "request not terminated by an empty line",
	    "malformed attribute line",
	    "duplicated attribute",
	    "bad number",
	    "missing or unknown request type",
	    "out of memory",
	};
	if (code < 0 && code != INT_MIN)
		code = -code;
	if (code < 0 || (size_t)code >= sizeof(msg) / sizeof(msg[0]))
		return "unknown error";
	return msg[code];
}

int pp_format_reply(char *out, size_t outsz, const char *action)
{
	size_t alen = strlen(action), o = 0;

	if (outsz < alen + sizeof("action=\n\n")) {
		if (outsz > 0)
			out[0] = '\0';
		return -PP_ETOOLONG;
	}
	memcpy(out, "action=", 7);
	o = 7;
	for (size_t i = 0; i < alen; i++)
		out[o++] = (action[i] == '\r' || action[i] == '\n') ? ' '
								     : action[i];
	out[o++] = '\n';
	out[o++] = '\n';
	out[o] = '\0';
	return (int)o;
}
