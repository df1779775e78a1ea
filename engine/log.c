/*
 * log: stderr or syslog output for all postlb programs (see log.h).
 * The only file that calls syslog().
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

static const char *log_prog = "postlb";
static int log_fg = 1;
static int log_verbose;

void log_init(const char *prog, int foreground)
{
	log_prog = prog;
	log_fg = foreground;
	if (!foreground)
		openlog(prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

static void log_v(enum log_level lvl, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
	static const char *const name[] = {"debug", "info", "warning", "error"};
	int saved = errno;
	char buf[2048];

	if (lvl == LOG_L_DEBUG && !log_verbose) {
		errno = saved;
		return;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_fg)
		fprintf(stderr, "%s: %s: %s\n", log_prog, name[lvl], buf);
	else
		syslog(prio[lvl], "%s: %s", name[lvl], buf);
	errno = saved;
}

#define LOG_FN(fn, lvl)                                                        \
	void fn(const char *fmt, ...)                                          \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_v(lvl, fmt, ap);                                           \
		va_end(ap);                                                    \
	}
LOG_FN(log_debug, LOG_L_DEBUG)
LOG_FN(log_info, LOG_L_INFO)
LOG_FN(log_warn, LOG_L_WARN)
LOG_FN(log_err, LOG_L_ERR)

void log_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(LOG_L_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

void log_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(LOG_L_ERR, fmt, ap);
	va_end(ap);
	abort();
}

char *log_escape(char *out, size_t outsz, const char *in, size_t inlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outsz == 0)
		return out;
	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
