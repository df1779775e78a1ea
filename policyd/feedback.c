/*
 * feedback: delivery-log lines -> Redis counters, least-outstanding ends,
 * the circuit breaker and the response rules (see feedback.h).  Parsing
 * is logline.c's, the breaker's decisions breaker.c's, rule matching and
 * the MX -> provider table respond.c's, counting rule matches and
 * suspending respond.lua's (in Redis, so every host's matches add up);
 * this file only wires them to the follower and to Redis.
 */
#include "feedback.h"

#include "breaker.h"
#include "config.h"
#include "feedback_lua.h"
#include "follow.h"
#include "health.h"
#include "health_metrics.h"
#include "journal.h"
#include "log.h"
#include "logline.h"
#include "respond.h"
#include "store_redis.h"
#include "warmhold.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Commands awaiting Redis's reply beyond which following pauses. */
#define FB_PENDING_MAX 20000
#define FB_KEY_MAX 512
/* Domains whose provider was stored lately (not stored again). */
#define FB_LEARN_SLOTS 256
/* How often the warm-up hold is asked for (one host judges each day). */
#define FB_HOLD_TICK_S 60

struct fb_member {
	char name[CONFIG_NAME_MAX + 1];
	struct breaker b;
};

struct fb_stats {
	unsigned long long lines, other, bad, tries, unknown, pauses, errors,
	    replayed, stale;
	unsigned long long kinds[LOGLINE_TRY + 1];
};

struct feedback {
	struct config *cfg;
	struct store *store;
	struct follow *fol;	/* the log file, or */
	struct journal *jr; /* the journal */
	struct fb_member *m;
	size_t nm;
	char pos_key[FB_KEY_MAX]; /* PREFIX fo:HOST:LOGID */
	int paused;		  /* counted once per pause */
	int restore;		  /* 0 not yet asked, 1 asked, 2 done */
	size_t restore_waiting;	  /* replies still awaited */
	struct fb_stats st;
	struct event *hold_ev; /* the warm-up hold's minute tick */
	struct {
		char domain[LOGLINE_DOMAIN_MAX];
		const char *provider; /* respond.c's table; NULL: empty */
	} learnt[FB_LEARN_SLOTS];
};

/*
 * A reply that matched a response rule, copied (the config may change
 * before Redis answers); owned by whoever holds it, freed by the last
 * callback.
 */
struct fb_match {
	struct feedback *fb;
	char member[CONFIG_NAME_MAX + 1];
	struct respond_rule rule;
	char domain[LOGLINE_DOMAIN_MAX];
	char relay_provider[RESPOND_PROVIDER_MAX];
	char qid[LOGLINE_QID_MAX];
	char why[160];
};

/* One reply of the breaker restore: which member, which field. */
struct fb_restore {
	struct feedback *fb;
	char name[CONFIG_NAME_MAX + 1];
	int trips; /* 1: cb_trips, 0: cb_until */
};

static long long fb_now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void fb_on_reply(void *arg, int rc, long long value)
{
	struct feedback *fb = arg;

	(void)value;
	if (rc == -STORE_EREPLY && fb->st.errors++ % 1000 == 0)
		log_warn("feedback: Redis refused a command (%llu so far)",
			 fb->st.errors);
}

/* PREFIX + a + b into key; -1 when it does not fit. */
static int fb_key(const struct feedback *fb, char *key, const char *a,
		  const char *b)
{
	int n =
	    snprintf(key, FB_KEY_MAX, "%s%s%s", fb->cfg->redis_prefix, a, b);
	return n < 0 || n >= FB_KEY_MAX ? -1 : 0;
}

/*
 * Records a breaker change in Redis (FEEDBACK_CB_LUA: cb_until from
 * Redis's clock, as the milters read it, and the event) and the log.
 */
static void fb_publish(struct feedback *fb, struct fb_member *m,
		       enum breaker_event ev)
{
	char key[FB_KEY_MAX], evkey[FB_KEY_MAX], open_ms[24], trips[16],
	    keep[16];
	const char *argv[10] = {"EVAL", FEEDBACK_CB_LUA, "2", key, evkey,
				ev == BREAKER_CLOSE ? "up" : "down", open_ms,
				trips, m->b.why, keep};
	size_t lens[10];
	long long open = breaker_backoff(&fb->cfg->feedback_breaker, m->b.trips);

	if (fb_key(fb, key, "m:", m->name) < 0 ||
	    fb_key(fb, evkey, HEALTH_KEY_EVENTS, m->name) < 0)
		return;
	snprintf(open_ms, sizeof(open_ms), "%lld", open);
	snprintf(trips, sizeof(trips), "%d", m->b.trips);
	snprintf(keep, sizeof(keep), "%d", HEALTH_EVENTS_MAX);
	for (int i = 0; i < 10; i++)
		lens[i] = strlen(argv[i]);
	if (store_command(fb->store, 10, argv, lens, fb_on_reply, fb) < 0)
		fb->st.errors++;
	if (ev == BREAKER_CLOSE)
		log_info("feedback: member %s back in rotation: %s", m->name,
			 m->b.why);
	else
		log_warn("feedback: member %s out of rotation for %lld s: %s",
			 m->name, open / 1000, m->b.why);
}

static struct fb_member *fb_member(struct feedback *fb, const char *name)
{
	for (size_t i = 0; i < fb->nm; i++)
		if (strcmp(fb->m[i].name, name) == 0)
			return &fb->m[i];
	return NULL;
}

static void fb_on_restore(void *arg, int rc, long long value)
{
	struct fb_restore *r = arg;
	struct feedback *fb = r->fb;
	struct fb_member *m = fb_member(fb, r->name);

	if (m != NULL && rc == 0 && value > 0) {
		if (r->trips) {
			m->b.trips = value < 1000 ? (int)value : 1000;
			m->b.open = 1;
		} else {
			m->b.open_until = value;
		}
	}
	if (m != NULL && r->trips && m->b.open)
		log_info("feedback: member %s: breaker tripped %d times, open "
			 "until %lld (from Redis)",
			 m->name, m->b.trips, m->b.open_until);
	free(r);
	if (--fb->restore_waiting == 0)
		fb->restore = 2;
}

/*
 * Reads every member's cb_until and cb_trips once, before the first line
 * is counted, so that a restart keeps the breakers' backoff and half-open
 * trial.  Returns 1 while the answers are awaited, 0 when done.
 */
static int fb_restore(struct feedback *fb)
{
	char key[FB_KEY_MAX];

	if (fb->restore == 2)
		return 0;
	if (fb->restore == 1)
		return 1;
	fb->restore = 1;
	fb->restore_waiting = 1; /* held until every call is sent */
	for (size_t i = 0; i < fb->nm; i++) {
		for (int t = 0; t < 2; t++) {
			const char *f =
			    t ? HEALTH_F_CB_TRIPS : HEALTH_F_CB_UNTIL;
			const char *argv[] = {"HGET", key, f};
			size_t lens[3];
			struct fb_restore *r = malloc(sizeof(*r));

			if (r == NULL ||
			    fb_key(fb, key, "m:", fb->m[i].name) < 0) {
				free(r);
				continue;
			}
			r->fb = fb;
			r->trips = t;
			snprintf(r->name, sizeof(r->name), "%s", fb->m[i].name);
			for (int k = 0; k < 3; k++)
				lens[k] = strlen(argv[k]);
			if (store_command(fb->store, 3, argv, lens,
					  fb_on_restore, r) < 0)
				free(r);
			else
				fb->restore_waiting++;
		}
	}
	if (--fb->restore_waiting == 0)
		fb->restore = 2;
	return fb->restore == 2 ? 0 : 1;
}

/* What a counted delivery still has to do once Redis answers. */
struct fb_done {
	struct feedback *fb;
	char member[CONFIG_NAME_MAX + 1];
	int error;
	int stale; /* older than the breaker's window: counted, not judged */
	long long now;
	struct fb_match *match; /* a response rule's match, or NULL */
};

/*
 * The time of a line's stamp in ms, or -1 when it has none.  A classic
 * syslog stamp is local time without a year: the current one, or the
 * last one when that puts it more than a day ahead (a December line read
 * in January).
 */
static long long fb_line_ms(const struct logline_time *t, long long now)
{
	struct tm tm;
	time_t s;

	if (t->mon == 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mon = t->mon - 1;
	tm.tm_mday = t->mday;
	tm.tm_hour = t->hour;
	tm.tm_min = t->min;
	tm.tm_sec = t->sec;
	if (t->year != 0) {
		tm.tm_year = t->year - 1900;
		s = timegm(&tm) - (time_t)t->utc_off_min * 60;
		return (long long)s * 1000;
	}
	s = (time_t)(now / 1000);
	localtime_r(&s, &tm);
	tm.tm_mon = t->mon - 1;
	tm.tm_mday = t->mday;
	tm.tm_hour = t->hour;
	tm.tm_min = t->min;
	tm.tm_sec = t->sec;
	tm.tm_isdst = -1;
	s = mktime(&tm);
	if ((long long)s * 1000 > now + 86400000LL) {
		tm.tm_year--;
		tm.tm_isdst = -1;
		s = mktime(&tm);
	}
	return (long long)s * 1000;
}

/* respond.lua's answer: the end of a suspension this match set, or 0. */
static void fb_on_suspended(void *arg, int rc, long long value)
{
	struct fb_match *x = arg;
	struct feedback *fb = x->fb;

	if (rc == 0 && value > 0)
		log_warn("feedback: member %s %s by rule %s (%s scope, "
			 "domain %s, %lld s): %s",
			 x->member,
			 x->rule.action == RESPOND_THROTTLE ? "throttled"
							    : "suspended",
			 x->rule.name,
			 x->rule.scope == RESPOND_MEMBER ? "member" : "provider",
			 x->domain[0] ? x->domain : "none",
			 x->rule.duration_ms / 1000, x->why);
	else if (rc == -STORE_EREPLY && fb->st.errors++ % 1000 == 0)
		log_warn("feedback: Redis refused the rule script (%llu so "
			 "far)",
			 fb->st.errors);
	free(x);
}

/*
 * Counts a counted delivery's rule match in Redis (respond.lua), which
 * suspends the member when the rule's threshold is reached.  Takes x.
 */
static void fb_respond(struct feedback *fb, struct fb_match *x)
{
	char prov[FB_KEY_MAX], key[FB_KEY_MAX], evkey[FB_KEY_MAX],
	    ckey[FB_KEY_MAX], count[24], period[24], dur[24], keep[16],
	    rate[24];
	const char *argv[20] = {
	    "EVAL", RESPOND_LUA, "4", prov, key, evkey, ckey,
	    x->rule.scope == RESPOND_MEMBER ? "member" : "provider", x->domain,
	    x->relay_provider, x->rule.provider, count, period, dur, keep,
	    x->qid, x->rule.name, x->why,
	    x->rule.action == RESPOND_THROTTLE ? "throttle" : "suspend", rate};
	size_t lens[20];
	int n = snprintf(ckey, sizeof(ckey), "%src:%s:%s",
			 fb->cfg->redis_prefix, x->member, x->rule.name);

	if (n < 0 || n >= (int)sizeof(ckey) ||
	    fb_key(fb, prov, "prov", "") < 0 ||
	    fb_key(fb, key, "m:", x->member) < 0 ||
	    fb_key(fb, evkey, HEALTH_KEY_EVENTS, x->member) < 0) {
		free(x);
		return;
	}
	snprintf(count, sizeof(count), "%lld", x->rule.count);
	snprintf(period, sizeof(period), "%lld", x->rule.period_ms);
	snprintf(dur, sizeof(dur), "%lld", x->rule.duration_ms);
	snprintf(keep, sizeof(keep), "%d", HEALTH_EVENTS_MAX);
	snprintf(rate, sizeof(rate), "%lld", x->rule.rate);
	for (int i = 0; i < 20; i++)
		lens[i] = strlen(argv[i]);
	if (store_command(fb->store, 20, argv, lens, fb_on_suspended, x) < 0) {
		fb->st.errors++;
		free(x);
	}
}

/*
 * The rule a deferred or bounced reply of the relay itself matches, as a
 * new fb_match (caller owns), or NULL: no rule, not the relay's words
 * (Postfix's own deferrals never count), or older than the rule's period.
 */
static struct fb_match *fb_match_new(struct feedback *fb,
				     const struct fb_member *m,
				     const struct logline *l, long long now,
				     long long line_ms)
{
	const struct respond_rule *r;
	const char *p;
	struct fb_match *x;

	if ((l->kind != LOGLINE_DEFERRED && l->kind != LOGLINE_BOUNCED) ||
	    !l->remote)
		return NULL;
	r = respond_match(fb->cfg->feedback_rules, l->dsn, l->reply);
	if (r == NULL || (line_ms >= 0 && now - line_ms > r->period_ms))
		return NULL;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->fb = fb;
	snprintf(x->member, sizeof(x->member), "%s", m->name);
	x->rule = *r;
	snprintf(x->domain, sizeof(x->domain), "%s", l->domain);
	p = respond_provider_of_host(l->relay);
	snprintf(x->relay_provider, sizeof(x->relay_provider), "%s",
		 p ? p : "");
	snprintf(x->qid, sizeof(x->qid), "%s", l->queue_id);
	log_escape(x->why, sizeof(x->why), l->reply,
		   strlen(l->reply) < 120 ? strlen(l->reply) : 120);
	return x;
}

/*
 * Learns the provider of a delivery's recipient domain from its relay
 * host (respond.c's MX suffix table): HSET PREFIX prov DOMAIN PROVIDER,
 * once per domain while it stays in a small cache.
 */
static void fb_learn(struct feedback *fb, const struct logline *l)
{
	const char *p = respond_provider_of_host(l->relay);
	unsigned h = 2166136261u;
	char key[FB_KEY_MAX];
	const char *argv[4] = {"HSET", key, l->domain, p};
	size_t lens[4];

	if (p == NULL || l->domain[0] == '\0' ||
	    fb_key(fb, key, "prov", "") < 0)
		return;
	for (const char *c = l->domain; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	h %= FB_LEARN_SLOTS;
	if (fb->learnt[h].provider == p &&
	    strcmp(fb->learnt[h].domain, l->domain) == 0)
		return;
	for (int i = 0; i < 4; i++)
		lens[i] = strlen(argv[i]);
	if (store_command(fb->store, 4, argv, lens, fb_on_reply, fb) < 0) {
		fb->st.errors++;
		return;
	}
	snprintf(fb->learnt[h].domain, sizeof(fb->learnt[h].domain), "%s",
		 l->domain);
	fb->learnt[h].provider = p;
}

/* The script's answer: 1 counted now, 0 counted before a restart. */
static void fb_on_counted(void *arg, int rc, long long value)
{
	struct fb_done *d = arg;
	struct feedback *fb = d->fb;
	struct fb_member *m = fb_member(fb, d->member);
	enum breaker_event ev;

	if (rc == 0 && value == 1 && d->match != NULL) {
		fb_respond(fb, d->match); /* takes it */
		d->match = NULL;
	}
	free(d->match);
	if (rc < 0 || value != 1 || d->stale) {
		if (rc == 0 && value != 1)
			fb->st.replayed++;
		else if (rc == 0)
			fb->st.stale++;
		else if (rc == -STORE_EREPLY && fb->st.errors++ % 1000 == 0)
			log_warn("feedback: Redis refused the count script "
				 "(%llu so far)",
				 fb->st.errors);
		free(d);
		return;
	}
	if (m != NULL && fb->cfg->feedback_breaker_on) {
		ev = breaker_record(&m->b, &fb->cfg->feedback_breaker, d->now,
				    d->error);
		health_metrics_breaker(m->name, ev);
		if (ev != BREAKER_NONE)
			fb_publish(fb, m, ev);
	}
	free(d);
}

/*
 * A member's delivery result: one script call counts it, ends its
 * least-outstanding assignment and stores the log position, unless that
 * line was counted before a restart; the breaker hears of it when the
 * script says it is new.
 */
static void fb_delivery(struct feedback *fb, const struct logline *l,
			struct fb_member *m, const struct follow_pos *after)
{
	char counters[FB_KEY_MAX], lc[FB_KEY_MAX], ttl[24], pos[96];
	const char *argv[11];
	size_t lens[11];
	struct fb_done *d;
	long long line_ms;
	int n;

	d = malloc(sizeof(*d));
	n = snprintf(counters, sizeof(counters),
		     "%s" HEALTH_KEY_FEEDBACK "%s:%lld", fb->cfg->redis_prefix,
		     l->member, fb_now_ms() / 60000);
	if (d == NULL || n < 0 || n >= (int)sizeof(counters) ||
	    fb_key(fb, lc, "lc:", m->name) < 0) {
		free(d);
		fb->st.errors++;
		return;
	}
	d->fb = fb;
	snprintf(d->member, sizeof(d->member), "%s", m->name);
	d->error = l->kind == LOGLINE_DEFERRED || l->kind == LOGLINE_CONN_ERROR;
	d->now = fb_now_ms();
	line_ms = fb_line_ms(&l->time, d->now);
	d->stale = line_ms >= 0 &&
		   d->now - line_ms > fb->cfg->feedback_breaker.window_ms;
	d->match = fb_match_new(fb, m, l, d->now, line_ms);
	snprintf(ttl, sizeof(ttl), "%lld", fb->cfg->feedback_keep_ms + 60000);
	snprintf(pos, sizeof(pos), "%llu %llu %llu %lld", after->dev,
		 after->ino, after->gen, after->off);
	argv[0] = "EVAL";
	argv[1] = FEEDBACK_LUA;
	argv[2] = "3";
	argv[3] = counters;
	argv[4] = lc;
	argv[5] = fb->pos_key;
	argv[6] = logline_kind_name(l->kind);
	argv[7] = l->domain;
	argv[8] = ttl;
	argv[9] = l->queue_id;
	argv[10] = pos;
	for (int i = 0; i < 11; i++)
		lens[i] = strlen(argv[i]);
	fb->st.kinds[l->kind]++;
	if (store_command(fb->store, 11, argv, lens, fb_on_counted, d) < 0) {
		free(d->match);
		free(d);
		fb->st.errors++;
	}
}

/* The follower's callback: one log line. */
static int fb_on_line(void *arg, const char *line, size_t len,
		      const struct follow_pos *after)
{
	struct feedback *fb = arg;
	struct fb_member *m;
	struct logline l;
	char esc[120];
	int rc;

	if (!store_is_up(fb->store) ||
	    store_command_pending(fb->store) > FB_PENDING_MAX ||
	    fb_restore(fb) != 0) {
		if (!fb->paused++)
			fb->st.pauses++;
		return -1;
	}
	fb->paused = 0;
	fb->st.lines++;
	rc = logline_parse(line, len, &logline_default_limits, &l);
	if (rc == -LOGLINE_ENOTOURS) {
		fb->st.other++;
		return 0;
	}
	if (rc < 0) {
		if (fb->st.bad++ % 1000 == 0)
			log_warn("feedback: %s (%llu so far): %s",
				 logline_strerror(rc), fb->st.bad,
				 log_escape(esc, sizeof(esc), line,
					    len < 100 ? len : 100));
		return 0;
	}
	if (l.kind == LOGLINE_TRY) {
		fb->st.tries++;
		return 0;
	}
	fb_learn(fb, &l);
	m = fb_member(fb, l.member);
	if (m == NULL) {
		if (fb->st.unknown++ == 0)
			log_warn("feedback: delivery of '%s', not a member of "
				 "the config: not counted",
				 l.member);
		return 0;
	}
	fb_delivery(fb, &l, m, after);
	return 0;
}

/* One member's warm-up hold judgement in flight (copied: the config may
 * change before Redis answers); freed by the last callback. */
struct fb_hold {
	struct feedback *fb;
	char name[CONFIG_NAME_MAX + 1];
	char why[128];
	long long day;
};

static void fb_on_held(void *arg, int rc, long long value)
{
	struct fb_hold *h = arg;

	if (rc == 0 && value > 0)
		log_warn("feedback: member %s warm-up held (%lld day(s) "
			 "behind its schedule): %s",
			 h->name, value, h->why);
	free(h);
}

/* warmhold.lua's claim: {today, deliveries, deferred} or {0}. */
static void fb_on_claim(void *arg, int rc, const long long *v, size_t n)
{
	struct fb_hold *h = arg;
	struct feedback *fb = h->fb;
	char key[FB_KEY_MAX], evkey[FB_KEY_MAX], day[24], keep[16];
	const char *argv[9] = {"EVAL", WARMHOLD_LUA, "2", key, evkey,
			       "hold", day, keep, h->why};
	size_t lens[9];

	if (rc < 0 || n < 3 || v[0] <= 0 ||
	    !warmhold_judge(&fb->cfg->feedback_hold, v[1], v[2], h->why,
			    sizeof(h->why)) ||
	    fb_key(fb, key, "m:", h->name) < 0 ||
	    fb_key(fb, evkey, HEALTH_KEY_EVENTS, h->name) < 0) {
		if (rc == -STORE_EREPLY && fb->st.errors++ % 1000 == 0)
			log_warn("feedback: Redis refused the warm-up hold "
				 "script (%llu so far)",
				 fb->st.errors);
		free(h);
		return;
	}
	snprintf(day, sizeof(day), "%lld", v[0]);
	snprintf(keep, sizeof(keep), "%d", HEALTH_EVENTS_MAX);
	for (int i = 0; i < 9; i++)
		lens[i] = strlen(argv[i]);
	if (store_command(fb->store, 9, argv, lens, fb_on_held, h) < 0)
		free(h);
}

/*
 * Once a minute (every 2 s while Redis is not up, and 1 s after the
 * start): asks Redis to judge the warm-up hold of every member whose
 * schedule has started (warmhold.lua; one host judges each day).
 */
static void fb_on_hold_tick(evutil_socket_t fd, short what, void *arg)
{
	struct feedback *fb = arg;
	const struct config *c = fb->cfg;
	long long day = fb_now_ms() / 86400000;
	char win[24];

	(void)fd;
	(void)what;
	event_add(fb->hold_ev,
		  &(struct timeval){store_is_up(fb->store) ? FB_HOLD_TICK_S : 2,
				    0});
	snprintf(win, sizeof(win), "%lld", c->feedback_hold.window_ms / 60000);
	for (size_t i = 0; c->feedback_hold_on && i < c->nmembers; i++) {
		const struct cfg_member *mb = &c->members[i];
		char key[FB_KEY_MAX], evkey[FB_KEY_MAX], pfx[FB_KEY_MAX],
		    start[24], ndays[24];
		const char *argv[10] = {"EVAL", WARMHOLD_LUA, "2",   key,
					evkey,	"claim",      pfx,   win,
					start,	ndays};
		size_t lens[10];
		struct fb_hold *h;

		/* a hold matters after the schedule's start (the script
		 * knows the days held and so its end) */
		if (mb->warm_start_day < 0 || day <= mb->warm_start_day ||
		    fb_key(fb, key, "m:", mb->name) < 0 ||
		    fb_key(fb, evkey, HEALTH_KEY_EVENTS, mb->name) < 0 ||
		    snprintf(pfx, sizeof(pfx), "%sfb:%s:", c->redis_prefix,
			     mb->name) >= (int)sizeof(pfx) ||
		    (h = calloc(1, sizeof(*h))) == NULL)
			continue;
		h->fb = fb;
		h->day = day;
		snprintf(h->name, sizeof(h->name), "%s", mb->name);
		snprintf(start, sizeof(start), "%lld", mb->warm_start_day);
		snprintf(ndays, sizeof(ndays), "%zu", mb->nwarm);
		for (int j = 0; j < 10; j++)
			lens[j] = strlen(argv[j]);
		if (store_command_ints(fb->store, 10, argv, lens, fb_on_claim,
				       h) < 0)
			free(h);
	}
}

/* Builds the member table of c, keeping the breakers of old names. */
static int fb_members(struct feedback *fb, const struct config *c)
{
	struct fb_member *m = calloc(c->nmembers ? c->nmembers : 1, sizeof(*m));

	if (m == NULL)
		return -1;
	for (size_t i = 0; i < c->nmembers; i++) {
		const struct fb_member *old = fb_member(fb, c->members[i].name);
		snprintf(m[i].name, sizeof(m[i].name), "%s",
			 c->members[i].name);
		if (old != NULL)
			m[i].b = old->b;
		else
			breaker_init(&m[i].b);
	}
	free(fb->m);
	fb->m = m;
	fb->nm = c->nmembers;
	return 0;
}

/*
 * The key of this host's place in its log: PREFIX fo:HOST:LOGID, LOGID a
 * hash of the log's path (FNV-1a), so two logs of one host do not mix.
 */
static void fb_pos_key(struct feedback *fb, const struct config *c)
{
	unsigned long long h = 1469598103934665603ULL;
	char host[65] = "";

	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "localhost");
	for (const char *p = c->feedback_log; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(fb->pos_key, sizeof(fb->pos_key), "%sfo:%s:%016llx",
		 c->redis_prefix, host, h);
}

struct feedback *feedback_new(struct event_base *base, struct config *c)
{
	struct feedback *fb = calloc(1, sizeof(*fb));

	if (fb == NULL)
		return NULL;
	fb->cfg = config_ref(c);
	fb_pos_key(fb, c);
	if (fb_members(fb, c) < 0 || (fb->store = store_new(base, c)) == NULL)
		goto fail;
	if (strcmp(c->feedback_log, "journal") == 0 ||
	    strncmp(c->feedback_log, "journal:", 8) == 0)
		fb->jr = journal_new(base,
				     c->feedback_log[7] == ':' ? c->feedback_log + 8
							      : NULL,
				     c->feedback_state,
				     logline_default_limits.line_max,
				     fb_on_line, fb);
	else
		fb->fol = follow_new(base, c->feedback_log, c->feedback_state,
				     logline_default_limits.line_max,
				     fb_on_line, fb);
	if (fb->fol == NULL && fb->jr == NULL)
		goto fail;
	fb->hold_ev = event_new(base, -1, 0, fb_on_hold_tick, fb);
	if (fb->hold_ev == NULL ||
	    event_add(fb->hold_ev, &(struct timeval){1, 0}) < 0)
		goto fail;
	log_info("feedback: following %s (state %s, breaker %s)",
		 c->feedback_log,
		 c->feedback_state ? c->feedback_state : "none",
		 c->feedback_breaker_on ? "on" : "off");
	return fb;
fail:
	feedback_free(fb);
	return NULL;
}

int feedback_set_config(struct feedback *fb, struct config *c)
{
	if (c->feedback_log == NULL) {
		log_warn("feedback: turning it off takes a restart");
		return -1;
	}
	if (strcmp(c->feedback_log, fb->cfg->feedback_log) != 0 ||
	    (c->feedback_state == NULL) != (fb->cfg->feedback_state == NULL) ||
	    (c->feedback_state != NULL &&
	     strcmp(c->feedback_state, fb->cfg->feedback_state) != 0))
		log_warn("feedback: a new log or state file takes a restart; "
			 "still following %s",
			 fb->cfg->feedback_log);
	if (fb_members(fb, c) < 0 || store_reconfigure(fb->store, c) < 0)
		return -1;
	config_unref(fb->cfg);
	fb->cfg = config_ref(c);
	fb_pos_key(fb, fb->cfg);
	return 0;
}

void feedback_log_stats(const struct feedback *fb)
{
	struct follow_stats f;

	if (fb->fol != NULL)
		follow_get_stats(fb->fol, &f);
	else
		journal_get_stats(fb->jr, &f);
	log_info("feedback: lines=%llu sent=%llu deferred=%llu bounced=%llu "
		 "conn_error=%llu tries=%llu other=%llu bad=%llu unknown=%llu "
		 "replayed=%llu stale=%llu pauses=%llu redis_errors=%llu "
		 "too_long=%llu rotations=%llu truncations=%llu",
		 fb->st.lines, fb->st.kinds[LOGLINE_SENT],
		 fb->st.kinds[LOGLINE_DEFERRED], fb->st.kinds[LOGLINE_BOUNCED],
		 fb->st.kinds[LOGLINE_CONN_ERROR], fb->st.tries, fb->st.other,
		 fb->st.bad, fb->st.unknown, fb->st.replayed, fb->st.stale,
		 fb->st.pauses, fb->st.errors, f.too_long, f.rotations,
		 f.truncations);
}

void feedback_free(struct feedback *fb)
{
	if (fb == NULL)
		return;
	if (fb->hold_ev != NULL)
		event_free(fb->hold_ev);
	follow_free(fb->fol);
	journal_free(fb->jr);
	store_free(fb->store); /* pending replies call fb_on_reply: fb lives */
	free(fb->m);
	config_unref(fb->cfg);
	free(fb);
}
