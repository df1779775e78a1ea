/*
 * config_lint: checks on the text of postlb.conf that libconfig's parser
 * cannot make, and reading the file with the reason of any failure.
 *
 * libconfig joins adjacent string literals ("a" "b" is "ab"), so a missing
 * comma in a list silently merges two values; cfg_lint_text() finds such
 * a pair.  It is a small lexer over (text, len): comments (#, //, block
 * comments) and strings with backslash escapes; it allocates nothing.
 * cfg_read_text() reads a whole file, at most CONFIG_FILE_MAX bytes.
 */
#include "config_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned cfg_lint_text(const char *t, size_t len)
{
	unsigned line = 1;
	int after_str = 0; /* only blanks and comments since a string ended */
	size_t i = 0;

	while (i < len) {
		char ch = t[i];

		if (ch == '\n') {
			line++;
			i++;
		} else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f') {
			i++;
		} else if (ch == '#' ||
			   (ch == '/' && i + 1 < len && t[i + 1] == '/')) {
			while (i < len && t[i] != '\n')
				i++;
		} else if (ch == '/' && i + 1 < len && t[i + 1] == '*') {
			for (i += 2; i < len; i++) {
				if (t[i] == '\n')
					line++;
				else if (t[i] == '*' && i + 1 < len &&
					 t[i + 1] == '/')
					break;
			}
			i += 2;
		} else if (ch == '"') {
			if (after_str)
				return line;
			for (i++; i < len && t[i] != '"'; i++) {
				if (t[i] == '\n')
					line++;
				else if (t[i] == '\\' && i + 1 < len)
					i++;
			}
			i++;
			after_str = 1;
		} else {
			after_str = 0;
			i++;
		}
	}
	return 0;
}

int cfg_read_text(const char *path, char **out, size_t *outlen, char *err,
		  size_t errsz)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL) {
		snprintf(err, errsz, "%s: cannot read file: %s", path,
			 strerror(errno));
		return -1;
	}
	buf = malloc(CONFIG_FILE_MAX + 2);
	if (buf == NULL)
		abort();
	n = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errsz, "%s: cannot read file: %s", path,
			 strerror(errno));
		goto fail;
	}
	if (n > CONFIG_FILE_MAX) {
		snprintf(err, errsz, "%s: larger than %d bytes", path,
			 CONFIG_FILE_MAX);
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
fail:
	fclose(f);
	free(buf);
	return -1;
}
