#include "dgaudit/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/log.h"

void *dg_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		dg_log_fatalx("out of memory allocating %zu bytes", size);
	return p;
}

void *dg_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		dg_log_fatalx("out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

void *dg_xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &total))
		dg_log_fatalx("allocation size overflow (%zu x %zu)", nmemb, size);
	p = realloc(ptr, total ? total : 1);
	if (p == NULL)
		dg_log_fatalx("out of memory reallocating %zu bytes", total);
	return p;
}

char *dg_xstrdup(const char *s)
{
	return dg_xstrndup(s, strlen(s));
}

char *dg_xstrndup(const char *s, size_t n)
{
	char *p = dg_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *dg_xvasprintf(const char *fmt, va_list ap)
{
	char *p;

	if (vasprintf(&p, fmt, ap) < 0)
		dg_log_fatalx("out of memory formatting a string");
	return p;
}

char *dg_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = dg_xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}
