/*
 * test_logline: table-driven tests of logline.c on Postfix 3.7.11 lines
 * captured from a private instance (member transports postfix-m1..m3,
 * smtp-sink, a scripted SMTP server answering 4xx/5xx, a closed port, a
 * stalled and a dropped connection), in the maillog_file form, without
 * time stamp, in the RFC 3339 form and as journal entries; plus limits at
 * max and max + 1, embedded NUL, truncated lines, empty input, and the
 * time stamps (classic and RFC 3339, or none).  No I/O.
 */
#include "logline.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct ok_case {
	const char *line;
	enum logline_kind kind;
	const char *member, *qid, *domain, *relay, *dsn, *reply;
	int remote;
};

#define P "Dec 01 05:13:55 e2e-pf "
static const struct ok_case oks[] = {
    {P "postfix-m1/smtp[3949]: 668FDA725AE: to=<u1@ok.example>, "
       "relay=127.0.0.1[127.0.0.1]:14950, delay=0.43, "
       "delays=0.13/0.25/0.03/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
     LOGLINE_SENT, "m1", "668FDA725AE", "ok.example", "127.0.0.1", "2.0.0",
     "250 2.0.0 Ok", 0},
    {P "postfix-m2/smtp[4141]: 5E25FA725C8: to=<t4e@scr.example>, "
       "relay=127.0.0.1[127.0.0.1]:14951, delay=1.1, delays=0/0.25/0.04/0.82, "
       "dsn=4.2.0, status=deferred (host 127.0.0.1[127.0.0.1] said: 450 "
       "4.2.0 <x>: Recipient address rejected: mailbox busy (in reply to "
       "RCPT TO command))",
     LOGLINE_DEFERRED, "m2", "5E25FA725C8", "scr.example", "127.0.0.1", "4.2.0",
     "host 127.0.0.1[127.0.0.1] said: 450 4.2.0 <x>: Recipient address "
     "rejected: mailbox busy (in reply to RCPT TO command)",
     1},
    /* 4xx without an enhanced code: Postfix makes up the DSN */
    {P "postfix-m2/smtp[4141]: CF882A7236B: to=<t4@scr.example>, "
       "relay=127.0.0.1[127.0.0.1]:14951, delay=0.11, delays=0.02/0/0.03/0.06, "
       "dsn=4.0.0, status=deferred (host 127.0.0.1[127.0.0.1] said: 451 "
       "Requested action aborted: try again later (in reply to RCPT TO "
       "command))",
     LOGLINE_DEFERRED, "m2", "CF882A7236B", "scr.example", "127.0.0.1", "4.0.0",
     "host 127.0.0.1[127.0.0.1] said: 451 Requested action aborted: try "
     "again later (in reply to RCPT TO command)",
     1},
    {P "postfix-m2/smtp[4141]: 03776A72909: to=<p5e@scr.example>, "
       "relay=127.0.0.1[127.0.0.1]:14951, delay=0.28, delays=0.08/0/0.09/0.11, "
       "dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 "
       "5.1.1 <x>: Recipient address rejected: User unknown (in reply to "
       "RCPT TO command))",
     LOGLINE_BOUNCED, "m2", "03776A72909", "scr.example", "127.0.0.1", "5.1.1",
     "host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <x>: Recipient address "
     "rejected: User unknown (in reply to RCPT TO command)",
     1},
    /* 5xx without an enhanced code */
    {P "postfix-m2/smtp[4141]: 18233A72989: to=<p5@scr.example>, "
       "relay=127.0.0.1[127.0.0.1]:14951, delay=0.25, delays=0/0/0.17/0.07, "
       "dsn=5.0.0, status=bounced (host 127.0.0.1[127.0.0.1] said: 554 "
       "Transaction failed (in reply to RCPT TO command))",
     LOGLINE_BOUNCED, "m2", "18233A72989", "scr.example", "127.0.0.1", "5.0.0",
     "host 127.0.0.1[127.0.0.1] said: 554 Transaction failed (in reply to "
     "RCPT TO command)",
     1},
    {P "postfix-m2/smtp[4141]: 07BD2A7298B: to=<close@scr.example>, "
       "relay=127.0.0.1[127.0.0.1]:14951, delay=0.08, "
       "delays=0.03/0.01/0.01/0.03, dsn=4.4.2, status=deferred (lost "
       "connection with 127.0.0.1[127.0.0.1] while sending RCPT TO)",
     LOGLINE_CONN_ERROR, "m2", "07BD2A7298B", "scr.example", "127.0.0.1",
     "4.4.2", "lost connection with 127.0.0.1[127.0.0.1] while sending RCPT TO",
     0},
    /* a multi-line 421 reply, joined by Postfix */
    {P "postfix-m2/smtp[4866]: 4F96DA72A27: to=<g@Gmail.COM>, "
       "relay=127.0.0.1[127.0.0.1]:14951, delay=0.49, "
       "delays=0.07/0.25/0.13/0.05, dsn=4.7.28, status=deferred (host "
       "127.0.0.1[127.0.0.1] said: 421-4.7.28 Gmail has detected an unusual "
       "rate of unsolicited mail 421 4.7.28 originating from your IP. To "
       "protect our users from spam. - gsmtp (in reply to RCPT TO command))",
     LOGLINE_DEFERRED, "m2", "4F96DA72A27", "gmail.com", "127.0.0.1", "4.7.28",
     "host 127.0.0.1[127.0.0.1] said: 421-4.7.28 Gmail has detected an "
     "unusual rate of unsolicited mail 421 4.7.28 originating from your IP. "
     "To protect our users from spam. - gsmtp (in reply to RCPT TO command)",
     1},
    {P "postfix-m3/smtp[4920]: connect to 127.0.0.1[127.0.0.1]:14952: "
       "Connection refused",
     LOGLINE_TRY, "m3", "", "", "127.0.0.1", "",
     "connect to 127.0.0.1[127.0.0.1]:14952: Connection refused", 0},
    {P "postfix-m3/smtp[4920]: 8CBC6A72009: to=<d1@dead.example>, "
       "relay=none, delay=0.47, delays=0.03/0.44/0/0, dsn=4.4.1, "
       "status=deferred (connect to 127.0.0.1[127.0.0.1]:14952: Connection "
       "refused)",
     LOGLINE_CONN_ERROR, "m3", "8CBC6A72009", "dead.example", "none", "4.4.1",
     "connect to 127.0.0.1[127.0.0.1]:14952: Connection refused", 0},
    {P "postfix-m2/smtp[4141]: 64E4EA729ED: to=<stall@scr.example>, "
       "relay=127.0.0.1[127.0.0.1]:14951, delay=3.2, delays=0.05/0.02/0.05/3, "
       "dsn=4.4.2, status=deferred (conversation with 127.0.0.1[127.0.0.1] "
       "timed out while sending RCPT TO)",
     LOGLINE_CONN_ERROR, "m2", "64E4EA729ED", "scr.example", "127.0.0.1",
     "4.4.2",
     "conversation with 127.0.0.1[127.0.0.1] timed out while sending RCPT TO",
     0},
    /* tries at one MX of several, with a queue id */
    {P "postfix-m1/smtp[77]: 3F1C2A7: lost connection with "
       "mx1.example.net[192.0.2.1] while receiving the initial server "
       "greeting",
     LOGLINE_TRY, "m1", "3F1C2A7", "", "mx1.example.net", "",
     "lost connection with mx1.example.net[192.0.2.1] while receiving the "
     "initial server greeting",
     0},
    {P "postfix-m1/smtp[77]: 3F1C2A7: conversation with "
       "mx2.example.net[192.0.2.2] timed out while receiving the initial "
       "server greeting",
     LOGLINE_TRY, "m1", "3F1C2A7", "", "mx2.example.net", "",
     "conversation with mx2.example.net[192.0.2.2] timed out while "
     "receiving the initial server greeting",
     0},
    {P "postfix-m1/smtp[77]: 3F1C2A7: host mx3.example.net[192.0.2.3] "
       "said: 421 4.3.2 Service shutting down (in reply to MAIL FROM command)",
     LOGLINE_TRY, "m1", "3F1C2A7", "", "mx3.example.net", "",
     "host mx3.example.net[192.0.2.3] said: 421 4.3.2 Service shutting down "
     "(in reply to MAIL FROM command)",
     1},
    /* no time stamp and host (the journal's syslog form) */
    {"postfix-m1/smtp[3949]: 668FDA725AE: to=<u1@ok.example>, "
     "relay=127.0.0.1[127.0.0.1]:14950, delay=0.43, "
     "delays=0.13/0.25/0.03/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n",
     LOGLINE_SENT, "m1", "668FDA725AE", "ok.example", "127.0.0.1", "2.0.0",
     "250 2.0.0 Ok", 0},
    /* rsyslog's RFC 3339 stamp, a real MX, orig_to and conn_use, CRLF */
    {"2026-12-01T04:49:50.123456+00:00 mx postfix-out_1/smtp[9]: "
     "4QZ7cG0Xyz4R5: to=<a@b.example>, orig_to=<c@d.example>, "
     "relay=gmail-smtp-in.l.google.com[142.250.27.26]:25, conn_use=2, "
     "delay=1, delays=0.1/0/0.4/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK "
     "1701406190 x7si123 - gsmtp)\r\n",
     LOGLINE_SENT, "out_1", "4QZ7cG0Xyz4R5", "b.example",
     "gmail-smtp-in.l.google.com", "2.0.0",
     "250 2.0.0 OK 1701406190 x7si123 - gsmtp", 0},
    /* syslog's day padded with a space */
    {"Dec  1 04:49:50 host postfix-m1/smtp[123]: ABC: to=<x@y.example>, "
     "relay=r.example[192.0.2.9]:25, delay=1, delays=1/0/0/0, dsn=5.7.1, "
     "status=bounced (host r.example[192.0.2.9] said: 550 5.7.1 Blocked)",
     LOGLINE_BOUNCED, "m1", "ABC", "y.example", "r.example", "5.7.1",
     "host r.example[192.0.2.9] said: 550 5.7.1 Blocked", 1},
    /* a truncated line: the reply text is kept in part */
    {P "postfix-m2/smtp[4141]: 5E25FA725C8: to=<t4e@scr.example>, "
       "relay=127.0.0.1[127.0.0.1]:14951, delay=1.1, delays=0/0.25/0.04/0.82, "
       "dsn=4.2.0, status=deferred (host 127.0.0.1[127.0.0.1] said: 450 "
       "4.2.0 <x>: Recipi",
     LOGLINE_DEFERRED, "m2", "5E25FA725C8", "scr.example", "127.0.0.1", "4.2.0",
     "host 127.0.0.1[127.0.0.1] said: 450 4.2.0 <x>: Recipi", 1},
    /* a recipient without a domain */
    {P "postfix-m1/smtp[1]: AB12: to=<postmaster>, relay=none, delay=1, "
       "delays=1/0/0/0, dsn=4.4.1, status=deferred (connect to "
       "h[192.0.2.1]:25: Connection timed out)",
     LOGLINE_CONN_ERROR, "m1", "AB12", "", "none", "4.4.1",
     "connect to h[192.0.2.1]:25: Connection timed out", 0},
};

static void check_ok(const struct ok_case *c, const struct logline *l)
{
	assert_int_equal(l->kind, c->kind);
	assert_string_equal(l->member, c->member);
	assert_string_equal(l->queue_id, c->qid);
	assert_string_equal(l->domain, c->domain);
	assert_string_equal(l->relay, c->relay);
	assert_string_equal(l->dsn, c->dsn);
	assert_string_equal(l->reply, c->reply);
	assert_int_equal(l->remote, c->remote);
}

static void test_captured(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(oks); i++) {
		struct logline l;
		int rc = logline_parse(oks[i].line, strlen(oks[i].line),
				       &logline_default_limits, &l);
		if (rc != 0)
			fail_msg("case %zu: %s", i, logline_strerror(rc));
		check_ok(&oks[i], &l);
	}
}

/* Lines that are valid and not ours. */
static const char *const not_ours[] = {
    /* other programs */
    P "postfix/qmgr[3758]: 668FDA725AE: removed",
    P "postfix/qmgr[3758]: 668FDA725AE: from=<sender@src.example>, size=390, "
      "nrcpt=1 (queue active)",
    P "postfix/smtpd[100]: connect from localhost[127.0.0.1]",
    P "postfix/bounce[4447]: 03776A72909: sender non-delivery notification: "
      "7AA26A723B6",
    P "dovecot[55]: imap-login: Login: user=<a>",
    P "kernel: [ 12.5] eth0: link up",
    /* a non-member smtp transport */
    P "postfix/smtp[4075]: 19C05A7258C: to=<u2@other.example>, "
      "relay=127.0.0.1[127.0.0.1]:14950, delay=0.39, "
      "delays=0.04/0.25/0.09/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
    /* a member's lmtp or pipe service is not a relay */
    P "postfix-m1/lmtp[5]: AB: to=<a@b>, relay=x[1.2.3.4]:24, delay=1, "
      "delays=1/0/0/0, dsn=2.0.0, status=sent (250 ok)",
    /* Postfix's own deferrals */
    P "postfix-m3/smtp[5]: 8CBC6A72009: to=<d1@dead.example>, relay=none, "
      "delay=20, delays=20/0/0/0, dsn=4.4.1, status=deferred (delivery "
      "temporarily suspended: connect to 127.0.0.1[127.0.0.1]:14952: "
      "Connection refused)",
    P "postfix-m1/smtp[5]: AB: to=<a@b.example>, relay=none, delay=0, "
      "delays=0/0/0/0, dsn=4.3.0, status=deferred (mail transport "
      "unavailable)",
    /* address verification probes */
    P "postfix-m1/smtp[5]: AB: to=<a@b.example>, relay=r[1.2.3.4]:25, "
      "delay=1, delays=1/0/0/0, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)",
    /* informational lines of a member */
    P "postfix-m1/smtp[5]: AB: enabling PIX workarounds: disable_esmtp "
      "delay_dotcrlf for r[1.2.3.4]:25",
    P "postfix-m1/smtp[5]: Untrusted TLS connection established to "
      "r[1.2.3.4]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384",
    P "postfix-m1/smtp[5]: warning: /etc/postfix/main.cf, line 27: "
      "overriding earlier entry",
    P "postfix-m1/smtp[x1]: AB: to=<a@b>, status=sent",
    "",
    "\n",
    "no tag at all",
};

static void test_not_ours(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(not_ours); i++) {
		struct logline l;
		l.kind = LOGLINE_TRY;
		int rc = logline_parse(not_ours[i], strlen(not_ours[i]),
				       &logline_default_limits, &l);
		if (rc != -LOGLINE_ENOTOURS)
			fail_msg("case %zu: rc %d", i, rc);
		assert_int_equal(l.kind, LOGLINE_TRY); /* untouched */
	}
}

/* A member's lines cut or mangled before the status. */
static const char *const malformed[] = {
    P "postfix-m1/smtp[1]: AB12: to=<x@y.example>, relay=127.0.0.1[127.",
    P "postfix-m1/smtp[1]: AB12: to=<x@y.example>, relay=none, delay=1, "
      "status=sent (250 ok)", /* no dsn */
    P "postfix-m1/smtp[1]: AB12: to=<x@y.example>, relay=none, dsn=2.x.0, "
      "status=sent (250 ok)",
    P "postfix-m1/smtp[1]: AB12: to=<x@y.example>, relay=none, dsn=2.0.0, "
      "status=sentX",
    P "postfix-m1/smtp[1]: AB12: to=<x@y.example",
};

static void test_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(malformed); i++) {
		struct logline l;
		int rc = logline_parse(malformed[i], strlen(malformed[i]),
				       &logline_default_limits, &l);
		if (rc != -LOGLINE_EMALFORMED)
			fail_msg("case %zu: rc %d", i, rc);
	}
}

static void test_nul_and_limits(void **state)
{
	const char *line = oks[0].line;
	size_t n = strlen(line);
	struct logline_limits lim = {n};
	struct logline l;
	char buf[1024];

	(void)state;
	assert_int_equal(logline_parse(line, n, &lim, &l), 0);
	lim.line_max = n - 1;
	assert_int_equal(logline_parse(line, n, &lim, &l), -LOGLINE_ETOOLONG);
	/* the newline does not count */
	memcpy(buf, line, n);
	buf[n] = '\n';
	lim.line_max = n;
	assert_int_equal(logline_parse(buf, n + 1, &lim, &l), 0);
	/* an embedded NUL */
	buf[30] = '\0';
	assert_int_equal(logline_parse(buf, n, &lim, &l), -LOGLINE_EMALFORMED);
	/* empty input */
	assert_int_equal(logline_parse(buf, 0, &lim, &l), -LOGLINE_ENOTOURS);
}

/* A reply longer than the buffer is kept in part and flagged. */
static void test_long_reply(void **state)
{
	static char buf[3000];
	struct logline l;
	int n;

	(void)state;
	n = snprintf(
	    buf, sizeof(buf),
	    "postfix-m1/smtp[1]: AB: to=<a@b.example>, relay=r[1.2.3.4]"
	    ":25, delay=1, delays=1/0/0/0, dsn=4.7.0, status=deferred "
	    "(host r[1.2.3.4] said: 421 %02000d)",
	    0);
	assert_int_equal(
	    logline_parse(buf, (size_t)n, &logline_default_limits, &l), 0);
	assert_int_equal(l.reply_cut, 1);
	assert_int_equal(strlen(l.reply), LOGLINE_REPLY_MAX - 1);
	/* a domain longer than its buffer makes the line malformed */
	n = snprintf(buf, sizeof(buf),
		     "postfix-m1/smtp[1]: AB: to=<a@%0300d>, relay=none, "
		     "delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (ok)",
		     0);
	assert_int_equal(
	    logline_parse(buf, (size_t)n, &logline_default_limits, &l),
	    -LOGLINE_EMALFORMED);
}

/* A journal entry: identifier and message apart. */
static void test_journal(void **state)
{
	static const char id[] = "postfix-m2/smtp";
	static const char msg[] =
	    "07BD2A7298B: to=<close@scr.example>, relay=127.0.0.1[127.0.0.1]"
	    ":14951, delay=0.08, delays=0.03/0.01/0.01/0.03, dsn=4.4.2, "
	    "status=deferred (lost connection with 127.0.0.1[127.0.0.1] while "
	    "sending RCPT TO)";
	struct logline l;

	(void)state;
	assert_int_equal(logline_parse_message(id, strlen(id), msg, strlen(msg),
					       &logline_default_limits, &l),
			 0);
	check_ok(&oks[5], &l);
	assert_int_equal(logline_parse_message("postfix/smtp", 12, msg,
					       strlen(msg),
					       &logline_default_limits, &l),
			 -LOGLINE_ENOTOURS);
	assert_string_equal(logline_kind_name(LOGLINE_CONN_ERROR),
			    "conn_error");
}

/* Time stamps: as written, or none. */
static void test_time(void **state)
{
	static const struct {
		const char *prefix;
		int year, mon, mday, hour, min, sec, off;
	} cases[] = {
	    {"Dec 01 05:13:55 e2e-pf ", 0, 12, 1, 5, 13, 55, 0},
	    {"Dec  1 04:49:50 host ", 0, 12, 1, 4, 49, 50, 0},
	    {"Jan 31 23:59:60 host ", 0, 1, 31, 23, 59, 60, 0},
	    {"2026-12-01T04:49:50.123456+00:00 mx ", 2026, 12, 1, 4, 49, 50, 0},
	    {"2026-06-30T23:00:01+02:00 mx ", 2026, 6, 30, 23, 0, 1, 120},
	    {"2026-06-30T23:00:01-05:30 mx ", 2026, 6, 30, 23, 0, 1, -330},
	    {"2026-06-30T23:00:01Z mx ", 2026, 6, 30, 23, 0, 1, 0},
	    /* none, or not a stamp: no time */
	    {"", 0, 0, 0, 0, 0, 0, 0},
	    {"Dex 01 05:13:55 h ", 0, 0, 0, 0, 0, 0, 0},
	    {"Dec 41 05:13:55 h ", 0, 0, 0, 0, 0, 0, 0},
	    {"Dec 01 25:13:55 h ", 0, 0, 0, 0, 0, 0, 0},
	    {"2026-13-01T04:49:50Z h ", 0, 0, 0, 0, 0, 0, 0},
	    {"2026-12-01T04:49:50 h ", 0, 0, 0, 0, 0, 0, 0}, /* no zone */
	};
	static const char body[] =
	    "postfix-m1/smtp[3949]: 668FDA725AE: to=<u1@ok.example>, "
	    "relay=127.0.0.1[127.0.0.1]:14950, delay=0.43, "
	    "delays=0.13/0.25/0.03/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok)";
	char line[512];

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct logline l;
		int n =
		    snprintf(line, sizeof(line), "%s%s", cases[i].prefix, body);
		if (logline_parse(line, (size_t)n, &logline_default_limits,
				  &l) != 0)
			fail_msg("case %zu: not parsed", i);
		if (l.time.year != cases[i].year ||
		    l.time.mon != cases[i].mon ||
		    l.time.mday != cases[i].mday ||
		    l.time.hour != cases[i].hour ||
		    l.time.min != cases[i].min || l.time.sec != cases[i].sec ||
		    l.time.utc_off_min != cases[i].off)
			fail_msg("case %zu: %d-%d-%d %d:%d:%d %+d", i,
				 l.time.year, l.time.mon, l.time.mday,
				 l.time.hour, l.time.min, l.time.sec,
				 l.time.utc_off_min);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_captured),
	    cmocka_unit_test(test_not_ours),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_nul_and_limits),
	    cmocka_unit_test(test_long_reply),
	    cmocka_unit_test(test_journal),
	    cmocka_unit_test(test_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
