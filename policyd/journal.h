/*
 * journal: follows the mail facility of the systemd journal (sd-journal,
 * not a journalctl pipe) and hands each entry over as a syslog line, the
 * way follow.c hands over the lines of a log file:
 *   "2026-12-01T04:49:50.123456+00:00 IDENT[PID]: MESSAGE"
 * (the entry's own time, SYSLOG_IDENTIFIER, _PID or SYSLOG_PID, MESSAGE),
 * so the one parser reads both.  The position given with a line is the
 * entry's sequence number (off) under a hash of its sequence number id
 * (ino), with dev and gen 0: entries of one journal compare in order,
 * whatever the clock does.
 *
 * Polled every FOLLOW_POLL_MS (at most JOURNAL_BATCH entries a round,
 * more rounds scheduled at once), or by the caller with journal_poll().
 * Its place, the cursor of the last entry handed over, is kept in
 * state_path (written to a temporary file and renamed over it, at most
 * once a second and at journal_free()); a restart resumes after it.
 * Without a state it starts at the end (history is not counted).  An
 * entry whose line would be longer than line_max is skipped and counted.
 * A refused line (the callback returns < 0) is handed over again at the
 * next round.  Single-threaded; journal owns its sd_journal handle.
 */
#ifndef POSTLB_JOURNAL_H
#define POSTLB_JOURNAL_H

#include "follow.h"

#include <stddef.h>

#define JOURNAL_BATCH 4000

struct event_base;
struct journal;

/*
 * Opens the system journal (dir NULL) or the journal files in dir.
 * base may be NULL (the caller polls); state_path may be NULL.  Returns
 * NULL (logged) when the journal cannot be opened or out of memory.
 */
struct journal *journal_new(struct event_base *base, const char *dir,
			    const char *state_path, size_t line_max,
			    follow_line_cb cb, void *arg);

void journal_poll(struct journal *j);

/* Saves the cursor, closes, frees.  NULL is a no-op. */
void journal_free(struct journal *j);

void journal_get_stats(const struct journal *j, struct follow_stats *out);

#endif
