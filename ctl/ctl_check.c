/*
 * ctl_check: `postlbctl check [-C POSTFIX_DIR]`, whether Postfix and Redis
 * are set up the way postlb needs them.  Reads Postfix's configuration
 * through postconf (main.cf with -hx, master.cf with -M and -P), the
 * route regexp file that milter_header_checks names, and Redis's INFO;
 * prints every problem found with its fix, one per line ("ID: problem;
 * fix: what to do"), or one JSON document with --json.  It changes
 * nothing, neither in Postfix nor in Redis.
 *
 * The rules it applies:
 *  - postlb-milter is in smtpd_milters and non_smtpd_milters (or, when
 *    main.cf has a content_filter, on the smtpd that takes the scanned
 *    mail back: a master.cf smtpd_milters override);
 *  - check_policy_service with one of policyd's addresses is in
 *    smtpd_recipient_restrictions and smtpd_end_of_data_restrictions,
 *    before the first permit restriction (permit, permit_mynetworks,
 *    permit_sasl_authenticated, ...): a permit ends the list, so mail it
 *    accepts would never be counted.  Rejecting restrictions before it
 *    are fine (rejected mail needs no counting).  The same holds for a
 *    master.cf "-o" override of either list (Debian's submission
 *    service), and an smtpd_milters override must keep the milter;
 *  - the route regexp file holds the lines `postfix-config route` prints;
 *  - each member has a master.cf unix transport running smtp, bound
 *    (smtp_bind_address or smtp_bind_address6) to members.NAME.address,
 *    or bound to nothing when the member has no address;
 *  - when an smtpd runs chrooted, every unix socket of postlb lies in the
 *    queue directory and main.cf names it relative to it (the same for
 *    the milter when cleanup, which runs non_smtpd_milters, is chrooted);
 *  - Redis answers, is version 6 or later, runs with hz (configured_hz)
 *    of at least 100 and with maxmemory-policy noeviction: quota keys
 *    carry a TTL, so every volatile-* policy may evict them as well as
 *    every allkeys-* one, and an evicted quota key forgets what a sender
 *    used (member states and overrides, without TTL, go under allkeys-*).
 */
#include "ctl_check.h"

#include "ctl_json.h"
#include "ctl_route.h"
#include "num.h"
#include "route.h"
#include "store_redis.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK_VALUE_MAX 8192 /* a main.cf value as postconf prints it */
#define CHECK_ITEM_MAX 1024  /* one item of a Postfix list */

struct chk {
	const struct config *c;
	const char *pfdir;
	struct json *j; /* NULL: text */
	int nproblems;
	char queue[1024]; /* queue_directory */
	int chrooted;	  /* some smtpd runs chrooted */
	int cleanup_chrooted; /* cleanup runs chrooted (non_smtpd_milters) */
	int milter_in_main; /* no content_filter: the milter is in main.cf */
};

/* One master.cf service as `postconf -M` prints it. */
struct svc {
	char name[256], type[16], chroot[8], command[64];
	char *args; /* the rest of the line */
};

struct svcs {
	struct svc *v;
	size_t n, cap;
	int oom;
};

/* Reports one problem: its id, what is wrong and the fix. */
static void problem(struct chk *k, const char *id, const char *fix,
		    const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k->nproblems++;
	if (k->j == NULL) {
		printf("%s: %s; fix: %s\n", id, msg, fix);
		return;
	}
	json_obj_open(k->j, NULL);
	json_str(k->j, "id", id);
	json_str(k->j, "problem", msg);
	json_str(k->j, "fix", fix);
	json_obj_close(k->j);
}

static void on_value_line(void *arg, char *line)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, CHECK_VALUE_MAX - n, "%s%s", n ? " " : "", line);
}

/* main.cf's NAME, $names expanded, into out (CHECK_VALUE_MAX bytes). */
static int pf_value(const struct chk *k, const char *name, char *out)
{
	out[0] = '\0';
	return ctl_postconf(k->pfdir, "-hx", name, on_value_line, out);
}

/*
 * The next item of a Postfix list value at *pos (separators: white space
 * and commas; "{ ... }" is one item, braces kept).  Returns 0 at the end.
 */
static int pf_item(const char *s, size_t *pos, char *out, size_t outsz)
{
	size_t i = *pos, start, depth = 0;

	while (s[i] == ' ' || s[i] == '\t' || s[i] == ',' || s[i] == '\n')
		i++;
	if (s[i] == '\0')
		return 0;
	start = i;
	if (s[i] == '{') {
		for (; s[i] != '\0'; i++) {
			depth += s[i] == '{';
			depth -= s[i] == '}';
			if (depth == 0) {
				i++;
				break;
			}
		}
	} else {
		while (s[i] != '\0' && s[i] != ' ' && s[i] != '\t' &&
		       s[i] != ',' && s[i] != '\n' && s[i] != '{')
			i++;
	}
	snprintf(out, outsz, "%.*s", (int)(i - start), s + start);
	*pos = i;
	return 1;
}

/*
 * How Postfix may name a postlb socket: addr in config syntax ("unix:/p",
 * "tcp:host:port", "inet:port@host") into names[0] (absolute or inet
 * host:port) and names[1] (unix: relative to the queue directory, when it
 * lies inside it; else "").
 */
static void pf_names(const struct chk *k, const char *addr, char names[2][512])
{
	size_t ql = strlen(k->queue);
	const char *at;

	names[1][0] = '\0';
	if (strncmp(addr, "unix:", 5) == 0) {
		snprintf(names[0], 512, "%s", addr);
		if (ql > 0 && strncmp(addr + 5, k->queue, ql) == 0 &&
		    addr[5 + ql] == '/')
			snprintf(names[1], 512, "unix:%s", addr + 6 + ql);
	} else if (strncmp(addr, "tcp:", 4) == 0) {
		snprintf(names[0], 512, "inet:%s", addr + 4);
	} else if (strncmp(addr, "inet:", 5) == 0 &&
		   (at = strchr(addr, '@')) != NULL) {
		snprintf(names[0], 512, "inet:%s:%.*s", at + 1,
			 (int)(at - addr - 5), addr + 5);
	} else {
		snprintf(names[0], 512, "%s", addr);
	}
}

/*
 * Whether text names the socket: 1 by names[0], 2 by names[1], 0 not at
 * all.  A name counts only as a whole word of the list.
 */
static int pf_names_in(const char *text, char names[2][512])
{
	for (int n = 0; n < 2; n++) {
		size_t len = strlen(names[n]);
		const char *p = text;
		if (len == 0)
			continue;
		while ((p = strstr(p, names[n])) != NULL) {
			char b = p == text ? ' ' : p[-1], a = p[len];
			if (strchr(" \t,{", b) != NULL && strchr(" \t,}", a) != NULL)
				return n + 1;
			p += len;
		}
	}
	return 0;
}

/*
 * A chrooted smtpd (cleanup, for non_smtpd_milters) finds a socket only by
 * its name relative to the queue directory; where says where to fix it.
 */
static void check_named_relative(struct chk *k, const char *what,
				 const char *where, int how,
				 char names[2][512])
{
	int chrooted = strcmp(what, "non_smtpd_milters") == 0
			   ? k->cleanup_chrooted
			   : k->chrooted;
	char fix[1200];

	if (!chrooted || how != 1 || strncmp(names[0], "unix:", 5) != 0)
		return;
	if (names[1][0] == '\0')
		return; /* outside the queue: check_chroot says so */
	snprintf(fix, sizeof(fix), "name it %s in %s, then postfix reload",
		 names[1], where);
	problem(k, "socket-chroot", fix,
		"%s names %s by its absolute path, which a chrooted %s looks "
		"up inside %s",
		what, names[0],
		strcmp(what, "non_smtpd_milters") == 0 ? "cleanup" : "smtpd",
		k->queue);
}

static void check_milter(struct chk *k)
{
	static const char *const params[] = {"smtpd_milters",
					     "non_smtpd_milters"};
	char *v = malloc(CHECK_VALUE_MAX), names[2][512], fix[1200];
	int how;

	if (v == NULL)
		return;
	pf_names(k, k->c->milter_listen, names);
	if (pf_value(k, "content_filter", v) == 0 && v[0] != '\0') {
		/* routed after the scan: on the re-injection smtpd */
		v[0] = '\0';
		ctl_postconf(k->pfdir, "-P", NULL, on_value_line, v);
		if (!pf_names_in(v, names))
			problem(k, "milter-missing",
				"postlbctl postfix-config reinject prints the "
				"lines for postconf -P",
				"main.cf has a content_filter, and no smtpd "
				"in %s/master.cf has postlb-milter (%s) in an "
				"smtpd_milters override",
				k->pfdir, names[names[1][0] ? 1 : 0]);
		free(v);
		return;
	}
	k->milter_in_main = 1;
	for (size_t i = 0; i < 2; i++) {
		if (pf_value(k, params[i], v) < 0)
			continue;
		how = pf_names_in(v, names);
		snprintf(fix, sizeof(fix),
			 "add { %s, default_action=accept } to %s in "
			 "%s/main.cf (postlbctl postfix-config main), then "
			 "postfix reload",
			 names[names[1][0] ? 1 : 0], params[i], k->pfdir);
		if (how == 0)
			problem(k, "milter-missing", fix,
				"%s does not name postlb-milter (%s): %s",
				params[i], names[names[1][0] ? 1 : 0],
				i == 0 ? "mail received by SMTP is not routed"
				       : "mail submitted with sendmail is not "
					 "routed");
		else {
			char where[600];
			snprintf(where, sizeof(where), "%s in %s/main.cf",
				 params[i], k->pfdir);
			check_named_relative(k, params[i], where, how, names);
		}
	}
	free(v);
}

/*
 * Checks one restriction list v, main.cf's param or, with svc, the
 * "-o param=" override of master.cf service svc: check_policy_service
 * with a policyd address, before the first permit.
 */
static void check_policy_value(struct chk *k, const char *param,
			       const char *svc, const char *v)
{
	char item[CHECK_ITEM_MAX], names[2][512], where[600], fix[1600];
	char first_permit[CHECK_ITEM_MAX] = "";
	size_t pos = 0;
	int found = 0, after_permit = 0, how = 0;

	if (svc != NULL)
		snprintf(where, sizeof(where), "the -o %s override of %s in "
					       "%s/master.cf",
			 param, svc, k->pfdir);
	else
		snprintf(where, sizeof(where), "%s in %s/main.cf", param,
			 k->pfdir);
	while (!found && pf_item(v, &pos, item, sizeof(item))) {
		if (strcmp(item, "check_policy_service") == 0 &&
		    pf_item(v, &pos, item, sizeof(item))) {
			for (size_t i = 0; i < k->c->nlisten && !how; i++) {
				pf_names(k, k->c->listen[i], names);
				how = pf_names_in(item, names);
			}
			found = how != 0;
			after_permit = found && first_permit[0] != '\0';
		} else if (first_permit[0] == '\0' &&
			   strncmp(item, "permit", 6) == 0) {
			snprintf(first_permit, sizeof(first_permit), "%s", item);
		}
	}
	if (!found) {
		pf_names(k, k->c->nlisten > 0 ? k->c->listen[0] : "", names);
		snprintf(fix, sizeof(fix),
			 "put check_policy_service { %s, timeout=2s, "
			 "default_action=DUNNO } first in %s, then postfix "
			 "reload",
			 names[names[1][0] ? 1 : 0], where);
		problem(k, "policy-missing", fix,
			"%s%s%s has no check_policy_service for postlb-policyd "
			"(%s): quotas are not applied%s",
			param, svc ? " of " : "", svc ? svc : "",
			names[names[1][0] ? 1 : 0],
			strcmp(param, "smtpd_end_of_data_restrictions") == 0
			    ? " to message sizes and recipient counts"
			    : " per recipient");
	} else if (after_permit) {
		snprintf(fix, sizeof(fix),
			 "move check_policy_service before %s in %s, then "
			 "postfix reload",
			 first_permit, where);
		problem(k, "policy-order", fix,
			"check_policy_service comes after %s in %s%s%s: mail "
			"that %s accepts ends the list there and is never "
			"counted",
			first_permit, param, svc ? " of " : "", svc ? svc : "",
			first_permit);
	} else {
		check_named_relative(k, param, where, how, names);
	}
}

static void check_policy_list(struct chk *k, const char *param)
{
	char *v = malloc(CHECK_VALUE_MAX);

	if (v != NULL && pf_value(k, param, v) == 0)
		check_policy_value(k, param, NULL, v);
	free(v);
}

/*
 * One `postconf -Px` line, "SERVICE/TYPE/PARAM = VALUE": an override of a
 * restriction list (Debian's submission service has one) must keep the
 * policy service, and one of smtpd_milters the milter.
 */
static void on_override(void *arg, char *line)
{
	struct chk *k = arg;
	char *eq = strstr(line, " = "), *slash, names[2][512], fix[1200];

	if (eq == NULL)
		return;
	*eq = '\0';
	if ((slash = strrchr(line, '/')) == NULL)
		return;
	*slash = '\0';
	if (strcmp(slash + 1, "smtpd_recipient_restrictions") == 0 ||
	    strcmp(slash + 1, "smtpd_end_of_data_restrictions") == 0) {
		check_policy_value(k, slash + 1, line, eq + 3);
		return;
	}
	if (strcmp(slash + 1, "smtpd_milters") != 0 || !k->milter_in_main)
		return;
	pf_names(k, k->c->milter_listen, names);
	if (pf_names_in(eq + 3, names))
		return;
	snprintf(fix, sizeof(fix),
		 "add %s to the -o smtpd_milters override of %s in "
		 "%s/master.cf, or remove the override, then postfix reload",
		 names[names[1][0] ? 1 : 0], line, k->pfdir);
	problem(k, "milter-missing", fix,
		"service %s overrides smtpd_milters without postlb-milter: "
		"mail it receives is not routed",
		line);
}

/* Reads `postconf -M` lines into services. */
static void on_service(void *arg, char *line)
{
	struct svcs *s = arg;
	struct svc *x;
	int off = 0;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 32;
		struct svc *v = realloc(s->v, cap * sizeof(*v));
		if (v == NULL) {
			s->oom = 1;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	x = &s->v[s->n];
	memset(x, 0, sizeof(*x));
	if (sscanf(line, "%255s %15s %*s %*s %7s %*s %*s %63s %n", x->name,
		   x->type, x->chroot, x->command, &off) < 4)
		return;
	x->args = strdup(off > 0 ? line + off : "");
	if (x->args == NULL) {
		s->oom = 1;
		return;
	}
	s->n++;
}

/* The value of "-o NAME=VALUE" in args into out ("" when absent). */
static void svc_option(const char *args, const char *name, char *out,
		       size_t outsz)
{
	size_t len = strlen(name);
	const char *p = args;

	out[0] = '\0';
	while ((p = strstr(p, name)) != NULL) {
		if ((p == args || p[-1] == ' ') && p[len] == '=') {
			snprintf(out, outsz, "%.*s", (int)strcspn(p + len + 1, " "),
				 p + len + 1);
			return;
		}
		p += len;
	}
}

static void check_member(struct chk *k, const struct svcs *s,
			 const struct cfg_member *m)
{
	char bind[256], bind6[256], fix[1200];
	const struct svc *x = NULL;
	const char *got;

	for (size_t i = 0; i < s->n && x == NULL; i++)
		if (strcmp(s->v[i].name, m->name) == 0 &&
		    strcmp(s->v[i].type, "unix") == 0)
			x = &s->v[i];
	snprintf(fix, sizeof(fix),
		 "add the lines postlbctl postfix-config master prints for "
		 "%s to %s/master.cf, then postfix reload",
		 m->name, k->pfdir);
	if (x == NULL) {
		problem(k, "transport-missing", fix,
			"member %s has no transport in %s/master.cf: "
			"mail routed to it stays deferred (mail transport "
			"unavailable)",
			m->name, k->pfdir);
		return;
	}
	if (strcmp(x->command, "smtp") != 0) {
		problem(k, "transport-command", fix,
			"transport %s runs %s, not smtp", m->name, x->command);
		return;
	}
	svc_option(x->args, "smtp_bind_address", bind, sizeof(bind));
	svc_option(x->args, "smtp_bind_address6", bind6, sizeof(bind6));
	got = bind[0] ? bind : bind6;
	if (m->address != NULL ? strcmp(got, m->address) != 0 : got[0] != '\0')
		problem(k, "transport-bind", fix,
			"transport %s binds to %s, member %s has address %s",
			m->name, got[0] ? got : "no address", m->name,
			m->address ? m->address : "none");
}

/* A unix socket outside the queue directory, seen by a chrooted smtpd. */
static void check_chroot_addr(struct chk *k, const char *svc,
			      const char *addr, const char *kind)
{
	size_t ql = strlen(k->queue);
	const char *p = addr + 5;
	char fix[4096];

	if (strncmp(addr, "unix:", 5) != 0 ||
	    (ql > 0 && strncmp(p, k->queue, ql) == 0 && p[ql] == '/'))
		return;
	/* the paths are cut at 1023 bytes; the fix text is cut to fit */
	snprintf(fix, sizeof(fix),
		 "listen on a socket under %s (e.g. unix:%s/postlb/%s) or set "
		 "the chroot column of %s to n in %s/master.cf",
		 k->queue, k->queue, kind, svc, k->pfdir);
	problem(k, "socket-chroot", fix,
		"service %s runs chrooted in %s, and the %s socket %s "
		"is outside it: smtpd cannot reach it",
		svc, k->queue, kind, addr);
}

static void check_chroot(struct chk *k, const char *svc)
{
	if (k->c->default_pool >= 0)
		check_chroot_addr(k, svc, k->c->milter_listen, "milter");
	for (size_t i = 0; i < k->c->nlisten; i++)
		check_chroot_addr(k, svc, k->c->listen[i], "policy");
}

static void check_master(struct chk *k)
{
	struct svcs s = {0};

	if (ctl_postconf(k->pfdir, "-M", NULL, on_service, &s) < 0 || s.oom) {
		problem(k, "postconf-failed", "check that postconf works",
			"postconf -c %s -M failed", k->pfdir);
		goto out;
	}
	for (size_t i = 0; i < s.n; i++)
		if (strcmp(s.v[i].command, "smtpd") == 0 &&
		    strcmp(s.v[i].chroot, "y") == 0) {
			if (!k->chrooted)
				check_chroot(k, s.v[i].name);
			k->chrooted = 1;
		}
	for (size_t i = 0; i < s.n; i++)
		if (strcmp(s.v[i].command, "cleanup") == 0 &&
		    strcmp(s.v[i].chroot, "y") == 0) {
			if (!k->chrooted && k->c->default_pool >= 0)
				check_chroot_addr(k, s.v[i].name,
						  k->c->milter_listen, "milter");
			k->cleanup_chrooted = 1;
		}
	if (k->c->default_pool >= 0)
		for (size_t i = 0; i < k->c->nmembers; i++)
			check_member(k, &s, &k->c->members[i]);
out:
	for (size_t i = 0; i < s.n; i++)
		free(s.v[i].args);
	free(s.v);
}

/* Whether every line of want is a line of the file at path. */
static int file_has_lines(FILE *f, const char *want)
{
	char line[4096];
	size_t nwant = 0, nfound = 0;
	const char *p, *nl;

	for (p = want; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		nwant++;
		rewind(f);
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			if (strlen(line) == (size_t)(nl - p) &&
			    strncmp(line, p, (size_t)(nl - p)) == 0) {
				nfound++;
				break;
			}
		}
	}
	return nwant == nfound;
}

static void check_route(struct chk *k)
{
	char *v = malloc(CHECK_VALUE_MAX), item[CHECK_ITEM_MAX], fix[1600];
	char *want = NULL, path[CHECK_ITEM_MAX] = "";
	size_t wantsz = 0, pos = 0;
	FILE *mem, *f;
	int ok = 0;

	mem = open_memstream(&want, &wantsz);
	if (v == NULL || mem == NULL || pf_value(k, "milter_header_checks", v) < 0)
		goto out;
	ctl_route_regexp(k->c, mem);
	fclose(mem);
	mem = NULL;
	while (!ok && pf_item(v, &pos, item, sizeof(item))) {
		const char *colon = strchr(item, ':');
		if (colon == NULL || (strncmp(item, "regexp:", 7) != 0 &&
				      strncmp(item, "pcre:", 5) != 0))
			continue;
		if ((f = fopen(colon + 1, "r")) == NULL)
			continue;
		if (path[0] == '\0')
			snprintf(path, sizeof(path), "%s", colon + 1);
		ok = file_has_lines(f, want);
		fclose(f);
	}
	if (ok)
		goto out;
	snprintf(fix, sizeof(fix),
		 "postlbctl postfix-config route > %s and set "
		 "milter_header_checks = regexp:%s in %s/main.cf, then "
		 "postfix reload",
		 path[0] ? path : "DIR/postlb_route.regexp",
		 path[0] ? path : "DIR/postlb_route.regexp", k->pfdir);
	if (path[0] == '\0')
		problem(k, "route-regexp-missing", fix,
			"milter_header_checks names no readable regexp "
			"file: the route header routes nothing");
	else
		problem(k, "route-regexp-stale", fix,
			"%s does not hold the route lines for the members "
			"configured now (postlbctl postfix-config route): "
			"mail for a new member goes by the default route, or "
			"mail for a removed one is deferred",
			path);
out:
	if (mem != NULL)
		fclose(mem);
	free(want);
	free(v);
}

struct rinfo {
	char version[64], policy[64];
	long long hz, configured_hz, maxmemory;
};

static void on_info(void *arg, const char *f, const char *v)
{
	struct rinfo *r = arg;

	if (strcmp(f, "redis_version") == 0)
		snprintf(r->version, sizeof(r->version), "%s", v);
	else if (strcmp(f, "hz") == 0)
		r->hz = atoll(v);
	else if (strcmp(f, "configured_hz") == 0)
		r->configured_hz = atoll(v);
	else if (strcmp(f, "maxmemory_policy") == 0)
		snprintf(r->policy, sizeof(r->policy), "%s", v);
	else if (strcmp(f, "maxmemory") == 0)
		r->maxmemory = atoll(v);
}

static void check_redis(struct chk *k)
{
	struct store_sync *s;
	struct rinfo r = {.hz = -1, .configured_hz = -1};
	char err[512];
	long long major = 0, hz;

	if (store_sync_open(k->c, 2000, &s, err, sizeof(err)) < 0) {
		problem(k, "redis-unreachable",
			"start Redis, or correct redis.address (and "
			"redis.password) in the postlb config",
			"%s: quotas answer from the fail mode and routing from "
			"the last known states",
			err);
		return;
	}
	if (store_sync_info(s, "server", on_info, &r) < 0 ||
	    store_sync_info(s, "memory", on_info, &r) < 0) {
		problem(k, "redis-unreachable", "check Redis's log",
			"INFO failed: %s", store_sync_error(s));
		store_sync_close(s);
		return;
	}
	store_sync_close(s);
	if (num_parse_ll(r.version, strcspn(r.version, "."), 0, 1000, &major) < 0 ||
	    major < 6)
		problem(k, "redis-version", "upgrade Redis to 6 or later",
			"Redis %s is older than 6", r.version);
	hz = r.configured_hz >= 0 ? r.configured_hz : r.hz;
	if (hz < 100)
		problem(k, "redis-hz",
			"set hz 100 in redis.conf (or CONFIG SET hz 100)",
			"Redis runs with hz %lld: expiring short-lived quota "
			"keys stalls it for up to 25 ms; hz 100 keeps the "
			"stalls near 5 ms",
			hz);
	if (strcmp(r.policy, "noeviction") != 0)
		problem(k, "redis-eviction",
			"set maxmemory-policy noeviction in redis.conf (and "
			"size maxmemory for the keys postlb keeps)",
			"maxmemory-policy is %s%s: quota keys carry a TTL, so "
			"Redis may evict them (volatile-* and allkeys-* "
			"alike) and a sender's usage is forgotten; with "
			"noeviction a full Redis refuses writes and policyd "
			"answers from its fail mode",
			r.policy, r.maxmemory == 0 ? " (maxmemory 0: not yet "
						     "in effect)"
						   : "");
}

int ctl_check(const struct config *c, int argc, char **argv)
{
	struct chk k = {.c = c, .pfdir = "/etc/postfix"};
	struct json j;
	char *q = malloc(CHECK_VALUE_MAX);
	int opt;

	if (q == NULL)
		return 1;

	optind = 1;
	while ((opt = getopt(argc, argv, "C:")) != -1) {
		if (opt != 'C') {
			fprintf(stderr, "usage: postlbctl check [-C "
					"POSTFIX_DIR]\n");
			free(q);
			return 2;
		}
		k.pfdir = optarg;
	}
	if (optind != argc) {
		fprintf(stderr, "usage: postlbctl check [-C POSTFIX_DIR]\n");
		free(q);
		return 2;
	}
	if (ctl_json) {
		k.j = &j;
		json_init(&j, stdout);
		json_obj_open(&j, NULL);
		json_str(&j, "config", c->path);
		json_str(&j, "postfix_dir", k.pfdir);
		json_arr_open(&j, "problems");
	}
	if (pf_value(&k, "queue_directory", q) == 0)
		snprintf(k.queue, sizeof(k.queue), "%s", q);
	free(q);
	if (k.queue[0] == '\0') {
		problem(&k, "postconf-failed",
			"install Postfix, or give its configuration "
			"directory with -C",
			"postconf -c %s cannot read Postfix's configuration",
			k.pfdir);
	} else {
		check_master(&k);
		if (c->default_pool >= 0) {
			check_milter(&k);
			check_route(&k);
		}
		check_policy_list(&k, "smtpd_recipient_restrictions");
		check_policy_list(&k, "smtpd_end_of_data_restrictions");
		ctl_postconf(k.pfdir, "-Px", NULL, on_override, &k);
	}
	check_redis(&k);
	if (k.j != NULL) {
		json_arr_close(&j);
		json_int(&j, "count", k.nproblems);
		json_bool(&j, "ok", k.nproblems == 0);
		json_obj_close(&j);
		json_end(&j);
	} else if (k.nproblems == 0) {
		printf("no problem found\n");
	}
	return k.nproblems > 0;
}
