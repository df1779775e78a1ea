/*
 * fuzz_pp: libFuzzer target for the policy delegation protocol codec.
 *
 * The input is a byte stream as a Postfix client would send it.  It is
 * walked with pp_frame() the way the server does, every framed request is
 * given to pp_parse() and freed with pp_request_free(), and the whole input
 * is also given to pp_parse() unframed; all with tiny limits and with the
 * defaults.  A NUL-terminated copy is formatted as a reply action.  Besides
 * the sanitizers, it aborts when a documented contract breaks: a framed
 * request must end with an empty line, stay within the limits, and never
 * fail to parse for a reason framing already excludes.
 */
#include "pp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct pp_limits tiny = {16, 3, 64};

/* Checks the parsed request against the limits; frees it. */
static void check_request(struct pp_request *r, const struct pp_limits *lim)
{
	if (r->mem == NULL || r->nattrs == 0 || r->nattrs > lim->attrs_max)
		abort();
	if (r->size < 0 || r->recipient_count < 0)
		abort();
	/* every string field is readable and terminated */
	if (r->sender != NULL && strlen(r->sender) > lim->line_max)
		abort();
	if (r->protocol_state != NULL &&
	    strlen(r->protocol_state) > lim->line_max)
		abort();
	pp_request_free(r);
	if (r->mem != NULL)
		abort();
}

static void run(const char *buf, size_t size, const struct pp_limits *lim)
{
	struct pp_request r;
	size_t off = 0;
	int rc;

	while (off < size) {
		long n = pp_frame(buf + off, size - off, lim);
		if (n <= 0)
			break;
		if ((size_t)n > size - off || (size_t)n > lim->request_max ||
		    buf[off + (size_t)n - 1] != '\n')
			abort();
		rc = pp_parse(buf + off, (size_t)n, lim, &r);
		if (rc == -PP_EINCOMPLETE || rc == -PP_EBIG ||
		    rc == -PP_ETOOLONG)
			abort();
		if (rc == 0)
			check_request(&r, lim);
		off += (size_t)n;
	}
	if (pp_parse(buf, size, lim, &r) == 0)
		check_request(&r, lim);
}

static void reply(const uint8_t *data, size_t size)
{
	char *action = malloc(size + 1), out[128];
	int n;

	if (action == NULL)
		return;
	memcpy(action, data, size);
	action[size] = '\0';
	n = pp_format_reply(out, sizeof(out), action);
	if (n >= 0) {
		/* one line, then the empty line */
		if ((size_t)n != strlen(out) || n < 9 ||
		    memchr(out, '\n', (size_t)n - 2) != NULL ||
		    memchr(out, '\r', (size_t)n) != NULL)
			abort();
	} else if (out[0] != '\0') {
		abort();
	}
	free(action);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a heap copy of exactly size bytes lets ASan catch any over-read */
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	run(buf, size, &tiny);
	run(buf, size, &pp_default_limits);
	free(buf);
	reply(data, size);
	return 0;
}
