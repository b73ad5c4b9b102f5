/* A RELP client (the Reliable Event Logging Protocol of rsyslog's imrelp): frames
 * "TXNR SP COMMAND SP DATALEN [SP DATA] LF", each syslog frame answered by "TXNR rsp LEN 200 OK",
 * in order. librelp's client blocks in every call and tells its caller neither which frames
 * were acknowledged nor, after a server's close hint, that a close failed (a loss seen in
 * testing), so the forwarder speaks the protocol itself: it knows exactly how many messages
 * the collector has. Blocking, over a connected socket (or TLS), for the forwarding thread. */
#ifndef DGAUDIT_RELP_H
#define DGAUDIT_RELP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/tls.h"

/* A frame from the server, parsed as it arrives (pure). */
struct dg_relp_reader {
	char head[64]; /* "TXNR COMMAND DATALEN" so far */
	size_t hlen;
	uint64_t txnr;
	char command[16];
	size_t datalen, got; /* of the data, and how much of it has come */
	char data[96];       /* its start: the response code and text */
	int state;           /* 0 head, 1 data, 2 trailer */
};

enum dg_relp_event { DG_RELP_MORE, DG_RELP_FRAME, DG_RELP_ERROR };

/* Consumes bytes of buf from *pos: DG_RELP_FRAME when a frame is complete (r->txnr, r->command,
 * r->data hold it, and the reader starts the next), DG_RELP_MORE when buf is used up,
 * DG_RELP_ERROR if the bytes are not RELP. */
enum dg_relp_event dg_relp_read(struct dg_relp_reader *r, const char *buf, size_t len, size_t *pos);

struct dg_relp;

/* The session's open exchange on fd (tls, if not NULL, over it; both stay the caller's);
 * NULL with *cause. */
struct dg_relp *dg_relp_open(int fd, struct dg_tls *tls, int timeout_ms, char **cause);
/* Sends a syslog frame; -1 with *cause if the connection failed. */
int dg_relp_send(struct dg_relp *r, const char *msg, size_t len, char **cause);
/* Frames sent and not yet acknowledged. */
uint64_t dg_relp_outstanding(const struct dg_relp *r);
/* Reads what the server answered, waiting up to wait_ms for the first answer when frames are
 * outstanding (0: only what has come); *acked gets how many more frames it acknowledged, in
 * order. -1 with *cause if the server refused a frame, closed the session, or did not answer
 * within wait_ms when waited for. */
int dg_relp_acks(struct dg_relp *r, int wait_ms, uint64_t *acked, char **cause);
/* A close exchange (briefly waited for), and the session freed; NULL is a no-op. */
void dg_relp_close(struct dg_relp *r);

#endif
