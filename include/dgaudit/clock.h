/* The two clocks the edges read: wall time stamps events and reports, monotonic time measures
 * intervals that must not jump when the wall clock is set. The core never reads a clock. */
#ifndef DGAUDIT_CLOCK_H
#define DGAUDIT_CLOCK_H

#include <stdint.h>

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t dg_clock_wall_ms(void);
/* Milliseconds since an arbitrary start (CLOCK_MONOTONIC). */
int64_t dg_clock_mono_ms(void);
/* Nanoseconds since an arbitrary start (CLOCK_MONOTONIC), to measure costs. */
int64_t dg_clock_mono_ns(void);

#endif
