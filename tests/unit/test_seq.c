/* Sequences of any length for the same key within a window: failed logins, then a success,
 * then a bulk read; the true count of each step; consumption; the window bound; out of order;
 * eviction and checkpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "dgaudit/seq.h"

#define MIN (60 * 1000)

struct seen {
	int fired;
	struct dg_seq_fire last;
	uint64_t first_line, last_line;
};

static void on_fire(void *arg, const struct dg_seq_fire *f)
{
	struct seen *s = arg;

	s->fired++;
	s->last = *f;
	s->first_line = f->refs[0].line;
	s->last_line = f->refs[f->nrefs - 1].line;
	s->last.refs = NULL;
}

/* failures (count 5), a success, a bulk read (sum of records >= 1000), within 30 minutes. */
static struct dg_threshold spec(void)
{
	struct dg_threshold th = {.window_ms = 30 * MIN, .evidence_max = 50};

	th.steps[0] = (struct dg_step){0, DG_AGG_COUNT, -1, 5};
	th.steps[1] = (struct dg_step){1, DG_AGG_COUNT, -1, 1};
	th.steps[2] = (struct dg_step){2, DG_AGG_SUM, 0, 1000};
	th.nsteps = 3;
	return th;
}

enum { FAIL = 1, OK = 2, READ = 4 };

static void add(struct dg_seq *q, const char *key, int64_t t, uint32_t mask, int64_t records,
                uint64_t line, struct seen *s)
{
	int64_t values[3] = {1, 1, records};
	struct dg_ref ref = {0, line, line * 10};

	dg_seq_add(q, key, strlen(key), t, mask, values, &ref, on_fire, s);
}

static void test_three_steps(void **state)
{
	struct dg_threshold th = spec();
	struct dg_seq *q = dg_seq_new(&th, 0);
	struct seen s = {0};

	(void)state;
	for (int i = 0; i < 7; i++)
		add(q, "u", i * 1000, FAIL, 0, (uint64_t)i + 1, &s);
	add(q, "u", 8000, OK, 0, 8, &s);
	assert_int_equal(s.fired, 0); /* two steps of three */
	add(q, "u", 9 * MIN, READ, 400, 9, &s);
	add(q, "v", 9 * MIN, READ, 5000, 10, &s); /* another user's */
	assert_int_equal(s.fired, 0);
	add(q, "u", 10 * MIN, READ, 700, 11, &s);
	assert_int_equal(s.fired, 1);
	assert_int_equal(s.last.nsteps, 3);
	assert_int_equal(s.last.steps[0].aggregate, 7); /* the true number of failures */
	assert_int_equal(s.last.steps[1].aggregate, 1);
	assert_int_equal(s.last.steps[2].aggregate, 1100);
	assert_int_equal(s.last.events, 10);
	assert_int_equal(s.first_line, 1);
	assert_int_equal(s.last_line, 11);
	/* Consumed: another read does not complete it again. */
	add(q, "u", 11 * MIN, READ, 5000, 12, &s);
	assert_int_equal(s.fired, 1);
	dg_seq_free(q);
}

/* The order matters: a success before the failures completes nothing. */
static void test_order(void **state)
{
	struct dg_threshold th = spec();
	struct dg_seq *q = dg_seq_new(&th, 0);
	struct seen s = {0};

	(void)state;
	add(q, "u", 0, OK, 0, 1, &s);
	for (int i = 0; i < 5; i++)
		add(q, "u", (i + 1) * 1000, FAIL, 0, (uint64_t)i + 2, &s);
	add(q, "u", 10 * 1000, READ, 5000, 7, &s);
	assert_int_equal(s.fired, 0);
	add(q, "u", 11 * 1000, OK, 0, 8, &s);
	add(q, "u", 12 * 1000, READ, 5000, 9, &s);
	assert_int_equal(s.fired, 1);
	assert_int_equal(s.last.steps[0].aggregate, 5);
	dg_seq_free(q);
}

/* The whole sequence must fit in the window; the latest failures are chosen, so old ones do not
 * spoil a sequence that fits with the newer ones. */
static void test_window(void **state)
{
	struct dg_threshold th = spec();
	struct dg_seq *q = dg_seq_new(&th, 0);
	struct seen s = {0};

	(void)state;
	for (int i = 0; i < 5; i++)
		add(q, "u", i * 1000, FAIL, 0, (uint64_t)i + 1, &s);
	add(q, "u", 10 * MIN, OK, 0, 6, &s);
	add(q, "u", 31 * MIN, READ, 5000, 7, &s); /* 31 minutes after the first failure */
	assert_int_equal(s.fired, 0);
	for (int i = 0; i < 5; i++)
		add(q, "u", 20 * MIN + i * 1000, FAIL, 0, (uint64_t)i + 8, &s);
	add(q, "u", 21 * MIN, OK, 0, 13, &s);
	add(q, "u", 22 * MIN, READ, 1000, 14, &s);
	assert_int_equal(s.fired, 1);
	assert_int_equal(s.last.steps[0].aggregate, 5);
	assert_int_equal(s.first_line, 8);
	dg_seq_free(q);
}

/* Events may arrive out of order: the sequence is judged in event time. */
static void test_out_of_order(void **state)
{
	struct dg_threshold th = spec();
	struct dg_seq *q = dg_seq_new(&th, 0);
	struct seen s = {0};

	(void)state;
	add(q, "u", 5 * MIN, OK, 0, 1, &s);
	for (int i = 0; i < 5; i++)
		add(q, "u", i * 1000, FAIL, 0, (uint64_t)i + 2, &s); /* late */
	add(q, "u", 6 * MIN, READ, 2000, 7, &s);
	assert_int_equal(s.fired, 1);
	assert_int_equal(s.first_line, 2);
	dg_seq_free(q);
}

/* A distinct step: reading 3 distinct customers after a login. */
static void test_distinct_step(void **state)
{
	struct dg_threshold th = {.window_ms = 10 * MIN, .evidence_max = 10};
	struct dg_seq *q;
	struct seen s = {0};
	struct dg_ref ref = {0};
	int64_t v[2];

	(void)state;
	th.steps[0] = (struct dg_step){0, DG_AGG_COUNT, -1, 1};
	th.steps[1] = (struct dg_step){1, DG_AGG_DISTINCT, 0, 3};
	th.nsteps = 2;
	q = dg_seq_new(&th, 0);
	v[0] = 1;
	dg_seq_add(q, "u", 1, 0, 1, v, &ref, on_fire, &s);
	for (int i = 0; i < 4; i++) {
		v[1] = 100 + i % 2; /* two customers, alternately */
		dg_seq_add(q, "u", 1, 10 + i, 2, v, &ref, on_fire, &s);
	}
	assert_int_equal(s.fired, 0);
	v[1] = 300;
	dg_seq_add(q, "u", 1, 20, 2, v, &ref, on_fire, &s);
	assert_int_equal(s.fired, 1);
	assert_int_equal(s.last.steps[1].aggregate, 3);
	assert_int_equal(s.last.steps[1].events, 5);
	dg_seq_free(q);
}

static void test_expire_evict_save(void **state)
{
	struct dg_threshold th = spec();
	struct dg_seq *q, *q2;
	struct dg_seq_stats st;
	struct dg_cjson *arr = dg_cjson_array();
	uint32_t remap[1] = {0};
	struct seen s = {0};

	(void)state;
	th.max_keys = 2;
	q = dg_seq_new(&th, 0);
	q2 = dg_seq_new(&th, 0);
	add(q, "a", 0, FAIL, 0, 1, &s);
	add(q, "b", 0, FAIL, 0, 2, &s);
	add(q, "c", 0, FAIL, 0, 3, &s); /* evicts a */
	dg_seq_stats(q, &st);
	assert_int_equal(st.groups, 2);
	assert_int_equal(st.evicted_groups, 1);
	assert_int_equal(st.evicted_records, 1);
	for (int i = 0; i < 4; i++)
		add(q, "c", 1000 + i, FAIL, 0, (uint64_t)i + 4, &s);
	dg_seq_save(q, arr, remap);
	assert_int_equal(dg_seq_load(q2, arr), 0);
	add(q2, "c", 2000, OK, 0, 9, &s);
	add(q2, "c", 3000, READ, 1000, 10, &s);
	assert_int_equal(s.fired, 1);
	assert_int_equal(s.last.steps[0].aggregate, 5);
	dg_seq_expire(q, 31 * MIN + 5000);
	dg_seq_stats(q, &st);
	assert_int_equal(st.groups, 0);
	dg_cjson_free(arr);
	dg_seq_free(q);
	dg_seq_free(q2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_three_steps),   cmocka_unit_test(test_order),
	    cmocka_unit_test(test_window),        cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_distinct_step), cmocka_unit_test(test_expire_evict_save),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
