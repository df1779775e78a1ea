/*
 * milter: the libmilter callbacks of postlb-milter.  They collect what the
 * rules look at (client address, SASL user, sender, recipient domains, the
 * headers rules name, the size when rules use it), ask the router at end of
 * message and add the route header.  No routing logic here.
 */
#ifndef POSTLB_MILTER_MILTER_H
#define POSTLB_MILTER_MILTER_H

#include <libmilter/mfapi.h>

struct router;

/* The filter description to register; callbacks use router r. */
struct smfiDesc *milter_desc(struct router *r);

#endif
