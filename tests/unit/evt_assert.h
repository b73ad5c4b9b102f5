/* A cmocka assertion shared by the parser tests: an event field holds exactly this text, or
 * (want NULL) is absent. Include after cmocka.h. */
#ifndef DGAUDIT_TEST_EVT_ASSERT_H
#define DGAUDIT_TEST_EVT_ASSERT_H

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

#endif
