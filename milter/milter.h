/*
 * milter: the libmilter callbacks of postlb-milter.  They collect what the
 * rules look at (client address, SASL user, sender, recipient domains, the
 * headers rules name, the size when rules use it) and how Postfix resolved
 * each recipient, ask the router at end of message and add the route
 * header, or leave a message that is not postlb's to Postfix.  No routing
 * logic here.
 */
#ifndef POSTLB_MILTER_MILTER_H
#define POSTLB_MILTER_MILTER_H

#include <libmilter/mfapi.h>

struct router;

/*
 * The largest milter packet accepted (smfi_setmaxdatasize): a header
 * comes in one packet, and Postfix's header_size_limit (100 KiB by
 * default) is above libmilter's default of 64 KiB.  Header values are
 * bounded by it too.
 */
#define MILTER_PACKET_MAX ((1024 * 1024) - 1)

/* Messages left to Postfix so far (not postlb's to route; takeover.h). */
unsigned long long milter_left(void);

/* The filter description to register; callbacks use router r. */
struct smfiDesc *milter_desc(struct router *r);

#endif
