/* The rule packs of conf/rules.d, compiled into the binary at build time so that the defaults
 * work without any installed file. */
#ifndef DGAUDIT_BUILTIN_H
#define DGAUDIT_BUILTIN_H

#include <stddef.h>

struct dg_builtin_pack {
	const char *name; /* file name, e.g. "10-pipl.conf" */
	const char *text; /* NUL-terminated contents */
	size_t len;
};

/* Terminated by an entry whose name is NULL; in file name order. */
extern const struct dg_builtin_pack dg_builtin_packs[];

#endif
