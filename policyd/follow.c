/*
 * follow: a log file follower with rotation, truncation and a durable
 * place (see follow.h).  No parsing here: lines go to the callback.
 */
#include "follow.h"

#include "log.h"
#include "num.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FOLLOW_READ (64 * 1024)
#define FOLLOW_SAVE_MS 1000

struct follow {
	struct event *tick, *more;
	char *path, *state_path, *state_tmp;
	size_t line_max;
	follow_line_cb cb;
	void *arg;
	int fd;
	unsigned long long dev, ino;
	unsigned long long gen; /* truncations of this file seen */
	long long pos;		/* file offset just after the bytes read */
	long long done; /* offset after the last line handed over or skipped */
	char *buf;	/* holds the bytes [pos - blen, pos) */
	size_t bsize, blen;
	int skipping; /* inside a line longer than line_max */
	int started;  /* the first open was tried */
	int open_failed;
	/* the state read at start, and the last one written */
	int have_state;
	unsigned long long st_dev, st_ino, st_gen;
	long long st_off;
	unsigned long long saved_dev, saved_ino, saved_gen;
	long long saved_done, saved_ms;
	struct follow_stats st;
};

static long long follow_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads "DEV INO OFFSET GEN\n" from the state file, if there is one. */
static void follow_load_state(struct follow *f)
{
	char text[128], *tok[4], *save = NULL;
	long long v[4];
	ssize_t n;
	int fd;

	if (f->state_path == NULL ||
	    (fd = open(f->state_path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		goto bad;
	text[n] = '\0';
	tok[0] = strtok_r(text, " \n", &save);
	tok[1] = strtok_r(NULL, " \n", &save);
	tok[2] = strtok_r(NULL, " \n", &save);
	tok[3] = strtok_r(NULL, " \n", &save);
	for (int i = 0; i < 4; i++)
		if (tok[i] == NULL ||
		    num_parse_ll(tok[i], strlen(tok[i]), 0,
				 0x7fffffffffffffffLL, &v[i]) < 0)
			goto bad;
	f->have_state = 1;
	f->st_dev = (unsigned long long)v[0];
	f->st_ino = (unsigned long long)v[1];
	f->st_off = v[2];
	f->st_gen = (unsigned long long)v[3];
	return;
bad:
	log_warn("follow: %s is not a follower state; starting at the end of "
		 "%s",
		 f->state_path, f->path);
}

int follow_save(struct follow *f)
{
	char text[96];
	int fd, n, ok;

	if (f->state_path == NULL || f->ino == 0)
		return 0;
	n = snprintf(text, sizeof(text), "%llu %llu %lld %llu\n", f->dev,
		     f->ino, f->done, f->gen);
	fd = open(f->state_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = fd != -1 && write(fd, text, (size_t)n) == n && fsync(fd) == 0;
	if (fd != -1 && close(fd) != 0)
		ok = 0;
	if (!ok || rename(f->state_tmp, f->state_path) != 0) {
		if (f->st.state_errors++ == 0)
			log_err("follow: cannot write %s: %s", f->state_path,
				strerror(errno));
		return -1;
	}
	f->saved_dev = f->dev;
	f->saved_ino = f->ino;
	f->saved_gen = f->gen;
	f->saved_done = f->done;
	f->saved_ms = follow_now_ms();
	return 0;
}

/* Where to start in a file just opened (size bytes). */
static long long follow_start_at(struct follow *f, const struct stat *sb)
{
	f->gen = 0;
	if (f->started)
		return 0; /* it appeared or replaced the old one: all is new */
	f->started = 1;
	if (!f->have_state)
		return (long long)sb->st_size;
	if ((unsigned long long)sb->st_dev == f->st_dev &&
	    (unsigned long long)sb->st_ino == f->st_ino) {
		f->gen = f->st_gen;
		if (f->st_off <= (long long)sb->st_size)
			return f->st_off;
		f->gen++; /* truncated while stopped */
		return 0;
	}
	log_info("follow: %s is another file than when stopped (rotated); "
		 "reading it from the start",
		 f->path);
	return 0;
}

/* Opens path; returns 0, or -1 (logged once until it works). */
static int follow_open(struct follow *f)
{
	struct stat sb;
	long long off;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd == -1 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		if (!f->open_failed++)
			log_warn("follow: cannot read %s: %s; retrying",
				 f->path,
				 fd == -1 ? strerror(errno) : "not a file");
		if (fd != -1)
			close(fd);
		f->started = 1;
		return -1;
	}
	off = follow_start_at(f, &sb);
	if (lseek(fd, off, SEEK_SET) != off) {
		close(fd);
		return -1;
	}
	f->fd = fd;
	f->dev = (unsigned long long)sb.st_dev;
	f->ino = (unsigned long long)sb.st_ino;
	f->pos = f->done = off;
	f->blen = 0;
	f->skipping = 0;
	f->open_failed = 0;
	log_info("follow: reading %s from offset %lld", f->path, off);
	return 0;
}

/*
 * Hands the complete lines in buf over.  Returns -1 when the callback
 * paused (the refused line stays first in buf), else 0.
 */
static int follow_drain(struct follow *f)
{
	size_t start = 0;
	int paused = 0;
	struct follow_pos after = {f->dev, f->ino, f->gen, 0};

	for (;;) {
		char *nl = memchr(f->buf + start, '\n', f->blen - start);
		size_t len;

		if (nl == NULL)
			break;
		len = (size_t)(nl - (f->buf + start));
		after.off = f->pos - (long long)(f->blen - start - len - 1);
		if (f->skipping) {
			f->skipping = 0;
		} else if (len > f->line_max) {
			f->st.too_long++;
		} else if (f->cb(f->arg, f->buf + start, len, &after) < 0) {
			paused = 1;
			break;
		} else {
			f->st.lines++;
		}
		start += len + 1;
		f->done = f->pos - (long long)(f->blen - start);
	}
	memmove(f->buf, f->buf + start, f->blen - start);
	f->blen -= start;
	if (!paused && f->blen > f->line_max) {
		if (!f->skipping)
			f->st.too_long++;
		f->skipping = 1;
		f->blen = 0;
	}
	return paused ? -1 : 0;
}

/* Reads up to FOLLOW_CHUNK bytes; 1: more to read, 0: at the end, -1. */
static int follow_read(struct follow *f)
{
	size_t total = 0;

	while (total < FOLLOW_CHUNK) {
		ssize_t n;

		if (follow_drain(f) < 0)
			return -1;
		n = read(f->fd, f->buf + f->blen, f->bsize - f->blen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		f->blen += (size_t)n;
		f->pos += n;
		f->st.bytes += (unsigned long long)n;
		total += (size_t)n;
	}
	return follow_drain(f) < 0 ? -1 : 1;
}

/* At the end of the file: truncated or replaced? */
static void follow_check_file(struct follow *f)
{
	struct stat sb;

	if (fstat(f->fd, &sb) == 0 && (long long)sb.st_size < f->pos) {
		log_warn("follow: %s was truncated (%lld < %lld bytes); "
			 "reading it from the start",
			 f->path, (long long)sb.st_size, f->pos);
		f->st.truncations++;
		f->gen++;
		lseek(f->fd, 0, SEEK_SET);
		f->pos = f->done = 0;
		f->blen = 0;
		f->skipping = 0;
		return;
	}
	if (stat(f->path, &sb) != 0 ||
	    ((unsigned long long)sb.st_dev == f->dev &&
	     (unsigned long long)sb.st_ino == f->ino))
		return;
	/*
	 * The writer may have added to the old file between the read above
	 * and its switch to the new one: read it to its end once more.
	 */
	if (follow_read(f) != 0)
		return; /* more to read (or paused): switch at a later round */
	if (f->blen > 0)
		log_warn("follow: %s rotated with an unfinished last line "
			 "(%zu bytes, dropped)",
			 f->path, f->blen);
	f->st.rotations++;
	log_info("follow: %s rotated: the old file is read to its end",
		 f->path);
	close(f->fd);
	f->fd = -1;
	follow_open(f);
}

void follow_poll(struct follow *f)
{
	int rc;

	if (f->fd == -1 && follow_open(f) < 0)
		return;
	rc = follow_read(f);
	if (rc == 1 && f->more != NULL)
		event_active(f->more, EV_TIMEOUT, 0);
	else if (rc == 0)
		follow_check_file(f);
	if ((f->done != f->saved_done || f->ino != f->saved_ino ||
	     f->gen != f->saved_gen) &&
	    follow_now_ms() - f->saved_ms >= FOLLOW_SAVE_MS)
		follow_save(f);
}

static void follow_on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	follow_poll(arg);
}

static char *follow_strdup(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	char *p = malloc(a + b + 1);

	if (p != NULL) {
		memcpy(p, s, a);
		memcpy(p + a, suffix, b + 1);
	}
	return p;
}

struct follow *follow_new(struct event_base *base, const char *path,
			  const char *state_path, size_t line_max,
			  follow_line_cb cb, void *arg)
{
	struct follow *f = calloc(1, sizeof(*f));
	struct timeval tv = {0, FOLLOW_POLL_MS * 1000};

	if (f == NULL)
		return NULL;
	f->fd = -1;
	f->cb = cb;
	f->arg = arg;
	f->line_max = line_max;
	f->bsize = line_max + 1 + FOLLOW_READ;
	f->buf = malloc(f->bsize);
	f->path = follow_strdup(path, "");
	if (state_path != NULL) {
		f->state_path = follow_strdup(state_path, "");
		f->state_tmp = follow_strdup(state_path, ".tmp");
	}
	if (f->buf == NULL || f->path == NULL ||
	    (state_path != NULL &&
	     (f->state_path == NULL || f->state_tmp == NULL)))
		goto fail;
	if (base != NULL) {
		f->tick = event_new(base, -1, EV_PERSIST, follow_on_tick, f);
		f->more = event_new(base, -1, 0, follow_on_tick, f);
		if (f->tick == NULL || f->more == NULL ||
		    event_add(f->tick, &tv))
			goto fail;
	}
	follow_load_state(f);
	f->saved_ms = follow_now_ms();
	follow_open(f);
	return f;
fail:
	follow_free(f);
	return NULL;
}

void follow_free(struct follow *f)
{
	if (f == NULL)
		return;
	if (f->fd != -1) {
		follow_save(f);
		close(f->fd);
	}
	if (f->tick)
		event_free(f->tick);
	if (f->more)
		event_free(f->more);
	free(f->buf);
	free(f->path);
	free(f->state_path);
	free(f->state_tmp);
	free(f);
}

void follow_get_stats(const struct follow *f, struct follow_stats *out)
{
	*out = f->st;
}
