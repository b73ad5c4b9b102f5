/* The report bundle as a sink: findings, malformed records, integrity events and inputs go
 * into report.json as they come (report.h), made durable at each sync, signed and put in place
 * when the period closes (bundle.h). */
#ifndef DGAUDIT_SINK_REPORT_H
#define DGAUDIT_SINK_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/sign.h"
#include "dgaudit/sink.h"

/* Bundles in dir signed by signer (which must outlive the sink), listing at most
 * max_malformed malformed records; full once report.json reaches max_size bytes (0: never).
 * A report not closed when the sink is freed stays for a restart to resume if keep (the
 * daemon, whose checkpoint names it), else it is removed (run). */
struct dg_sink *dg_sink_report_new(const char *dir, const struct dg_signer *signer,
                                   size_t max_malformed, uint64_t max_size, bool keep);

#endif
