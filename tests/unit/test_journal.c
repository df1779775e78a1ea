/*
 * test_journal: policyd/journal.c on journal files written in a temporary
 * directory by systemd-journal-remote (from the journal export format),
 * polled by hand: no state starts at the end, new entries come once as
 * "STAMP IDENT[PID]: MESSAGE" lines that logline.c reads (member, kind,
 * time), entries of other facilities are not read, a refused entry comes
 * again, and a restart resumes after the saved cursor.  Skipped when
 * systemd-journal-remote is not installed.
 */
#include "journal.h"
#include "logline.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define REMOTE "/lib/systemd/systemd-journal-remote"

static char dir[64], jdir[96], statep[128], seen[8192];
static int refuse;
static struct follow_pos last;
static unsigned long long usec_base;

static int on_line(void *arg, const char *line, size_t len,
		   const struct follow_pos *after)
{
	(void)arg;
	if (refuse > 0)
		return -1;
	last = *after;
	strncat(seen, line, len);
	strcat(seen, "|");
	return 0;
}

/* Writes one entry (facility fac, message msg) with journal-remote. */
static void entry(int fac, const char *msg, int n)
{
	char path[160], cmd[400];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/e.export", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp,
		"__REALTIME_TIMESTAMP=%llu\n__MONOTONIC_TIMESTAMP=%d\n"
		"_BOOT_ID=0123456789abcdef0123456789abcdef\n"
		"SYSLOG_IDENTIFIER=postfix-m1/smtp\n_PID=123\n"
		"SYSLOG_FACILITY=%d\nMESSAGE=%s\n\n",
		usec_base + (unsigned long long)n * 1000000ULL, n + 1, fac,
		msg);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "%s -o %s/remote.journal %s >/dev/null 2>&1",
		 REMOTE, jdir, path);
	assert_int_equal(system(cmd), 0);
}

#define SENT(q)                                                             \
	q ": to=<a@b.example>, relay=r[192.0.2.1]:25, delay=1, "           \
	  "delays=1/0/0/0, dsn=2.0.0, status=sent (250 ok)"

static void test_journal(void **state)
{
	struct journal *j;
	struct logline l;
	struct follow_stats st;
	char *bar;

	(void)state;
	if (access(REMOTE, X_OK) != 0)
		skip();
	entry(2, SENT("HIST1"), 0);
	j = journal_new(NULL, jdir, statep, 4096, on_line, NULL);
	assert_non_null(j);
	journal_poll(j);
	assert_string_equal(seen, ""); /* no state: history is not read */

	entry(2, SENT("AAA1"), 1);
	entry(3, SENT("DAEMON1"), 2); /* another facility */
	entry(2, SENT("BBB2"), 3);
	journal_poll(j);
	assert_non_null(strstr(seen, "postfix-m1/smtp[123]: AAA1: to=<"));
	assert_null(strstr(seen, "DAEMON1"));
	assert_non_null(strstr(seen, "BBB2"));
	/* sequence numbers: entries 1..4 of one journal (3 was daemon's) */
	assert_true(last.ino > 1);
	assert_int_equal(last.off, 4);
	/* the line is what the parser reads, with the entry's time */
	bar = strchr(seen, '|');
	assert_non_null(bar);
	assert_int_equal(logline_parse(seen, (size_t)(bar - seen),
				       &logline_default_limits, &l),
			 0);
	assert_string_equal(l.member, "m1");
	assert_string_equal(l.queue_id, "AAA1");
	assert_int_equal(l.kind, LOGLINE_SENT);
	assert_int_not_equal(l.time.year, 0);
	assert_int_equal(l.time.utc_off_min, 0);

	/* a refused entry comes again */
	entry(2, SENT("CCC3"), 4);
	refuse = 1;
	journal_poll(j);
	refuse = 0;
	seen[0] = '\0';
	journal_poll(j);
	assert_non_null(strstr(seen, "CCC3"));
	assert_int_equal(strchr(seen, '|') - seen + 1, (long)strlen(seen));

	/* stop, an entry meanwhile, start: resumed after the cursor */
	journal_free(j);
	entry(2, SENT("DDD4"), 5);
	seen[0] = '\0';
	j = journal_new(NULL, jdir, statep, 4096, on_line, NULL);
	assert_non_null(j);
	journal_poll(j);
	assert_non_null(strstr(seen, "DDD4"));
	assert_null(strstr(seen, "CCC3"));
	journal_get_stats(j, &st);
	assert_int_equal(st.lines, 1);
	journal_free(j);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_journal.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(jdir, sizeof(jdir), "%s/j", dir);
	snprintf(statep, sizeof(statep), "%s/state", dir);
	assert_int_equal(mkdir(jdir, 0700), 0);
	usec_base = (unsigned long long)time(NULL) * 1000000ULL;
	seen[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
