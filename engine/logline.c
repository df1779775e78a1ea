/*
 * logline: Postfix member-transport delivery log lines (see logline.h).
 * Bytes in, struct out; no I/O, no allocation.  Every read is bounded by
 * the span being parsed, which is never NUL-terminated.
 */
#include "logline.h"

#include <string.h>

const struct logline_limits logline_default_limits = {4096};

/* A span of bytes: [p, e). */
struct span {
	const char *p;
	const char *e;
};

static size_t span_len(const struct span *s)
{
	return (size_t)(s->e - s->p);
}

/* True when s starts with the NUL-terminated word w. */
static int span_starts(const struct span *s, const char *w)
{
	size_t n = strlen(w);
	return span_len(s) >= n && memcmp(s->p, w, n) == 0;
}

/* Consumes w from the front of s when it is there; returns 1 if so. */
static int span_eat(struct span *s, const char *w)
{
	if (!span_starts(s, w))
		return 0;
	s->p += strlen(w);
	return 1;
}

/* Finds w in s; returns its start or NULL. */
static const char *span_find(const struct span *s, const char *w)
{
	size_t n = strlen(w);
	for (const char *q = s->p; q + n <= s->e; q++)
		if (memcmp(q, w, n) == 0)
			return q;
	return NULL;
}

/*
 * Copies [p, p+n) into dst (size dstsz) NUL-terminated; when it does not
 * fit, copies what fits and returns 1, else 0.
 */
static int copy_cut(char *dst, size_t dstsz, const char *p, size_t n)
{
	int cut = 0;
	if (n >= dstsz) {
		n = dstsz - 1;
		cut = 1;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
	return cut;
}

/* Copies when it fits entirely; returns -1 when it does not. */
static int copy_all(char *dst, size_t dstsz, const char *p, size_t n)
{
	if (n >= dstsz)
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

static int is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* A member name as config.c accepts it: [A-Za-z0-9_.-]. */
static int is_name_char(char c)
{
	return is_alnum(c) || c == '_' || c == '.' || c == '-';
}

/*
 * Checks the syslog identifier "postfix-MEMBER/smtp" and stores MEMBER.
 * Returns 0, or -LOGLINE_ENOTOURS.
 */
static int parse_ident(struct span id, struct logline *l)
{
	const char *slash;
	struct span m;

	if (!span_eat(&id, "postfix-"))
		return -LOGLINE_ENOTOURS;
	slash = memchr(id.p, '/', span_len(&id));
	if (slash == NULL || slash == id.p)
		return -LOGLINE_ENOTOURS;
	m.p = id.p;
	m.e = slash;
	id.p = slash + 1;
	if (span_len(&id) != 4 || memcmp(id.p, "smtp", 4) != 0)
		return -LOGLINE_ENOTOURS;
	for (const char *q = m.p; q < m.e; q++)
		if (!is_name_char(*q))
			return -LOGLINE_ENOTOURS;
	if (copy_all(l->member, sizeof(l->member), m.p, span_len(&m)) < 0)
		return -LOGLINE_ENOTOURS;
	return 0;
}

/* Reads exactly n digits at p into *out; 0 or -1. */
static int digits(const char *p, const char *e, int n, int *out)
{
	int v = 0;

	if (e - p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* "HH:MM:SS" at p; 0 or -1. */
static int clock_of(const char *p, const char *e, struct logline_time *t)
{
	if (digits(p, e, 2, &t->hour) < 0 || e - p < 8 || p[2] != ':' ||
	    digits(p + 3, e, 2, &t->min) < 0 || p[5] != ':' ||
	    digits(p + 6, e, 2, &t->sec) < 0)
		return -1;
	return t->hour < 24 && t->min < 60 && t->sec < 61 ? 0 : -1;
}

/* The classic stamp "Mmm dd HH:MM:SS" (day space-padded or not). */
static int stamp_classic(struct span s, struct logline_time *t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *p = s.p + 4;

	if (span_len(&s) < 15 || s.p[3] != ' ')
		return -1;
	for (int m = 0; m < 12 && t->mon == 0; m++)
		if (memcmp(s.p, months + 3 * m, 3) == 0)
			t->mon = m + 1;
	if (*p == ' ')
		p++;
	if (digits(p, s.e, 2, &t->mday) < 0 && digits(p, s.e, 1, &t->mday) < 0)
		return -1;
	p += t->mday >= 10 || *p == '0' ? 2 : 1;
	if (t->mon == 0 || t->mday < 1 || t->mday > 31 || p >= s.e || *p != ' ')
		return -1;
	return clock_of(p + 1, s.e, t);
}

/* RFC 3339: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)". */
static int stamp_rfc3339(struct span s, struct logline_time *t)
{
	const char *p = s.p + 19;
	int oh, om;

	if (digits(s.p, s.e, 4, &t->year) < 0 || span_len(&s) < 20 ||
	    s.p[4] != '-' || digits(s.p + 5, s.e, 2, &t->mon) < 0 ||
	    s.p[7] != '-' || digits(s.p + 8, s.e, 2, &t->mday) < 0 ||
	    s.p[10] != 'T' || clock_of(s.p + 11, s.e, t) < 0)
		return -1;
	if (*p == '.')
		for (p++; p < s.e && *p >= '0' && *p <= '9'; p++)
			;
	if (p < s.e && *p == 'Z')
		t->utc_off_min = 0;
	else if (p < s.e && (*p == '+' || *p == '-') &&
		 digits(p + 1, s.e, 2, &oh) == 0 && s.e - p >= 6 &&
		 p[3] == ':' && digits(p + 4, s.e, 2, &om) == 0)
		t->utc_off_min = (*p == '-' ? -1 : 1) * (oh * 60 + om);
	else
		return -1;
	return t->mon >= 1 && t->mon <= 12 && t->mday >= 1 && t->mday <= 31
		   ? 0
		   : -1;
}

/* Reads the time stamp at the start of a syslog line, if any. */
static void parse_stamp(struct span s, struct logline_time *t)
{
	struct logline_time v;

	memset(&v, 0, sizeof(v));
	if (stamp_classic(s, &v) == 0) {
		*t = v;
		return;
	}
	memset(&v, 0, sizeof(v));
	if (stamp_rfc3339(s, &v) == 0)
		*t = v;
}

/*
 * Finds the tag "IDENT[PID]:" among the first few space-separated tokens
 * of a syslog line; sets *ident and moves *s past the tag and its space.
 * Returns 0, or -LOGLINE_ENOTOURS.
 */
static int find_tag(struct span *s, struct span *ident)
{
	struct span t = *s;

	for (int tok = 0; tok < 6 && t.p < t.e; tok++) {
		const char *sp = memchr(t.p, ' ', span_len(&t));
		const char *end = sp ? sp : t.e;
		const char *br = memchr(t.p, '[', (size_t)(end - t.p));

		if (end - t.p >= 4 && end[-1] == ':' && end[-2] == ']' &&
		    br != NULL && br > t.p) {
			for (const char *q = br + 1; q < end - 2; q++)
				if (*q < '0' || *q > '9')
					return -LOGLINE_ENOTOURS;
			ident->p = t.p;
			ident->e = br;
			s->p = sp ? sp + 1 : t.e;
			return 0;
		}
		if (sp == NULL)
			break;
		t.p = sp + 1;
		while (t.p < t.e && *t.p == ' ')
			t.p++;
	}
	return -LOGLINE_ENOTOURS;
}

/* Reads a queue id "[0-9A-Za-z]{1,31}: " into l; returns 1 if present. */
static int eat_qid(struct span *s, struct logline *l)
{
	const char *q = s->p;

	while (q < s->e && is_alnum(*q))
		q++;
	if (q == s->p || q - s->p >= LOGLINE_QID_MAX || s->e - q < 2 ||
	    q[0] != ':' || q[1] != ' ')
		return 0;
	copy_all(l->queue_id, sizeof(l->queue_id), s->p, (size_t)(q - s->p));
	s->p = q + 2;
	return 1;
}

/* A connection-level failure text, as the smtp client writes it. */
static int is_conn_text(const struct span *s)
{
	return span_starts(s, "connect to ") ||
	       span_starts(s, "lost connection with ") ||
	       (span_starts(s, "conversation with ") &&
		span_find(s, " timed out") != NULL);
}

/* Stores the host name of "HOST[IP]..." (or all of it) as the relay. */
static void set_relay_from(struct logline *l, struct span h)
{
	const char *br = memchr(h.p, '[', span_len(&h));
	if (br != NULL)
		h.e = br;
	copy_cut(l->relay, sizeof(l->relay), h.p, span_len(&h));
}

/*
 * A TRY line: "connect to H[IP]:P: why", "lost connection with H[IP]
 * while ...", "conversation with H[IP] timed out ...", "host H[IP] said:
 * ...".  Returns 0 or -LOGLINE_ENOTOURS.
 */
static int parse_try(struct span s, struct logline *l)
{
	struct span h = s;

	if (span_eat(&h, "connect to ") ||
	    span_eat(&h, "lost connection with ") ||
	    span_eat(&h, "conversation with ") || span_eat(&h, "host ")) {
		const char *sp = memchr(h.p, ' ', span_len(&h));
		if (sp != NULL)
			h.e = sp;
		if (span_starts(&s, "host ")) {
			if (span_find(&s, " said: ") == NULL)
				return -LOGLINE_ENOTOURS;
			l->remote = 1;
		} else if (!is_conn_text(&s)) {
			return -LOGLINE_ENOTOURS;
		}
		set_relay_from(l, h);
		l->reply_cut =
		    copy_cut(l->reply, sizeof(l->reply), s.p, span_len(&s));
		l->kind = LOGLINE_TRY;
		return 0;
	}
	return -LOGLINE_ENOTOURS;
}

/* Reads "to=<ADDR>" and stores ADDR's domain, lower case. */
static int parse_to(struct span *s, struct logline *l)
{
	const char *end, *at = NULL;

	if (!span_eat(s, "to=<"))
		return -LOGLINE_EMALFORMED;
	end = span_find(s, ">, ");
	if (end == NULL)
		return -LOGLINE_EMALFORMED;
	for (const char *q = s->p; q < end; q++)
		if (*q == '@')
			at = q;
	if (at != NULL) {
		size_t n = (size_t)(end - at - 1);
		if (n >= sizeof(l->domain))
			return -LOGLINE_EMALFORMED;
		for (size_t i = 0; i < n; i++) {
			char c = at[1 + i];
			l->domain[i] =
			    (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		l->domain[n] = '\0';
	}
	s->p = end + 3;
	return 0;
}

/* Checks a DSN "D.D{1,3}.D{1,3}" and stores it. */
static int set_dsn(struct logline *l, struct span v)
{
	int dots = 0, digits = 0;

	if (span_len(&v) < 5 ||
	    (v.p[0] != '2' && v.p[0] != '4' && v.p[0] != '5'))
		return -LOGLINE_EMALFORMED;
	for (const char *q = v.p; q < v.e; q++) {
		if (*q == '.') {
			if (digits == 0 || ++dots > 2)
				return -LOGLINE_EMALFORMED;
			digits = 0;
		} else if (*q >= '0' && *q <= '9' && ++digits <= 3) {
			continue;
		} else {
			return -LOGLINE_EMALFORMED;
		}
	}
	if (dots != 2 || digits == 0 ||
	    copy_all(l->dsn, sizeof(l->dsn), v.p, span_len(&v)) < 0)
		return -LOGLINE_EMALFORMED;
	return 0;
}

/*
 * Reads the "key=value, " fields after to=<...> up to "status=": relay
 * and dsn are kept, the others (orig_to, conn_use, delay, delays) only
 * skipped.  Leaves s at the status word.
 */
static int parse_fields(struct span *s, struct logline *l)
{
	for (int n = 0; n < 16; n++) {
		const char *comma;
		struct span v;

		if (span_eat(s, "status="))
			return l->dsn[0] != '\0' ? 0 : -LOGLINE_EMALFORMED;
		comma = span_find(s, ", ");
		if (comma == NULL)
			return -LOGLINE_EMALFORMED;
		v.p = s->p;
		v.e = comma;
		if (span_eat(&v, "relay="))
			set_relay_from(l, v);
		else if (span_eat(&v, "dsn=") && set_dsn(l, v) < 0)
			return -LOGLINE_EMALFORMED;
		s->p = comma + 2;
	}
	return -LOGLINE_EMALFORMED;
}

/* Postfix's own deferrals: no relay was talked to, nothing to count. */
static int is_internal(const struct span *r)
{
	static const char *const internal[] = {
	    "delivery temporarily suspended",
	    "mail transport unavailable",
	    "unknown mail transport error",
	    "mail for ",     /* mail for X loops back to myself */
	    "message size ", /* message size N exceeds size limit */
	};
	for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
		if (span_starts(r, internal[i]))
			return 1;
	return 0;
}

/* Reads "WORD (text)" after status= and sets kind and reply. */
static int parse_status(struct span s, struct logline *l)
{
	struct span r;

	if (span_eat(&s, "sent"))
		l->kind = LOGLINE_SENT;
	else if (span_eat(&s, "deferred"))
		l->kind = LOGLINE_DEFERRED;
	else if (span_eat(&s, "bounced"))
		l->kind = LOGLINE_BOUNCED;
	else
		return -LOGLINE_ENOTOURS; /* deliverable, undeliverable (probes)
					   */
	if (!span_eat(&s, " ("))
		return s.p == s.e ? 0 : -LOGLINE_EMALFORMED;
	r = s;
	if (r.e > r.p && r.e[-1] == ')')
		r.e--;
	else
		l->reply_cut = 1;
	if (is_internal(&r))
		return -LOGLINE_ENOTOURS;
	if (span_starts(&r, "host ") && span_find(&r, " said: ") != NULL)
		l->remote = 1;
	else if (l->kind == LOGLINE_DEFERRED && is_conn_text(&r))
		l->kind = LOGLINE_CONN_ERROR;
	if (copy_cut(l->reply, sizeof(l->reply), r.p, span_len(&r)))
		l->reply_cut = 1;
	return 0;
}

/* The message part after the tag; fills l or says why not. */
static int parse_body(struct span s, struct logline *l)
{
	int rc;

	if (!eat_qid(&s, l))
		return span_starts(&s, "connect to ") ? parse_try(s, l)
						      : -LOGLINE_ENOTOURS;
	if (!span_starts(&s, "to=<"))
		return parse_try(s, l);
	if ((rc = parse_to(&s, l)) < 0 || (rc = parse_fields(&s, l)) < 0)
		return rc;
	return parse_status(s, l);
}

/* Common front: limits, NUL bytes, the line end. */
static int check_line(struct span *s, const struct logline_limits *lim)
{
	if (span_len(s) > 0 && s->e[-1] == '\n')
		s->e--;
	if (span_len(s) > 0 && s->e[-1] == '\r')
		s->e--;
	if (span_len(s) > lim->line_max)
		return -LOGLINE_ETOOLONG;
	if (memchr(s->p, '\0', span_len(s)) != NULL)
		return -LOGLINE_EMALFORMED;
	return 0;
}

/*
 * Runs ident and body checks into a scratch struct (with the time stamp
 * read from line, if given); copies on success.
 */
static int parse_parts(const struct span *line, struct span ident,
		       struct span body, struct logline *out)
{
	struct logline l;
	int rc;

	memset(&l, 0, sizeof(l));
	if (line != NULL)
		parse_stamp(*line, &l.time);
	if ((rc = parse_ident(ident, &l)) < 0 ||
	    (rc = parse_body(body, &l)) < 0)
		return rc;
	*out = l;
	return 0;
}

int logline_parse(const char *buf, size_t len, const struct logline_limits *lim,
		  struct logline *out)
{
	struct span s = {buf, buf + len}, ident, line;
	int rc;

	if ((rc = check_line(&s, lim)) < 0)
		return rc;
	line = s;
	if ((rc = find_tag(&s, &ident)) < 0)
		return rc;
	return parse_parts(&line, ident, s, out);
}

int logline_parse_message(const char *ident, size_t ilen, const char *msg,
			  size_t mlen, const struct logline_limits *lim,
			  struct logline *out)
{
	struct span id = {ident, ident + ilen}, s = {msg, msg + mlen};
	int rc;

	if ((rc = check_line(&id, lim)) < 0 || (rc = check_line(&s, lim)) < 0)
		return rc;
	return parse_parts(NULL, id, s, out);
}

const char *logline_kind_name(enum logline_kind kind)
{
	switch (kind) {
	case LOGLINE_SENT:
		return "sent";
	case LOGLINE_DEFERRED:
		return "deferred";
	case LOGLINE_BOUNCED:
		return "bounced";
	case LOGLINE_CONN_ERROR:
		return "conn_error";
	case LOGLINE_TRY:
		return "try";
	}
	return "unknown";
}

const char *logline_strerror(int code)
{
	switch (code < 0 ? -code : code) {
	case LOGLINE_ENOTOURS:
		return "not a member's delivery line";
	case LOGLINE_ETOOLONG:
		return "line too long";
	case LOGLINE_EMALFORMED:
		return "malformed delivery line";
	}
	return "unknown error";
}
