/*
 * config_int: helpers shared by the config loaders (config.c for the
 * daemons and quotas, config_route.c for members, pools and rules).  Only
 * those two files include this header and libconfig.h.  Every helper
 * returns 0 or -1 after writing "file:line: problem" to the context.
 */
#ifndef POSTLB_CONFIG_INT_H
#define POSTLB_CONFIG_INT_H

#include "config.h"

#include <libconfig.h>

struct cfg_ctx {
	const char *name; /* file name for messages */
	char *err;
	size_t errsz;
};

int cfg_fail(struct cfg_ctx *x, const config_setting_t *s, const char *fmt,
	     ...) __attribute__((format(printf, 3, 4)));
char *cfg_strdup(const char *s);
/* Rejects members of group g not named in the NULL-ended allowed list. */
int cfg_known(struct cfg_ctx *x, const config_setting_t *g,
	      const char *const *allowed);
/* Optional members: absent leaves *out as it is. */
int cfg_str(struct cfg_ctx *x, const config_setting_t *g, const char *name,
	    char **out);
int cfg_int(struct cfg_ctx *x, const config_setting_t *g, const char *name,
	    long long min, long long max, long long *out);
int cfg_bool(struct cfg_ctx *x, const config_setting_t *g, const char *name,
	     int *out);
int cfg_duration(struct cfg_ctx *x, const config_setting_t *g,
		 const char *name, long long min_ms, long long *out_ms);
/* Optional "socket_mode" member of g: an octal string such as "0660". */
int cfg_mode(struct cfg_ctx *x, const config_setting_t *g, unsigned *out);
int cfg_set_read(struct cfg_ctx *x, const config_setting_t *s, enum subj subj,
		 struct cfg_set *set);
void cfg_set_free(struct cfg_set *set);
/*
 * config_lint.c: the line of the second of two adjacent string literals
 * in text (libconfig would join them: a missing comma), or 0 if none.
 */
unsigned cfg_lint_text(const char *text, size_t len);
/*
 * Reads all of path (at most CONFIG_FILE_MAX bytes) into *out, NUL-ended,
 * for the caller to free; on failure -1 with the reason (errno) in err.
 */
int cfg_read_text(const char *path, char **out, size_t *outlen, char *err,
		  size_t errsz);

/* config_health.c: health (checks, slow start) and members' checks. */
int cfg_health_load(struct cfg_ctx *x, config_t *cf, struct config *c);

/* config_feedback.c: the delivery log feedback and its breaker. */
int cfg_feedback_load(struct cfg_ctx *x, config_t *cf, struct config *c);
void cfg_feedback_free(struct config *c);

/* config_host.c: this host, the hosts group, the members' hosts. */
int cfg_hosts_load(struct cfg_ctx *x, config_t *cf, struct config *c);
int cfg_member_hosts(struct cfg_ctx *x, const config_setting_t *e,
		     struct config *c, struct cfg_member *m);
int cfg_hosts_check(struct cfg_ctx *x, config_t *cf, struct config *c);
void cfg_hosts_free(struct config *c);
/* config_drain.c: the drain group and policyd.socketmap. */
int cfg_drain_load(struct cfg_ctx *x, config_t *cf, struct config *c);
void cfg_drain_free(struct config *c);
/* config_sentinel.c: redis.username, redis.sentinels, redis.master_name
 * of the redis group g. */
int cfg_sentinel_load(struct cfg_ctx *x, const config_setting_t *g,
		      struct config *c);
void cfg_sentinel_free(struct config *c);

/* config_route.c: members, pools, rules, routing and milter sections. */
int cfg_route_load(struct cfg_ctx *x, config_t *cf, struct config *c);
void cfg_route_free(struct config *c);

/* config_metrics.c: policyd.metrics and milter.metrics. */
int cfg_metrics_load(struct cfg_ctx *x, config_t *cf, struct config *c);
void cfg_metrics_free(struct config *c);

#endif
