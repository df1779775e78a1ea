/*
 * config: postlb.conf (libconfig syntax) loaded into a validated, immutable
 * struct config.  config.c (daemons, quotas) and config_route.c (members,
 * pools, rules, routing), through config_int.h, are the only files that
 * include libconfig.h.
 *
 * Errors name file:line and what is wrong.  A loaded config is shared by
 * reference count: the loader gives the caller one reference, each user
 * that may outlive a reload takes its own with config_ref().
 */
#ifndef POSTLB_CONFIG_H
#define POSTLB_CONFIG_H

#include "breaker.h"
#include "warmhold.h"
#include "check.h"
#include "cidr.h"
#include "pp.h"
#include "respond.h"

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH "/etc/postlb/postlb.conf"
#define CONFIG_FILE_MAX (4 * 1024 * 1024) /* bytes of postlb.conf */
#define CONFIG_QUOTAS_MAX 64
/* Limits that validation enforces; arrays of that many entries rely on them. */
#define CONFIG_MEMBERS_MAX 4096     /* per config */
#define CONFIG_POOL_MEMBERS_MAX 1024 /* per pool */
#define CONFIG_POOLS_MAX 64    /* per config */
#define CONFIG_CYCLE_MAX 8192  /* sum of a pool's weights (after gcd) */
#define CONFIG_HOSTS_MAX 64    /* the hosts group */
#define CONFIG_MEMBER_HOSTS_MAX 16 /* hosts one member names */
#define CONFIG_HOST_NAME_MAX 64
#define CONFIG_RESERVE_MAX 256 /* picks reserved by one Redis call at most */
#define CONFIG_WARM_DAYS_MAX 366 /* warm-up caps of one member */
#define CONFIG_NAME_MAX 32     /* member and pool names */
#define CONFIG_HEADER_RULES_MAX 32 /* rules with a header condition */
#define CONFIG_NEXTHOP_MAX 255 /* a member's nexthop */
#define CONFIG_METRICS_ADDR_MAX 255 /* policyd.metrics, milter.metrics */
#define CONFIG_SENTINELS_MAX 8 /* redis.sentinels */

enum subj {
	SUBJ_SASL_USER,
	SUBJ_SENDER,
	SUBJ_SENDER_DOMAIN,
	SUBJ_CLIENT_IP,
	SUBJ_RCPT_DOMAIN,
	SUBJ_GLOBAL,
	SUBJ_N
};

enum unit { UNIT_MESSAGES, UNIT_RECIPIENTS, UNIT_BYTES };

enum fail_mode { FAIL_OPEN, FAIL_CLOSED };

/* A set of subject values: exact strings (domains may start with '.' to
 * match subdomains) or, for client_ip, networks. */
struct cfg_set {
	char **values;
	size_t nvalues;
	struct cidr *nets;
	size_t nnets;
};

struct cfg_class {
	char *name;
	enum subj subject;
	struct cfg_set members;
	int line;
};

struct cfg_quota {
	char *name;
	enum subj subject;
	enum unit unit;
	long long limit;
	long long window_ms;
	int reject;			/* 5.7.1 instead of 4.7.1 */
	const struct cfg_class *class;	/* NULL: the default for subject */
	unsigned cidr4, cidr6;		/* client_ip grouping */
	int line;
};

enum algo { ALGO_RR, ALGO_WRR, ALGO_LEAST, ALGO_HASH };
enum hash_key { HK_SENDER_DOMAIN, HK_RCPT_DOMAIN, HK_SASL_USER, HK_SENDER };

/* One way out: a master.cf transport of the same name. */
struct cfg_member {
	char *name;
	char *nexthop;	/* "[relay]:port"; NULL: the recipient's MX */
	char *address;	/* smtp_bind_address for postfix-config; may be NULL */
	char *helo;	/* smtp_helo_name; may be NULL */
	char *site;	/* label, may be NULL */
	char **hosts;	/* the hosts it exists on; none: every host */
	size_t nhosts;
	int here;	/* this host may use it (config_host.c) */
	int weight;	/* 1..1000 */
	uint64_t seed;	/* select_hash_seed(name), for hash pools */
	long long warm_start_day; /* days since 1970-01-01 UTC; -1: none */
	long long *warm_caps;	  /* messages per day, day 0 first */
	size_t nwarm;
	int check;		  /* active SMTP checks of the nexthop */
	int check_starttls;	  /* a check fails without STARTTLS */
	struct check_cfg chk;	  /* their timing (config_health.c) */
	int line;
};

struct cfg_pool {
	char *name;
	size_t members[CONFIG_POOL_MEMBERS_MAX]; /* indices into members */
	size_t nmembers;
	int prefer_site; /* members of this host's site first */
	enum algo algo;
	enum hash_key hash_key;
	int fallback; /* pool index or -1 */
	int failover; /* relays: list the pool's other relays after the pick */
	int line;
};

/* A rule matches when every condition it has matches (values: any). */
struct cfg_rule {
	char *name;
	struct cfg_set match[SUBJ_N]; /* all but global */
	int has[SUBJ_N];
	char *header; /* header name; NULL: none */
	regex_t re;   /* header value, extended, case-insensitive */
	long long size_min, size_max; /* -1: none */
	int pool;
	int line;
};

/* A host of the cluster (the hosts group). */
struct cfg_host {
	char *name;
	char *site; /* may be NULL */
};

struct config {
	int refs;
	char *path;

	/* this host and the cluster's (config_host.c) */
	char *host_name;     /* host = "..."; default: the hostname */
	const char *host_site; /* its site (borrowed from hosts); NULL */
	struct cfg_host *hosts;
	size_t nhosts;

	char *redis_address;	/* "unix:/path" or "host:port" */
	char *redis_prefix;
	char *redis_password;	/* NULL: none */
	int redis_db;
	char *redis_username;	/* NULL: none (AUTH with the password only) */
	/* Sentinel mode: ask these for master_name's primary (0: address) */
	char *redis_sentinels[CONFIG_SENTINELS_MAX]; /* "host:port" */
	size_t nredis_sentinels;
	char *redis_master_name;	/* NULL unless sentinels are set */
	/* the sentinels' own requirepass (and ACL user): NULL none */
	char *redis_sentinel_password, *redis_sentinel_username;

	char **listen;		/* "unix:/path" or "tcp:host:port" */
	size_t nlisten;
	unsigned socket_mode;
	char *user, *group;	/* NULL: keep */
	long long budget_ms;
	enum fail_mode fail_mode;
	long long max_connections;
	long long idle_timeout_ms;
	int quota_reserve;		/* reserve quota units ahead under load */
	long long quota_reserve_ms;	/* how long reserved units may be used */
	struct pp_limits limits;
	/* policyd, later additions */
	struct cfg_set allow;		/* client networks TCP listeners serve */
	int count_only;			/* count only the requests below: */
	int count_sasl;			/*  SASL-authenticated ones */
	struct cfg_set count_nets;	/*  from these client networks */

	struct cfg_class *classes;
	size_t nclasses;
	struct cfg_quota *quotas;
	size_t nquotas;
	struct cfg_set exempt[SUBJ_N];

	/* routing (postlb-milter) */
	struct cfg_member *members;
	size_t nmembers;
	struct cfg_pool *pools;
	size_t npools;
	struct cfg_rule *rules;
	size_t nrules;
	int default_pool;	 /* -1: routing not configured */
	int no_member_tempfail;	 /* no member anywhere: 1 tempfail, 0 default */
	long long route_budget_ms;
	long long outstanding_ttl_ms;
	long long state_refresh_ms;
	long long route_reserve;	 /* picks reserved per call at most */
	long long route_reserve_ms;	 /* a reservation's lifetime */
	long long slowstart_ms;	 /* health.slowstart: 0 none */
	int slowstart_min_pct;	 /* health.slowstart_min: first share */
	struct cfg_set take_transports; /* routing.takeover.transports */
	struct cfg_set take_nexthops;	 /* routing.takeover.nexthops */
	int take_unresolved; /* 1: route recipients Postfix did not resolve */
	char *milter_listen;	 /* "unix:/path" or "inet:port@host" */
	unsigned milter_socket_mode;
	char *milter_user, *milter_group;

	/* delivery-log feedback (postlb-policyd; config_feedback.c) */
	char *feedback_log;	    /* NULL: no feedback */
	char *feedback_state;	    /* where the follower keeps its place */
	long long feedback_keep_ms; /* delivery counters kept this long */
	int feedback_breaker_on;
	struct breaker_conf feedback_breaker;
	int feedback_hold_on; /* the warm-up hold (warmhold.h) */
	struct warmhold_conf feedback_hold;
	struct respond_set *feedback_rules; /* response rules in force */

	/* /metrics endpoints (config_metrics.c): "host:port", NULL: none */
	char *policyd_metrics;
	char *milter_metrics;
	/* drain of queued mail (postlb-policyd; config_drain.c) */
	char *drain_socketmap;	    /* policyd.socketmap "unix:/path"; NULL off */
	char *drain_requeue;	    /* postlb-requeue's socket; NULL: no drain */
	long long drain_rate;	    /* messages requeued per second at most */
	long long drain_interval_ms; /* how often member health is looked at */
	int drain_auto;		    /* drain on health, not only on "drain" */
};

/*
 * Loads and validates path.  On success *out gets a config with one
 * reference and 0 is returned; on failure err (errsz bytes) says
 * "file:line: problem", *out is untouched and -1 is returned.
 */
int config_load(const char *path, struct config **out, char *err,
		size_t errsz);

/* The same for text held in memory; name stands for the file in errors. */
int config_load_string(const char *text, const char *name,
		       struct config **out, char *err, size_t errsz);

struct config *config_ref(struct config *c);
/* Drops one reference; frees the config with the last. NULL is a no-op. */
void config_unref(struct config *c);

/* Names for logs and postlbctl; parse returns -1 for an unknown name. */
const char *config_subj_name(enum subj s);
int config_subj_parse(const char *name);
const char *config_unit_name(enum unit u);

/* Looks a quota up by name; NULL if absent. */
const struct cfg_quota *config_quota(const struct config *c,
				     const char *name);

/*
 * 1 when s (len bytes) is a valid member or pool name: 1..CONFIG_NAME_MAX
 * letters, digits, '_' or '-' (not first); names become master.cf
 * transports and regexp alternatives.
 */
int config_name_ok(const char *s, size_t len);

/* Looks a member or pool up by name; -1 if absent. */
int config_member_index(const struct config *c, const char *name);
int config_pool_index(const struct config *c, const char *name);

/* 1 when member m exists on host (it names no host, or that one). */
int config_member_on(const struct cfg_member *m, const char *host);
/* 1 when member mi is of this host's site (or either has none). */
int config_member_local(const struct config *c, size_t mi);
const char *config_algo_name(enum algo a);

/* 1 if value is in set for subject s. */
int config_set_has(const struct cfg_set *set, enum subj s, const char *value);

#endif
