/*
 * ctl_drain: postlbctl's side of the drain — `member drain NAME
 * --dry-run` (what postlb-requeue lists for NAME on this host), the
 * drains in progress under `health`, and the Postfix lines of the requeue
 * path under `postfix-config requeue`.  Reads Redis and asks
 * postlb-requeue; changes nothing.
 */
#include "ctl_route.h"

#include "rqclient.h"
#include "store_redis.h"

#include <stdio.h>
#include <string.h>

static void dry_item(void *arg, const struct qscan_msg *m)
{
	(void)arg;
	printf("%s %s ", m->qid, m->msgid[0] ? m->msgid : "-");
	if (m->many)
		printf("(more than %d domains)", REROUTE_DOMAINS_MAX);
	for (size_t i = 0; i < m->ndomains; i++)
		printf("%s%s", i ? "," : "", m->domains[i]);
	printf("\n");
}

int ctl_drain_dry_run(const struct config *c, const char *name)
{
	struct rqclient *rq;
	char err[512];
	long n;

	if (config_member_index(c, name) < 0) {
		fprintf(stderr, "postlbctl: no member '%s'\n", name);
		return 1;
	}
	if (c->drain_requeue == NULL) {
		fprintf(stderr, "postlbctl: %s sets no drain.requeue\n", c->path);
		return 1;
	}
	rq = rqclient_open(c->drain_requeue, 120000, err, sizeof(err));
	if (rq == NULL) {
		fprintf(stderr, "postlbctl: %s\n", err);
		return 1;
	}
	n = rqclient_list(rq, name, dry_item, NULL, err, sizeof(err));
	rqclient_close(rq);
	if (n < 0) {
		fprintf(stderr, "postlbctl: %s\n", err);
		return 1;
	}
	printf("%ld deferred message(s) for %s on this host would move "
	       "(queue id, Message-ID, recipient domains)\n",
	       n, name);
	return 0;
}

#define CTL_DRAIN_HOSTS_MAX 64 /* hosts shown per member */

struct drain_keys {
	char key[CTL_DRAIN_HOSTS_MAX][400];
	size_t n;
};

static void on_drain_key(void *arg, const char *key)
{
	struct drain_keys *k = arg;

	if (k->n < CTL_DRAIN_HOSTS_MAX)
		snprintf(k->key[k->n++], sizeof(k->key[0]), "%s", key);
}

int ctl_drain_show(const struct config *c, struct store_sync *s,
		   const char *name)
{
	static struct drain_keys k;
	char pat[200], val[256];
	size_t plen;

	k.n = 0;
	plen = (size_t)snprintf(pat, sizeof(pat), "%sdr:%s:", c->redis_prefix,
				name);
	snprintf(pat + plen, sizeof(pat) - plen, "*");
	if (store_sync_scan(s, pat, CTL_DRAIN_HOSTS_MAX, on_drain_key, &k) < 0)
		return -1;
	for (size_t i = 0; i < k.n; i++) {
		int rc = store_sync_get(s, k.key[i], val, sizeof(val));
		if (rc < 0)
			return -1;
		if (rc > 0)
			printf("%-16s draining on %s: %s\n", "", k.key[i] + plen,
			       val);
	}
	return 0;
}

void ctl_drain_postfix(const struct config *c)
{
	if (c->drain_socketmap == NULL) {
		printf("# policyd.socketmap is not set: no requeue path\n");
		return;
	}
	printf("# replace the pickup line: pickup hands requeued and "
	       "sendmail mail to cleanup-rq\n"
	       "pickup    unix  n       -       n       60      1       pickup\n"
	       "  -o cleanup_service_name=cleanup-rq\n"
	       "cleanup-rq unix n       -       n       -       0       cleanup\n"
	       "  -o header_checks=socketmap:%s:reroute\n",
	       c->drain_socketmap);
}
