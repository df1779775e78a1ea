/*
 * postlbctl: shows and tunes postlb's shared state in Redis.
 *
 * Quotas come from postlb.conf; live overrides and usage live in Redis
 * (keys PREFIX o:QUOTA:SUBJECT, PREFIX o:QUOTA:* and PREFIX q:QUOTA:SUBJECT)
 * and take effect on the next decision of every postlb-policyd, without a
 * restart or reload.  This program only reads the config; it never edits
 * it.  Subject values are normalised exactly as policyd keys them.
 */
#include "config.h"
#include "ctl_check.h"
#include "ctl_json.h"
#include "ctl_route.h"
#include "log.h"
#include "num.h"
#include "quota.h"
#include "route.h"
#include "store_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr,
		"usage: postlbctl [-c FILE] [--json] COMMAND [ARGS] | --version\n"
		"  list                            quotas and live overrides\n"
		"  get QUOTA SUBJECT               effective limit for SUBJECT\n"
		"  set QUOTA SUBJECT LIMIT [WINDOW]  live override (SUBJECT '*'"
		" = all;\n"
		"                                  LIMIT 'unlimited' exempts)\n"
		"  unset QUOTA SUBJECT             remove a live override\n"
		"  usage QUOTA SUBJECT             used, limit, refill times\n"
		"  reset QUOTA SUBJECT             forget SUBJECT's usage\n"
		"  script [quota|route]            print a Lua script Redis runs\n"
		"routing:\n"
		"  pools                           pools, algorithms, members\n"
		"  members                         state, weight, today's count\n"
		"  member drain|maint|ready|down NAME   set a member's state\n"
		"  member drain NAME --dry-run     the deferred mail a drain would move\n"
		"  member suspend NAME DOMAIN DURATION  skip NAME for DOMAIN\n"
		"  member resume NAME DOMAIN       end a suspension\n"
		"  explain [-s SENDER] [-r RCPT]... [-u SASL_USER] [-i IP]\n"
		"          [-H 'Name: value']... [-z SIZE] [-m FILE]\n"
		"                                  which rule, pool and member\n"
		"  health [NAME]                   members' health: checks, breaker,\n"
		"                                  slow start, events\n"
		"  postfix-config [all|master|main|route|strip|reinject|requeue] [DIR [POSTFIX_DIR]]\n"
		"                                  Postfix lines for the members\n"
		"operation:\n"
		"  check [-C POSTFIX_DIR]          problems in Postfix and Redis,\n"
		"                                  each with its fix (exit 1: some)\n"
		"  stats [-w SECONDS] [-n COUNT]   routed and refused per second\n"
		"--json: one JSON document (list, get, usage, pools, members,\n"
		"        health, explain, check; stats: one per report)\n");
	exit(2);
}

struct ctl {
	struct config *cfg;
	struct store_sync *st;
	const struct cfg_quota *q;
	char subject[QUOTA_SUBJECT_MAX];
	char key[QUOTA_KEY_MAX], ovr[QUOTA_KEY_MAX], ovr_all[QUOTA_KEY_MAX];
	struct json *j; /* list --json */
};

static void ctl_connect(struct ctl *x)
{
	char err[512];

	if (store_sync_open(x->cfg, 2000, &x->st, err, sizeof(err)) < 0) {
		fprintf(stderr, "postlbctl: %s\n", err);
		exit(1);
	}
}

static void ctl_fail(struct ctl *x, const char *what)
{
	fprintf(stderr, "postlbctl: %s: %s\n", what, store_sync_error(x->st));
	exit(1);
}

/* Resolves QUOTA and SUBJECT arguments and the keys they map to. */
static void ctl_target(struct ctl *x, const char *quota, const char *subject)
{
	x->q = config_quota(x->cfg, quota);
	if (x->q == NULL) {
		fprintf(stderr, "postlbctl: no quota '%s' in %s\n", quota,
			x->cfg->path);
		exit(1);
	}
	if (strcmp(subject, "*") == 0)
		strcpy(x->subject, "*");
	else if (!quota_normalize(x->q, subject, x->subject)) {
		fprintf(stderr, "postlbctl: '%s' is not a valid %s\n", subject,
			config_subj_name(x->q->subject));
		exit(1);
	}
	if (quota_keys(x->cfg->redis_prefix, x->q->name, x->subject, x->key,
		       x->ovr, x->ovr_all) < 0) {
		fprintf(stderr, "postlbctl: subject too long\n");
		exit(1);
	}
	ctl_connect(x);
}

/* Effective limit of the target: override, quota-wide override, config. */
static const char *ctl_limit(struct ctl *x, long long *limit,
			     long long *window_ms)
{
	char v[64];
	const char *keys[2] = {x->ovr, x->ovr_all};
	const char *from[2] = {"live override", "live override for all"};

	for (int i = 0; i < 2; i++) {
		int rc = store_sync_get(x->st, keys[i], v, sizeof(v));
		if (rc < 0)
			ctl_fail(x, "GET");
		if (rc == 1 && quota_override_parse(v, limit, window_ms) == 0) {
			if (*limit >= 0 && *window_ms == 0)
				*window_ms = x->q->window_ms;
			return from[i];
		}
	}
	*limit = x->q->limit;
	*window_ms = x->q->window_ms;
	return "config";
}

static void print_limit(long long limit, long long window_ms)
{
	char w[32];

	if (limit < 0) {
		printf("unlimited");
		return;
	}
	num_format_duration(window_ms, w, sizeof(w));
	printf("%lld per %s", limit, w);
}

/* The members every quota document of get and usage starts with. */
static void json_target(struct json *j, struct ctl *x, long long limit,
			long long window_ms, const char *from)
{
	json_str(j, "quota", x->q->name);
	json_str(j, "subject_type", config_subj_name(x->q->subject));
	json_str(j, "subject", x->subject);
	json_bool(j, "unlimited", limit < 0);
	if (limit < 0)
		json_null(j, "limit");
	else
		json_int(j, "limit", limit);
	json_int(j, "window_ms", window_ms);
	json_str(j, "unit", config_unit_name(x->q->unit));
	json_str(j, "source", strcmp(from, "config") == 0 ? "config"
			      : strcmp(from, "live override") == 0
				  ? "override"
				  : "override_all");
}

static int cmd_get(struct ctl *x)
{
	long long limit, window_ms;
	const char *from = ctl_limit(x, &limit, &window_ms);

	if (ctl_json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_open(&j, NULL);
		json_target(&j, x, limit, window_ms, from);
		json_obj_close(&j);
		return json_end(&j) < 0;
	}
	printf("%s %s %s: ", x->q->name, config_subj_name(x->q->subject),
	       x->subject);
	print_limit(limit, window_ms);
	printf(" %s (%s)\n", config_unit_name(x->q->unit), from);
	return 0;
}

static int cmd_set(struct ctl *x, const char *limit_s, const char *window_s)
{
	long long limit, window_ms = x->q->window_ms;
	char v[64];

	if (strcmp(limit_s, "unlimited") == 0) {
		snprintf(v, sizeof(v), "unlimited");
	} else {
		if (num_parse_ll(limit_s, strlen(limit_s), 0, (long long)1 << 50,
				 &limit) < 0) {
			fprintf(stderr, "postlbctl: bad limit '%s'\n", limit_s);
			return 1;
		}
		if (window_s != NULL &&
		    (num_parse_duration_ms(window_s, &window_ms) < 0 ||
		     window_ms < 1000)) {
			fprintf(stderr,
				"postlbctl: bad window '%s' (e.g. 30s, 1m, 1h, "
				"1d; at least 1s)\n",
				window_s);
			return 1;
		}
		snprintf(v, sizeof(v), "%lld %lld", limit, window_ms);
	}
	if (store_sync_set(x->st, x->ovr, v) < 0)
		ctl_fail(x, "SET");
	return cmd_get(x);
}

/* usage --json: used, and when the next unit and the whole quota free. */
static int usage_json(struct ctl *x, long long limit, long long window_ms,
		      const char *from, long long tat, long long now)
{
	struct json j;
	long long used;

	json_init(&j, stdout);
	json_obj_open(&j, NULL);
	json_target(&j, x, limit, window_ms, from);
	if (limit < 0) {
		json_null(&j, "used");
		json_num(&j, "next_unit_s", 0);
		json_num(&j, "full_s", 0);
	} else {
		double step = limit > 0 ? (double)window_ms * 1000 / (double)limit
					: 0;
		double next = (double)tat + step - (double)window_ms * 1000 -
			      (double)now;
		used = quota_used(tat, now, limit, window_ms * 1000);
		json_int(&j, "used", used > limit ? limit : used);
		json_num(&j, "next_unit_s",
			 tat > now && limit > 0 && next > 0 ? next / 1e6 : 0);
		json_num(&j, "full_s",
			 tat > now ? (double)(tat - now) / 1e6 : 0);
	}
	json_obj_close(&j);
	return json_end(&j) < 0;
}

static int cmd_usage(struct ctl *x)
{
	long long limit, window_ms, now, tat = 0, used;
	const char *from;
	char v[64];
	int rc;

	from = ctl_limit(x, &limit, &window_ms);
	rc = store_sync_get(x->st, x->key, v, sizeof(v));
	if (rc < 0 || store_sync_time_us(x->st, &now) < 0)
		ctl_fail(x, "usage");
	if (rc == 1 && num_parse_ll(v, strlen(v), 0, 1LL << 62, &tat) < 0)
		tat = 0;
	if (ctl_json)
		return usage_json(x, limit, window_ms, from, tat, now);
	printf("%s %s %s: ", x->q->name, config_subj_name(x->q->subject),
	       x->subject);
	if (limit < 0) {
		printf("unlimited (no usage kept)\n");
		return 0;
	}
	used = quota_used(tat, now, limit, window_ms * 1000);
	printf("%lld of ", used > limit ? limit : used);
	print_limit(limit, window_ms);
	printf(" %s used", config_unit_name(x->q->unit));
	if (tat > now && limit > 0) {
		double step = (double)window_ms * 1000 / (double)limit;
		double next = (double)tat + step - (double)window_ms * 1000 -
			      (double)now;
		printf("; next unit in %.1f s; full in %.1f s",
		       next > 0 ? next / 1e6 : 0.0,
		       (double)(tat - now) / 1e6);
	}
	printf("\n");
	return 0;
}

/* SCAN callback: prints one override. */
static void list_override(void *arg, const char *key)
{
	struct ctl *x = arg;
	size_t pl = strlen(x->cfg->redis_prefix) + 2;
	char v[64];
	long long limit, window_ms;

	if (store_sync_get(x->st, key, v, sizeof(v)) != 1 ||
	    quota_override_parse(v, &limit, &window_ms) < 0)
		return;
	printf("  override %-40s ", key + pl);
	print_limit(limit, window_ms);
	printf("\n");
}

/* SCAN callback of list --json: one override object. */
static void list_override_json(void *arg, const char *key)
{
	struct ctl *x = arg;
	struct json *j = x->j;
	size_t pl = strlen(x->cfg->redis_prefix) + 2;
	const char *colon = strchr(key + pl, ':');
	char v[64];
	long long limit, window_ms;

	if (colon == NULL || store_sync_get(x->st, key, v, sizeof(v)) != 1 ||
	    quota_override_parse(v, &limit, &window_ms) < 0)
		return;
	json_obj_open(j, NULL);
	json_strn(j, "quota", key + pl, (size_t)(colon - key - pl));
	json_str(j, "subject", colon + 1);
	json_bool(j, "unlimited", limit < 0);
	if (limit < 0)
		json_null(j, "limit");
	else
		json_int(j, "limit", limit);
	json_int(j, "window_ms", window_ms);
	json_obj_close(j);
}

static int list_json(struct ctl *x)
{
	struct json j;
	char pat[QUOTA_KEY_MAX];

	json_init(&j, stdout);
	x->j = &j;
	json_obj_open(&j, NULL);
	json_str(&j, "config", x->cfg->path);
	json_arr_open(&j, "quotas");
	for (size_t i = 0; i < x->cfg->nquotas; i++) {
		const struct cfg_quota *q = &x->cfg->quotas[i];
		json_obj_open(&j, NULL);
		json_str(&j, "name", q->name);
		json_str(&j, "subject_type", config_subj_name(q->subject));
		json_bool(&j, "unlimited", q->limit < 0);
		if (q->limit < 0)
			json_null(&j, "limit");
		else
			json_int(&j, "limit", q->limit);
		json_int(&j, "window_ms", q->window_ms);
		json_str(&j, "unit", config_unit_name(q->unit));
		json_str(&j, "action", q->reject ? "reject" : "defer");
		json_str(&j, "class", q->class ? q->class->name : NULL);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	ctl_connect(x);
	json_arr_open(&j, "overrides");
	snprintf(pat, sizeof(pat), "%so:*", x->cfg->redis_prefix);
	if (store_sync_scan(x->st, pat, 10000, list_override_json, x) < 0)
		ctl_fail(x, "SCAN");
	json_arr_close(&j);
	json_obj_close(&j);
	return json_end(&j) < 0;
}

static int cmd_list(struct ctl *x)
{
	char pat[QUOTA_KEY_MAX];

	if (ctl_json)
		return list_json(x);

	printf("quotas (%s):\n", x->cfg->path);
	for (size_t i = 0; i < x->cfg->nquotas; i++) {
		const struct cfg_quota *q = &x->cfg->quotas[i];
		printf("  %-20s %-16s ", q->name, config_subj_name(q->subject));
		print_limit(q->limit, q->window_ms);
		printf(" %s, %s%s%s\n", config_unit_name(q->unit),
		       q->reject ? "reject" : "defer",
		       q->class ? ", class " : "",
		       q->class ? q->class->name : "");
	}
	ctl_connect(x);
	printf("live overrides:\n");
	snprintf(pat, sizeof(pat), "%so:*", x->cfg->redis_prefix);
	if (store_sync_scan(x->st, pat, 10000, list_override, x) < 0)
		ctl_fail(x, "SCAN");
	return 0;
}

/* member drain|maint|ready|down NAME, suspend NAME DOMAIN DUR, resume. */
static int ctl_member(const struct config *c, int argc, char **argv)
{
	long long ms;

	if (argc == 2 && route_state_parse(argv[0]) >= 0)
		return ctl_member_set(c, argv[1], argv[0]);
	if (argc == 3 && strcmp(argv[0], "drain") == 0 &&
	    strcmp(argv[2], "--dry-run") == 0)
		return ctl_drain_dry_run(c, argv[1]);
	if (argc == 4 && strcmp(argv[0], "suspend") == 0) {
		if (num_parse_duration_ms(argv[3], &ms) < 0) {
			fprintf(stderr, "postlbctl: bad duration '%s'\n",
				argv[3]);
			return 1;
		}
		return ctl_member_suspend(c, argv[1], argv[2], ms);
	}
	if (argc == 3 && strcmp(argv[0], "resume") == 0)
		return ctl_member_suspend(c, argv[1], argv[2], 0);
	usage();
	return 2;
}

int main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	struct ctl x = {0};
	char err[1024];
	const char *cmd;
	int opt, rc = 0, n = 1;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("postlbctl %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (int i = 1; i < argc; i++) /* --json, wherever it is given */
		if (strcmp(argv[i], "--json") == 0)
			ctl_json = 1;
		else
			argv[n++] = argv[i];
	argc = n;
	argv[argc] = NULL;
	while ((opt = getopt(argc, argv, "+c:")) != -1) {
		if (opt != 'c')
			usage();
		path = optarg;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	if (strcmp(cmd, "script") == 0 && argc <= 2) {
		const char *which = argc == 2 ? argv[1] : "quota";
		if (strcmp(which, "quota") != 0 && strcmp(which, "route") != 0)
			usage(); /* exits */
		fputs(strcmp(which, "route") == 0 ? ROUTE_LUA : QUOTA_LUA,
		      stdout);
		return 0;
	}
	log_init("postlbctl", 1);
	if (config_load(path, &x.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "postlbctl: %s\n", err);
		return 1;
	}
	if (strcmp(cmd, "list") == 0 && argc == 1) {
		rc = cmd_list(&x);
	} else if ((argc == 4 || argc == 5) && strcmp(cmd, "set") == 0) {
		ctl_target(&x, argv[1], argv[2]);
		rc = cmd_set(&x, argv[3], argc == 5 ? argv[4] : NULL);
	} else if (argc == 3 && strcmp(cmd, "get") == 0) {
		ctl_target(&x, argv[1], argv[2]);
		rc = cmd_get(&x);
	} else if (argc == 3 && strcmp(cmd, "unset") == 0) {
		ctl_target(&x, argv[1], argv[2]);
		if (store_sync_del(x.st, x.ovr) < 0)
			ctl_fail(&x, "DEL");
		rc = cmd_get(&x);
	} else if (argc == 3 && strcmp(cmd, "usage") == 0) {
		ctl_target(&x, argv[1], argv[2]);
		rc = cmd_usage(&x);
	} else if (argc == 3 && strcmp(cmd, "reset") == 0) {
		ctl_target(&x, argv[1], argv[2]);
		if (store_sync_del(x.st, x.key) < 0)
			ctl_fail(&x, "DEL");
		rc = cmd_usage(&x);
	} else if (argc == 1 && strcmp(cmd, "pools") == 0) {
		rc = ctl_pools(x.cfg);
	} else if (argc <= 2 && strcmp(cmd, "health") == 0) {
		rc = ctl_health(x.cfg, argc == 2 ? argv[1] : NULL);
	} else if (argc == 1 && strcmp(cmd, "members") == 0) {
		rc = ctl_members(x.cfg);
	} else if (argc >= 2 && strcmp(cmd, "member") == 0) {
		rc = ctl_member(x.cfg, argc - 1, argv + 1);
	} else if (strcmp(cmd, "explain") == 0) {
		rc = ctl_explain(x.cfg, argc - 1, argv + 1);
	} else if (strcmp(cmd, "check") == 0) {
		rc = ctl_check(x.cfg, argc, argv);
	} else if (strcmp(cmd, "stats") == 0) {
		rc = ctl_stats(x.cfg, argc, argv);
	} else if (argc <= 4 && strcmp(cmd, "postfix-config") == 0) {
		rc = ctl_postfix_config(x.cfg, argc > 1 ? argv[1] : "all",
					argc > 2 ? argv[2] : "/etc/postfix",
					argc > 3 ? argv[3] : NULL);
	} else {
		usage();
	}
	store_sync_close(x.st);
	config_unref(x.cfg);
	return rc;
}
