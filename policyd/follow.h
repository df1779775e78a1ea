/*
 * follow: follows a growing log file, as `tail -F` would, and hands each
 * complete line to a callback.
 *
 * Polled: every FOLLOW_POLL_MS on a libevent timer (or by the caller with
 * follow_poll(), for tests), reading at most FOLLOW_CHUNK bytes a round so
 * that the loop stays free for other events (a backlog is read in further
 * rounds, scheduled at once).  Lines longer than line_max are skipped
 * whole and counted.  Rotation (the path now names another file) is
 * noticed at the end of the old file: the old file is read to its end,
 * then the new one from its start.  Truncation (the file shrank below
 * what was read) starts over from 0.
 *
 * Its place (device, inode, truncations seen and the offset after the
 * last line handed over) is kept in state_path, written to a temporary file and
 * renamed over it, at most once a second and at follow_free().  On start with a
 * state of the same file it resumes there; with a state of another file
 * (rotated while stopped) it reads the new file from 0; with no state it
 * starts at the end of the file (history is not counted).  A line is
 * handed over once; after a crash (no follow_free), the lines of the last
 * second before it are handed over again, with the same positions, so a
 * caller that stores the position of what it took can tell them apart.
 *
 * The callback may refuse a line (returns < 0, e.g. while Redis is away):
 * following pauses there and resumes with that line at the next round.
 * Single-threaded; follow owns its descriptor and buffers.
 */
#ifndef POSTLB_FOLLOW_H
#define POSTLB_FOLLOW_H

#include <stddef.h>

#define FOLLOW_POLL_MS 150
#define FOLLOW_CHUNK (1024 * 1024)

struct event_base;
struct follow;

/*
 * A place in the log: the file (device, inode), how many truncations of
 * it were seen (gen), and an offset.  Positions of one file compare by
 * (gen, off).
 */
struct follow_pos {
	unsigned long long dev, ino, gen;
	long long off;
};

/*
 * Gets one line (without its newline) and the position just after it.
 * Returns 0 when the line is taken, < 0 to pause before it.
 */
typedef int (*follow_line_cb)(void *arg, const char *line, size_t len,
			      const struct follow_pos *after);

struct follow_stats {
	unsigned long long lines, bytes, too_long, rotations, truncations,
	    state_errors;
};

/*
 * Starts following path (which may not exist yet).  base may be NULL: no
 * timer, the caller calls follow_poll().  state_path may be NULL: no
 * state kept (start at the end).  The strings are copied.  Returns NULL
 * when out of memory.
 */
struct follow *follow_new(struct event_base *base, const char *path,
			  const char *state_path, size_t line_max,
			  follow_line_cb cb, void *arg);

/* One round: reads what is new and hands its lines over. */
void follow_poll(struct follow *f);

/* Writes the state now; 0, or -1 (logged). */
int follow_save(struct follow *f);

/* Saves the state, closes, frees.  NULL is a no-op. */
void follow_free(struct follow *f);

void follow_get_stats(const struct follow *f, struct follow_stats *out);

#endif
