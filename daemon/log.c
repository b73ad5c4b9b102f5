#include "dgaudit/log.h"

#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Process-wide by nature: stderr is one stream, and fatal paths must log without a context. */
static const char *log_progname = "dgaudit";
static enum dg_log_level log_level = DG_LOG_INFO;
static bool log_to_journal;

/* One line per message, written with a single call so concurrent writers do not interleave. */
static void log_line(enum dg_log_level level, const char *msg)
{
	if (level > log_level)
		return;
	if (log_to_journal)
		fprintf(stderr, "<%d>%s\n", (int)level, msg);
	else
		fprintf(stderr, "%s: %s\n", log_progname, msg);
}

static void log_vemit(enum dg_log_level level, int errnum, const char *fmt, va_list ap)
{
	char msg[4096];
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (errnum != 0 && n >= 0 && (size_t)n < sizeof msg)
		snprintf(msg + n, sizeof msg - (size_t)n, ": %s", strerror(errnum));
	log_line(level, msg);
}

static void log_from_libevent(int severity, const char *msg)
{
	enum dg_log_level level = DG_LOG_DEBUG;

	switch (severity) {
	case EVENT_LOG_ERR:
		level = DG_LOG_ERR;
		break;
	case EVENT_LOG_WARN:
		level = DG_LOG_WARNING;
		break;
	case EVENT_LOG_MSG:
		level = DG_LOG_INFO;
		break;
	}
	char line[1024];

	snprintf(line, sizeof line, "libevent: %s", msg);
	log_line(level, line);
}

void dg_log_init(const char *progname, enum dg_log_level level)
{
	log_progname = progname;
	log_level = level;
	log_to_journal = getenv("JOURNAL_STREAM") != NULL;
	event_set_log_callback(log_from_libevent);
}

enum dg_log_level dg_log_level(void)
{
	return log_level;
}

bool dg_log_journal(void)
{
	return log_to_journal;
}

#define LOG_FN(name, level, with_errno)                                                            \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		int errnum = (with_errno) ? errno : 0;                                             \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vemit((level), errnum, fmt, ap);                                               \
		va_end(ap);                                                                        \
	}

LOG_FN(dg_log_err, DG_LOG_ERR, 1)
LOG_FN(dg_log_errx, DG_LOG_ERR, 0)
LOG_FN(dg_log_warn, DG_LOG_WARNING, 1)
LOG_FN(dg_log_warnx, DG_LOG_WARNING, 0)
LOG_FN(dg_log_info, DG_LOG_INFO, 0)
LOG_FN(dg_log_debug, DG_LOG_DEBUG, 0)

void dg_log_diagnostics(const char *lines)
{
	if (DG_LOG_ERR > log_level)
		return;
	for (const char *p = lines; *p != '\0';) {
		size_t n = strcspn(p, "\n");

		if (log_to_journal)
			fprintf(stderr, "<%d>%.*s\n", (int)DG_LOG_ERR, (int)n, p);
		else
			fprintf(stderr, "%.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

void dg_log_fatal(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(DG_LOG_ERR, errnum, fmt, ap);
	va_end(ap);
	exit(2);
}

void dg_log_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(DG_LOG_ERR, 0, fmt, ap);
	va_end(ap);
	exit(2);
}

bool dg_log_limit_allow(struct dg_log_limit *l, int64_t now_ms, unsigned burst, int64_t interval_ms)
{
	if (l->lines == 0 || now_ms - l->start_ms >= interval_ms || now_ms < l->start_ms) {
		l->start_ms = now_ms;
		l->lines = 0;
	}
	if (l->lines < burst) {
		l->lines++;
		return true;
	}
	l->held++;
	return false;
}

uint64_t dg_log_limit_held(struct dg_log_limit *l)
{
	uint64_t n = l->held - l->held_before;

	l->held_before = l->held;
	return n;
}
