/*
 * smtpr: the SMTP reply reader of the active health checks (see smtpr.h).
 */
#include "smtpr.h"

#include <string.h>
#include <strings.h>

/* Copies the printable bytes of s (n) into out (outsz), NUL-terminated. */
static void smtpr_text(const char *s, size_t n, char *out, size_t outsz)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < outsz; i++)
		out[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[j] = '\0';
}

/* 1 if the line's text (after "250-" / "250 ") is the STARTTLS keyword. */
static int smtpr_is_starttls(const char *t, size_t n)
{
	return n >= 8 && strncasecmp(t, "STARTTLS", 8) == 0 &&
	       (n == 8 || t[8] == ' ');
}

long smtpr_parse(const char *buf, size_t len, const struct smtpr_limits *lim,
		 struct smtpr_reply *out)
{
	struct smtpr_reply r;
	size_t pos = 0;
	int code = -1;

	memset(&r, 0, sizeof(r));
	for (;;) {
		const char *line = buf + pos, *nl;
		size_t n, avail = len - pos;
		int c;
		if (r.lines == lim->lines_max)
			return -SMTPR_ETOOMANY;
		nl = memchr(line, '\n', avail);
		n = nl ? (size_t)(nl - line) : avail;
		if (memchr(line, '\0', n) != NULL)
			return -SMTPR_EMALFORMED;
		if (n > 0 && line[n - 1] == '\r' && nl != NULL)
			n--;
		if (n > lim->line_max)
			return -SMTPR_ETOOLONG;
		if (nl == NULL)
			return 0; /* a line is still coming */
		if (n < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
		    line[1] > '9' || line[2] < '0' || line[2] > '9' ||
		    (n > 3 && line[3] != ' ' && line[3] != '-'))
			return -SMTPR_EMALFORMED;
		c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + line[2] - '0';
		if (code != -1 && c != code)
			return -SMTPR_EMALFORMED;
		code = c;
		if (r.lines == 0)
			smtpr_text(line + (n > 4 ? 4 : n), n > 4 ? n - 4 : 0,
				   r.text, sizeof(r.text));
		else if (n > 4 && smtpr_is_starttls(line + 4, n - 4))
			r.starttls = 1;
		r.lines++;
		pos = (size_t)(nl - buf) + 1;
		if (n == 3 || line[3] == ' ')
			break;
		if (pos == len)
			return 0;
	}
	r.code = code;
	*out = r;
	return (long)pos;
}

const char *smtpr_strerror(int rc)
{
	switch (rc < 0 ? -rc : rc) {
	case SMTPR_ETOOLONG:
		return "reply line too long";
	case SMTPR_ETOOMANY:
		return "too many reply lines";
	case SMTPR_EMALFORMED:
		return "malformed reply";
	default:
		return "unknown error";
	}
}
