/*
 * fuzz_json: libFuzzer target for postlbctl's JSON string escaping
 * (ctl/ctl_json.c).
 *
 * The input, any bytes, is escaped; the output must hold no control
 * character, DEL, bare quote or lone backslash, must be valid UTF-8, and
 * must decode back to the input (\u00XX standing for byte XX when the
 * byte was not part of valid UTF-8, or for the character U+00XX).
 */
#include "ctl_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL;
	size_t outsz = 0, n = 0;
	unsigned char *back = malloc(size + 1);
	FILE *f = open_memstream(&out, &outsz);

	if (f == NULL || back == NULL)
		abort();
	json_escape(f, (const char *)data, size);
	fclose(f);
	for (size_t i = 0; i < outsz; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c < 0x20 || c == 0x7f || c == '"')
			abort();
		if (c != '\\') {
			back[n++] = c;
			continue;
		}
		if (++i == outsz)
			abort();
		switch (out[i]) {
		case '"': back[n++] = '"'; break;
		case '\\': back[n++] = '\\'; break;
		case 'n': back[n++] = '\n'; break;
		case 'r': back[n++] = '\r'; break;
		case 't': back[n++] = '\t'; break;
		case 'b': back[n++] = '\b'; break;
		case 'f': back[n++] = '\f'; break;
		case 'u':
			if (i + 4 >= outsz || out[i + 1] != '0' || out[i + 2] != '0')
				abort();
			back[n++] = (unsigned char)(hex(out[i + 3]) * 16 +
						    hex(out[i + 4]));
			i += 4;
			break;
		default:
			abort();
		}
		if (n > size)
			abort();
	}
	if (n != size || memcmp(back, data, size) != 0)
		abort();
	free(back);
	free(out);
	return 0;
}
