/* Findings, alerts and integrity events forwarded to a syslog collector (a SIEM's front door) as
 * RFC 5424 messages: MSGID finding, alert or integrity; structured data dgaudit@32473 with the
 * finding id, rule, severity, report id and compliance references; the finding itself as JSON
 * in MSG. Transports: UDP (RFC 5426), TCP with octet-counting framing (RFC 6587), TLS (RFC 5425,
 * the collector's certificate checked by default) and RELP (librelp), whose acknowledgements
 * hold the checkpoint back until the collector has every finding (sync answers
 * DG_SINK_WAITING). A thread of its own does the network I/O, so a slow or absent collector
 * never stalls the audit's event loop; what is unacknowledged is bounded (syslog.queue), and
 * reading waits at the bound (busy) rather than drop anything. */
#ifndef DGAUDIT_SINK_SYSLOG_H
#define DGAUDIT_SINK_SYSLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "dgaudit/buf.h"
#include "dgaudit/config.h"
#include "dgaudit/sink.h"

/* Where a message comes from: its header's fields. */
struct dg_syslog_origin {
	int facility;
	const char *hostname;
	int pid;
	const char *report_id;
};

/* A forwarding sink for cfg (copied); alerts (a threshold reached, its burst going on) too if
 * alerts (the daemon: a one-off audit sends bursts once whole). wake(arg), if not NULL, is
 * called from the forwarding thread when an acknowledgement came, so that a commit waiting for
 * it is tried at once; it must be safe to call from another thread. */
struct dg_sink *dg_sink_syslog_new(const struct dg_syslog_cfg *cfg, bool alerts,
                                   void (*wake)(void *arg), void *arg);

/* One message, appended to out, timestamped now_ms (pure; exposed for tests). */
void dg_sink_syslog_finding(struct dg_buf *out, const struct dg_syslog_origin *o, int64_t now_ms,
                            const struct dg_sink_finding *f);
void dg_sink_syslog_integrity(struct dg_buf *out, const struct dg_syslog_origin *o,
                              const struct dg_integrity *ev);

#endif
