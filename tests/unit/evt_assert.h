/* A cmocka assertion shared by the parser tests: an event field holds exactly this text, or
 * (want NULL) is absent. Include after cmocka.h. */
#ifndef DGAUDIT_TEST_EVT_ASSERT_H
#define DGAUDIT_TEST_EVT_ASSERT_H

#include <stdio.h>
#include <string.h>

#include "dgaudit/evt.h"

static inline void assert_evt_field(const struct dg_evt *evt, int field, const char *want)
{
	const struct dg_str *s = dg_evt_str(evt, field);

	if (want == NULL) {
		assert_null(s);
		return;
	}
	assert_non_null(s);
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->p, want, s->len);
}

/* The objects a database record names, as "name:action" separated by spaces; an indirect one
 * as "name<via:action". */
static inline void assert_evt_objects(const struct dg_evt *evt, const char *want)
{
	char got[512] = "";

	for (unsigned i = 0; i < evt->nobjects; i++) {
		const struct dg_evt_object *o = &evt->objects[i];
		size_t n = strlen(got);

		if (o->flags & DG_OBJ_INDIRECT)
			snprintf(got + n, sizeof got - n, "%s%.*s<%.*s:%s", i ? " " : "",
			         (int)o->name.len, o->name.p, (int)o->via.len, o->via.p,
			         o->action ? o->action : "-");
		else
			snprintf(got + n, sizeof got - n, "%s%.*s:%s", i ? " " : "",
			         (int)o->name.len, o->name.p, o->action ? o->action : "-");
	}
	assert_string_equal(got, want);
}

#endif
