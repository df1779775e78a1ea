/*
 * test_follow: policyd/follow.c on real files in a temporary directory,
 * polled by hand (no event loop): no state starts at the end, appended
 * lines come once and whole, a partial line waits for its newline, an
 * over-long line is skipped, truncation starts over, rotation reads the
 * old file to its end (also what it gets just before the writer switches)
 * and then the new one from 0, the state file resumes
 * exactly where a stop left off (also across a rotation while stopped),
 * a refused line is handed over again, and each line comes with the
 * position after it (offset, and truncations seen as a generation).
 */
#include "follow.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64], logp[128], statep[128], seen[4096];
static int refuse; /* refuse lines while > 0 */

static struct follow_pos last; /* position after the last line taken */

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

static void append(const char *path, const char *text)
{
	FILE *fp = fopen(path, "a");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static struct follow *start(void)
{
	struct follow *f = follow_new(NULL, logp, statep, 16, on_line, NULL);
	assert_non_null(f);
	return f;
}

/*
 * stat() of follow.c, wrapped (-Wl,--wrap=stat): when race_path is set,
 * the next stat first appends race_text to it, as a writer that adds a
 * last line to the old file just before it switches to the new one.
 */
int __real_stat(const char *path, struct stat *sb);
int __wrap_stat(const char *path, struct stat *sb);
static const char *race_path, *race_text;

static void append(const char *path, const char *text);

int __wrap_stat(const char *path, struct stat *sb)
{
	if (race_path != NULL) {
		const char *p = race_path;
		race_path = NULL;
		append(p, race_text);
	}
	return __real_stat(path, sb);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_follow.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(logp, sizeof(logp), "%s/mail.log", dir);
	snprintf(statep, sizeof(statep), "%s/state", dir);
	seen[0] = '\0';
	refuse = 0;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_follow(void **state)
{
	struct follow *f;
	struct follow_stats st;
	char old[160];

	(void)state;
	append(logp, "history\n");
	f = start();
	follow_poll(f);
	assert_string_equal(seen, ""); /* no state: history is not read */
	append(logp, "a\nb\npart");
	follow_poll(f);
	assert_string_equal(seen, "a|b|");
	assert_int_equal(last.off, 12); /* "history\na\nb\n" */
	assert_int_equal(last.gen, 0);
	append(logp, "ial\n0123456789abcdefXYZ\nc\n");
	follow_poll(f);
	follow_poll(f);
	assert_string_equal(seen, "a|b|partial|c|"); /* 19 bytes: skipped */
	follow_get_stats(f, &st);
	assert_int_equal(st.too_long, 1);
	assert_int_equal(st.lines, 4);

	/* truncation: start over */
	assert_int_equal(truncate(logp, 0), 0);
	append(logp, "t\n");
	follow_poll(f);
	follow_poll(f);
	assert_string_equal(seen, "a|b|partial|c|t|");
	assert_int_equal(last.off, 2);
	assert_int_equal(last.gen, 1); /* one truncation of this file */

	/* rotation: the old file's last lines, then the new file */
	snprintf(old, sizeof(old), "%s.1", logp);
	assert_int_equal(rename(logp, old), 0);
	append(old, "late\n");
	append(logp, "new\n");
	follow_poll(f);
	follow_poll(f);
	assert_string_equal(seen, "a|b|partial|c|t|late|new|");
	assert_int_equal(last.gen, 0); /* a new file */
	follow_get_stats(f, &st);
	assert_int_equal(st.rotations, 1);
	assert_int_equal(st.truncations, 1);

	/* a line the old file gets just before the switch is not lost */
	assert_int_equal(rename(logp, old), 0);
	append(logp, "new2\n");
	race_path = old;
	race_text = "race\n";
	follow_poll(f);
	follow_poll(f);
	assert_string_equal(seen, "a|b|partial|c|t|late|new|race|new2|");
	strcpy(seen, "a|b|partial|c|t|late|new|");

	/* a refused line comes again */
	append(logp, "r\n");
	refuse = 1;
	follow_poll(f);
	refuse = 0;
	follow_poll(f);
	assert_string_equal(seen, "a|b|partial|c|t|late|new|r|");

	/* stop, lines written meanwhile, start: resumed exactly */
	follow_free(f);
	append(logp, "while\nstopped\n");
	seen[0] = '\0';
	f = start();
	follow_poll(f);
	assert_string_equal(seen, "while|stopped|");
	follow_free(f);

	/* rotated while stopped: the new file from 0 */
	assert_int_equal(rename(logp, old), 0);
	append(logp, "fresh\n");
	seen[0] = '\0';
	f = start();
	follow_poll(f);
	assert_string_equal(seen, "fresh|");
	follow_free(f);

	/* a state that is no state: start at the end */
	assert_int_equal(truncate(statep, 0), 0);
	append(statep, "junk\n");
	append(logp, "x\n");
	seen[0] = '\0';
	f = start();
	follow_poll(f);
	assert_string_equal(seen, "");
	follow_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
