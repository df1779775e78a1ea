/*
 * log: one logger for every postlb program.
 *
 * In the foreground (-f) messages go to stderr; otherwise to syslog with
 * LOG_PID | LOG_MAIL.  This is the only file that calls syslog().  Every
 * function preserves errno.  Not thread-safe to (re)initialise; logging
 * itself is safe from any thread.
 */
#ifndef POSTLB_LOG_H
#define POSTLB_LOG_H

#include <stddef.h>

enum log_level { LOG_L_DEBUG, LOG_L_INFO, LOG_L_WARN, LOG_L_ERR };

void log_init(const char *prog, int foreground);
void log_set_verbose(int verbose);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Startup and config only: logs and exits 1. */
void log_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* A broken invariant in a request path: logs and aborts (core). */
void log_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copies untrusted bytes into out (size outsz, always NUL-terminated) with
 * non-printable bytes as \xNN, truncated to fit.  Returns out.
 */
char *log_escape(char *out, size_t outsz, const char *in, size_t inlen);

#endif
