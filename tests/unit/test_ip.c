/* Addresses and CIDR blocks, IPv4 and IPv6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "dgaudit/ip.h"

static bool in(const char *cidr, const char *addr)
{
	struct dg_ip_cidr c;
	uint8_t a[16];

	assert_true(dg_ip_cidr_parse(cidr, &c));
	return dg_ip_parse(addr, strlen(addr), a) && dg_ip_cidr_match(&c, a);
}

static void test_matching(void **state)
{
	(void)state;
	assert_true(in("10.0.0.0/8", "10.200.3.4"));
	assert_false(in("10.0.0.0/8", "11.0.0.1"));
	assert_true(in("172.16.0.0/12", "172.31.255.255"));
	assert_false(in("172.16.0.0/12", "172.32.0.0"));
	assert_true(in("192.168.1.7", "192.168.1.7"));
	assert_false(in("192.168.1.7", "192.168.1.8"));
	assert_true(in("0.0.0.0/0", "8.8.8.8"));
	assert_false(in("0.0.0.0/0", "2001:db8::1")); /* IPv4 blocks hold only IPv4 */
	assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(in("2001:db8::/32", "2001:db9::1"));
	assert_true(in("::/0", "10.0.0.1"));
	assert_false(in("10.0.0.0/8", "not-an-ip"));
}

static void test_bad_blocks(void **state)
{
	struct dg_ip_cidr c;

	(void)state;
	assert_false(dg_ip_cidr_parse("10.0.0.0/33", &c));
	assert_false(dg_ip_cidr_parse("10.0.0.0/", &c));
	assert_false(dg_ip_cidr_parse("10.0.0/8", &c));
	assert_false(dg_ip_cidr_parse("2001:db8::/129", &c));
	assert_false(dg_ip_cidr_parse("example.com", &c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_matching),
	    cmocka_unit_test(test_bad_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
