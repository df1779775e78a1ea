/*
 * journal: the systemd journal as a source of syslog lines (see
 * journal.h).  The only file that includes sd-journal.h.  No parsing here.
 */
#include "journal.h"

#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL_SAVE_MS 1000
#define JOURNAL_CURSOR_MAX 512

struct journal {
	sd_journal *j;
	struct event *tick, *more;
	char *state_path, *state_tmp;
	size_t line_max;
	char *line; /* line_max + 1 bytes */
	follow_line_cb cb;
	void *arg;
	int retry; /* the current entry was refused: hand it over again */
	int dirty; /* entries handed over since the last save */
	long long saved_ms;
	struct follow_stats st;
};

static long long journal_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The value of field name of the current entry, or NULL. */
static const char *journal_field(sd_journal *j, const char *name, size_t *len)
{
	const void *data;
	size_t n, k = strlen(name);

	if (sd_journal_get_data(j, name, &data, &n) < 0 || n <= k ||
	    ((const char *)data)[k] != '=')
		return NULL;
	*len = n - k - 1;
	return (const char *)data + k + 1;
}

/*
 * Builds "STAMP IDENT[PID]: MESSAGE" of the current entry into j->line.
 * Returns its length, 0 for an entry that is no syslog line, -1 when it
 * does not fit.
 */
static long journal_line(struct journal *j, uint64_t *usec)
{
	const char *id, *pid, *msg;
	size_t ilen, plen = 1, mlen;
	struct tm tm;
	time_t s;
	int n;

	id = journal_field(j->j, "SYSLOG_IDENTIFIER", &ilen);
	msg = journal_field(j->j, "MESSAGE", &mlen);
	if (id == NULL || msg == NULL || sd_journal_get_realtime_usec(j->j, usec) < 0)
		return 0;
	pid = journal_field(j->j, "_PID", &plen);
	if (pid == NULL)
		pid = journal_field(j->j, "SYSLOG_PID", &plen);
	if (pid == NULL || plen > 20) {
		pid = "0";
		plen = 1;
	}
	s = (time_t)(*usec / 1000000);
	gmtime_r(&s, &tm);
	n = snprintf(j->line, j->line_max + 1,
		     "%04d-%02d-%02dT%02d:%02d:%02d.%06llu+00:00 %.*s[%.*s]: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (unsigned long long)(*usec % 1000000),
		     (int)(ilen < 256 ? ilen : 256),
		     id, (int)plen, pid);
	if (n < 0 || (size_t)n + mlen > j->line_max)
		return -1;
	memcpy(j->line + n, msg, mlen);
	return (long)((size_t)n + mlen);
}

/* Writes the cursor of the current entry; 0 or -1 (logged once). */
static int journal_save(struct journal *j)
{
	char *cursor = NULL;
	int fd, ok;
	size_t n;

	if (j->state_path == NULL || !j->dirty || j->retry)
		return 0;
	if (sd_journal_get_cursor(j->j, &cursor) < 0)
		return -1;
	n = strlen(cursor);
	fd = open(j->state_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = fd != -1 && write(fd, cursor, n) == (ssize_t)n &&
	     write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	if (fd != -1 && close(fd) != 0)
		ok = 0;
	free(cursor);
	if (!ok || rename(j->state_tmp, j->state_path) != 0) {
		if (j->st.state_errors++ == 0)
			log_err("journal: cannot write %s: %s", j->state_path,
				strerror(errno));
		return -1;
	}
	j->dirty = 0;
	j->saved_ms = journal_now_ms();
	return 0;
}

/* Places the journal after the saved cursor, or at its end. */
static void journal_start(struct journal *j)
{
	char cursor[JOURNAL_CURSOR_MAX];
	ssize_t n = -1;
	int fd = j->state_path ? open(j->state_path, O_RDONLY | O_CLOEXEC) : -1;

	if (fd != -1) {
		n = read(fd, cursor, sizeof(cursor) - 1);
		close(fd);
	}
	while (n > 0 && (cursor[n - 1] == '\n' || cursor[n - 1] == '\r'))
		n--;
	if (n > 0) {
		cursor[n] = '\0';
		if (sd_journal_seek_cursor(j->j, cursor) == 0 &&
		    sd_journal_next(j->j) > 0) {
			/* on the last entry handed over, or past it if it is
			 * gone: then this one is new */
			j->retry = sd_journal_test_cursor(j->j, cursor) <= 0;
			log_info("journal: resuming after the saved cursor");
			return;
		}
		log_warn("journal: the saved cursor is unusable; starting at "
			 "the end");
	}
	sd_journal_seek_tail(j->j);
	sd_journal_previous(j->j);
}

/*
 * The position of the current entry: its sequence number ("i=" of the
 * cursor) under a hash of its sequence number id ("s="), which orders
 * entries whatever the clock does; the entry's time when the cursor
 * cannot be read.
 */
static void journal_pos(struct journal *j, uint64_t usec,
			struct follow_pos *pos)
{
	unsigned long long h = 1469598103934665603ULL, seq = 0;
	char *cursor = NULL, *p, *e;

	pos->dev = 0;
	pos->ino = 1;
	pos->gen = 0;
	pos->off = (long long)usec;
	if (sd_journal_get_cursor(j->j, &cursor) < 0)
		return;
	p = strstr(cursor, "s=");
	e = strstr(cursor, ";i=");
	if (p == cursor && e != NULL) {
		for (p += 2; *p != ';' && *p != '\0'; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		seq = strtoull(e + 3, &p, 16);
		if (*p == ';' || *p == '\0') {
			pos->ino = (h >> 1) | 2; /* never 0 or 1 */
			pos->off = (long long)(seq & 0x7fffffffffffffffULL);
		}
	}
	free(cursor);
}

/* Hands the current entry over; returns -1 when the callback refused it. */
static int journal_hand(struct journal *j)
{
	uint64_t usec = 0;
	long n = journal_line(j, &usec);
	struct follow_pos after;

	if (n < 0) {
		j->st.too_long++;
		return 0;
	}
	if (n == 0)
		return 0;
	journal_pos(j, usec, &after);
	if (j->cb(j->arg, j->line, (size_t)n, &after) < 0)
		return -1;
	j->st.lines++;
	j->st.bytes += (unsigned long long)n;
	return 0;
}

void journal_poll(struct journal *j)
{
	int i;

	sd_journal_process(j->j);
	for (i = 0; i < JOURNAL_BATCH; i++) {
		if (!j->retry && sd_journal_next(j->j) <= 0)
			break;
		j->retry = 0;
		if (journal_hand(j) < 0) {
			j->retry = 1;
			break;
		}
		j->dirty = 1;
	}
	if (i == JOURNAL_BATCH && j->more != NULL)
		event_active(j->more, EV_TIMEOUT, 0);
	if (journal_now_ms() - j->saved_ms >= JOURNAL_SAVE_MS)
		journal_save(j);
}

static void journal_on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	journal_poll(arg);
}

/* Opens the journal and keeps its mail facility only; 0 or -1 (logged). */
static int journal_open(struct journal *j, const char *dir)
{
	int rc = dir ? sd_journal_open_directory(&j->j, dir, 0)
		     : sd_journal_open(&j->j, SD_JOURNAL_LOCAL_ONLY |
						      SD_JOURNAL_SYSTEM);

	if (rc < 0) {
		j->j = NULL;
		log_err("journal: cannot open %s: %s", dir ? dir : "the journal",
			strerror(-rc));
		return -1;
	}
	if ((rc = sd_journal_add_match(j->j, "SYSLOG_FACILITY=2", 0)) < 0) {
		log_err("journal: cannot select the mail facility: %s",
			strerror(-rc));
		return -1;
	}
	sd_journal_get_fd(j->j); /* watch for new files, rotation */
	return 0;
}

struct journal *journal_new(struct event_base *base, const char *dir,
			    const char *state_path, size_t line_max,
			    follow_line_cb cb, void *arg)
{
	struct journal *j = calloc(1, sizeof(*j));
	struct timeval tv = {0, FOLLOW_POLL_MS * 1000};

	if (j == NULL)
		return NULL;
	j->cb = cb;
	j->arg = arg;
	j->line_max = line_max;
	j->line = malloc(line_max + 1);
	if (state_path != NULL) {
		size_t n = strlen(state_path);
		j->state_path = strdup(state_path);
		j->state_tmp = malloc(n + 5);
		if (j->state_tmp != NULL)
			snprintf(j->state_tmp, n + 5, "%s.tmp", state_path);
	}
	if (j->line == NULL ||
	    (state_path != NULL && (j->state_path == NULL || j->state_tmp == NULL)) ||
	    journal_open(j, dir) < 0)
		goto fail;
	if (base != NULL) {
		j->tick = event_new(base, -1, EV_PERSIST, journal_on_tick, j);
		j->more = event_new(base, -1, 0, journal_on_tick, j);
		if (j->tick == NULL || j->more == NULL || event_add(j->tick, &tv))
			goto fail;
	}
	journal_start(j);
	j->saved_ms = journal_now_ms();
	log_info("journal: following the mail facility of %s",
		 dir ? dir : "the system journal");
	return j;
fail:
	journal_free(j);
	return NULL;
}

void journal_free(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->j != NULL) {
		journal_save(j);
		sd_journal_close(j->j);
	}
	if (j->tick)
		event_free(j->tick);
	if (j->more)
		event_free(j->more);
	free(j->line);
	free(j->state_path);
	free(j->state_tmp);
	free(j);
}

void journal_get_stats(const struct journal *j, struct follow_stats *out)
{
	*out = j->st;
}
