/*
 * reroute: header lines of the requeue socketmap, the route header to
 * FILTER mapping and the postcat scanner of the drain (see reroute.h).
 * No I/O, no allocation.
 */
#include "reroute.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 1 if line starts with "name:" (case-insensitive); *rest after ':'. */
static int rr_hdr(const char *line, const char *name, const char **rest)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return 0;
	*rest = line + n + 1;
	return 1;
}


int reroute_qid_ok(const char *s, size_t len)
{
	if (len == 0 || len > ROUTE_QUEUE_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

/* The Message-ID value of rest (after "Message-ID:"): trimmed, into out. */
static int rr_msgid(const char *rest, char *out)
{
	size_t n;

	rest += strspn(rest, " \t\r\n");
	n = strcspn(rest, " \t\r\n");
	if (n == 0 || n > REROUTE_MSGID_MAX ||
	    rest[n + strspn(rest + n, " \t\r\n")] != '\0')
		return 0;
	memcpy(out, rest, n);
	out[n] = '\0';
	return 1;
}

enum reroute_kind reroute_line(const struct config *c, const char *line,
			       struct reroute_hit *out)
{
	const char *rest, *sp;
	size_t n;

	out->kind = RR_OTHER;
	out->member = -1;
	out->msgid[0] = '\0';
	if (rr_hdr(line, "Message-ID", &rest)) {
		if (rr_msgid(rest, out->msgid))
			out->kind = RR_MSGID;
		return out->kind;
	}
	if (!rr_hdr(line, ROUTE_HEADER, &rest) || rest[0] != ' ')
		return RR_OTHER;
	rest++;
	sp = strchr(rest, ' ');
	n = sp != NULL ? (size_t)(sp - rest) : strlen(rest);
	/* as the regexp: "MEMBER" or "MEMBER NEXTHOP", NEXTHOP with no space */
	if (sp != NULL && (sp[1] == '\0' || strpbrk(sp + 1, " \t\r\n") != NULL))
		return RR_OTHER;
	for (size_t i = 0; i < c->nmembers; i++)
		if (strlen(c->members[i].name) == n &&
		    strncasecmp(c->members[i].name, rest, n) == 0) {
			out->kind = RR_ROUTE;
			out->member = (int)i;
			break;
		}
	return out->kind;
}

int reroute_filter(const char *value, char *out, size_t outsz)
{
	const char *sp = strchr(value, ' ');
	int w;

	if (sp != NULL && strchr(sp + 1, ' ') != NULL)
		return -1;
	if (sp == NULL)
		w = snprintf(out, outsz, "FILTER %s:", value);
	else
		w = snprintf(out, outsz, "FILTER %.*s:%s", (int)(sp - value),
			     value, sp + 1);
	return w < 0 || (size_t)w >= outsz ? -1 : 0;
}

void qscan_init(struct qscan *q)
{
	memset(q, 0, sizeof(*q));
}

/* Whether ch may stand at position i of a domain name or address literal
 * ("[192.0.2.1]", "[ipv6:...]").  A domain starts with a letter, digit or
 * '['; that keeps "*" and "-", which postlb-requeue's item lines use for
 * "too many domains" and "none", from ever being taken for a domain. */
static int rr_domain_char(char ch, size_t i)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '[')
		return 1;
	return i > 0 && (ch == '-' || ch == '.' || ch == '_' || ch == ':' ||
			 ch == ']');
}

/* Adds the domain of address a (len bytes) to m, lower case, once; an
 * address whose domain holds other characters adds none. */
static void qs_domain(struct qscan_msg *m, const char *a, size_t len)
{
	const char *at = NULL;
	char d[ROUTE_DOMAIN_MAX + 1];
	size_t n;

	for (size_t i = 0; i < len; i++)
		if (a[i] == '@')
			at = a + i;
	if (at == NULL)
		return;
	n = len - (size_t)(at + 1 - a);
	if (n == 0 || n > ROUTE_DOMAIN_MAX)
		return;
	for (size_t i = 0; i < n; i++) {
		char ch = at[1 + i];
		if (!rr_domain_char(ch, i))
			return;
		d[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	d[n] = '\0';
	for (size_t i = 0; i < m->ndomains; i++)
		if (strcmp(m->domains[i], d) == 0)
			return;
	if (m->ndomains == REROUTE_DOMAINS_MAX) {
		m->many = 1;
		return;
	}
	memcpy(m->domains[m->ndomains++], d, n + 1);
}

/* "*** WHAT queue/x/QID ***" or "*** WHAT queue/QID ***": the section
 * start; takes the queue and id on ENVELOPE RECORDS. */
static void qs_section(struct qscan *q, const char *l)
{
	const char *p, *slash, *end;

	if (strncmp(l, "*** ENVELOPE RECORDS ", 21) == 0) {
		memset(&q->cur, 0, sizeof(q->cur));
		q->sect = QS_ENV;
		p = l + 21;
		slash = strchr(p, '/');
		end = strstr(p, " ***");
		if (slash == NULL || end == NULL || end < slash)
			return;
		if ((size_t)(slash - p) < sizeof(q->cur.queue))
			snprintf(q->cur.queue, sizeof(q->cur.queue), "%.*s",
				 (int)(slash - p), p);
		for (p = end; p > slash && p[-1] != '/'; p--)
			;
		if (reroute_qid_ok(p, (size_t)(end - p)))
			snprintf(q->cur.qid, sizeof(q->cur.qid), "%.*s",
				 (int)(end - p), p);
	} else if (strncmp(l, "*** MESSAGE CONTENTS ", 21) == 0) {
		q->sect = QS_HDR;
	} else if (strncmp(l, "*** HEADER EXTRACTED ", 21) == 0) {
		q->sect = QS_EXTRACTED;
	}
}

/* "content_filter: TRANSPORT:NEXTHOP" */
static void qs_filter(struct qscan_msg *m, const char *v)
{
	size_t n = strcspn(v, ":");

	if (v[n] == ':' && config_name_ok(v, n))
		snprintf(m->transport, sizeof(m->transport), "%.*s", (int)n, v);
}

int qscan_line(struct qscan *q, const char *line, size_t len,
	       struct qscan_msg *out)
{
	char l[REROUTE_LINE_MAX + 1];
	const char *rest;

	if (len > REROUTE_LINE_MAX)
		len = REROUTE_LINE_MAX;
	memcpy(l, line, len);
	l[len] = '\0';
	if (strlen(l) != len) /* an embedded NUL: not postcat's */
		return 0;
	if (strncmp(l, "*** ", 4) == 0) {
		q->in_msgid = 0;
		if (strncmp(l, "*** MESSAGE FILE END ", 21) == 0) {
			q->sect = QS_NONE;
			if (q->cur.qid[0] == '\0')
				return 0;
			*out = q->cur;
			memset(&q->cur, 0, sizeof(q->cur));
			return 1;
		}
		qs_section(q, l);
		return 0;
	}
	if (q->sect == QS_ENV || q->sect == QS_EXTRACTED) {
		if (strncmp(l, "recipient: ", 11) == 0)
			qs_domain(&q->cur, l + 11, len - 11);
		else if (strncmp(l, "content_filter: ", 16) == 0)
			qs_filter(&q->cur, l + 16);
	} else if (q->sect == QS_HDR) {
		if (len == 0) {
			q->sect = QS_BODY;
		} else if (q->in_msgid && (l[0] == ' ' || l[0] == '\t')) {
			q->in_msgid = 0;
			if (q->cur.msgid[0] == '\0')
				rr_msgid(l, q->cur.msgid);
		} else if (rr_hdr(l, "Message-ID", &rest)) {
			q->in_msgid = 0;
			if (!rr_msgid(rest, q->cur.msgid))
				q->in_msgid = rest[strspn(rest, " \t")] == '\0';
		} else {
			q->in_msgid = 0;
		}
	}
	return 0;
}

void reroute_need_init(struct reroute_need *n)
{
	memset(n, 0, sizeof(*n));
}

static int rr_ahead(const char *v, long long now_ms)
{
	return strtoll(v, NULL, 10) > now_ms;
}

void reroute_need_field(struct reroute_need *n, const char *f, const char *v,
			long long now_ms, int health)
{
	const char *why = NULL;
	size_t len;

	if (strcmp(f, "state") == 0 &&
	    (strcmp(v, "drain") == 0 || strcmp(v, "maint") == 0 ||
	     strcmp(v, "down") == 0))
		why = "state";
	else if (!health)
		return;
	else if (strcmp(f, "hc") == 0 && strcmp(v, "down") == 0)
		why = "hc";
	else if ((strcmp(f, "cb_until") == 0 || strcmp(f, "rs_until") == 0) &&
		 rr_ahead(v, now_ms))
		why = f;
	if (why != NULL) {
		if (!n->whole)
			snprintf(n->why, sizeof(n->why), "%s %s", why,
				 strcmp(why, "state") == 0 || strcmp(why, "hc") == 0
				     ? v
				     : "open");
		n->whole = 1;
		return;
	}
	if (strncmp(f, "p:", 2) == 0 && rr_ahead(v, now_ms) &&
	    (len = strlen(f + 2)) > 0 && len < REROUTE_PROVIDER_MAX &&
	    n->nprov < REROUTE_SCOPES_MAX)
		memcpy(n->prov[n->nprov++], f + 2, len + 1);
	else if (strncmp(f, "s:", 2) == 0 && rr_ahead(v, now_ms) &&
		 (len = strlen(f + 2)) > 0 && len <= ROUTE_DOMAIN_MAX &&
		 n->ndom < REROUTE_SCOPES_MAX)
		memcpy(n->dom[n->ndom++], f + 2, len + 1);
	else
		return;
	if (n->why[0] == '\0')
		snprintf(n->why, sizeof(n->why), "%.79s", f);
}

int reroute_need_any(const struct reroute_need *n)
{
	return n->whole || n->nprov > 0 || n->ndom > 0;
}

int reroute_need_moves(const struct reroute_need *n, const struct qscan_msg *m,
		       const char *const *prov)
{
	if (n->whole)
		return 1;
	if (m->msgid[0] == '\0' || m->many)
		return 0;
	for (size_t i = 0; i < m->ndomains; i++) {
		for (size_t j = 0; j < n->ndom; j++)
			if (strcasecmp(m->domains[i], n->dom[j]) == 0)
				return 1;
		for (size_t j = 0; prov != NULL && prov[i] != NULL && j < n->nprov; j++)
			if (strcmp(prov[i], n->prov[j]) == 0)
				return 1;
	}
	return 0;
}
