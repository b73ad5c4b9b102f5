#include "dgaudit/framer.h"

#include <stdlib.h>
#include <string.h>

#include "dgaudit/xmalloc.h"

struct dg_framer {
	size_t cap;
	/* The current chunk and how far into it we are. */
	const char *chunk;
	size_t chunk_len;
	size_t pos;
	uint64_t chunk_base; /* stream offset of chunk[0] */
	/* A line that spans chunks: its first cap bytes, and its full length so far. */
	char *held;
	size_t held_len;
	size_t held_alloc;
	uint64_t line_total;
	char last_byte;
	uint64_t line_start;
	uint64_t line_no;
};

struct dg_framer *dg_framer_new(size_t max_line)
{
	struct dg_framer *fr = dg_xcalloc(1, sizeof *fr);

	fr->cap = max_line ? max_line : 1;
	fr->line_no = 1;
	return fr;
}

void dg_framer_free(struct dg_framer *fr)
{
	if (fr == NULL)
		return;
	free(fr->held);
	free(fr);
}

void dg_framer_seek(struct dg_framer *fr, uint64_t offset, uint64_t line)
{
	fr->chunk = NULL;
	fr->chunk_len = fr->pos = 0;
	fr->chunk_base = offset;
	fr->held_len = 0;
	fr->line_total = 0;
	fr->line_start = offset;
	fr->line_no = line;
}

void dg_framer_push(struct dg_framer *fr, const char *buf, size_t len)
{
	fr->chunk_base += fr->chunk_len;
	fr->chunk = buf;
	fr->chunk_len = len;
	fr->pos = 0;
}

/* Keeps the first cap bytes of a line that spans chunks; the rest is only counted. The held
 * buffer grows on demand so memory follows the longest line seen, never above the cap. */
static void hold(struct dg_framer *fr, const char *p, size_t n)
{
	if (n == 0)
		return;
	fr->line_total += n;
	fr->last_byte = p[n - 1];
	if (fr->held_len < fr->cap) {
		size_t keep = fr->cap - fr->held_len;

		if (keep > n)
			keep = n;
		if (fr->held_len + keep > fr->held_alloc) {
			size_t want = fr->held_alloc ? fr->held_alloc : 4096;

			while (want < fr->held_len + keep)
				want *= 2;
			if (want > fr->cap)
				want = fr->cap;
			fr->held = dg_xreallocarray(fr->held, want, 1);
			fr->held_alloc = want;
		}
		memcpy(fr->held + fr->held_len, p, keep);
		fr->held_len += keep;
	}
}

/* Fills rec for a line of total bytes whose first min(total, cap) bytes are at data. */
static void emit(struct dg_framer *fr, struct dg_record *rec, const char *data, uint64_t total,
                 char last, bool unterminated)
{
	uint64_t real = total;

	if (real > 0 && last == '\r')
		real--;
	rec->data = data;
	rec->real_len = real;
	rec->truncated = real > fr->cap;
	rec->len = rec->truncated ? fr->cap : (size_t)real;
	rec->offset = fr->line_start;
	rec->line = fr->line_no++;
	rec->unterminated = unterminated;
}

bool dg_framer_next(struct dg_framer *fr, struct dg_record *rec)
{
	const char *start, *nl;
	size_t avail, seg;

	if (fr->chunk == NULL || fr->pos >= fr->chunk_len)
		return false;
	start = fr->chunk + fr->pos;
	avail = fr->chunk_len - fr->pos;
	nl = memchr(start, '\n', avail);
	if (nl == NULL) {
		hold(fr, start, avail);
		fr->pos = fr->chunk_len;
		return false;
	}
	seg = (size_t)(nl - start);
	if (fr->line_total == 0) {
		/* The whole line is in this chunk: no copy. */
		emit(fr, rec, start, seg, seg ? start[seg - 1] : '\0', false);
	} else {
		hold(fr, start, seg);
		emit(fr, rec, fr->held, fr->line_total, fr->last_byte, false);
		fr->held_len = 0;
		fr->line_total = 0;
	}
	fr->pos += seg + 1;
	fr->line_start = fr->chunk_base + fr->pos;
	return true;
}

bool dg_framer_finish(struct dg_framer *fr, struct dg_record *rec)
{
	if (fr->line_total == 0)
		return false;
	emit(fr, rec, fr->held, fr->line_total, fr->last_byte, true);
	fr->line_start += fr->line_total;
	fr->held_len = 0;
	fr->line_total = 0;
	return true;
}

uint64_t dg_framer_resume_offset(const struct dg_framer *fr)
{
	return fr->line_start;
}

uint64_t dg_framer_next_line(const struct dg_framer *fr)
{
	return fr->line_no;
}

uint64_t dg_framer_pending(const struct dg_framer *fr)
{
	return fr->line_total;
}
