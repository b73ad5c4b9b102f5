#include "dgaudit/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/xmalloc.h"

void dg_buf_reserve(struct dg_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap;

	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = dg_xreallocarray(b->data, cap, 1);
	b->cap = cap;
}

void dg_buf_add(struct dg_buf *b, const void *data, size_t len)
{
	dg_buf_reserve(b, len);
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void dg_buf_addc(struct dg_buf *b, char c)
{
	dg_buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void dg_buf_adds(struct dg_buf *b, const char *s)
{
	dg_buf_add(b, s, strlen(s));
}

void dg_buf_printf(struct dg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	dg_buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void dg_buf_reset(struct dg_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *dg_buf_steal(struct dg_buf *b)
{
	char *p;

	dg_buf_reserve(b, 0);
	b->data[b->len] = '\0'; /* a buffer never written to has no terminator yet */
	p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void dg_buf_release(struct dg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
