/* Event-time threshold windows: count, sum and distinct count per group, out-of-order events,
 * sequences, consumption of what fired, expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dgaudit/window.h"

#define MIN (60 * 1000)

static struct dg_threshold spec(enum dg_agg agg, int64_t limit, int64_t window_ms, int then)
{
	struct dg_threshold th = {.agg = agg,
	                          .field = -1,
	                          .window_ms = window_ms,
	                          .limit = limit,
	                          .then = then,
	                          .evidence_max = 4};

	return th;
}

static bool add(struct dg_window *w, const char *key, int64_t t, int64_t v, uint64_t line,
                struct dg_window_fire *f)
{
	struct dg_ref ref = {0, line, line * 100};

	return dg_window_add(w, key, strlen(key), t, v, &ref, f);
}

static void test_count_fires_once_per_window(void **state)
{
	struct dg_threshold th = spec(DG_AGG_COUNT, 3, 10 * MIN, -1);
	struct dg_window *w = dg_window_new(&th, 0);
	struct dg_window_fire f;

	(void)state;
	assert_false(add(w, "u1", 0, 1, 1, &f));
	assert_false(add(w, "u2", 1 * MIN, 1, 2, &f)); /* another group */
	assert_false(add(w, "u1", 2 * MIN, 1, 3, &f));
	assert_true(add(w, "u1", 3 * MIN, 1, 4, &f));
	assert_int_equal(f.aggregate, 3);
	assert_int_equal(f.events, 3);
	assert_int_equal(f.nrefs, 3);
	assert_int_equal(f.refs[0].line, 1);
	assert_int_equal(f.refs[2].line, 4);
	assert_int_equal(f.first_ms, 0);
	assert_int_equal(f.last_ms, 3 * MIN);
	/* Consumed: two more do not fire again, a third does. */
	assert_false(add(w, "u1", 4 * MIN, 1, 5, &f));
	assert_false(add(w, "u1", 5 * MIN, 1, 6, &f));
	assert_true(add(w, "u1", 6 * MIN, 1, 7, &f));
	dg_window_free(w);
}

static void test_window_slides(void **state)
{
	struct dg_threshold th = spec(DG_AGG_COUNT, 3, 10 * MIN, -1);
	struct dg_window *w = dg_window_new(&th, 0);
	struct dg_window_fire f;

	(void)state;
	assert_false(add(w, "u", 0, 1, 1, &f));
	assert_false(add(w, "u", 5 * MIN, 1, 2, &f));
	assert_false(add(w, "u", 10 * MIN, 1, 3, &f)); /* the first fell out: (0, 10min] */
	assert_true(add(w, "u", 14 * MIN, 1, 4, &f));
	assert_int_equal(f.refs[0].line, 2);
	dg_window_free(w);
}

static void test_sum_split_into_small_events(void **state)
{
	struct dg_threshold th = spec(DG_AGG_SUM, 10000, 60 * MIN, -1);
	struct dg_window *w = dg_window_new(&th, 0);
	struct dg_window_fire f;
	int fired = 0;

	(void)state;
	for (int i = 0; i < 12; i++)
		if (add(w, "u", i * 4 * MIN, 900, (uint64_t)i + 1, &f)) {
			fired++;
			assert_int_equal(f.aggregate, 10800);
			assert_int_equal(f.events, 12);
			assert_int_equal(f.nrefs, 4); /* evidence capped, count kept */
		}
	assert_int_equal(fired, 1);
	assert_false(add(w, "u", 50 * MIN, 0, 99, &f)); /* zero adds nothing */
	dg_window_free(w);
}

static void test_distinct(void **state)
{
	struct dg_threshold th = spec(DG_AGG_DISTINCT, 3, 60 * MIN, -1);
	struct dg_window *w = dg_window_new(&th, 0);
	struct dg_window_fire f;

	(void)state;
	assert_false(add(w, "u", 1, 111, 1, &f));
	assert_false(add(w, "u", 2, 111, 2, &f)); /* same value again */
	assert_false(add(w, "u", 3, 222, 3, &f));
	assert_false(add(w, "u", 4, 222, 4, &f));
	assert_true(add(w, "u", 5, 333, 5, &f));
	assert_int_equal(f.aggregate, 3);
	assert_int_equal(f.events, 5);
	dg_window_free(w);
}

static void test_distinct_slides_out(void **state)
{
	struct dg_threshold th = spec(DG_AGG_DISTINCT, 3, 10 * MIN, -1);
	struct dg_window *w = dg_window_new(&th, 0);
	struct dg_window_fire f;

	(void)state;
	assert_false(add(w, "u", 0, 1, 1, &f));
	assert_false(add(w, "u", 1 * MIN, 2, 2, &f));
	assert_false(add(w, "u", 11 * MIN, 3, 3, &f)); /* (1, 11]: values 2 and 3 */
	assert_false(add(w, "u", 12 * MIN, 3, 4, &f)); /* (2, 12]: 3 only */
	assert_false(add(w, "u", 13 * MIN, 4, 5, &f)); /* (3, 13]: 3 and 4 */
	assert_true(add(w, "u", 14 * MIN, 5, 6, &f));  /* (4, 14]: 3, 4 and 5 */
	assert_int_equal(f.aggregate, 3);
	assert_int_equal(f.events, 4);
	assert_int_equal(f.first_ms, 11 * MIN);
	dg_window_free(w);
}

static void test_out_of_order(void **state)
{
	struct dg_threshold th = spec(DG_AGG_COUNT, 3, 10 * MIN, -1);
	struct dg_window *w = dg_window_new(&th, 60 * MIN);
	struct dg_window_fire f;

	(void)state;
	assert_false(add(w, "u", 30 * MIN, 1, 1, &f));
	assert_false(add(w, "u", 50 * MIN, 1, 2, &f));
	/* Late events that fit with the first, not with the newest. */
	assert_false(add(w, "u", 25 * MIN, 1, 3, &f));
	assert_true(add(w, "u", 28 * MIN, 1, 4, &f));
	assert_int_equal(f.events, 3);
	assert_int_equal(f.first_ms, 25 * MIN);
	assert_int_equal(f.last_ms, 30 * MIN);
	assert_int_equal(f.refs[0].line, 3);
	assert_int_equal(f.refs[1].line, 4);
	assert_int_equal(f.refs[2].line, 1);
	/* The event at 50 min was not used and still counts. */
	assert_int_equal(dg_window_entries(w), 1);
	dg_window_free(w);
}

static void test_out_of_order_outside_window_is_not_counted(void **state)
{
	struct dg_threshold th = spec(DG_AGG_COUNT, 2, 10 * MIN, -1);
	struct dg_window *w = dg_window_new(&th, 60 * MIN);
	struct dg_window_fire f;

	(void)state;
	assert_false(add(w, "u", 0, 1, 1, &f));
	assert_false(add(w, "u", 30 * MIN, 1, 2, &f));
	assert_false(add(w, "u", 15 * MIN, 1, 3, &f)); /* 15 min from both */
	assert_true(add(w, "u", 31 * MIN, 1, 4, &f));
	assert_int_equal(f.refs[0].line, 2);
	dg_window_free(w);
}

static void test_sequence(void **state)
{
	struct dg_threshold th = spec(DG_AGG_COUNT, 5, 10 * MIN, 1);
	struct dg_window *w = dg_window_new(&th, 0);
	struct dg_window_fire f;

	(void)state;
	for (int i = 0; i < 6; i++)
		assert_false(add(w, "u", i * MIN, 1, (uint64_t)i + 1, &f)); /* never fires alone */
	assert_false(dg_window_complete(w, "v", 1, 6 * MIN, &f));           /* other user */
	assert_true(dg_window_complete(w, "u", 1, 6 * MIN, &f));
	assert_int_equal(f.aggregate, 6);
	/* Consumed: a second success right after is not reported again. */
	assert_false(dg_window_complete(w, "u", 1, 7 * MIN, &f));
	/* Four failures are not enough. */
	for (int i = 0; i < 4; i++)
		assert_false(add(w, "u", (20 + i) * MIN, 1, 10, &f));
	assert_false(dg_window_complete(w, "u", 1, 25 * MIN, &f));
	/* Failures too long before the success do not count. */
	assert_false(dg_window_complete(w, "u", 1, 60 * MIN, &f));
	dg_window_free(w);
}

static void test_expiry_bounds_memory(void **state)
{
	struct dg_threshold th = spec(DG_AGG_COUNT, 1000, 10 * MIN, -1);
	struct dg_window *w = dg_window_new(&th, 5 * MIN);
	struct dg_window_fire f;
	char key[16];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "user%d", i % 500);
		add(w, key, (int64_t)i * 1000, 1, (uint64_t)i, &f);
	}
	assert_int_equal(dg_window_groups(w), 500);
	dg_window_expire(w, 5000 * 1000 + 10 * MIN);
	assert_true(dg_window_entries(w) < 5000);
	dg_window_expire(w, 5000 * 1000 + 20 * MIN);
	assert_int_equal(dg_window_groups(w), 0);
	assert_int_equal(dg_window_entries(w), 0);
	dg_window_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_count_fires_once_per_window),
	    cmocka_unit_test(test_window_slides),
	    cmocka_unit_test(test_sum_split_into_small_events),
	    cmocka_unit_test(test_distinct),
	    cmocka_unit_test(test_distinct_slides_out),
	    cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_out_of_order_outside_window_is_not_counted),
	    cmocka_unit_test(test_sequence),
	    cmocka_unit_test(test_expiry_bounds_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
