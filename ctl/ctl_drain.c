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

static void on_drain(void *arg, const char *host, const char *v)
{
	const char *name = arg;

	printf("%-16s draining on %s: %s\n", "", host, v);
	(void)name;
}

int ctl_drain_show(const struct config *c, struct store_sync *s,
		   const char *name)
{
	char key[200];

	snprintf(key, sizeof(key), "%sdr:%s", c->redis_prefix, name);
	return store_sync_hgetall(s, key, on_drain, (void *)name);
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
