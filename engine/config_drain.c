/*
 * config_drain: the settings of the drain (re-routing mail already queued
 * for a member that left rotation): the "drain" group of postlb.conf and
 * policyd.socketmap, the socketmap that the requeue cleanup service asks.
 * Shares config_int.h with config.c; no I/O (the sockets are created and
 * connected by postlb-policyd, not checked here).
 */
#include "config_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* A unix socket path that fits sockaddr_un; 0 or -1 (err filled). */
static int drain_path(struct cfg_ctx *x, const config_setting_t *s,
		      const char *what, const char *path)
{
	struct sockaddr_un sa;

	if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path))
		return cfg_fail(x, s,
				"%s: an absolute unix socket path of at most "
				"%zu bytes",
				what, sizeof(sa.sun_path) - 1);
	return 0;
}

static int drain_socketmap(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	const config_setting_t *g = config_lookup(cf, "policyd");

	if (g == NULL || config_setting_get_member(g, "socketmap") == NULL)
		return 0;
	if (cfg_str(x, g, "socketmap", &c->drain_socketmap) < 0)
		return -1;
	if (strncmp(c->drain_socketmap, "unix:", 5) != 0)
		return cfg_fail(x, config_setting_get_member(g, "socketmap"),
				"'socketmap' must be \"unix:/path\"");
	return drain_path(x, config_setting_get_member(g, "socketmap"),
			  "socketmap", c->drain_socketmap + 5);
}

int cfg_drain_load(struct cfg_ctx *x, config_t *cf, struct config *c)
{
	static const char *const keys[] = {"requeue", "rate", "interval",
					   "auto", NULL};
	const config_setting_t *g = config_lookup(cf, "drain");

	c->drain_rate = 100;
	c->drain_interval_ms = 1000;
	c->drain_auto = 1;
	if (drain_socketmap(x, cf, c) < 0)
		return -1;
	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_fail(x, g, "'drain' must be a group { ... }");
	if (cfg_known(x, g, keys) < 0 ||
	    cfg_str(x, g, "requeue", &c->drain_requeue) < 0 ||
	    cfg_int(x, g, "rate", 1, 100000, &c->drain_rate) < 0 ||
	    cfg_duration(x, g, "interval", 100, &c->drain_interval_ms) < 0 ||
	    cfg_bool(x, g, "auto", &c->drain_auto) < 0)
		return -1;
	if (c->drain_interval_ms > 3600000)
		return cfg_fail(x, g, "drain: 'interval' is at most 1h");
	if (c->drain_requeue != NULL &&
	    drain_path(x, config_setting_get_member(g, "requeue"), "requeue",
		       c->drain_requeue) < 0)
		return -1;
	/* requeued mail meets the socketmap in cleanup-rq; without it the
	 * mail would wait in maildrop for good */
	if (c->drain_requeue != NULL && c->drain_socketmap == NULL)
		return cfg_fail(x, config_setting_get_member(g, "requeue"),
				"drain: 'requeue' needs policyd.socketmap, "
				"which re-routes the requeued mail");
	return 0;
}

void cfg_drain_free(struct config *c)
{
	free(c->drain_socketmap);
	free(c->drain_requeue);
}
