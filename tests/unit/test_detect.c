/* Personal data detectors: valid identity and card numbers match, look-alikes do not; masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/detect.h"

static const struct {
	const char *text;
	unsigned kinds; /* what must be found; 0 = nothing */
} cases[] = {
    /* GB 11643: check digit X and digit; invalid check digit; bad date; unknown province. */
    {"id 11010519491231002X here", DG_DETECT_CN_ID},
    {"id=11010519491231002x", DG_DETECT_CN_ID},
    {"440524198001010013", DG_DETECT_CN_ID},
    {"(320106199003071234)", DG_DETECT_CN_ID},
    {"440524188001010014", 0},         /* born 1880: no id; Luhn-valid, but Visa has no 18 digits */
    {"id 110105194912310021 here", 0}, /* wrong check digit */
    {"110105194913310026", 0},         /* month 13 */
    {"110105194902300029", 0},         /* 30 February */
    {"990105194912310025", 0},         /* no province 99 */
    {"x11010519491231002X", 0},        /* glued to a letter */
    {"111010519491231002X", 0},        /* 19 digits: a longer number */
    {"sha 9f11010519491231002Xab", 0},
    /* Luhn cards of real schemes; invalid Luhn; too short; wrong prefix. */
    {"card 4111111111111111", DG_DETECT_BANK_CARD},
    {"card 4111 1111 1111 1111.", DG_DETECT_BANK_CARD},
    {"card 4111-1111-1111-1111", DG_DETECT_BANK_CARD},
    {"6222021234567890128", DG_DETECT_BANK_CARD},
    {"card 4111 1111 1111 1111 123456", DG_DETECT_BANK_CARD}, /* a number follows */
    {"ref 12 4111 1111 1111 1111", DG_DETECT_BANK_CARD},      /* a number precedes */
    {"card 4111111111111112", 0},
    /* A card only if its issuer prefix and length fit a scheme: Amex is 15 digits, Visa never
     * 18, nothing starts with 9; an 18-digit number shaped like a resident id (region, birth
     * date) with a wrong check digit is neither, though it passes Luhn. */
    {"amex 378282246310005", DG_DETECT_BANK_CARD},
    {"unionpay 6222021234567894", DG_DETECT_BANK_CARD},
    {"visa 411111111111111118", 0},
    {"other 9123456789012348", 0},
    {"id-like 620102199005171238", 0},
    {"order 1111111111111117", 0}, /* Luhn-valid but prefix 1 */
    {"card 411111111111", 0},      /* 12 digits */
    {"t=2026-11-27 10:00:00", 0},
    /* Mobiles and e-mail. */
    {"call 13800138000 now", DG_DETECT_CN_MOBILE},
    {"call +8613800138000", DG_DETECT_CN_MOBILE},
    {"call 12800138000", 0},
    {"mail zhang.wei@bank.example.cn", DG_DETECT_EMAIL},
    {"not mail a@b", 0},
    {"both 4111111111111111 and 11010519491231002X", DG_DETECT_BANK_CARD | DG_DETECT_CN_ID},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dg_detect_hit hits[8];
		size_t n =
		    dg_detect_scan(cases[i].text, strlen(cases[i].text), DG_DETECT_ALL, hits, 8);
		unsigned found = 0;

		for (size_t k = 0; k < n && k < 8; k++)
			found |= hits[k].kind;
		if (found != cases[i].kinds)
			fail_msg("\"%s\": found %#x, want %#x", cases[i].text, found,
			         cases[i].kinds);
	}
}

static void test_kinds_filter(void **state)
{
	struct dg_detect_hit hit;
	const char *t = "4111111111111111";

	(void)state;
	assert_int_equal(dg_detect_scan(t, strlen(t), DG_DETECT_CN_ID, &hit, 1), 0);
	assert_int_equal(dg_detect_scan(t, strlen(t), DG_DETECT_BANK_CARD, &hit, 1), 1);
	assert_int_equal(hit.start, 0);
	assert_int_equal(hit.len, 16);
}

static void test_masking(void **state)
{
	static const struct {
		const char *in, *out;
	} masks[] = {
	    {"id 11010519491231002X.", "id 110***********002X."},
	    {"pan 4111 1111 1111 1111", "pan 4111 11** **** 1111"},
	    {"pan 4111 1111 1111 1111 123456", "pan 4111 11** **** 1111 123456"},
	    {"tel 13800138000", "tel 138****8000"},
	    {"to zhang.wei@bank.cn", "to z***@bank.cn"},
	    {"nothing personal 12345", "nothing personal 12345"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
		struct dg_buf b = {0};

		dg_detect_mask(masks[i].in, strlen(masks[i].in), &b);
		assert_string_equal(b.data, masks[i].out);
		dg_buf_release(&b);
	}
}

static void test_check_digits(void **state)
{
	(void)state;
	assert_true(dg_detect_cn_id_valid("11010519491231002X"));
	assert_false(dg_detect_cn_id_valid("110105194912310020"));
	assert_true(dg_detect_luhn_valid("79927398713", 11));
	assert_false(dg_detect_luhn_valid("79927398710", 11));
	assert_int_equal(dg_detect_kind_parse("bank_card"), DG_DETECT_BANK_CARD);
	assert_int_equal(dg_detect_kind_parse("nope"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_kinds_filter),
	    cmocka_unit_test(test_masking),
	    cmocka_unit_test(test_check_digits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
