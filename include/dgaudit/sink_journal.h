/* The daemon's own log (the journal under systemd) as a sink: a line for the findings a commit
 * made, at most every ten seconds, naming the first of each severity; a line per malformed
 * record, at most ten a minute. Every finding and malformed record is in the report. */
#ifndef DGAUDIT_SINK_JOURNAL_H
#define DGAUDIT_SINK_JOURNAL_H

#include "dgaudit/sink.h"

struct dg_sink *dg_sink_journal_new(void);

#endif
