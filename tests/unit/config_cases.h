/*
 * config_cases: config helpers shared by the unit tests — loading a config
 * that must be valid, and the table-driven check of invalid configs.  Each case is a config text that must be
 * refused with an error starting "NAME:LINE: " and holding a phrase, and
 * must leave the output pointer untouched.  Include after cmocka.h and
 * config.h; defines static functions only.
 */
#ifndef POSTLB_TEST_CONFIG_CASES_H
#define POSTLB_TEST_CONFIG_CASES_H

#include <stdio.h>
#include <string.h>

struct bad_case {
	const char *what;
	const char *text;
	int line;
	const char *phrase;
};

/* Loads text (named name in errors), which must be valid; fails otherwise. */
__attribute__((unused)) static struct config *
load_valid(const char *name, const char *text)
{
	struct config *c = NULL;
	char err[600] = "";

	if (config_load_string(text, name, &c, err, sizeof(err)) != 0)
		fail_msg("valid config rejected: %s", err);
	assert_non_null(c);
	return c;
}

/* Checks that err starts with "name:LINE: " and holds phrase. */
__attribute__((unused)) static void
check_err_named(const char *name, const char *what,
			    const char *err, int line, const char *phrase)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "%s:%d: ", name, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("%s: \"%s\" does not start with \"%s\"", what, err,
			 prefix);
	if (strstr(err, phrase) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", what, err, phrase);
}

/* Loads every case under name and checks it is refused as described. */
__attribute__((unused)) static void
check_bad_cases(const char *name, const struct bad_case *cases,
			    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct bad_case *t = &cases[i];
		static struct config sentinel_cfg;
		struct config *sentinel = &sentinel_cfg, *c = sentinel;
		char err[600] = "";
		int rc = config_load_string(t->text, name, &c, err, sizeof(err));

		if (rc != -1)
			fail_msg("%s: accepted (rc %d)", t->what, rc);
		if (c != sentinel)
			fail_msg("%s: *out changed on error", t->what);
		check_err_named(name, t->what, err, t->line, t->phrase);
	}
}

#endif
