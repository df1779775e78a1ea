/*
 * trivial-milter: the smallest useful libmilter milter, a yardstick for
 * bench/milter-bench.sh.  It adds one header at end of message and
 * accepts: "X-Bench-Milter: 1", or NAME with the VALUEs given on the
 * command line in turn (a local counter: the bench's "routed"
 * configuration has it add X-Postlb-Route over the members the way
 * postlb-milter would, without classification, shared state or Redis).  It negotiates only what it needs: the
 * add-header action, and no connect, HELO, MAIL, RCPT, DATA, header,
 * end-of-header, body or unknown-command events, so Postfix talks to it
 * only to open the connection and at end of message.
 *
 * Build: cc -O2 -Wall -o trivial-milter trivial-milter.c -lmilter -lpthread
 * Usage: trivial-milter unix:/path/to/socket [NAME VALUE...]
 *        (or inet:PORT@127.0.0.1)
 * SIGTERM or SIGINT stops it (libmilter's own signal handling); it then
 * prints how many messages it saw, so a benchmark can tell that Postfix
 * really used it (with default_action=accept a broken milter is skipped).
 */
#include <libmilter/mfapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long tm_messages;
static char tm_default_name[] = "X-Bench-Milter", tm_default_value[] = "1";
static char *tm_name = tm_default_name;
static char *tm_default_values[] = {tm_default_value};
static char **tm_values = tm_default_values;
static unsigned long tm_nvalues = 1;

static sfsistat tm_eom(SMFICTX *ctx)
{
	unsigned long k = __atomic_fetch_add(&tm_messages, 1, __ATOMIC_RELAXED);

	if (smfi_addheader(ctx, tm_name, tm_values[k % tm_nvalues]) != MI_SUCCESS)
		fprintf(stderr, "trivial-milter: smfi_addheader failed\n");
	return SMFIS_ACCEPT;
}

static sfsistat tm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			     unsigned long f2, unsigned long f3,
			     unsigned long *pf0, unsigned long *pf1,
			     unsigned long *pf2, unsigned long *pf3)
{
	unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL |
			     SMFIP_NORCPT | SMFIP_NODATA | SMFIP_NOHDRS |
			     SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN;

	(void)ctx;
	(void)f2;
	(void)f3;
	if ((f0 & SMFIF_ADDHDRS) == 0)
		return SMFIS_REJECT; /* the MTA cannot add headers */
	*pf0 = SMFIF_ADDHDRS;
	*pf1 = skip & f1; /* ask only for the skips the MTA offers */
	*pf2 = *pf3 = 0;
	return SMFIS_CONTINUE;
}

static struct smfiDesc tm_desc = {
    .xxfi_name = "trivial-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS,
    .xxfi_eom = tm_eom,
    .xxfi_negotiate = tm_negotiate,
};

int main(int argc, char **argv)
{
	int rc;

	if (argc == 3 || argc < 2) {
		fprintf(stderr, "usage: trivial-milter unix:PATH|inet:PORT@HOST "
				"[NAME VALUE...]\n");
		return 2;
	}
	if (argc > 3) {
		tm_name = argv[2];
		tm_values = argv + 3;
		tm_nvalues = (unsigned long)(argc - 3);
	}
	if (smfi_setconn(argv[1]) != MI_SUCCESS) {
		fprintf(stderr, "trivial-milter: smfi_setconn(%s) failed\n",
			argv[1]);
		return 1;
	}
	if (smfi_register(tm_desc) != MI_SUCCESS) {
		fprintf(stderr, "trivial-milter: smfi_register failed\n");
		return 1;
	}
	/* 1: remove a stale unix socket left by an earlier run */
	if (smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "trivial-milter: cannot open %s\n", argv[1]);
		return 1;
	}
	fprintf(stderr, "trivial-milter: listening on %s\n", argv[1]);
	rc = smfi_main();
	fprintf(stderr, "trivial-milter: end of message: %lu\n",
		__atomic_load_n(&tm_messages, __ATOMIC_RELAXED));
	return rc == MI_SUCCESS ? 0 : 1;
}
