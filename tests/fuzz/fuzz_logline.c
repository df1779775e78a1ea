/*
 * fuzz_logline: libFuzzer target for the delivery log-line parser.
 *
 * The input is split at its newlines; each line is parsed with
 * logline_parse() under the defaults and under a tiny limit, and the
 * whole input is also given as one journal entry (the part up to the
 * first ':' as the identifier).  Besides the sanitizers, it aborts when
 * a documented contract breaks: a failure leaves the result untouched, a
 * success has a known kind, a member name, NUL-terminated fields within
 * their buffers, and a queue id on every status line.
 */
#include "logline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct logline_limits tiny = {64};

static void check(int rc, const struct logline *l)
{
	if (rc < 0) {
		if (l->kind != (enum logline_kind)0 || l->member[0] != 'Z')
			abort();
		return;
	}
	if (rc != 0 || l->kind < LOGLINE_SENT || l->kind > LOGLINE_TRY)
		abort();
	if (l->member[0] == '\0' || strlen(l->member) >= sizeof(l->member) ||
	    strlen(l->reply) >= sizeof(l->reply) ||
	    strlen(l->domain) >= sizeof(l->domain) ||
	    strlen(l->relay) >= sizeof(l->relay))
		abort();
	if (l->kind != LOGLINE_TRY &&
	    (l->queue_id[0] == '\0' || l->dsn[0] == '\0'))
		abort();
}

static void one(const char *p, size_t n, const struct logline_limits *lim)
{
	struct logline l;

	memset(&l, 0, sizeof(l));
	l.member[0] = 'Z';
	check(logline_parse(p, n, lim, &l), &l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a heap copy of exactly size bytes lets ASan catch any over-read */
	char *buf = malloc(size ? size : 1);
	const char *colon;
	struct logline l;
	size_t off = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	while (off < size) {
		const char *nl = memchr(buf + off, '\n', size - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) + 1 : size - off;
		one(buf + off, n, &logline_default_limits);
		one(buf + off, n, &tiny);
		off += n;
	}
	colon = memchr(buf, ':', size);
	if (colon != NULL) {
		size_t ilen = (size_t)(colon - buf);
		memset(&l, 0, sizeof(l));
		l.member[0] = 'Z';
		check(logline_parse_message(buf, ilen, colon + 1,
					    size - ilen - 1,
					    &logline_default_limits, &l),
		      &l);
	}
	free(buf);
	return 0;
}
