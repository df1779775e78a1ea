/*
 * ctl_postfix: `postlbctl postfix-config`, the Postfix side of the members:
 * master.cf transports, the main.cf milter lines, the route and strip
 * regexp files.
 *
 * A site that scans outbound mail with a content filter (amavis and the
 * like: main.cf content_filter, the scanned mail re-injected on a second
 * smtpd) must run postlb after the scan: a FILTER from the route header
 * replaces content_filter, so a header added on the first pass would skip
 * the scan.  When `postconf -c PFDIR -h content_filter` is set, the main
 * part therefore puts no milter on the first pass, and the reinject part
 * prints, for `postconf -P`, the milter of the re-injection smtpd (the
 * service with an empty content_filter override), taking no_milters off
 * its receive_override_options.  Reads Postfix's configuration only
 * through postconf; writes nothing.
 */
#include "ctl_route.h"

#include "route.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The milter address as Postfix names it (relative in its queue dir). */
static const char *pf_milter_addr(const struct config *c, char *buf,
				  size_t bufsz)
{
	const char *q = "/var/spool/postfix/";

	if (strncmp(c->milter_listen, "unix:", 5) == 0 &&
	    strncmp(c->milter_listen + 5, q, strlen(q)) == 0)
		snprintf(buf, bufsz, "unix:%s", c->milter_listen + 5 + strlen(q));
	else
		snprintf(buf, bufsz, "%s", c->milter_listen);
	return buf;
}

int ctl_postconf(const char *pfdir, const char *opt, const char *name,
		 void (*line_cb)(void *, char *), void *arg)
{
	const char *argv[] = {"postconf", "-c", pfdir, opt, name, NULL};
	char line[2048];
	int fds[2], status = 0, devnull;
	pid_t pid;
	FILE *p;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		dup2(fds[1], 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		close(fds[0]);
		execvp("postconf", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0 || (p = fdopen(fds[0], "r")) == NULL) {
		close(fds[0]);
		if (pid > 0)
			waitpid(pid, &status, 0);
		return -1;
	}
	while (fgets(line, sizeof(line), p) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		line_cb(arg, line);
	}
	fclose(p);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void pf_first_line(void *arg, char *line)
{
	char *out = arg;

	if (out[0] == '\0')
		snprintf(out, 512, "%s", line);
}

/* main.cf's content_filter into out (512 bytes; "" when unset). */
static void pf_content_filter(const char *pfdir, char *out)
{
	out[0] = '\0';
	if (pfdir != NULL)
		ctl_postconf(pfdir, "-h", "content_filter", pf_first_line, out);
}

/* The re-injection smtpd found in `postconf -P` (reinject part). */
struct pf_reinject {
	char service[256];   /* "127.0.0.1:10025/inet" */
	char overrides[512]; /* its receive_override_options, if any */
	int found_overrides;
	char lines[64][600]; /* every -o line, to find the overrides later */
	size_t nlines;
};

static void pf_reinject_line(void *arg, char *line)
{
	struct pf_reinject *r = arg;
	char *eq = strstr(line, " = "), *slash;

	if (r->nlines < 64)
		snprintf(r->lines[r->nlines++], sizeof(r->lines[0]), "%s", line);
	/* "SERVICE/TYPE/content_filter =" with an empty value */
	if (r->service[0] == '\0' && eq == NULL &&
	    (slash = strstr(line, "/content_filter =")) != NULL &&
	    slash[strlen("/content_filter =")] == '\0')
		snprintf(r->service, sizeof(r->service), "%.*s",
			 (int)(slash - line), line);
}

/* Prints o without the no_milters item (comma or space separated). */
static void pf_without_no_milters(const char *o)
{
	char buf[512], *tok, *save = NULL;
	int first = 1;

	snprintf(buf, sizeof(buf), "%s", o);
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "no_milters") == 0)
			continue;
		printf("%s%s", first ? "" : ",", tok);
		first = 0;
	}
	printf("\n");
}

/* The reinject part: lines for `postconf -P`; 1 when none is found. */
static int pf_reinject(const struct config *c, const char *pfdir)
{
	static struct pf_reinject r;
	char addr[300], want[300];

	memset(&r, 0, sizeof(r));
	if (ctl_postconf(pfdir, "-P", NULL, pf_reinject_line, &r) < 0 ||
	    r.service[0] == '\0') {
		fprintf(stderr,
			"postlbctl: no service in %s/master.cf has an empty "
			"content_filter override (-o content_filter=): set "
			"smtpd_milters on the smtpd where the content filter "
			"hands scanned mail back\n",
			pfdir);
		return 1;
	}
	pf_milter_addr(c, addr, sizeof(addr));
	/* postconf -P takes no white space in a value */
	printf("%s/smtpd_milters={%s,default_action=accept}\n", r.service,
	       addr);
	snprintf(want, sizeof(want), "%s/receive_override_options = ",
		 r.service);
	for (size_t i = 0; i < r.nlines; i++)
		if (strncmp(r.lines[i], want, strlen(want)) == 0 &&
		    strstr(r.lines[i], "no_milters") != NULL) {
			printf("%s/receive_override_options=", r.service);
			pf_without_no_milters(r.lines[i] + strlen(want));
		}
	return 0;
}

/* Only the members this host may use (the shared ones and its own): a
 * member bound to another host's address has no transport here. */
static void pf_master(const struct config *c, const char *dir)
{
	for (size_t i = 0; i < c->nmembers; i++) {
		const struct cfg_member *m = &c->members[i];
		if (!m->here)
			continue;
		printf("%s unix - - - - - smtp\n", m->name);
		printf("  -o syslog_name=postfix-%s\n", m->name);
		if (m->address)
			printf("  -o smtp_bind_address%s=%s\n",
			       strchr(m->address, ':') ? "6" : "", m->address);
		if (m->helo)
			printf("  -o smtp_helo_name=%s\n", m->helo);
		printf("  -o smtp_header_checks=regexp:%s/postlb_strip.regexp\n",
		       dir);
	}
}

static void pf_main(const struct config *c, const char *dir,
		    const char *pfdir)
{
	char addr[300], cf[512];

	pf_milter_addr(c, addr, sizeof(addr));
	pf_content_filter(pfdir, cf);
	if (cf[0] != '\0')
		printf("# content_filter = %s: a content filter scans this "
		       "mail, so postlb\n# routes after the scan, on the "
		       "smtpd that receives the scanned mail\n# back "
		       "(postlbctl postfix-config reinject prints its "
		       "settings for\n# postconf -P).  No milter on the "
		       "first pass: a route header added there\n# would "
		       "replace content_filter and skip the scan.\n",
		       cf);
	else
		printf("smtpd_milters = { %s, default_action=accept }\n"
		       "non_smtpd_milters = { %s, default_action=accept }\n",
		       addr, addr);
	printf("milter_header_checks = regexp:%s/postlb_route.regexp\n", dir);
}

void ctl_route_regexp(const struct config *c, FILE *out)
{
	for (int nexthop = 1; nexthop >= 0; nexthop--) {
		const char *sep = "";
		fprintf(out, "/^%s: (", ROUTE_HEADER);
		for (size_t i = 0; i < c->nmembers; i++)
			if (c->members[i].here) {
				fprintf(out, "%s%s", sep, c->members[i].name);
				sep = "|";
			}
		fprintf(out, nexthop ? ") ([^ ]+)$/ FILTER $1:$2\n"
				     : ")$/ FILTER $1:\n");
	}
}

int ctl_postfix_config(const struct config *c, const char *part,
		       const char *dir, const char *pfdir)
{
	int all = strcmp(part, "all") == 0;

	size_t here = 0;

	for (size_t i = 0; i < c->nmembers; i++)
		here += c->members[i].here != 0;
	if (here == 0) {
		fprintf(stderr, "postlbctl: %s defines no members for host "
				"'%s'\n",
			c->path, c->host_name);
		return 1;
	}
	if (pfdir == NULL)
		pfdir = dir;
	if (strcmp(part, "reinject") == 0)
		return pf_reinject(c, pfdir);
	if (strcmp(part, "requeue") == 0) {
		ctl_drain_postfix(c);
		return 0;
	}
	if (!all && strcmp(part, "master") != 0 && strcmp(part, "main") != 0 &&
	    strcmp(part, "route") != 0 && strcmp(part, "strip") != 0) {
		fprintf(stderr, "postlbctl: postfix-config [all|master|main|"
				"route|strip|reinject|requeue] [DIR [POSTFIX_DIR]]\n");
		return 1;
	}
	if (all)
		printf("# ---- master.cf: append to %s/master.cf (one smtp "
		       "transport per member)\n",
		       pfdir);
	if (all || strcmp(part, "master") == 0)
		pf_master(c, dir);
	if (all)
		printf("# ---- main.cf: merge into %s/main.cf; a second "
		       "smtpd_milters line replaces the\n"
		       "# first, so add postlb's milter to the list there, "
		       "after any DKIM signer\n"
		       "# (the route header is stripped on the way out and "
		       "must never be signed)\n",
		       pfdir);
	if (all || strcmp(part, "main") == 0)
		pf_main(c, dir, pfdir);
	if (all)
		printf("# ---- write to %s/postlb_route.regexp (again when "
		       "members change)\n",
		       dir);
	if (all || strcmp(part, "route") == 0)
		ctl_route_regexp(c, stdout);
	if (all)
		printf("# ---- write to %s/postlb_strip.regexp\n", dir);
	if (all || strcmp(part, "strip") == 0)
		printf("/^%s:/ IGNORE\n", ROUTE_HEADER);
	if (all && c->drain_socketmap != NULL) {
		printf("# ---- master.cf: the requeue path of the drain\n");
		ctl_drain_postfix(c);
	}
	if (all)
		printf("# ---- then: postfix reload\n");
	return 0;
}
