/*
 * fuzz_reroute: libFuzzer target for the parsers of the drain: the
 * socketmap netstrings and requests (engine/netstr.c), header lines of
 * the requeue socketmap and postcat output (engine/reroute.c), and
 * postlb-requeue's request and reply lines (engine/rqproto.c).  The first
 * byte picks the parser.  Besides the sanitizers, it aborts when a
 * contract breaks: a netstring takes no more than it was given and its
 * payload lies inside it; parsed names, ids and domains are within their
 * limits; a formatted item parses back to the same message.
 */
#include "netstr.h"
#include "reroute.h"
#include "rqproto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *cfg;

static void fz_netstr(const char *buf, size_t size)
{
	size_t off = 0;

	while (off < size) {
		const char *p;
		size_t plen, used;
		char name[64], key[1024];
		if (netstr_parse(buf + off, size - off, 1000, &p, &plen,
				 &used) < 0)
			break;
		if (used > size - off || p < buf + off ||
		    p + plen > buf + off + used || plen > 1000)
			abort();
		if (netstr_request(p, plen, name, sizeof(name), key,
				   sizeof(key)) == 0 &&
		    (strlen(name) >= sizeof(name) || strlen(key) >= sizeof(key)))
			abort();
		off += used;
	}
}

static void fz_line(const char *buf, size_t size)
{
	char *l = malloc(size + 1);
	struct reroute_hit h;
	char out[300];

	memcpy(l, buf, size);
	l[size] = '\0';
	if (reroute_line(cfg, l, &h) == RR_ROUTE &&
	    (h.member < 0 || (size_t)h.member >= cfg->nmembers))
		abort();
	if (strlen(h.msgid) > REROUTE_MSGID_MAX)
		abort();
	if (reroute_filter(l, out, sizeof(out)) == 0 &&
	    strncmp(out, "FILTER ", 7) != 0)
		abort();
	free(l);
}

static void fz_check_msg(const struct qscan_msg *m)
{
	if (strlen(m->qid) > ROUTE_QUEUE_ID_MAX ||
	    m->ndomains > REROUTE_DOMAINS_MAX ||
	    strlen(m->msgid) > REROUTE_MSGID_MAX)
		abort();
}

static void fz_qscan(const char *buf, size_t size)
{
	static struct qscan q;
	static struct qscan_msg m, back;
	static char out[RQ_REPLY_MAX + 2];
	size_t off = 0;

	qscan_init(&q);
	while (off < size) {
		const char *e = memchr(buf + off, '\n', size - off);
		size_t n = e != NULL ? (size_t)(e - buf - off) : size - off;
		if (qscan_line(&q, buf + off, n, &m) == 1) {
			size_t len;
			fz_check_msg(&m);
			len = rqproto_item_format(&m, out, sizeof(out));
			if (len == 0 || rqproto_item_parse(out, len - 1, &back) != 0 ||
			    strcmp(back.qid, m.qid) != 0 ||
			    back.ndomains != (m.many ? 0 : m.ndomains))
				abort();
		}
		off += n + 1;
	}
}

static void fz_rq(const char *buf, size_t size)
{
	static struct rq_cmd c;
	static struct qscan_msg m;

	if (rqproto_parse(buf, size, &c) == 0 &&
	    (strlen(c.member) > CONFIG_NAME_MAX || c.nqids > RQ_IDS_MAX))
		abort();
	if (rqproto_item_parse(buf, size, &m) == 0)
		fz_check_msg(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];

	if (cfg == NULL &&
	    config_load_string("members = { m1 = {}; m2 = { nexthop = \"[r]:25\"; }; };",
			       "fuzz", &cfg, err, sizeof(err)) < 0)
		abort();
	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fz_netstr((const char *)data + 1, size - 1);
		break;
	case 1:
		fz_line((const char *)data + 1, size - 1);
		break;
	case 2:
		fz_qscan((const char *)data + 1, size - 1);
		break;
	default:
		fz_rq((const char *)data + 1, size - 1);
		break;
	}
	return 0;
}
