/* The one logging path. Messages go to stderr as plain lines; under systemd (JOURNAL_STREAM set)
 * each line carries a <N> priority prefix the journal understands. libevent's own messages are
 * routed here by dg_log_init. */
#ifndef DGAUDIT_LOG_H
#define DGAUDIT_LOG_H

#include <stdbool.h>

enum dg_log_level { DG_LOG_ERR = 3, DG_LOG_WARNING = 4, DG_LOG_INFO = 6, DG_LOG_DEBUG = 7 };

/* Sets the program name and the most verbose level printed; safe to call again. */
void dg_log_init(const char *progname, enum dg_log_level level);
/* True when stderr is connected to the journal, so lines get priority prefixes. */
bool dg_log_journal(void);

/* dg_log_warn and dg_log_fatal append strerror(errno). */
void dg_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dg_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dg_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dg_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void dg_log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void dg_log_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
