/* Prometheus text exposition format 0.0.4, written into a buffer: each family once with its
 * HELP and TYPE, then its samples; label values escaped (backslash, quote, newline) and made
 * valid UTF-8, so a file name of any bytes cannot break a scrape. Pure: no I/O, no clock. */
#ifndef DGAUDIT_METRICS_H
#define DGAUDIT_METRICS_H

#include <stdint.h>

#include "dgaudit/buf.h"

enum dg_metrics_type { DG_METRICS_COUNTER, DG_METRICS_GAUGE };

/* "# HELP name help" and "# TYPE name counter|gauge". */
void dg_metrics_family(struct dg_buf *b, const char *name, enum dg_metrics_type type,
                       const char *help);
/* "name v", or "name{label="value"} v" when label is not NULL. */
void dg_metrics_u64(struct dg_buf *b, const char *name, const char *label, const char *value,
                    uint64_t v);
void dg_metrics_f64(struct dg_buf *b, const char *name, const char *label, const char *value,
                    double v);
/* A family of one unlabelled sample. */
void dg_metrics_one(struct dg_buf *b, const char *name, enum dg_metrics_type type, const char *help,
                    uint64_t v);

#endif
