/* Remembered file identities: one per inode (a reused inode replaces its entry), found by
 * inode in constant time however many are kept, and pruned to what is still on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dgaudit/idtable.h"

static struct dg_tail_id id(uint64_t ino, const char *fp)
{
	struct dg_tail_id i = {.dev = 64768, .ino = ino, .fp_len = 1024};

	snprintf(i.fp, sizeof i.fp, "%s", fp);
	return i;
}

static void test_many_generations(void **state)
{
	struct dg_idtable *t = dg_idtable_new();
	char fp[16];

	(void)state;
	/* far more than the fixed ring of 256 that forgot generations and read them again */
	for (uint64_t i = 1; i <= 100000; i++) {
		struct dg_tail_id x;

		snprintf(fp, sizeof fp, "fp%llu", (unsigned long long)i);
		x = id(i, fp);
		dg_idtable_put(t, &x, i * 10, i);
	}
	assert_int_equal(dg_idtable_count(t), 100000);
	for (uint64_t i = 1; i <= 100000; i += 997) {
		const struct dg_idrec *r = dg_idtable_by_inode(t, 64768, i);

		assert_non_null(r);
		assert_int_equal(r->offset, i * 10);
	}
	assert_null(dg_idtable_by_inode(t, 64768, 100001));
	assert_null(dg_idtable_by_inode(t, 1, 5)); /* another device */
	dg_idtable_free(t);
}

static void test_inode_reused(void **state)
{
	struct dg_idtable *t = dg_idtable_new();
	struct dg_tail_id a = id(7, "old"), b = id(7, "new");

	(void)state;
	dg_idtable_put(t, &a, 100, 10);
	dg_idtable_put(t, &b, 50, 5);
	assert_int_equal(dg_idtable_count(t), 1);
	assert_string_equal(dg_idtable_by_inode(t, 64768, 7)->id.fp, "new");
	assert_int_equal(dg_idtable_by_inode(t, 64768, 7)->offset, 50);
	dg_idtable_free(t);
}

static bool odd(void *arg, const struct dg_idrec *r)
{
	(void)arg;
	return r->id.ino % 2 == 1;
}

static void test_prune(void **state)
{
	struct dg_idtable *t = dg_idtable_new();

	(void)state;
	for (uint64_t i = 1; i <= 1000; i++) {
		struct dg_tail_id x = id(i, "x");

		dg_idtable_put(t, &x, i, i);
	}
	assert_int_equal(dg_idtable_prune(t, odd, NULL), 500);
	assert_int_equal(dg_idtable_count(t), 500);
	assert_non_null(dg_idtable_by_inode(t, 64768, 999));
	assert_null(dg_idtable_by_inode(t, 64768, 998));
	/* still indexed right after the prune compacted it */
	for (uint64_t i = 1; i <= 1000; i += 2)
		assert_int_equal(dg_idtable_by_inode(t, 64768, i)->offset, i);
	dg_idtable_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_many_generations),
	    cmocka_unit_test(test_inode_reused),
	    cmocka_unit_test(test_prune),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
