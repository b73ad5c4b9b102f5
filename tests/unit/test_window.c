/* Event-time threshold windows: a burst opens when a window reaches the limit, goes on while
 * each new event's window still holds the limit, and closes with the true aggregate; count,
 * sum and distinct; out-of-order events; eviction; expiry; checkpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dgaudit/window.h"

#define MIN (60 * 1000)

struct seen {
	int opened, closed, carried, evicted;
	struct dg_window_fire last; /* the last fired */
	uint64_t first_line, opener_line;
	char key[16]; /* of the last fired */
};

static void on_fire(void *arg, const struct dg_window_fire *f)
{
	struct seen *s = arg;

	switch (f->what) {
	case DG_WINDOW_OPEN:
		s->opened++;
		s->opener_line = f->opener.line;
		break;
	case DG_WINDOW_CLOSE:
		s->closed++;
		s->evicted += f->evicted;
		break;
	case DG_WINDOW_CARRIED:
		s->carried++;
		break;
	}
	s->last = *f;
	s->first_line = f->nrefs ? f->refs[0].line : 0;
	snprintf(s->key, sizeof s->key, "%.*s", (int)f->keylen, f->key);
	s->last.refs = NULL; /* valid during the call only */
	s->last.key = NULL;
}

static struct dg_threshold spec(enum dg_agg agg, int64_t limit, int64_t window_ms)
{
	struct dg_threshold th = {
	    .agg = agg, .field = -1, .window_ms = window_ms, .limit = limit, .evidence_max = 4};

	return th;
}

static void add(struct dg_window *w, const char *key, int64_t t, int64_t v, uint64_t line,
                struct seen *s)
{
	struct dg_ref ref = {0, line, line * 100};
	struct dg_evt evt = {.ts_ms = t};

	dg_window_add(w, key, strlen(key), t, v, &ref, &evt, 0, on_fire, s);
}

/* The case: a bulk export split into dozens of small exports over twenty minutes is one
 * finding with its true total, every export counted, not pieces each claiming the limit. */
static void test_split_export_is_one_burst(void **state)
{
	struct dg_threshold th = spec(DG_AGG_SUM, 10000, 60 * MIN);
	struct dg_window *w = dg_window_new(&th, 0);
	struct seen s = {0};

	(void)state;
	for (int i = 0; i < 40; i++) /* 40 x 900 over 20 minutes */
		add(w, "alice", i * 30 * 1000, 900, (uint64_t)i + 1, &s);
	assert_int_equal(s.opened, 1);
	assert_int_equal(s.closed, 0); /* still going on */
	dg_window_flush(w, on_fire, &s);
	assert_int_equal(s.closed, 1);
	assert_int_equal(s.last.aggregate, 36000);
	assert_int_equal(s.last.events, 40);
	assert_int_equal(s.last.nrefs, 4); /* evidence capped, count kept */
	assert_int_equal(s.first_line, 1);
	assert_int_equal(s.opener_line, 12); /* the twelfth export crossed 10,000 */
	assert_int_equal(s.last.first_ms, 0);
	assert_int_equal(s.last.last_ms, 39 * 30 * 1000);
	dg_window_free(w);
}

/* A burst ends at the first event whose window no longer holds the limit; that event and
 * those after it are free to make another burst. */
static void test_burst_ends_when_window_falls_below(void **state)
{
	struct dg_threshold th = spec(DG_AGG_COUNT, 3, 10 * MIN);
	struct dg_window *w = dg_window_new(&th, 0);
	struct seen s = {0};

	(void)state;
	add(w, "u", 0, 1, 1, &s);
	add(w, "u", 1 * MIN, 1, 2, &s);
	add(w, "u", 2 * MIN, 1, 3, &s); /* opens: 3 in (−8, 2] */
	add(w, "u", 9 * MIN, 1, 4, &s); /* (−1, 9] holds 4: joins */
	assert_int_equal(s.opened, 1);
	assert_int_equal(s.closed, 0);
	add(w, "u", 15 * MIN, 1, 5, &s); /* (5, 15] holds 2: the burst is over */
	assert_int_equal(s.closed, 1);
	assert_int_equal(s.last.aggregate, 4);
	assert_int_equal(s.last.events, 4);
	/* Events of the closed burst do not count again: two more free ones are needed. */
	add(w, "u", 16 * MIN, 1, 6, &s);
	assert_int_equal(s.opened, 1);
	add(w, "u", 17 * MIN, 1, 7, &s);
	assert_int_equal(s.opened, 2);
	assert_int_equal(s.opener_line, 7);
	dg_window_free(w);
}

static void test_window_slides(void **state)
{
	struct dg_threshold th = spec(DG_AGG_COUNT, 3, 10 * MIN);
	struct dg_window *w = dg_window_new(&th, 0);
	struct seen s = {0};

	(void)state;
	add(w, "u", 0, 1, 1, &s);
	add(w, "u", 5 * MIN, 1, 2, &s);
	add(w, "u", 10 * MIN, 1, 3, &s); /* the first fell out: (0, 10] */
	assert_int_equal(s.opened, 0);
	add(w, "u", 14 * MIN, 1, 4, &s);
	assert_int_equal(s.opened, 1);
	dg_window_flush(w, on_fire, &s);
	assert_int_equal(s.first_line, 2);
	assert_int_equal(s.last.events, 3);
	add(w, "v", 0, 1, 9, &s); /* other groups are apart */
	assert_int_equal(s.opened, 1);
	dg_window_free(w);
}

/* A user who reads more distinct customers than the limit is reported with the true count;
 * repeats are counted as sightings, not as customers. */
static void test_distinct_true_count(void **state)
{
	struct dg_threshold th = spec(DG_AGG_DISTINCT, 200, 60 * MIN);
	struct dg_window *w = dg_window_new(&th, 0);
	struct seen s = {0};

	(void)state;
	for (int i = 0; i < 350; i++)
		add(w, "teller", i * 1000, 1000 + i, (uint64_t)i + 1, &s);
	for (int i = 0; i < 50; i++) /* the same customers again */
		add(w, "teller", (350 + i) * 1000, 1000 + i, (uint64_t)i + 351, &s);
	dg_window_flush(w, on_fire, &s);
	assert_int_equal(s.opened, 1);
	assert_int_equal(s.closed, 1);
	assert_int_equal(s.last.aggregate, 350);
	assert_int_equal(s.last.events, 400);
	assert_int_equal(s.opener_line, 200);
	dg_window_free(w);
}

static void test_distinct_slides_out(void **state)
{
	struct dg_threshold th = spec(DG_AGG_DISTINCT, 3, 10 * MIN);
	struct dg_window *w = dg_window_new(&th, 0);
	struct seen s = {0};

	(void)state;
	add(w, "u", 0, 1, 1, &s);
	add(w, "u", 1 * MIN, 2, 2, &s);
	add(w, "u", 11 * MIN, 3, 3, &s); /* (1, 11]: values 2 and 3 */
	add(w, "u", 12 * MIN, 3, 4, &s); /* (2, 12]: 3 only */
	add(w, "u", 13 * MIN, 4, 5, &s); /* (3, 13]: 3 and 4 */
	assert_int_equal(s.opened, 0);
	add(w, "u", 14 * MIN, 5, 6, &s); /* (4, 14]: 3, 4 and 5 */
	assert_int_equal(s.opened, 1);
	dg_window_flush(w, on_fire, &s);
	assert_int_equal(s.last.aggregate, 3);
	assert_int_equal(s.last.events, 4); /* value 3 was seen twice */
	assert_int_equal(s.last.first_ms, 12 * MIN);
	dg_window_free(w);
}

static void test_out_of_order(void **state)
{
	struct dg_threshold th = spec(DG_AGG_COUNT, 3, 10 * MIN);
	struct dg_window *w = dg_window_new(&th, 60 * MIN);
	struct seen s = {0};

	(void)state;
	add(w, "u", 30 * MIN, 1, 1, &s);
	add(w, "u", 50 * MIN, 1, 2, &s);
	/* Late events that fit with the first, not with the newest. */
	add(w, "u", 25 * MIN, 1, 3, &s);
	assert_int_equal(s.opened, 0);
	add(w, "u", 28 * MIN, 1, 4, &s);
	assert_int_equal(s.opened, 1);
	dg_window_flush(w, on_fire, &s);
	assert_int_equal(s.last.events, 3);
	assert_int_equal(s.last.first_ms, 25 * MIN);
	assert_int_equal(s.last.last_ms, 30 * MIN);
	assert_int_equal(s.first_line, 3);
	dg_window_free(w);
}

static void test_zero_adds_nothing(void **state)
{
	struct dg_threshold th = spec(DG_AGG_SUM, 10, 10 * MIN);
	struct dg_window *w = dg_window_new(&th, 0);
	struct dg_window_stats st;
	struct seen s = {0};

	(void)state;
	add(w, "u", 0, 0, 1, &s);
	add(w, "u", 1, -5, 2, &s);
	dg_window_stats(w, &st);
	assert_int_equal(st.entries, 0);
	dg_window_free(w);
}

/* Expiry closes a burst no event can extend any more, and frees what cannot matter. */
static void test_expiry_closes_and_bounds_memory(void **state)
{
	struct dg_threshold th = spec(DG_AGG_COUNT, 1000, 10 * MIN);
	struct dg_threshold th2 = spec(DG_AGG_COUNT, 2, 10 * MIN);
	struct dg_window *w = dg_window_new(&th, 5 * MIN), *w2 = dg_window_new(&th2, 5 * MIN);
	struct dg_window_stats st;
	struct seen s = {0};
	char key[16];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "user%d", i % 500);
		add(w, key, (int64_t)i * 1000, 1, (uint64_t)i, &s);
	}
	dg_window_stats(w, &st);
	assert_int_equal(st.groups, 500);
	dg_window_expire(w, 5000 * 1000 + 10 * MIN, on_fire, &s);
	dg_window_stats(w, &st);
	assert_true(st.entries < 5000);
	dg_window_expire(w, 5000 * 1000 + 20 * MIN, on_fire, &s);
	dg_window_stats(w, &st);
	assert_int_equal(st.groups, 0);
	assert_int_equal(st.entries, 0);

	add(w2, "u", 0, 1, 1, &s);
	add(w2, "u", 1000, 1, 2, &s);
	assert_int_equal(s.opened, 1);
	dg_window_expire(w2, 1000 + 10 * MIN, on_fire, &s); /* lateness still allows one */
	assert_int_equal(s.closed, 0);
	dg_window_expire(w2, 1000 + 15 * MIN, on_fire, &s);
	assert_int_equal(s.closed, 1);
	assert_int_equal(s.last.aggregate, 2);
	dg_window_free(w);
	dg_window_free(w2);
}

/* At most max_keys groups: the least recently active goes, its open burst is closed and what
 * it held is counted. */
static void test_max_keys_evicts_oldest(void **state)
{
	struct dg_threshold th = spec(DG_AGG_COUNT, 2, 60 * MIN);
	struct dg_window *w;
	struct dg_window_stats st;
	struct seen s = {0};

	(void)state;
	th.max_keys = 2;
	w = dg_window_new(&th, 0);
	add(w, "a", 0, 1, 1, &s);
	add(w, "a", 1, 1, 2, &s); /* a burst for a */
	add(w, "b", 2, 1, 3, &s);
	add(w, "b", 3, 1, 4, &s);
	add(w, "a", 4, 1, 5, &s); /* a is now the more recent */
	add(w, "c", 5, 1, 6, &s); /* evicts b, whose burst closes */
	assert_int_equal(s.evicted, 1);
	assert_string_equal(s.key, "b");
	add(w, "d", 6, 1, 7, &s); /* evicts a */
	dg_window_stats(w, &st);
	assert_int_equal(st.groups, 2);
	assert_int_equal(st.evicted_groups, 2);
	assert_int_equal(s.evicted, 2);
	add(w, "e", 7, 1, 8, &s); /* evicts c, holding one unused record */
	dg_window_stats(w, &st);
	assert_int_equal(st.evicted_records, 1);
	dg_window_free(w);
}

/* A burst going on at the end of a report period is reported as carried and goes on. */
static void test_carry(void **state)
{
	struct dg_threshold th = spec(DG_AGG_COUNT, 2, 10 * MIN);
	struct dg_window *w = dg_window_new(&th, 0);
	struct seen s = {0};

	(void)state;
	add(w, "u", 0, 1, 1, &s);
	add(w, "u", 1000, 1, 2, &s);
	dg_window_carry(w, on_fire, &s);
	assert_int_equal(s.carried, 1);
	assert_int_equal(s.last.aggregate, 2);
	add(w, "u", 2000, 1, 3, &s);
	dg_window_flush(w, on_fire, &s);
	assert_int_equal(s.closed, 1);
	assert_int_equal(s.last.aggregate, 3);
	dg_window_free(w);
}

/* What a checkpoint saves, a new window continues: the burst, its opener and its values. */
static void test_save_load(void **state)
{
	struct dg_threshold th = spec(DG_AGG_DISTINCT, 3, 10 * MIN);
	struct dg_window *w = dg_window_new(&th, 0), *w2 = dg_window_new(&th, 0);
	struct dg_cjson *arr = dg_cjson_array();
	uint32_t remap[1] = {0};
	struct seen s = {0};

	(void)state;
	add(w, "u", 0, 10, 1, &s);
	add(w, "u", 1000, 20, 2, &s);
	add(w, "u", 2000, 30, 3, &s);
	add(w, "v", 2000, 30, 4, &s);
	assert_int_equal(s.opened, 1);
	dg_window_save(w, arr, remap);
	assert_int_equal(dg_window_load(w2, arr), 0);
	add(w2, "u", 3000, 40, 5, &s); /* joins: a new value */
	add(w2, "u", 4000, 20, 6, &s); /* joins: seen already */
	add(w2, "v", 4000, 40, 7, &s);
	dg_window_flush(w2, on_fire, &s);
	assert_int_equal(s.closed, 1);
	assert_int_equal(s.last.aggregate, 4);
	assert_int_equal(s.last.events, 5);
	assert_int_equal(s.last.opener.line, 3);
	assert_int_equal(dg_window_load(w2, dg_cjson_at(arr, 0)), -1); /* not a group list */
	dg_cjson_free(arr);
	dg_window_free(w);
	dg_window_free(w2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_export_is_one_burst),
	    cmocka_unit_test(test_burst_ends_when_window_falls_below),
	    cmocka_unit_test(test_window_slides),
	    cmocka_unit_test(test_distinct_true_count),
	    cmocka_unit_test(test_distinct_slides_out),
	    cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_zero_adds_nothing),
	    cmocka_unit_test(test_expiry_closes_and_bounds_memory),
	    cmocka_unit_test(test_max_keys_evicts_oldest),
	    cmocka_unit_test(test_carry),
	    cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
