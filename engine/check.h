/*
 * check: the state machine of a member's active health check, after
 * HAProxy's: a member that is up goes down after `fall` failed checks in
 * a row, one that is down comes up after `rise` good checks in a row;
 * while it is changing (some failures while up, some successes while
 * down) it is checked every `fastinter` instead of every `interval`.  And
 * the slow-start ramp of a member that came back.  Pure: no I/O, no
 * clock (callers pass times in ms).
 */
#ifndef POSTLB_CHECK_H
#define POSTLB_CHECK_H

struct check_cfg {
	long long interval_ms;	/* between checks while stable */
	long long fastinter_ms; /* between checks while changing */
	long long timeout_ms;	/* a whole check: connect to QUIT */
	int rise, fall;		/* checks in a row to come up / go down */
};

struct check_state {
	int up;	      /* 1 up, 0 down */
	int run;      /* checks in a row against the current state */
};

/* A fresh state: up (a member is trusted until its checks fail). */
void check_init(struct check_state *s, int up);

/*
 * Applies one check result (ok 1: success).  Returns 1 when the member
 * changed state (up <-> down), else 0.
 */
int check_result(struct check_state *s, const struct check_cfg *c, int ok);

/* When the next check is due, in ms after the last one ended. */
long long check_next_ms(const struct check_state *s, const struct check_cfg *c);

/*
 * Slow start: the share (in percent, min_pct..100) of its weight that a
 * member gets ms_since_up ms after it came back, ramping linearly over
 * slowstart_ms (0: no ramp, always 100).
 */
int check_slowstart_pct(long long ms_since_up, long long slowstart_ms,
			int min_pct);

#endif
