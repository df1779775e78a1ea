/*
 * milter: libmilter callbacks of postlb-milter (see milter.h).
 *
 * Per-connection state (struct mctx) is allocated at connect and freed at
 * close; it holds a config reference for the connection's lifetime, so a
 * reload applies to new connections.  Per-message state is cleared by
 * msg_reset() at MAIL, end of message and abort.  Each recipient's route
 * as Postfix resolved it ({rcpt_mailer}, {rcpt_host}) decides whether the
 * message is postlb's to route at all (takeover.h); a message that is not
 * gets no header.  Header rules are matched as each header arrives, on
 * every instance and the whole value (up to MVALUE_MAX, above Postfix's
 * header_size_limit); only the instances that matched a rule are kept.
 * Size rules see the message size: headers and body, CRLF line ends.
 * Strings are copied and bounded.  Every distinct recipient domain is
 * kept, up to ROUTE_DOMAINS_MAX (Postfix's default smtpd_recipient_limit);
 * a message with more is left to Postfix.
 */
#include "milter.h"

#include "log.h"
#include "route.h"
#include "router.h"
#include "takeover.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define MSTR_MAX 999 /* addresses and names: far above SMTP's limits */
#define MVALUE_MAX MILTER_PACKET_MAX /* header values (see milter.h) */

struct mctx {
	struct config *cfg;
	char client[INET6_ADDRSTRLEN];
	char *sasl_user, *sender;
	char *domains[ROUTE_DOMAINS_MAX];
	size_t ndomains;
	int domains_over; /* more distinct domains than ROUTE_DOMAINS_MAX */
	char *hname[ROUTE_HEADERS_MAX], *hvalue[ROUTE_HEADERS_MAX];
	size_t nheaders;
	unsigned char *rmatch; /* per rule: a header instance matched it */
	int count_size;	       /* size rules: count headers and body */
	long long size;	       /* message bytes seen, CRLF line ends */
	struct take_tally take; /* is the message postlb's to route? */
	unsigned long nr; /* SMFIP_NR_* flags agreed: answer SMFIS_NOREPLY */
};

static struct router *g_router;
static unsigned long long g_left; /* messages left to Postfix (atomic) */
static int g_warned_unknown;	  /* "no {rcpt_mailer}" said (atomic) */

static int size_wanted(const struct config *c);

/* The connection's state, created by the first callback that runs. */
static struct mctx *mctx_get(SMFICTX *ctx)
{
	struct mctx *x = smfi_getpriv(ctx);

	if (x != NULL)
		return x;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->cfg = router_config(g_router);
	x->rmatch = calloc(x->cfg->nrules + 1, 1);
	if (x->rmatch == NULL) {
		config_unref(x->cfg);
		free(x);
		return NULL;
	}
	x->count_size = size_wanted(x->cfg);
	smfi_setpriv(ctx, x);
	return x;
}

/* What a callback answers when it has nothing to say. */
static sfsistat next(const struct mctx *x, unsigned long nr_flag)
{
	return x != NULL && (x->nr & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static char *mdup(const char *s)
{
	char *d = strndup(s ? s : "", MSTR_MAX);
	if (d == NULL)
		log_panic("milter: out of memory");
	return d;
}

static void msg_reset(struct mctx *x)
{
	free(x->sasl_user);
	free(x->sender);
	x->sasl_user = x->sender = NULL;
	for (size_t i = 0; i < x->ndomains; i++)
		free(x->domains[i]);
	for (size_t i = 0; i < x->nheaders; i++) {
		free(x->hname[i]);
		free(x->hvalue[i]);
	}
	x->ndomains = x->nheaders = 0;
	x->domains_over = 0;
	x->size = 0;
	if (x->rmatch != NULL)
		memset(x->rmatch, 0, x->cfg->nrules);
	memset(&x->take, 0, sizeof(x->take));
}

/* 1 if some rule of c looks at header name. */
static int header_wanted(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nrules; i++)
		if (c->rules[i].header != NULL &&
		    strcasecmp(c->rules[i].header, name) == 0)
			return 1;
	return 0;
}

static int size_wanted(const struct config *c)
{
	for (size_t i = 0; i < c->nrules; i++)
		if (c->rules[i].size_min >= 0 || c->rules[i].size_max >= 0)
			return 1;
	return 0;
}

/* Strips <> and lower-cases the domain of an SMTP address into a copy. */
static char *addr_dup(const char *a)
{
	size_t n;
	char *d;

	if (a[0] == '<')
		a++;
	d = mdup(a);
	n = strlen(d);
	if (n > 0 && d[n - 1] == '>')
		d[n - 1] = '\0';
	return d;
}

static sfsistat cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct mctx *x = mctx_get(ctx);

	(void)host;
	if (x == NULL)
		return SMFIS_TEMPFAIL;
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr,
			  x->client, sizeof(x->client));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
			  x->client, sizeof(x->client));
	return next(x, SMFIP_NR_CONN);
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct mctx *x = smfi_getpriv(ctx);

	if (x == NULL)
		return next(x, SMFIP_NR_MAIL);
	msg_reset(x);
	x->sender = addr_dup(argv[0]);
	x->sasl_user = mdup(smfi_getsymval(ctx, "{auth_authen}"));
	return next(x, SMFIP_NR_MAIL);
}

/* Counts whether Postfix's route for this recipient is postlb's to take. */
static void rcpt_take(SMFICTX *ctx, struct mctx *x, const char *domain)
{
	const char *mailer = smfi_getsymval(ctx, "{rcpt_mailer}");
	const char *host = smfi_getsymval(ctx, "{rcpt_host}");
	enum take v = takeover_rcpt(x->cfg, mailer, host, domain);

	if (v == TAKE_UNKNOWN &&
	    __atomic_exchange_n(&g_warned_unknown, 1, __ATOMIC_RELAXED) == 0)
		log_info("milter: Postfix did not say how it resolves some "
			 "recipients (no {rcpt_mailer}: mail submitted with "
			 "sendmail, or milter_rcpt_macros without it); such "
			 "messages are left to Postfix "
			 "(routing.takeover.unresolved)");
	takeover_count(&x->take, v, mailer, host);
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mctx *x = smfi_getpriv(ctx);
	char *a, *at;

	if (x == NULL)
		return next(x, SMFIP_NR_RCPT);
	a = addr_dup(argv[0]);
	at = strrchr(a, '@');
	for (char *p = at; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	rcpt_take(ctx, x, at ? at + 1 : NULL);
	for (size_t i = 0; at && at[1] && i <= x->ndomains; i++)
		if (i == x->ndomains) {
			if (x->ndomains < ROUTE_DOMAINS_MAX)
				x->domains[x->ndomains++] = mdup(at + 1);
			else
				x->domains_over = 1;
			break;
		} else if (strcmp(x->domains[i], at + 1) == 0) {
			break;
		}
	free(a);
	return next(x, SMFIP_NR_RCPT);
}

/* Keeps the instances of headers that rules match (route_header_keep). */
static void header_keep(struct mctx *x, const char *name, const char *value)
{
	if (x->nheaders == ROUTE_HEADERS_MAX ||
	    !route_header_keep(x->cfg, x->rmatch, name, value))
		return;
	x->hname[x->nheaders] = mdup(name);
	x->hvalue[x->nheaders] = strndup(value, MVALUE_MAX);
	if (x->hvalue[x->nheaders] == NULL)
		log_panic("milter: out of memory");
	x->nheaders++;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct mctx *x = smfi_getpriv(ctx);

	if (x != NULL) {
		/* "Name: value" CRLF, as Postfix counts the message size */
		if (x->count_size)
			x->size += (long long)(strlen(name) + strlen(value) + 4);
		if (header_wanted(x->cfg, name))
			header_keep(x, name, value);
	}
	return next(x, SMFIP_NR_HDR);
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *buf, size_t len)
{
	struct mctx *x = smfi_getpriv(ctx);

	(void)buf;
	if (x != NULL)
		x->size += (long long)len;
	return next(x, SMFIP_NR_BODY);
}

/* Fills m from x for the router (borrowed pointers). */
static void msg_view(struct mctx *x, SMFICTX *ctx, struct route_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->sasl_user = x->sasl_user;
	m->sender = x->sender;
	m->client_addr = x->client[0] ? x->client : NULL;
	m->queue_id = smfi_getsymval(ctx, "i");
	for (size_t i = 0; i < x->ndomains; i++)
		m->rcpt_domains[m->ndomains++] = x->domains[i];
	for (size_t i = 0; i < x->nheaders; i++) {
		m->hdr_name[i] = x->hname[i];
		m->hdr_value[i] = x->hvalue[i];
	}
	m->nheaders = x->nheaders;
	/* the empty line between headers and body counts too */
	m->size = x->count_size ? x->size + 2 : -1;
}

/* The one verdict line of a message. */
static void log_verdict(const struct config *c, const char *qid,
			const struct router_result *res)
{
	int ok = res->member >= 0;

	log_info("%s: rule=%s pool=%s member=%s algorithm=%s%s%s",
		 qid ? qid : "NOQUEUE",
		 res->rule >= 0 ? c->rules[res->rule].name : "default",
		 c->pools[res->pool].name,
		 ok ? c->members[res->member].name : "none",
		 config_algo_name(c->pools[ok ? res->used_pool : res->pool].algo),
		 ok && res->used_pool != res->pool ? " via=fallback" : "",
		 res->local ? " state=local" : "");
}

/* Leaves a message that is not postlb's to Postfix: no header, logged. */
static sfsistat eom_leave(SMFICTX *ctx, struct mctx *x, const char *reason)
{
	const char *qid = smfi_getsymval(ctx, "i");

	__atomic_add_fetch(&g_left, 1, __ATOMIC_RELAXED);
	log_info("%s: left to Postfix: %s%s%s", qid ? qid : "NOQUEUE", reason,
		 x->take.why[0] ? " route=" : "", x->take.why);
	msg_reset(x);
	return SMFIS_ACCEPT;
}

static sfsistat cb_eom(SMFICTX *ctx)
{
	struct mctx *x = smfi_getpriv(ctx);
	struct router_result res;
	struct route_msg m;
	sfsistat rc = SMFIS_ACCEPT;
	const char *reason;

	if (x == NULL)
		return SMFIS_ACCEPT;
	if (!takeover_message(&x->take, &reason))
		return eom_leave(ctx, x, reason);
	/* suspensions could not be checked for every domain */
	if (x->domains_over)
		return eom_leave(ctx, x, "too-many-domains");
	msg_view(x, ctx, &m);
	router_route(g_router, x->cfg, &m, &res);
	if (res.member >= 0 &&
	    smfi_addheader(ctx, ROUTE_HEADER, res.header) != MI_SUCCESS)
		log_err("%s: smfi_addheader failed",
			m.queue_id ? m.queue_id : "NOQUEUE");
	if (res.member < 0 && x->cfg->no_member_tempfail) {
		smfi_setreply(ctx, "451", "4.4.3",
			      "No outbound route available, try again later");
		rc = SMFIS_TEMPFAIL;
	}
	log_verdict(x->cfg, m.queue_id, &res);
	msg_reset(x);
	return rc;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
	struct mctx *x = smfi_getpriv(ctx);

	if (x != NULL)
		msg_reset(x);
	return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
	struct mctx *x = smfi_getpriv(ctx);

	if (x != NULL) {
		msg_reset(x);
		free(x->rmatch);
		config_unref(x->cfg);
		free(x);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

/*
 * The SMFIP_NO* flags for the events config c does not need.  Recipients
 * are always wanted: suspensions are per destination domain.
 */
static unsigned long events_unneeded(const struct config *c)
{
	unsigned long no = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA |
			   SMFIP_NOEOH | SMFIP_NOCONNECT | SMFIP_NOMAIL |
			   SMFIP_NOHDRS | SMFIP_NOBODY;

	for (size_t i = 0; i < c->nrules; i++) {
		const struct cfg_rule *r = &c->rules[i];
		if (r->has[SUBJ_CLIENT_IP])
			no &= ~SMFIP_NOCONNECT;
		if (r->has[SUBJ_SASL_USER] || r->has[SUBJ_SENDER] ||
		    r->has[SUBJ_SENDER_DOMAIN])
			no &= ~SMFIP_NOMAIL;
		if (r->header != NULL)
			no &= ~SMFIP_NOHDRS;
		if (r->size_min >= 0 || r->size_max >= 0)
			no &= ~(SMFIP_NOBODY | SMFIP_NOHDRS);
	}
	for (size_t i = 0; i < c->npools; i++)
		if (c->pools[i].algo == ALGO_HASH &&
		    c->pools[i].hash_key != HK_RCPT_DOMAIN)
			no &= ~SMFIP_NOMAIL;
	return no;
}

/*
 * Asks only for the events and macros the config needs, and no replies
 * where Postfix allows: every packet saved is a wakeup saved, per message.
 * Once a milter names macro lists, Postfix sends no macros for the stages
 * it leaves out.
 */
static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			     unsigned long f2, unsigned long f3,
			     unsigned long *pf0, unsigned long *pf1,
			     unsigned long *pf2, unsigned long *pf3)
{
	struct mctx *x = mctx_get(ctx);
	const unsigned long nr = SMFIP_NR_CONN | SMFIP_NR_MAIL |
				 SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_BODY;

	(void)f2;
	(void)f3;
	if (x == NULL)
		return SMFIS_REJECT; /* libmilter: refuse the connection */
	*pf0 = (SMFIF_ADDHDRS | SMFIF_SETSYMLIST) & f0;
	*pf1 = (events_unneeded(x->cfg) | nr) & f1;
	*pf2 = *pf3 = 0;
	x->nr = *pf1 & nr;
	if ((*pf0 & SMFIF_SETSYMLIST) &&
	    (smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen}") != MI_SUCCESS ||
	     smfi_setsymlist(ctx, SMFIM_ENVRCPT, "{rcpt_mailer} {rcpt_host}") !=
		 MI_SUCCESS ||
	     smfi_setsymlist(ctx, SMFIM_EOM, "i") != MI_SUCCESS))
		log_warn("milter: smfi_setsymlist failed; Postfix sends its "
			 "default macros");
	return SMFIS_CONTINUE;
}

unsigned long long milter_left(void)
{
	return __atomic_load_n(&g_left, __ATOMIC_RELAXED);
}

struct smfiDesc *milter_desc(struct router *r)
{
	static struct smfiDesc desc = {
	    .xxfi_name = "postlb",
	    .xxfi_version = SMFI_VERSION,
	    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_SETSYMLIST,
	    .xxfi_connect = cb_connect,
	    .xxfi_envfrom = cb_envfrom,
	    .xxfi_envrcpt = cb_envrcpt,
	    .xxfi_header = cb_header,
	    .xxfi_body = cb_body,
	    .xxfi_eom = cb_eom,
	    .xxfi_abort = cb_abort,
	    .xxfi_close = cb_close,
	    .xxfi_negotiate = cb_negotiate,
	};

	g_router = r;
	return &desc;
}
