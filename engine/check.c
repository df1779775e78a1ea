/*
 * check: the active health check state machine and the slow-start ramp
 * (see check.h).
 */
#include "check.h"

void check_init(struct check_state *s, int up)
{
	s->up = up ? 1 : 0;
	s->run = 0;
}

int check_result(struct check_state *s, const struct check_cfg *c, int ok)
{
	ok = ok ? 1 : 0;
	if (ok == s->up) { /* agrees with the state: nothing is changing */
		s->run = 0;
		return 0;
	}
	s->run++;
	if (s->run < (s->up ? c->fall : c->rise))
		return 0;
	s->up = ok;
	s->run = 0;
	return 1;
}

long long check_next_ms(const struct check_state *s, const struct check_cfg *c)
{
	return s->run > 0 ? c->fastinter_ms : c->interval_ms;
}

int check_slowstart_pct(long long ms_since_up, long long slowstart_ms,
			int min_pct)
{
	long long pct;

	if (slowstart_ms <= 0 || ms_since_up >= slowstart_ms)
		return 100;
	if (ms_since_up < 0)
		ms_since_up = 0;
	pct = min_pct + (100 - min_pct) * ms_since_up / slowstart_ms;
	return (int)(pct > 100 ? 100 : pct);
}
