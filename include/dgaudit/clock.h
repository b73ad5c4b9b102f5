/* The two clocks the edges read: wall time stamps events and reports, monotonic time measures
 * intervals that must not jump when the wall clock is set. The core never reads a clock. */
#ifndef DGAUDIT_CLOCK_H
#define DGAUDIT_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t dg_clock_wall_ms(void);
/* Milliseconds since an arbitrary start (CLOCK_MONOTONIC). */
int64_t dg_clock_mono_ms(void);
/* Nanoseconds since an arbitrary start (CLOCK_MONOTONIC), to measure costs. */
int64_t dg_clock_mono_ns(void);
/* The time the kernel stamps files with now (CLOCK_REALTIME_COARSE): a change made after this
 * call gets an mtime at or past it. 0, or -1 if the clock cannot be read. */
int dg_clock_file_now(struct timespec *ts);

#endif
