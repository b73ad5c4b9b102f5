/* The checkpoint's seal: what dgaudit wrote opens, anything else is caught, and the text stays
 * canonical JSON that parses without the seal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "dgaudit/checkpoint.h"
#include "dgaudit/cjson.h"

static const uint8_t key[DG_CHECKPOINT_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const char body[] = "{\"inputs\":[{\"path\":\"app.log\",\"resume\":4096}],\"version\":2}";

static void sealed(struct dg_buf *b, const char *text)
{
	dg_buf_reset(b);
	dg_buf_adds(b, text);
	dg_checkpoint_seal(key, b);
}

static void test_round_trip(void **state)
{
	struct dg_buf b = {0};
	size_t len;
	const char *why;
	struct dg_cjson *c;

	(void)state;
	sealed(&b, body);
	assert_true(b.len > sizeof body);
	/* the seal is the last member: the text as written is still one canonical object */
	c = dg_cjson_parse(b.data, b.len, &why);
	assert_non_null(c);
	assert_non_null(dg_cjson_get(c, "~mac"));
	dg_cjson_free(c);
	assert_int_equal(dg_checkpoint_open(key, b.data, b.len, &len), DG_CHECKPOINT_SEALED);
	assert_int_equal(len, strlen(body));
	assert_memory_equal(b.data, body, len);
	sealed(&b, "{}");
	assert_int_equal(dg_checkpoint_open(key, b.data, b.len, &len), DG_CHECKPOINT_SEALED);
	assert_int_equal(len, 2);
	dg_buf_release(&b);
}

static void test_edits_are_caught(void **state)
{
	static const uint8_t other[DG_CHECKPOINT_KEY_LEN] = {9};
	struct dg_buf b = {0};
	size_t len;
	char *at;

	(void)state;
	/* an offset changed */
	sealed(&b, body);
	at = strstr(b.data, "4096");
	at[0] = '8';
	assert_int_equal(dg_checkpoint_open(key, b.data, b.len, &len), DG_CHECKPOINT_BROKEN);
	/* another key */
	sealed(&b, body);
	assert_int_equal(dg_checkpoint_open(other, b.data, b.len, &len), DG_CHECKPOINT_BROKEN);
	/* the MAC itself changed, or cut */
	sealed(&b, body);
	b.data[b.len - 3] = b.data[b.len - 3] == '0' ? '1' : '0';
	assert_int_equal(dg_checkpoint_open(key, b.data, b.len, &len), DG_CHECKPOINT_BROKEN);
	sealed(&b, body);
	assert_int_equal(dg_checkpoint_open(key, b.data, b.len - 5, &len), DG_CHECKPOINT_BROKEN);
	/* no seal at all: a checkpoint from before seals (the caller decides by its version) */
	dg_buf_reset(&b);
	dg_buf_adds(&b, body);
	assert_int_equal(dg_checkpoint_open(key, b.data, b.len, &len), DG_CHECKPOINT_UNSEALED);
	assert_int_equal(len, strlen(body));
	dg_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_edits_are_caught),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
