/*
 * rqproto: postlb-requeue's request and reply lines (see rqproto.h).
 * Every field is checked against its limit before it is copied.
 */
#include "rqproto.h"

#include "config.h"

#include <stdio.h>
#include <string.h>

/* The next space-separated token of line[*pos..len): start and length. */
static size_t rq_token(const char *line, size_t len, size_t *pos,
		       const char **tok)
{
	size_t s = *pos, e;

	while (s < len && line[s] == ' ')
		s++;
	e = s;
	while (e < len && line[e] != ' ')
		e++;
	*tok = line + s;
	*pos = e;
	return e - s;
}

int rqproto_parse(const char *line, size_t len, struct rq_cmd *out)
{
	const char *t;
	size_t pos = 0, n;

	if (len == 0)
		return -RQ_EEMPTY;
	if (len >= RQ_LINE_MAX)
		return -RQ_ETOOLONG;
	if (memchr(line, '\0', len) != NULL)
		return -RQ_ENUL;
	n = rq_token(line, len, &pos, &t);
	if (n == 4 && memcmp(t, "list", 4) == 0)
		out->verb = RQ_LIST;
	else if (n == 7 && memcmp(t, "requeue", 7) == 0)
		out->verb = RQ_REQUEUE;
	else
		return -RQ_EVERB;
	n = rq_token(line, len, &pos, &t);
	if (!config_name_ok(t, n))
		return -RQ_ENAME;
	memcpy(out->member, t, n);
	out->member[n] = '\0';
	out->nqids = 0;
	while ((n = rq_token(line, len, &pos, &t)) > 0) {
		if (out->verb == RQ_LIST)
			return -RQ_EFORM;
		if (!reroute_qid_ok(t, n))
			return -RQ_EQID;
		if (out->nqids == RQ_IDS_MAX)
			return -RQ_ETOOMANY;
		memcpy(out->qids[out->nqids], t, n);
		out->qids[out->nqids++][n] = '\0';
	}
	if (out->verb == RQ_REQUEUE && out->nqids == 0)
		return -RQ_EFORM;
	return 0;
}

size_t rqproto_item_format(const struct qscan_msg *m, char *out, size_t outsz)
{
	size_t n;
	int w;

	w = snprintf(out, outsz, "m %s %s ", m->qid,
		     m->msgid[0] != '\0' ? m->msgid : "-");
	if (w < 0 || (size_t)w >= outsz)
		return 0;
	n = (size_t)w;
	if (m->many || m->ndomains == 0) {
		w = snprintf(out + n, outsz - n, "%s\n", m->many ? "*" : "-");
		return w < 0 || (size_t)w >= outsz - n ? 0 : n + (size_t)w;
	}
	for (size_t i = 0; i < m->ndomains; i++) {
		w = snprintf(out + n, outsz - n, "%s%s", m->domains[i],
			     i + 1 < m->ndomains ? "," : "\n");
		if (w < 0 || (size_t)w >= outsz - n)
			return 0;
		n += (size_t)w;
	}
	return n;
}

/* Splits d[0..n) at commas into out's domains. */
static int rq_domains(const char *d, size_t n, struct qscan_msg *out)
{
	size_t s = 0;

	if (n == 1 && d[0] == '*') {
		out->many = 1;
		return 0;
	}
	if (n == 1 && d[0] == '-')
		return 0;
	while (s < n) {
		size_t e = s;
		while (e < n && d[e] != ',')
			e++;
		if (e == s || e - s > ROUTE_DOMAIN_MAX)
			return -RQ_EFORM;
		if (out->ndomains == REROUTE_DOMAINS_MAX)
			return -RQ_ETOOMANY;
		memcpy(out->domains[out->ndomains], d + s, e - s);
		out->domains[out->ndomains++][e - s] = '\0';
		s = e + 1;
	}
	return 0;
}

int rqproto_item_parse(const char *line, size_t len, struct qscan_msg *out)
{
	const char *t;
	size_t pos = 0, n;

	if (len == 0)
		return -RQ_EEMPTY;
	if (len > RQ_REPLY_MAX)
		return -RQ_ETOOLONG;
	if (memchr(line, '\0', len) != NULL)
		return -RQ_ENUL;
	memset(out, 0, sizeof(*out));
	n = rq_token(line, len, &pos, &t);
	if (n != 1 || t[0] != 'm')
		return -RQ_EVERB;
	n = rq_token(line, len, &pos, &t);
	if (!reroute_qid_ok(t, n))
		return -RQ_EQID;
	memcpy(out->qid, t, n);
	n = rq_token(line, len, &pos, &t);
	if (n == 0 || n > REROUTE_MSGID_MAX)
		return -RQ_EFORM;
	if (!(n == 1 && t[0] == '-'))
		memcpy(out->msgid, t, n);
	n = rq_token(line, len, &pos, &t);
	if (n == 0 || pos != len)
		return -RQ_EFORM;
	return rq_domains(t, n, out);
}

const char *rqproto_strerror(int rc)
{
	static const char *const s[] = {
	    "", "empty line", "line too long", "unknown command (list, requeue)",
	    "bad member name", "bad queue id", "too many queue ids",
	    "NUL in line", "malformed line"};

	return -rc > 0 && -rc <= RQ_EFORM ? s[-rc] : "error";
}
