/*
 * store_redis: what the two faces of the Redis client share (see
 * store_redis.h and store_int.h): address parsing and the one test of a
 * NOSCRIPT reply, after which a script call is sent again once (it did
 * not run, so it cannot charge twice); the copy of a config's Redis
 * settings (a plain address or the sentinels) and the AUTH command.
 * store_async.c is the face of postlb-policyd, store_sync.c that of
 * postlb-milter and postlbctl.
 */
#include "store_int.h"

#include "num.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_parse_address(const char *addr, char *host, int *port,
			       int *is_unix)
{
	const char *colon;
	long long p;
	size_t hl;

	if (strncmp(addr, "unix:", 5) == 0) {
		*is_unix = 1;
		snprintf(host, 256, "%s", addr + 5);
		return 0;
	}
	*is_unix = 0;
	colon = strrchr(addr, ':');
	if (colon == NULL ||
	    num_parse_ll(colon + 1, strlen(colon + 1), 1, 65535, &p) < 0)
		return -1;
	hl = (size_t)(colon - addr);
	if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl == 0 || hl >= 256)
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
}

int store_reply_noscript(const redisReply *r)
{
	return r != NULL && r->type == REDIS_REPLY_ERROR && r->len >= 8 &&
	       strncmp(r->str, "NOSCRIPT", 8) == 0;
}

static int store_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Copies src into *dst (NULL stays NULL); -1 when out of memory. */
static int store_strdup(const char *src, char **dst)
{
	*dst = src != NULL ? strdup(src) : NULL;
	return src != NULL && *dst == NULL ? -1 : 0;
}

int store_target_set(struct store_target *t, const struct config *c)
{
	struct store_target n;
	int bad;

	memset(&n, 0, sizeof(n));
	bad = store_strdup(c->redis_address, &n.address) < 0 ||
	      store_strdup(c->redis_password, &n.password) < 0 ||
	      store_strdup(c->redis_username, &n.username) < 0 ||
	      store_strdup(c->redis_master_name, &n.master_name) < 0 ||
	      store_strdup(c->redis_sentinel_password,
			   &n.sentinel_password) < 0 ||
	      store_strdup(c->redis_sentinel_username,
			   &n.sentinel_username) < 0;
	for (size_t i = 0; !bad && i < c->nredis_sentinels; i++, n.nsentinels++)
		bad = store_strdup(c->redis_sentinels[i], &n.sentinels[i]) < 0;
	if (bad) {
		store_target_clear(&n);
		return -1;
	}
	n.db = c->redis_db;
	store_target_clear(t);
	*t = n;
	return 0;
}

int store_target_same(const struct store_target *t, const struct config *c)
{
	if (!store_streq(t->address, c->redis_address) ||
	    !store_streq(t->password, c->redis_password) ||
	    !store_streq(t->username, c->redis_username) ||
	    !store_streq(t->master_name, c->redis_master_name) ||
	    !store_streq(t->sentinel_password, c->redis_sentinel_password) ||
	    !store_streq(t->sentinel_username, c->redis_sentinel_username) ||
	    t->db != c->redis_db || t->nsentinels != c->nredis_sentinels)
		return 0;
	for (size_t i = 0; i < t->nsentinels; i++)
		if (!store_streq(t->sentinels[i], c->redis_sentinels[i]))
			return 0;
	return 1;
}

void store_target_clear(struct store_target *t)
{
	free(t->address);
	free(t->password);
	free(t->username);
	free(t->master_name);
	free(t->sentinel_password);
	free(t->sentinel_username);
	for (size_t i = 0; i < t->nsentinels; i++)
		free(t->sentinels[i]);
	memset(t, 0, sizeof(*t));
	t->db = -1;
}

int store_auth_argv(const char *username, const char *password,
		    const char **av)
{
	int n = 0;

	if (password == NULL)
		return 0;
	av[n++] = "AUTH";
	if (username != NULL)
		av[n++] = username;
	av[n++] = password;
	return n;
}
