/* Allocation wrappers: on exhaustion they log and abort, so a -1 elsewhere always means a real
 * error rather than an out-of-memory condition the caller cannot handle anyway. */
#ifndef DGAUDIT_XMALLOC_H
#define DGAUDIT_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *dg_xmalloc(size_t size);
void *dg_xcalloc(size_t nmemb, size_t size);
/* Resizes to nmemb * size, checking the multiplication for overflow. */
void *dg_xreallocarray(void *ptr, size_t nmemb, size_t size);
char *dg_xstrdup(const char *s);
char *dg_xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *dg_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *dg_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
