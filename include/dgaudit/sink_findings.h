/* Findings as JSON lines, one a finding: the daemon's findings log, or `run`'s standard output
 * (or --findings FILE). */
#ifndef DGAUDIT_SINK_FINDINGS_H
#define DGAUDIT_SINK_FINDINGS_H

#include <stdbool.h>
#include <stdio.h>

#include "dgaudit/sink.h"

/* The findings log at path (made 0640: findings cite the records they come from), findings
 * and alerts: written and fsynced at each sync, so that no checkpoint passes over a finding
 * the log lacks; cut back at a restart to what the checkpoint covers when it is still the file
 * the checkpoint names (never a successor rotation put in place); opened again by name after a
 * rotation. NULL with *cause. */
struct dg_sink *dg_sink_findings_log(const char *path, char **cause);
/* A stream: findings (not alerts: a one-off audit reports bursts once whole) as they come,
 * flushed at each sync, which fails if any write did; closed with the sink if close. */
struct dg_sink *dg_sink_findings_stream(FILE *out, bool close);

#endif
