/* Splits a byte stream into line records without losing its place: every record carries the
 * byte offset and number of its line, lines longer than the cap are cut and flagged with their
 * real length, CRLF is accepted, and a partial last line is held until more bytes arrive or the
 * caller declares the end of the input. Pure: bytes in, records out. */
#ifndef DGAUDIT_FRAMER_H
#define DGAUDIT_FRAMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dg_record {
	const char *data;  /* the line without its terminator; valid until the next framer call */
	size_t len;        /* bytes at data: min(real_len, cap) */
	uint64_t offset;   /* stream offset of the line's first byte */
	uint64_t line;     /* 1-based line number */
	uint64_t real_len; /* full length of the line, CR and LF excluded */
	bool truncated;    /* real_len exceeded the cap; data holds the first cap bytes */
	bool unterminated; /* the input ended without a newline after this line */
};

struct dg_framer;

/* A framer for lines of at most max_line bytes (at least 1), starting at offset 0, line 1. */
struct dg_framer *dg_framer_new(size_t max_line);
void dg_framer_free(struct dg_framer *fr);
/* Continues at a known position, e.g. a checkpoint; drops any held partial line. */
void dg_framer_seek(struct dg_framer *fr, uint64_t offset, uint64_t line);
/* Supplies the next bytes of the stream. buf must stay valid until dg_framer_next returns false. */
void dg_framer_push(struct dg_framer *fr, const char *buf, size_t len);
/* Yields the next complete line of the pushed bytes; false when they are used up. */
bool dg_framer_next(struct dg_framer *fr, struct dg_record *rec);
/* At the end of the input: yields the held partial line, if there is one. */
bool dg_framer_finish(struct dg_framer *fr, struct dg_record *rec);
/* Offset just past the last complete line: where a restart must resume. */
uint64_t dg_framer_resume_offset(const struct dg_framer *fr);
/* Line number the next line will carry. */
uint64_t dg_framer_next_line(const struct dg_framer *fr);
/* Bytes of a partial line currently held (counted even beyond the cap). */
uint64_t dg_framer_pending(const struct dg_framer *fr);

#endif
