/*
 * fuzz_smtpr: libFuzzer target for the SMTP reply reader of the active
 * health checks.  The input is what a relay might send; it is read reply
 * by reply as the prober does, with tiny limits and with the prober's.
 * Besides the sanitizers, it aborts when a contract breaks: a reply takes
 * at least one byte and no more than it was given, has a code 200..599,
 * at least one and at most lines_max lines, and a terminated text.
 */
#include "smtpr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const char *buf, size_t size, const struct smtpr_limits *lim)
{
	size_t off = 0;

	while (off < size) {
		struct smtpr_reply r;
		long n = smtpr_parse(buf + off, size - off, lim, &r);
		if (n <= 0)
			break;
		if ((size_t)n > size - off || r.code < 200 || r.code > 599 ||
		    r.lines == 0 || r.lines > lim->lines_max ||
		    strlen(r.text) >= sizeof(r.text))
			abort();
		off += (size_t)n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct smtpr_limits tiny = {8, 2}, prober = {1000, 100};

	run((const char *)data, size, &tiny);
	run((const char *)data, size, &prober);
	return 0;
}
