/*
 * takeover: which mail postlb may route.  postlb routes only mail that
 * Postfix would otherwise send out by its default outbound route and
 * leaves everything else to Postfix: local, virtual and lmtp delivery,
 * relay_domains, transport_maps destinations, content filters.
 *
 * Postfix's smtpd tells a milter how it resolved each recipient in the
 * {rcpt_mailer} (transport) and {rcpt_host} (nexthop) macros.  Mail
 * submitted with sendmail has no such macros (cleanup sends only
 * {rcpt_addr}): such recipients are "unresolved" and left to Postfix
 * unless routing.takeover.unresolved = "route" says that everything
 * submitted that way is outbound.  A recipient is postlb's
 * when its transport is one of routing.takeover.transports (default
 * "smtp") and its nexthop is the recipient's own domain (delivery to the
 * domain's MX) or one of routing.takeover.nexthops (the site's relayhost).
 * A message is routed only when every recipient is postlb's; a message
 * that mixes both kinds is left to Postfix whole (a FILTER applies to
 * every recipient, and Postfix still delivers the outbound ones by its
 * default route: nothing is misdelivered).
 *
 * Pure: no I/O, no allocation.
 */
#ifndef POSTLB_TAKEOVER_H
#define POSTLB_TAKEOVER_H

#include "config.h"

#include <stddef.h>

enum take {
	TAKE_YES,     /* Postfix's default outbound route: postlb's */
	TAKE_NO,      /* another transport or nexthop: Postfix's */
	TAKE_UNKNOWN, /* no {rcpt_mailer}: cannot tell, left to Postfix */
	/* (with routing.takeover.unresolved = "route": TAKE_YES instead) */
};

/*
 * Decides one recipient from its resolved transport (mailer) and nexthop
 * (host), either NULL when Postfix did not send them, and its domain
 * (may be NULL).  Comparisons ignore case.
 */
enum take takeover_rcpt(const struct config *c, const char *mailer,
			const char *host, const char *domain);

/* The verdict of a message, counted over its recipients. */
struct take_tally {
	size_t yes, no, unknown;
	char why[160]; /* the first recipient left to Postfix: transport:host */
};

/* Adds one recipient's verdict (mailer and host for the reason). */
void takeover_count(struct take_tally *t, enum take v, const char *mailer,
		    const char *host);

/*
 * 1 when the message is postlb's to route (at least one recipient and all
 * of them postlb's); otherwise 0 and *reason is a static word for the log:
 * "not-outbound" (no recipient is postlb's), "mixed", "unknown" (Postfix
 * did not say how it resolved some recipient), "no-recipient".
 */
int takeover_message(const struct take_tally *t, const char **reason);

#endif
