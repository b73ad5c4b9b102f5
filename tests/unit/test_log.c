#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dgaudit/log.h"

/* A flood of malformed records logs a burst per interval and counts the rest. */
static void test_limit(void **state)
{
	struct dg_log_limit l = {0};
	unsigned allowed = 0;

	(void)state;
	for (int i = 0; i < 1000; i++)
		allowed += dg_log_limit_allow(&l, 5000 + i, 10, 10000);
	assert_int_equal(allowed, 10);
	assert_int_equal(dg_log_limit_held(&l), 990);
	assert_int_equal(dg_log_limit_held(&l), 0);            /* asked again: none since */
	assert_true(dg_log_limit_allow(&l, 15000, 10, 10000)); /* the next interval */
	for (int i = 0; i < 9; i++)
		assert_true(dg_log_limit_allow(&l, 15001, 10, 10000));
	assert_false(dg_log_limit_allow(&l, 24999, 10, 10000));
	assert_int_equal(dg_log_limit_held(&l), 1);
	assert_true(dg_log_limit_allow(&l, 1000, 10, 10000)); /* a clock gone back starts anew */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
