/*
 * fuzz_config: libFuzzer target for the config loader.
 *
 * The input, copied and NUL-terminated, is loaded with config_load_string();
 * a loaded config is checked against a few invariants and freed with
 * config_unref().  A rejected one must come with a "fuzz.conf:" message.
 * Inputs with "@include" are skipped: libconfig would read files by name,
 * which is the file loader's business, not the parser's.
 *
 * libconfig before 1.7.3 leaks the string token under a syntax error (""
 * alone is enough; hyperrealm/libconfig#142, fixed by #155), so leaks
 * allocated by its lexer (libconfig_yylex, strbuf_append) are suppressed;
 * every other leak is still reported.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig_yylex\nleak:strbuf_append\n";
}

static void check(const struct config *c)
{
	if (c->refs != 1 || c->nquotas > CONFIG_QUOTAS_MAX || c->nlisten == 0)
		abort();
	if (c->budget_ms < 1 || c->budget_ms > 10000 || c->socket_mode > 0777)
		abort();
	for (size_t i = 0; i < c->nquotas; i++) {
		const struct cfg_quota *q = &c->quotas[i];
		if (q->name == NULL || q->limit < 0 || q->window_ms < 1000 ||
		    (int)q->subject < 0 || q->subject >= SUBJ_N)
			abort();
		if (q->class != NULL && q->class->subject != q->subject)
			abort();
		if (config_quota(c, q->name) != q)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[256];
	struct config *c = NULL;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (strstr(text, "@include") != NULL) {
		free(text);
		return 0;
	}
	err[0] = '\0';
	if (config_load_string(text, "fuzz.conf", &c, err, sizeof(err)) == 0) {
		check(c);
		config_unref(c);
	} else if (c != NULL || strncmp(err, "fuzz.conf:", 10) != 0) {
		abort();
	}
	free(text);
	return 0;
}
