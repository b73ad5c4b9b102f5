/* A growable byte buffer, always NUL-terminated after its contents. A plain value: zero it to
 * start, dg_buf_release to free what it holds. */
#ifndef DGAUDIT_BUF_H
#define DGAUDIT_BUF_H

#include <stddef.h>

struct dg_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Makes room for at least extra more bytes. */
void dg_buf_reserve(struct dg_buf *b, size_t extra);
void dg_buf_add(struct dg_buf *b, const void *data, size_t len);
void dg_buf_addc(struct dg_buf *b, char c);
void dg_buf_adds(struct dg_buf *b, const char *s);
void dg_buf_printf(struct dg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeping its memory for reuse. */
void dg_buf_reset(struct dg_buf *b);
/* Hands the contents to the caller (who frees them) and empties the buffer. */
char *dg_buf_steal(struct dg_buf *b);
void dg_buf_release(struct dg_buf *b);

#endif
