/* The one logging path. Messages go to stderr as plain lines; under systemd (JOURNAL_STREAM set)
 * each line carries a <N> priority prefix the journal understands. libevent's own messages are
 * routed here by dg_log_init. */
#ifndef DGAUDIT_LOG_H
#define DGAUDIT_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum dg_log_level { DG_LOG_ERR = 3, DG_LOG_WARNING = 4, DG_LOG_INFO = 6, DG_LOG_DEBUG = 7 };

/* Sets the program name and the most verbose level printed; safe to call again. */
void dg_log_init(const char *progname, enum dg_log_level level);
/* The most verbose level printed (commands whose output has more and less detail follow it). */
enum dg_log_level dg_log_level(void);
/* True when stderr is connected to the journal, so lines get priority prefixes. */
bool dg_log_journal(void);

/* dg_log_err, dg_log_warn and dg_log_fatal append strerror(errno). */
void dg_log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dg_log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dg_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dg_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dg_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dg_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Diagnostics of the form "file:line: what is wrong", one a line, at error level without the
 * program's name, as compilers print them (editors and CI annotate from them). */
void dg_log_diagnostics(const char *lines);
_Noreturn void dg_log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void dg_log_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A rate limit for lines that input can cause at any rate (malformed records): at most burst
 * lines per interval. Zero-initialised. Time is passed in. */
struct dg_log_limit {
	int64_t start_ms;
	unsigned lines;
	uint64_t held, held_before;
};
/* True if a line may be logged at now_ms; false counts it as held back. */
bool dg_log_limit_allow(struct dg_log_limit *l, int64_t now_ms, unsigned burst,
                        int64_t interval_ms);
/* How many lines the limit held back since this was last asked (for a summary line). */
uint64_t dg_log_limit_held(struct dg_log_limit *l);

#endif
