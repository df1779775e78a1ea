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

/* config_health.c: health (checks, slow start) and members' checks. */
int cfg_health_load(struct cfg_ctx *x, config_t *cf, struct config *c);

/* config_feedback.c: the delivery log feedback and its breaker. */
int cfg_feedback_load(struct cfg_ctx *x, config_t *cf, struct config *c);
void cfg_feedback_free(struct config *c);

/* config_sentinel.c: redis.username, redis.sentinels, redis.master_name
 * of the redis group g. */
int cfg_sentinel_load(struct cfg_ctx *x, const config_setting_t *g,
		      struct config *c);
void cfg_sentinel_free(struct config *c);

/* config_route.c: members, pools, rules, routing and milter sections. */
int cfg_route_load(struct cfg_ctx *x, config_t *cf, struct config *c);
void cfg_route_free(struct config *c);

#endif
